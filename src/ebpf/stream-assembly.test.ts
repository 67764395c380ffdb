/**
 * Probe events to HTTP (issue 9 item 4): chunks back into calls, calls into time order per
 * direction, connections with their roles, and the capture pipeline's decoders on top, as
 * `llmtap ebpf` wires them.
 */
import { describe, expect, test } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import type { LlmCallRecord } from '../core/record.js';
import { Dir, type ConnectionInfo, type StreamSink } from '../reassembly/types.js';
import { createCapturePipeline } from '../pipeline/replay.js';
import { CHUNK_BYTES, MAX_CALL_BYTES } from './bpftrace-script.js';
import { CallCollector, HOLD_US, STALE_US, type SslCall } from './call-collector.js';
import { ConnectionTable, startsRequest } from './connections.js';
import type { EbpfEvent } from './event-parser.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (pieces: (Uint8Array | number)[]): string => pieces.map((p) => (typeof p === 'number' ? `<gap ${p}>` : Buffer.from(p).toString('latin1'))).join('');

/** The events the probe prints for one successful SSL call of `payload` (bpftrace-script.ts). */
function chunks(dir: 'w' | 'r', pid: number, ssl: string, mono: number, payload: Uint8Array): EbpfEvent[] {
  const out: EbpfEvent[] = [];
  for (let o = 0; o < Math.min(payload.length, MAX_CALL_BYTES); o += CHUNK_BYTES) {
    out.push({ kind: 'data', dir, pid, ssl, mono, total: payload.length, offset: o, bytes: payload.subarray(o, Math.min(o + CHUNK_BYTES, payload.length)) });
  }
  return out;
}

describe('CallCollector', () => {
  test('a payload of many chunks comes back whole, held until its time is HOLD_US behind', () => {
    const a = new AnomalyCounter();
    const c = new CallCollector(a);
    const body = enc('x'.repeat(1000) + 'END');
    for (const e of chunks('r', 7, '1', 5_000_000, body)) c.add(e, 5_000_000);
    expect(c.release(5_000_000 + HOLD_US - 1)).toEqual([]);
    const out = c.release(5_000_000 + HOLD_US);
    expect(out).toHaveLength(1);
    expect(out[0]!.kind === 'data' && text(out[0]!.pieces)).toBe(Buffer.from(body).toString('latin1'));
    expect(a.total).toBe(0);
  });

  test('calls from different CPUs, printed out of order and interleaved, leave in probe-time order', () => {
    const c = new CallCollector(new AnomalyCounter());
    const first = chunks('w', 7, '1', 1_000, enc('a'.repeat(400)));
    const second = chunks('w', 7, '1', 2_000, enc('b'.repeat(400)));
    // The later call's chunks come first, with the earlier call's in between.
    for (const e of [second[0]!, first[0]!, second[1]!, first[1]!, second[2]!, first[2]!]) c.add(e, 3_000);
    const out = c.release(3_000 + HOLD_US);
    expect(out.map((x) => x.kind === 'data' && text(x.pieces)[0])).toEqual(['a', 'b']);
  });

  test('lost chunks become gaps of their size; a call whose end never came is given up as a gap', () => {
    const a = new AnomalyCounter();
    const c = new CallCollector(a);
    const ev = chunks('r', 7, '1', 1_000, enc('z'.repeat(3 * CHUNK_BYTES)));
    c.add(ev[0]!, 1_000);
    c.add(ev[2]!, 1_000); // the middle chunk was lost by the kernel
    const unfinished = chunks('r', 7, '2', 1_500, enc('y'.repeat(2 * CHUNK_BYTES)));
    c.add(unfinished[0]!, 1_500);
    const out = c.release(1_000 + STALE_US + HOLD_US);
    expect(out.map((x) => x.kind === 'data' && x.pieces.map((p) => (typeof p === 'number' ? p : p.length)))).toEqual([
      [CHUNK_BYTES, CHUNK_BYTES, CHUNK_BYTES],
      [CHUNK_BYTES, CHUNK_BYTES],
    ]);
    expect(a.get('ebpf_lost_chunks')).toBe(2);
  });

  test('a payload beyond the probe cap: what was copied, and the rest counted as truncated', () => {
    const a = new AnomalyCounter();
    const c = new CallCollector(a);
    const big = new Uint8Array(MAX_CALL_BYTES + 5000).fill(0x61);
    for (const e of chunks('r', 7, '1', 1_000, big)) c.add(e, 1_000);
    const [call] = c.drain();
    expect(call?.kind === 'data' && call.pieces.reduce<number>((n, p) => n + (typeof p === 'number' ? p : p.length), 0)).toBe(MAX_CALL_BYTES);
    expect(a.get('ebpf_payload_truncated')).toBe(1);
  });
});

