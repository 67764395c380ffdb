/**
 * The benchmark capture: a realistic mix of agent traffic (all four wire APIs, streaming and not,
 * 50–200 KB requests, 1448-byte segments, many concurrent keep-alive connections), streamed to a
 * pcap file of a target size so it is never held in memory.
 *
 * With `tls`, the same sessions (same seed, same calls, same bytes inside) go over TLS 1.3 on port
 * 443 (test/gen/tls-wrap.ts) and the NSS key log that opens them is written beside it (`x.pcap` → `x.keylog`).
 */
import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { APIS, type ApiName, type ExchangeOptions, type Session, buildSession } from '../test/gen/llm-traffic.js';
import { suiteName } from '../src/tls/suites.js';
import { buildTlsSession, TLS_AES_128_GCM_SHA256 } from '../test/gen/tls-wrap.js';
import { openCaptureFile } from '../test/gen/pcap-writer.js';
import { Rng } from '../test/gen/rng.js';
import { type PacketSource, interleave } from '../test/gen/tcp-conversation.js';

/** Bump when the workload changes, so cached captures are rebuilt. */
export const WORKLOAD_VERSION = 1;

export interface WorkloadMeta {
  version: number;
  seed: number;
  targetBytes: number;
  bytes: number;
  packets: number;
  sessions: number;
  /** HTTP exchanges that are LLM calls (all of them in this workload). */
  calls: number;
  byApi: Record<string, number>;
  /** Most connections open at one moment. */
  maxConcurrent: number;
  captureSeconds: number;
  /** Present when the workload is inside TLS. */
  tls?: { suite: string; records: number; keylog: string };
}

export interface WorkloadOptions {
  seed?: number;
  /** Wrap every connection in TLS 1.3 (TLS_AES_128_GCM_SHA256, ALPN http/1.1) and write the key
   * log beside it (keylogPathFor). */
  tls?: boolean;
  /** Stop after this many sessions rather than at `targetBytes`: with the plaintext run's count
   * and the same seed, the TLS file holds exactly the plaintext file's calls. */
  sessions?: number;
}

/** 2026-01-15T09:00:00Z in µs. */
const START = Date.UTC(2026, 0, 15, 9) * 1000;
/** Mean gap between new sessions: with sessions lasting ~30 s this keeps ~60–80 connections open. */
const ARRIVAL_US = 400_000;

function callOptions(rng: Rng, api: ApiName): Omit<ExchangeOptions, 'at'> {
  return {
    api,
    requestBytes: rng.int(50_000, 200_000),
    stream: rng.chance(0.8),
    toolCalls: rng.chance(0.55) ? rng.int(1, 3) : 0,
    thinking: rng.chance(0.3),
    cache: rng.chance(0.7),
    // api.anthropic.com gzips its SSE; others sometimes compress JSON answers.
    gzip: api === 'anthropic.messages' ? rng.chance(0.5) : rng.chance(0.1),
    includeUsage: rng.chance(0.85),
    geminiStream: rng.chance(0.8) ? 'sse' : 'json-array',
    outputTokens: rng.int(20, 600),
    ...(rng.chance(0.02) ? { errorStatus: 429 } : {}),
  };
}

/** The key log beside a TLS capture: `x-tls.pcap` → `x-tls.keylog`. */
export const keylogPathFor = (path: string): string => `${path.replace(/\.pcap$/, '')}.keylog`;

/** Writes the capture to `path` and returns what it holds. */
export function writeWorkload(path: string, targetBytes: number, opts: WorkloadOptions = {}): WorkloadMeta {
  const seed = opts.seed ?? 42;
  const rng = new Rng(seed);
  const w = openCaptureFile(path, { kind: 'pcap' });
  const meta: WorkloadMeta = { version: WORKLOAD_VERSION, seed, targetBytes, bytes: 0, packets: 0, sessions: 0, calls: 0, byApi: {}, maxConcurrent: 0, captureSeconds: 0 };
  const tls = opts.tls === true ? { suite: suiteName(TLS_AES_128_GCM_SHA256), records: 0, keylog: keylogPathFor(path) } : null;
  const keylogFd = tls ? openSync(tls.keylog, 'w') : null;
  const ends: number[] = [];
  let start = START;
  // Stop on bytes generated, not yet written: the merge holds sessions that are still open, so
  // the file would otherwise overshoot by everything in flight.
  let generated = 24;
  const more = (n: number): boolean => (opts.sessions !== undefined ? n < opts.sessions : generated < targetBytes);
  function* sessions(): Generator<PacketSource> {
    let n = 0;
    while (more(n)) {
      n++;
      start += Math.round(rng.around(ARRIVAL_US, 0.8));
      const api = rng.pick(APIS);
      const ncalls = rng.int(1, 6);
      const calls = Array.from({ length: ncalls }, () => callOptions(rng, api));
      if (rng.chance(0.01)) calls[ncalls - 1] = { ...calls[ncalls - 1]!, stream: true, interruptAfter: rng.next() };
      const spec = {
        seed: rng.u32(),
        client: { ip: `10.20.${(n >> 8) & 255}.${n & 255}`, port: 30000 + (n % 30000) },
        start,
        calls,
        tcp: { rttUs: rng.int(5_000, 60_000) },
      };
      let s: Session;
      if (tls && keylogFd !== null) {
        const t = buildTlsSession({ ...spec, tls: { suite: TLS_AES_128_GCM_SHA256 } });
        // Written before the session's first packet, as a client writes it during its handshake.
        writeSync(keylogFd, t.keylog);
        tls.records += t.records;
        s = t;
      } else s = buildSession(spec);
      for (const p of s.connection.packets) generated += 16 + p.data.length;
      meta.sessions++;
      meta.calls += ncalls;
      meta.byApi[api] = (meta.byApi[api] ?? 0) + ncalls;
      const end = s.connection.packets[s.connection.packets.length - 1]!.ts;
      ends.push(end);
      meta.maxConcurrent = Math.max(meta.maxConcurrent, ends.filter((e) => e > start).length);
      if (ends.length > 2000) ends.splice(0, ends.length - 2000);
      yield s.connection;
    }
  }
  let first = 0;
  let last = 0;
  for (const p of interleave(sessions())) {
    if (first === 0) first = p.ts;
    last = p.ts;
    w.writePacket(p);
  }
  w.close();
  if (keylogFd !== null) closeSync(keylogFd);
  if (tls) meta.tls = tls;
  meta.bytes = w.bytes;
  meta.packets = w.packets;
  meta.captureSeconds = (last - first) / 1e6;
  writeFileSync(`${path}.json`, JSON.stringify(meta, null, 2));
  return meta;
}

/** The cached capture at `path` if it was built by this workload version for this size (and,
 * for a TLS copy, with its key log and the expected session count). */
export function cachedWorkload(path: string, targetBytes: number, opts: Pick<WorkloadOptions, 'tls' | 'sessions'> = {}): WorkloadMeta | null {
  if (!existsSync(path) || !existsSync(`${path}.json`)) return null;
  const meta = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as WorkloadMeta;
  if (meta.version !== WORKLOAD_VERSION || meta.targetBytes !== targetBytes || statSync(path).size !== meta.bytes) return null;
  if ((opts.tls === true) !== (meta.tls !== undefined)) return null;
  if (meta.tls !== undefined && !existsSync(meta.tls.keylog)) return null;
  if (opts.sessions !== undefined && meta.sessions !== opts.sessions) return null;
  return meta;
}
