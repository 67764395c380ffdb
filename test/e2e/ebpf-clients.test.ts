/**
 * `llmtap ebpf` against real HTTPS clients (issue 9, "How we will know"): Python's urllib (the
 * system OpenSSL, libssl.so.3) and the official OpenAI and Anthropic Node SDKs (Node's own
 * OpenSSL, exported by the node binary) call a local TLS server in the LLM wire formats, streamed
 * and not. Every call must be found once, with the pid and comm of the client that made it, and
 * its record must equal that of the same calls made in plaintext (captured with tcpdump and
 * replayed). The server is a node process too: its end of each connection is seen by the probes
 * and must not give a second record. Python also sends a 600 KB body on a non-blocking socket
 * with a 4 KiB send buffer, so SSL_write_ex fails (WANT_WRITE) and is retried: the record's
 * request bytes must be those of one copy. A 6,000-word answer spans hundreds of probe copies.
 *
 * Needs root, bpftrace, tcpdump and python3; skipped with the reason otherwise, except under CI
 * (CI=true), where a missing prerequisite fails the test instead of hiding it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LlmCallRecord } from '../../src/core/record.js';
import { prepareSdkRunner } from './keylog-clients.js';
import { startLlmServer, type LlmServer } from './llm-server.js';
import { startLlmHttpsServer, TEST_CERT, type VersionedLlmServer } from './llm-tls-server.js';
import { ensureBuilt, replayCapture } from './replay-cli.js';
import { ANTHROPIC_TEST_KEY, OPENAI_TEST_KEY, type SdkView } from './sdk-calls.js';
import { commandExists, startTcpdump } from './tcpdump.js';
import { PY_COMM, runPythonClient, runSdkWithPid, SDK_COMM, startEbpf, userView, type PythonRun } from './ebpf-run.js';

/** Probe loading (~20 s), SDK calls (~3 s), python (~2 s), stop: far below this. */
const TEST_TIMEOUT_MS = 400_000;

const inCi = process.env['CI'] === 'true';
const keep = process.env['LLMTAP_E2E_KEEP'] === '1';

const skip = ((): string | null => {
  if (process.getuid?.() !== 0) return 'needs root (eBPF uprobes)';
  const absent = ['bpftrace', 'tcpdump', 'python3'].filter((c) => !commandExists(c));
  return absent.length > 0 ? `missing ${absent.join(', ')} (apt-get install bpftrace tcpdump python3)` : null;
})();
if (skip !== null && !inCi) process.stderr.write(`ebpf-clients e2e skipped: ${skip}\n`);

const byId = (a: LlmCallRecord, b: LlmCallRecord): number => (a.response_id ?? '').localeCompare(b.response_id ?? '');

interface Run {
  sdk: { pid: number; views: SdkView[] };
  py: PythonRun;
  calls: LlmCallRecord[];
}