/** A sink that records what it is given. */
function recordingSink(log: string[], info: ConnectionInfo): StreamSink {
  return {
    onData: (dir, data) => log.push(`${info.id} ${dir === Dir.ClientToServer ? '>' : '<'} ${Buffer.from(data).toString('latin1')}`),
    onGap: (dir, n) => log.push(`${info.id} gap ${dir} ${n}`),
    onClose: (_ts, reason) => log.push(`${info.id} close ${reason}`),
  };
}

function table(log: string[], anomalies = new AnomalyCounter()): ConnectionTable {
  return new ConnectionTable({
    open: (info) => {
      log.push(`${info.id} open ${info.process?.pid}/${info.process?.comm}`);
      return recordingSink(log, info);
    },
    processOf: (pid) => ({ pid, comm: `p${pid}`, exe: null }),
    toWall: (m) => m,
    anomalies,
  });
}

const data = (dir: 'w' | 'r', pid: number, ssl: string, mono: number, s: string): SslCall => ({ kind: 'data', dir, pid, ssl, mono, pieces: [enc(s)] });

describe('ConnectionTable', () => {
  test('one connection per (pid, SSL*): writes client→server, reads server→client, SSL_free closes', () => {
    const log: string[] = [];
    const t = table(log);
    t.add(data('w', 10, 'A', 1, 'POST /v1/x HTTP/1.1\r\n'));
    t.add(data('w', 11, 'A', 2, 'GET / HTTP/1.1\r\n'));
    t.add(data('r', 10, 'A', 3, 'HTTP/1.1 200 OK\r\n'));
    t.add({ kind: 'free', pid: 10, ssl: 'A', mono: 4 });
    expect(log).toEqual([
      'e1 open 10/p10',
      'e1 > POST /v1/x HTTP/1.1\r\n',
      'e2 open 11/p11',
      'e2 > GET / HTTP/1.1\r\n',
      'e1 < HTTP/1.1 200 OK\r\n',
      'e1 close fin',
    ]);
  });

  test('the server end of a connection (reads a request first) is not decoded, and counted', () => {
    const log: string[] = [];
    const a = new AnomalyCounter();
    const t = table(log, a);
    t.add(data('r', 20, 'B', 1, 'POST /v1/chat/completions HTTP/1.1\r\n'));
    t.add(data('w', 20, 'B', 2, 'HTTP/1.1 200 OK\r\n'));
    // An HTTP/2 server that sends its SETTINGS before reading the preface is decided by the read.
    t.add(data('w', 21, 'C', 3, '\x00\x00\x06\x04\x00\x00\x00\x00\x00'));
    t.add(data('r', 21, 'C', 4, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
    expect(log).toEqual([]);
    expect(a.get('ebpf_server_side_connection')).toBe(2);
  });

  test('joined mid-stream: bytes before the first request are dropped (counted once), the next request starts it', () => {
    const log: string[] = [];
    const a = new AnomalyCounter();
    const t = table(log, a);
    t.add(data('r', 30, 'D', 1, '{"tail of a body"}'));
    t.add(data('r', 30, 'D', 2, 'more'));
    t.add(data('w', 30, 'D', 3, 'POST /next HTTP/1.1\r\n'));
    expect(log).toEqual(['e1 open 30/p30', 'e1 > POST /next HTTP/1.1\r\n']);
    expect(a.get('ebpf_joined_mid_stream')).toBe(1);
  });

  test('idle connections and those of exited processes close', () => {
    const log: string[] = [];
    const t = table(log);
    t.add(data('w', 40, 'E', 1, 'GET / HTTP/1.1\r\n'));
    t.add(data('w', 41, 'F', 1, 'GET / HTTP/1.1\r\n'));
    t.expire(2, (pid) => pid !== 41);
    expect(log.filter((l) => l.includes('close'))).toEqual(['e2 close fin']);
    t.expire(1 + 600_000_000);
    expect(log.filter((l) => l.includes('close'))).toEqual(['e2 close fin', 'e1 close idle']);
  });

  test('startsRequest knows request lines and the HTTP/2 preface only', () => {
    expect(['POST / HTTP/1.1', 'GET /', 'PRI * HTTP/2.0\r\n\r\nSM'].map((s) => startsRequest(enc(s)))).toEqual([true, true, true]);
    expect(['HTTP/1.1 200 OK', 'POS', '{"model"', 'PRI * HTTP/1.1\r\n'].map((s) => startsRequest(enc(s)))).toEqual([false, false, false, false]);
  });
});

describe('through the capture pipeline', () => {
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi \\x41 there' }] });
  const request = `POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const resBody = JSON.stringify({
    id: 'chatcmpl-ebpf1',
    object: 'chat.completion',
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, message: { role: 'assistant', content: 'x'.repeat(3000) }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 9, completion_tokens: 600, total_tokens: 609 },
  });
  const response = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${resBody.length}\r\n\r\n${resBody}`;

  function run(events: EbpfEvent[]): { calls: LlmCallRecord[]; anomalies: AnomalyCounter } {
    const calls: LlmCallRecord[] = [];
    const pipeline = createCapturePipeline({ source: 'ebpf', fingerprintSalt: 'test-salt', onCall: (r) => void calls.push(r) });
    const anomalies = pipeline.stats.anomalies;
    const collector = new CallCollector(anomalies);
    const t = new ConnectionTable({
      open: (info) => pipeline.openConnection(info),
      processOf: (pid) => ({ pid, comm: 'python3', exe: '/usr/bin/python3.11' }),
      toWall: (m) => 1_700_000_000_000_000 + m,
      anomalies,
    });
    for (const e of events) collector.add(e, 0);
    for (const c of collector.drain()) t.add(c);
    t.closeAll(10_000_000);
    return { calls, anomalies };
  }

  test('a call read in many chunks and several SSL_reads is one record with its process', () => {
    const res = enc(response);
    const events = [
      ...chunks('w', 99, '140000', 1_000, enc(request)),
      // The response in three SSL_reads (16 KiB records in real life), each in chunks.
      ...chunks('r', 99, '140000', 2_000, res.subarray(0, 1000)),
      ...chunks('r', 99, '140000', 3_000, res.subarray(1000, 2500)),
      ...chunks('r', 99, '140000', 4_000, res.subarray(2500)),
      { kind: 'free', pid: 99, ssl: '140000', mono: 5_000 } as const,
    ];
    const { calls, anomalies } = run(events);
    expect(anomalies.entries()).toEqual([]);
    expect(calls).toHaveLength(1);
    const c = calls[0]!;
    expect([c.response_id, c.request_model, c.usage.output_tokens, c.content.output_text?.length, c.server.host, c.http.request_bytes]).toEqual([
      'chatcmpl-ebpf1',
      'gpt-4o-mini',
      600,
      3000,
      'api.openai.com',
      enc(request).length,
    ]);
    expect(c.process).toEqual({ pid: 99, comm: 'python3', exe: '/usr/bin/python3.11' });
  });

  test('a write that failed and was retried is in the stream once (the probe prints successes only)', () => {
    // SSL_write returned -1 (WANT_WRITE): the probe printed nothing for it (bpftrace-script.ts,
    // "if ($n > 0)"); the retry with the same buffer succeeded and printed the bytes once.
    const events = [...chunks('w', 99, '7', 1_000, enc(request)), ...chunks('r', 99, '7', 2_000, enc(response))];
    const { calls } = run(events);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.http.request_bytes).toBe(enc(request).length);
    expect(calls[0]!.anomalies).toEqual([]);
  });
});
