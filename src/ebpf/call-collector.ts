/**
 * Chunks back into SSL calls, and calls into time order (issue 9 item 1).
 *
 * One SSL call's chunks come from one run of one BPF program, so they are printed in order and
 * share the call's timestamp; they are told apart by (direction, pid, SSL*, time). Calls of one
 * connection made on different CPUs come through different perf buffers, which bpftrace reads in
 * turn: their lines can be out of order by the time it takes to drain a poll round. So finished
 * calls wait HOLD_US in a buffer ordered by their probe time before going on: per direction, the
 * bytes then reach the HTTP layer in the order the process read or wrote them.
 */
import type { AnomalySink } from '../core/anomalies.js';
import { MAX_CALL_BYTES } from './bpftrace-script.js';
import type { EbpfEvent, MonoMicros } from './event-parser.js';

/** How long a finished call waits for earlier ones from other CPUs. bpftrace drains every CPU's
 * ring per poll round (milliseconds); 100 ms is far above that and below what a user notices. */
export const HOLD_US = 100_000;
/** A call whose last chunk never came (lost events) is given up after this: what came goes on,
 * the rest is a gap. */
export const STALE_US = 2_000_000;
/** Bytes held in unfinished calls (each ≤ MAX_CALL_BYTES): beyond it the oldest goes on
 * unfinished. 64 MiB: 400 calls at the per-call cap. */
export const MAX_PENDING_BYTES = 64 * 1024 * 1024;
/** Finished calls held for ordering (100 ms of calls: far above any real rate); beyond it the
 * oldest is dropped and counted (`ebpf_reorder_overflow`). */
export const MAX_HELD = 100_000;

/** One SSL_read/SSL_write that returned data (or an SSL_free), ready for its connection. */
export type SslCall =
  | {
      kind: 'data';
      dir: 'w' | 'r';
      pid: number;
      ssl: string;
      mono: MonoMicros;
      /** What the probe copied, in order; a gap (lost chunks) is a number of bytes. */
      pieces: (Uint8Array | number)[];
    }
  | { kind: 'free'; pid: number; ssl: string; mono: MonoMicros };

interface Pending {
  key: string;
  dir: 'w' | 'r';
  pid: number;
  ssl: string;
  mono: MonoMicros;
  /** Bytes this call will carry: the total, or the probe's cap. */
  expected: number;
  next: number;
  pieces: (Uint8Array | number)[];
  /** Arrival (monotonic µs of the reader), for staleness. */
  seen: MonoMicros;
}

export class CallCollector {
  private readonly pending = new Map<string, Pending>();
  private pendingBytes = 0;
  private held: SslCall[] = [];
  private sorted = true;

  constructor(private readonly anomalies: AnomalySink) {}

  /** A data or free event (others are not the collector's). `now` is the reader's monotonic
   * clock, the probes' timescale. */
  add(e: EbpfEvent, now: MonoMicros): void {
    if (e.kind === 'free') {
      this.hold({ kind: 'free', pid: e.pid, ssl: e.ssl, mono: e.mono });
      return;
    }
    if (e.kind !== 'data') return;
    const key = `${e.dir}${e.pid}:${e.ssl}:${e.mono}`;
    let p = this.pending.get(key);
    if (p === undefined) {
      if (e.total > MAX_CALL_BYTES) this.anomalies.add('ebpf_payload_truncated');
      p = { key, dir: e.dir, pid: e.pid, ssl: e.ssl, mono: e.mono, expected: Math.min(e.total, MAX_CALL_BYTES), next: 0, pieces: [], seen: now };
      this.pending.set(key, p);
    }
    if (e.offset < p.next) {
      // A chunk again (cannot come from one probe run): dropped.
      this.anomalies.add('ebpf_duplicate_chunk');
      return;
    }
    if (e.offset > p.next) {
      this.anomalies.add('ebpf_lost_chunks');
      p.pieces.push(e.offset - p.next);
    }
    p.pieces.push(e.bytes);
    p.next = e.offset + e.bytes.length;
    this.pendingBytes += e.bytes.length;
    if (p.next >= p.expected) this.finish(p, false);
    else if (this.pendingBytes > MAX_PENDING_BYTES) this.evictOldest();
  }

  /** The calls whose time is at least HOLD_US behind `now` (and unfinished calls older than
   * STALE_US, with their missing tail as a gap), in probe-time order. */
  release(now: MonoMicros): SslCall[] {
    for (const p of this.pending.values()) {
      if (now - p.seen < STALE_US) break; // insertion order: the rest are younger
      this.anomalies.add('ebpf_lost_chunks');
      this.finish(p, true);
    }
    return this.take(now - HOLD_US);
  }

  /** End of input: everything, in order. */
  drain(): SslCall[] {
    for (const p of [...this.pending.values()]) this.finish(p, true);
    return this.take(Number.POSITIVE_INFINITY);
  }

  private finish(p: Pending, incomplete: boolean): void {
    this.pending.delete(p.key);
    for (const x of p.pieces) if (typeof x !== 'number') this.pendingBytes -= x.length;
    if (incomplete && p.next < p.expected) p.pieces.push(p.expected - p.next);
    this.hold({ kind: 'data', dir: p.dir, pid: p.pid, ssl: p.ssl, mono: p.mono, pieces: p.pieces });
  }

  private evictOldest(): void {
    const first = this.pending.values().next();
    if (first.done === true) return;
    this.anomalies.add('ebpf_pending_evicted');
    this.finish(first.value, true);
  }

  private hold(c: SslCall): void {
    const last = this.held[this.held.length - 1];
    if (last !== undefined && last.mono > c.mono) this.sorted = false;
    this.held.push(c);
    if (this.held.length > MAX_HELD) {
      this.anomalies.add('ebpf_reorder_overflow');
      this.sortHeld();
      this.held.shift();
    }
  }

  private sortHeld(): void {
    if (this.sorted) return;
    // Stable: calls of one time keep their arrival order (a free printed after its last read).
    this.held.sort((a, b) => a.mono - b.mono);
    this.sorted = true;
  }

  private take(upTo: number): SslCall[] {
    if (this.held.length === 0) return [];
    this.sortHeld();
    let n = 0;
    while (n < this.held.length && this.held[n]!.mono <= upTo) n++;
    if (n === 0) return [];
    const out = this.held.slice(0, n);
    this.held = this.held.slice(n);
    return out;
  }
}