describe.skipIf(skip !== null && !inCi)(`llmtap ebpf with Python urllib and the Node SDKs${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let dir = '';
  let runner = '';
  let plainServer: LlmServer | null = null;
  let https: VersionedLlmServer | null = null;
  let plain: Run | null = null;

  beforeAll(async () => {
    if (skip !== null) throw new Error(`CI must provide the e2e prerequisites: ${skip}`);
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), `llmtap-e2e-ebpf-${process.pid}-`));
    if (keep) process.stderr.write(`ebpf-clients e2e: keeping ${dir}\n`);
    runner = prepareSdkRunner(dir);
    plainServer = await startLlmServer({ host: '127.0.0.1', port: 0 });
    https = await startLlmHttpsServer('127.0.0.1');
  });

  afterAll(async () => {
    await Promise.all([plainServer?.close(), https?.close()]);
    if (dir && !keep) rmSync(dir, { recursive: true, force: true });
  });

  test(
    'plaintext, captured and replayed: the reference records',
    async () => {
      const pcap = join(dir, 'plain.pcap');
      const capture = await startTcpdump('lo', `tcp port ${plainServer!.port}`, pcap);
      const base = `http://127.0.0.1:${plainServer!.port}`;
      const sdk = await runSdkWithPid(runner, `${base}/v1`, base, null);
      const py = await runPythonClient(base, null);
      const captured = await capture.stop();
      expect(captured.droppedByKernel, `the capture is whole: ${captured.stderr}`).toBe(0);
      const out = replayCapture(pcap, join(dir, 'plain.jsonl'));
      expect(out.calls).toHaveLength(sdk.views.length + py.ids.length);
      plain = { sdk, py, calls: out.calls };
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'HTTPS through the probes: every call once, with its process, equal to the plaintext record',
    async () => {
      expect(plain, 'the plaintext run must have passed first').not.toBeNull();
      const out = join(dir, 'ebpf.jsonl');
      // The filters are the probes' predicates: the two clients by the comm they give themselves,
      // and this process (the TLS server) by pid; not every node of a shared host.
      const ebpf = await startEbpf(out, ['--comm', SDK_COMM, '--comm', PY_COMM, '--pid', String(process.pid)]);
      const base = `https://localhost:${https!.port}`;
      let clients: { sdk: Run['sdk']; py: PythonRun } | Error;
      try {
        clients = { sdk: await runSdkWithPid(runner, `${base}/v1`, base, TEST_CERT), py: await runPythonClient(base, TEST_CERT) };
      } catch (err) {
        clients = err instanceof Error ? err : new Error(String(err));
      }
      // The collector holds calls 100 ms and the pipeline ticks every 200 ms: stopping drains all.
      const result = await ebpf.stop();
      if (clients instanceof Error) throw clients;
      const { sdk, py } = clients;
      writeFileSync(join(dir, 'ebpf.stderr'), result.stderr);
      expect(result.code, result.stderr).toBe(0);
      // The clients saw the same answers as in plaintext (the server answers by request).
      expect(sdk.views).toEqual(plain!.sdk.views);
      expect(py.ids).toEqual(plain!.py.ids);
      expect(py.retries, 'the non-blocking write was refused (WANT_WRITE) and retried at least once').toBeGreaterThan(0);

      const calls = result.calls;
      // The perf buffer kept up (bpftrace drops events when its reader is starved of CPU: a CI
      // dry run beside four busy processes once gave 3 calls without their responses).
      expect(result.stderr, 'no probe events lost').not.toMatch(/ebpf_events_lost|ebpf_lost_chunks/);
      // Each call once: the server's end of the connections gave none.
      expect(calls.map((c) => c.response_id).sort()).toEqual(plain!.calls.map((c) => c.response_id).sort());
      expect(result.stderr).toMatch(/ebpf_server_side_connection \d+/);
      expect([...calls].sort(byId).map(userView)).toEqual([...plain!.calls].sort(byId).map(userView));

      // Attribution: the pid and comm of the client that made each call, and its executable.
      const sdkIds = new Set(sdk.views.map((v) => v.id));
      for (const c of calls) {
        const mine = sdkIds.has(c.response_id ?? '') ? { pid: sdk.pid, comm: SDK_COMM } : { pid: py.pid, comm: PY_COMM };
        expect([c.response_id, c.process?.pid, c.process?.comm], 'process').toEqual([c.response_id, mine.pid, mine.comm]);
        expect(c.process?.exe, 'exe').toMatch(/^\//);
        expect(c.source).toBe('ebpf');
      }
      // The retried write's bytes once: the request is exactly what the client sent (the
      // answers, the 6,000-word one included, are whole: userView compared their content).
      const retried = calls.find((c) => c.response_id === py.ids[py.ids.length - 1]);
      expect(retried?.http.request_bytes, 'the retried 600 KB request, once').toBe(py.rawBytes);
      expect(retried?.anomalies).toEqual([]);
      const big = calls.find((c) => c.response_id === py.ids[0]);
      expect(big?.content.output_text?.length ?? 0, 'the 6,000-word answer').toBeGreaterThan(30_000);
      // Secrets never reach the output.
      expect(result.text.includes(OPENAI_TEST_KEY) || result.text.includes(ANTHROPIC_TEST_KEY)).toBe(false);
      expect(readFileSync(out, 'utf8')).not.toContain('0123456789abcdefghijKLMNOP');
    },
    TEST_TIMEOUT_MS,
  );
});
