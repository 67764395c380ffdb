/**
 * The TLS-wrapped generator output (test/gen/tls-wrap.ts, bench/workload.ts `tls`) is real TLS 1.3
 * that decrypts, with its key log, to exactly the calls of the same traffic in plaintext.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keylogPathFor, writeWorkload } from '../../bench/workload.js';
import type { LlmCallRecord } from '../../src/core/record.js';
import { isoMicros } from '../../src/core/time.js';
import { replayFile } from '../../src/pipeline/replay.js';
import { PipelineStats } from '../../src/pipeline/stats.js';
import { KeyLog } from '../../src/tls/keylog.js';
import { readCapture, parseFrame, reassemble } from './capture-check.js';
import { APIS, type ExchangeOptions, buildSession } from './llm-traffic.js';
import { pcapBytes } from './pcap-writer.js';
import { mergeConnections } from './tcp-conversation.js';
import { buildTlsSession, MAX_RECORD_PLAINTEXT } from './tls-wrap.js';

const dir = mkdtempSync(join(tmpdir(), 'llmtap-tls-wrap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Replayed {
  calls: LlmCallRecord[];
  stats: PipelineStats;
}

async function replay(path: string, keys?: KeyLog): Promise<Replayed> {
  const stats = new PipelineStats();
  const calls: LlmCallRecord[] = [];
  await replayFile(path, {
    source: 'tls-wrap-test',
    fingerprintSalt: 'tls-wrap-test',
    stats,
    onCall: (r) => calls.push(JSON.parse(JSON.stringify(r)) as LlmCallRecord),
    ...(keys ? { tlsKeys: keys } : {}),
  });
  return { calls, stats };
}

async function keyLogFrom(path: string): Promise<KeyLog> {
  const keys = new KeyLog();
  await keys.addFile(path);
  return keys;
}

/** A call record without what the handshake round trip legitimately changes (ids derive from
 * capture times; the server port is 443 instead of 80), as sortable JSON. */
function comparable(r: LlmCallRecord): string {
  const { id: _id, timing: _timing, ttfb_ms: _ttfb, ttft_ms: _ttft, tpot_ms: _tpot, e2e_ms: _e2e, output_tokens_per_second: _rate, ...rest } = r;
  return JSON.stringify({ ...rest, server: { ...r.server, port: null } });
}

/** Record times are ISO 8601 with microseconds (src/core/time.ts isoMicros). */
const micros = (iso: string): number => Date.parse(`${iso.slice(0, 19)}Z`) * 1000 + Number(iso.slice(20, 26));

const sameCalls = (a: LlmCallRecord[]): string[] => a.map(comparable).sort();

const tlsAnomalies = (s: PipelineStats): [string, number][] => [...s.anomalies.entries()].filter(([k]) => k.startsWith('tls_'));

/** TLS records of one direction of every connection: [content type, body length]. */
function recordsOf(capture: Uint8Array, dir: 'c2s' | 's2c'): [number, number][] {
  const segs = readCapture(capture).packets.map(parseFrame);
  const out: [number, number][] = [];
  for (const conn of reassemble(segs).values()) {
    const b = conn[dir].bytes;
    for (let at = 0; at + 5 <= b.length; at += 5 + ((b[at + 3]! << 8) | b[at + 4]!)) out.push([b[at]!, (b[at + 3]! << 8) | b[at + 4]!]);
  }
  return out;
}

const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

/** tshark's HTTP view of a capture (method, URI, status per line), sorted. */
function tsharkHttp(path: string, keylog?: string): string[] {
  const prefs = keylog === undefined ? [] : ['-o', `tls.keylog_file:${keylog}`];
  const out = execFileSync('tshark', ['-r', path, ...prefs, '-Y', 'http', '-T', 'fields', '-e', 'http.request.method', '-e', 'http.request.uri', '-e', 'http.response.code'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 64 * 1024 * 1024,
  });
  return out.split('\n').filter((l) => l.trim() !== '').sort();
}

