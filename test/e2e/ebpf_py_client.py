"""Python's own HTTPS stack (urllib over the system OpenSSL) calling the e2e LLM server, for
test/e2e/ebpf-clients.test.ts. Usage: ebpf_py_client.py BASE_URL CAFILE|- ; prints JSON:
{"pid": N, "ids": [response ids], "retries": N, "rawBytes": bytes of the retried request}.

The last call sends a large body on a non-blocking TLS socket with a tiny send buffer, so that
SSL_write_ex fails with SSL_ERROR_WANT_WRITE and is retried with the same buffer (SSL_write(3),
"WARNINGS"): llmtap must see its bytes once. Over plain HTTP (CAFILE "-") it sends the same
request with a blocking socket.
"""
import ctypes
import json
import os
import select
import socket
import ssl
import sys
import urllib.request

# PR_SET_NAME (prctl(2)): the kernel comm the probes filter on (`llmtap ebpf --comm llmtap-e2e-py`).
ctypes.CDLL(None).prctl(15, b"llmtap-e2e-py", 0, 0, 0)
base, cafile = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=cafile) if cafile != "-" else None
OPENAI_KEY = os.environ["OPENAI_TEST_KEY"]
ANTHROPIC_KEY = os.environ["ANTHROPIC_TEST_KEY"]
ids = []


def post(path, body, headers):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST", headers={"content-type": "application/json", **headers})
    with urllib.request.urlopen(req, context=ctx, timeout=60) as r:
        return r.read().decode()


def first_id(text):
    for line in text.splitlines():
        line = line[6:] if line.startswith("data: ") else line
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            msg = obj.get("message") if isinstance(obj.get("message"), dict) else obj
            if isinstance(msg.get("id"), str):
                return msg["id"]
    return None


oa = {"authorization": "Bearer " + OPENAI_KEY}
# A large answer: far more than one probe copy (160 bytes) and than one TLS record (16 KiB).
ids.append(first_id(post("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "py big. Reply with 6000 words."}]}, oa)))
ids.append(first_id(post("/v1/chat/completions", {"model": "gpt-4o-mini", "stream": True, "stream_options": {"include_usage": True}, "messages": [{"role": "user", "content": "py stream. Reply with 40 words."}]}, oa)))
an = {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}
ids.append(first_id(post("/v1/messages", {"model": "claude-3-5-haiku-20241022", "max_tokens": 200, "messages": [{"role": "user", "content": "py anthropic. Reply with 30 words."}]}, an)))
ids.append(first_id(post("/v1/messages", {"model": "claude-3-5-haiku-20241022", "max_tokens": 200, "stream": True, "messages": [{"role": "user", "content": "py anthropic stream. Reply with 30 words."}]}, an)))

# The retried write: 600 KB of prompt in 64 KiB writes (each below the probe's 160 KiB per call).
host, port = base.split("//", 1)[1].split(":")
body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "py retry. " + "x" * 600_000 + " Reply with 10 words."}]}).encode()
head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\n"
        "User-Agent: ebpf-py-raw\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (host, port, OPENAI_KEY, len(body))).encode()
data = head + body
raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
raw.connect((host, int(port)))
retries = 0
if ctx is not None:
    s = ctx.wrap_socket(raw, server_hostname=host)
    s.setblocking(False)
    view = memoryview(data)
    sent = 0
    while sent < len(data):
        piece = view[sent:sent + 65536]
        try:
            sent += s.send(piece)
        except ssl.SSLWantWriteError:
            retries += 1
            select.select([], [s], [], 5)
        except ssl.SSLWantReadError:
            retries += 1
            select.select([s], [], [], 5)
    s.setblocking(True)
else:
    s = raw
    s.sendall(data)
chunks = []
while True:
    b = s.recv(65536)
    if not b:
        break
    chunks.append(b)
s.close()
resp = b"".join(chunks).decode()
ids.append(first_id(resp.split("\r\n\r\n", 1)[1]))
print(json.dumps({"pid": os.getpid(), "ids": ids, "retries": retries, "rawBytes": len(data)}))