describe('the bench workload inside TLS 1.3', () => {
  const plainPath = join(dir, 'plain.pcap');
  const tlsPath = join(dir, 'tls.pcap');
  const plain = writeWorkload(plainPath, 3 * 1024 * 1024);
  const tls = writeWorkload(tlsPath, 3 * 1024 * 1024, { tls: true, sessions: plain.sessions });

  it('holds the same sessions and calls, with a key log line set per connection', () => {
    expect(plain.calls).toBeGreaterThan(5);
    expect(tls.sessions).toBe(plain.sessions);
    expect(tls.calls).toBe(plain.calls);
    expect(tls.byApi).toEqual(plain.byApi);
    const lines = readFileSync(keylogPathFor(tlsPath), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(4 * tls.sessions);
    expect(lines.every((l) => /^(CLIENT|SERVER)_(HANDSHAKE_TRAFFIC_SECRET|TRAFFIC_SECRET_0) [0-9a-f]{64} [0-9a-f]{64}$/.test(l))).toBe(true);
  });

  it('decrypts with its key log to the same call records as the plaintext capture', async () => {
    const a = await replay(plainPath);
    const b = await replay(tlsPath, await keyLogFrom(keylogPathFor(tlsPath)));
    expect(a.calls).toHaveLength(plain.calls);
    expect(b.calls).toHaveLength(plain.calls);
    expect(sameCalls(b.calls)).toEqual(sameCalls(a.calls));
    expect(b.calls.every((c) => c.server.port === 443)).toBe(true);
    expect(tlsAnomalies(b.stats)).toEqual([]);
    expect(b.stats.undecryptedTls.size).toBe(0);
  });

  it('is ciphertext on the wire: without keys no call is read and every connection is reported by SNI', async () => {
    const bytes = readFileSync(tlsPath);
    expect(bytes.includes('POST /v1')).toBe(false);
    expect(bytes.includes('Authorization')).toBe(false);
    const r = await replay(tlsPath);
    expect(r.calls).toHaveLength(0);
    const reported = [...r.stats.undecryptedTls.entries()];
    expect(reported.reduce((n, [, e]) => n + e.connections, 0)).toBe(tls.sessions);
    expect(reported.map(([name]) => name).every((n) => /^(api\.openai\.com|api\.anthropic\.com|generativelanguage\.googleapis\.com)$/.test(n))).toBe(true);
  });

  it('sends a record per write: full 16 KiB records for request bodies, small ones for stream events', () => {
    const capture = readFileSync(tlsPath);
    const up = recordsOf(capture, 'c2s');
    const down = recordsOf(capture, 's2c');
    // TLS 1.3 AES-GCM: body = plaintext + content type byte + 16-byte tag (RFC 8446 §5.2).
    const full = MAX_RECORD_PLAINTEXT + 1 + 16;
    for (const [, len] of [...up, ...down]) expect(len).toBeLessThanOrEqual(full);
    expect(up.filter(([, len]) => len === full).length).toBeGreaterThan(plain.calls);
    expect(down.filter(([t, len]) => t === 23 && len < 600).length).toBeGreaterThan(10 * plain.calls);
    // Each connection opens with a cleartext handshake record (the ClientHello).
    expect(up[0]![0]).toBe(22);
  });

  // An independent implementation of TLS 1.3 (Wireshark's) opens it with the same key log.
  it.skipIf(!hasTshark)('decrypts in tshark with the same key log to the same HTTP messages as the plaintext capture', () => {
    const clear = tsharkHttp(plainPath);
    expect(clear.filter((l) => l.startsWith('POST\t'))).toHaveLength(plain.calls);
    expect(tsharkHttp(tlsPath, keylogPathFor(tlsPath))).toEqual(clear);
  });

  it('is byte-for-byte reproducible from its seed', () => {
    const again = join(dir, 'tls-again.pcap');
    writeWorkload(again, 3 * 1024 * 1024, { tls: true, sessions: plain.sessions });
    const digest = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
    expect(digest(again)).toBe(digest(tlsPath));
    expect(digest(keylogPathFor(again))).toBe(digest(keylogPathFor(tlsPath)));
  });
});

describe('buildTlsSession', () => {
  // One session per API, each with a TLS 1.3 AEAD suite: AES-128-GCM, AES-256-GCM (SHA-384 key
  // schedule), ChaCha20-Poly1305 (RFC 8446 §B.4).
  const suites = [0x1301, 0x1302, 0x1303, 0x1301];
  const calls = (api: ExchangeOptions['api']): Omit<ExchangeOptions, 'at'>[] => [
    { api, requestBytes: 40_000, stream: true, toolCalls: 1, gzip: api === 'anthropic.messages' },
    { api, requestBytes: 2_000, stream: false },
    { api, requestBytes: 5_000, stream: true, interruptAfter: 0.5 },
  ];
  const spec = (i: number) => ({
    seed: 100 + i,
    client: { ip: `10.9.0.${i + 1}`, port: 41000 + i },
    start: 1_760_000_000_000_000 + i * 300_000,
    calls: calls(APIS[i]!),
  });

  it('decrypts with each TLS 1.3 AEAD suite to the calls of the same session in plaintext, at the expected times', async () => {
    const plain = APIS.map((_, i) => buildSession(spec(i)));
    const wrapped = APIS.map((_, i) => buildTlsSession({ ...spec(i), tls: { suite: suites[i]! } }));
    const plainPath = join(dir, 'sessions-plain.pcap');
    const tlsPath = join(dir, 'sessions-tls.pcap');
    writeFileSync(plainPath, pcapBytes(mergeConnections(plain.map((s) => s.connection))));
    writeFileSync(tlsPath, pcapBytes(mergeConnections(wrapped.map((s) => s.connection))));
    const keys = new KeyLog();
    keys.addText(wrapped.map((s) => s.keylog).join(''));
    const a = await replay(plainPath);
    const b = await replay(tlsPath, keys);
    expect(a.calls).toHaveLength(4 * 3);
    expect(sameCalls(b.calls)).toEqual(sameCalls(a.calls));
    expect(tlsAnomalies(b.stats)).toEqual([]);
    // Stream events are records of their own: the pipeline stamps them with the packet that
    // completes each one, the times the generator expects. A request or response head is stamped
    // when its record is complete, up to one 16 KiB record after its first segment.
    const recordUs = 1_000; // 16 KiB at the generator's 1 Gbit/s link: ~140 µs, plus the client's Finished.
    wrapped.forEach((s, i) => {
      for (const ex of s.exchanges) {
        const e = ex.expected;
        const got = b.calls.find((c) => c.client.port === spec(i).client.port && c.timing.last_token === (e.lastEventAt === null ? null : isoMicros(e.lastEventAt)) && c.timing.response_end === isoMicros(e.responseEnd!));
        expect(got, `call at ${isoMicros(e.requestStart)}`).toBeDefined();
        expect(got!.timing.first_token).toBe(e.firstEventAt === null ? null : isoMicros(e.firstEventAt));
        const within = (iso: string | null, t: number | null): boolean => iso !== null && t !== null && micros(iso) >= t && micros(iso) <= t + recordUs;
        expect(within(got!.timing.request_start, e.requestStart)).toBe(true);
        expect(within(got!.timing.response_start, e.responseStart)).toBe(true);
      }
    });
  });
});
