/**
 * One direction of a TCP connection (DESIGN §2 "TCP"): turns segments in any order into in-order
 * bytes for the sink. Sequence numbers are mapped to a stream offset (a plain number that does not
 * wrap: 2^53 bytes) relative to the first sequence number, using signed 32-bit differences to the
 * next expected sequence number (RFC 9293 §3.4: sequence comparisons are modulo 2^32). Everything
 * after that is ordinary interval arithmetic on offsets.
 */
import type { AnomalySink } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';
import { view } from '../capture/bytes.js';
import { copyBytes } from './byte-slab.js';
import { CHUNK_OVERHEAD_BYTES, type ReassemblyLimits } from './limits.js';
import type { Dir, StreamSink } from './types.js';

/** Counters shared by every stream of a FlowTable. */
export interface ReassemblyStats {
  /** Connections created. */
  connections: number;
  /** Segments seen by `onSegment`. */
  segments: number;
  /** Bytes handed to sinks with onData. */
  bytesDelivered: number;
  /** Segments whose payload was entirely already delivered or buffered (retransmits). */
  duplicateSegments: number;
  /** Segments that arrived ahead of a hole and were buffered. */
  outOfOrderSegments: number;
  /** Segments whose bytes overlapped buffered bytes with different content. */
  overlapConflicts: number;
  /** Holes given up on (onGap calls) and their total size. */
  gaps: number;
  gapBytes: number;
  /** Out-of-order bytes buffered now (with per-segment overhead), and the most ever. */
  bufferedBytes: number;
  peakBufferedBytes: number;
  /** Connections closed per reason. */
  closedFin: number;
  closedRst: number;
  closedIdle: number;
  closedEof: number;
  closedEvicted: number;
}

export function newStats(): ReassemblyStats {
  return {
    connections: 0,
    segments: 0,
    bytesDelivered: 0,
    duplicateSegments: 0,
    outOfOrderSegments: 0,
    overlapConflicts: 0,
    gaps: 0,
    gapBytes: 0,
    bufferedBytes: 0,
    peakBufferedBytes: 0,
    closedFin: 0,
    closedRst: 0,
    closedIdle: 0,
    closedEof: 0,
    closedEvicted: 0,
  };
}

export interface StreamContext {
  readonly anomalies: AnomalySink;
  readonly limits: ReassemblyLimits;
  readonly stats: ReassemblyStats;
}

/** Buffered out-of-order bytes [start, end) in stream offsets; `data` is our own copy. */
interface Chunk {
  start: number;
  end: number;
  data: Uint8Array;
  /** Capture time of the segment that carried these bytes. */
  ts: Micros;
}

export class TcpStream {
  /** Direction these bytes travel, as the sink sees it; flipped by FlowTable.swapRoles. */
  dir: Dir;
  /** True once the initial sequence number is known (from SYN, SYN+ACK's ack, or first data). */
  started = false;
  /** Sequence number of stream offset 0 (ISN+1 when the SYN was seen). */
  baseSeq = 0;
  /** Stream offset of the next byte to deliver. */
  next = 0;
  /** True once the FIN was reached in order (all bytes before it delivered or skipped). */
  finDelivered = false;

  private finOffset = -1;
  /** Sorted by start, non-overlapping, every start > next (a hole precedes the first). */
  private ooo: Chunk[] = [];
  private oooBytes = 0;
  /** Bytes charged to the shared budget for `ooo` (payload plus per-chunk overhead). */
  private charged = 0;
  /** Highest offset the peer acknowledged: everything below it reached the receiver. */
  private peerAcked = 0;
  /** Last capture time given to the sink: times handed out never go backwards. */
  private lastTs = -Infinity;

  constructor(
    private readonly sink: StreamSink,
    dir: Dir,
    private readonly ctx: StreamContext,
  ) {
    this.dir = dir;
  }

  /** Start the stream: `seq` is the sequence number of offset 0. */
  begin(seq: number): void {
    this.started = true;
    this.baseSeq = seq >>> 0;
    this.next = 0;
  }

  /** Stream offset of a sequence number, taking the nearest one modulo 2^32 to `next`. */
  offsetOf(seq: number): number {
    // ToUint32 is exact modulo 2^32 for any integer below 2^53 (ECMA-262 §7.1.7), and cheaper
    // than a floating-point `%`.
    const nextSeq = (this.baseSeq + this.next) >>> 0;
    return this.next + ((seq - nextSeq) | 0);
  }

  /** True when bytes are buffered behind a hole or a FIN is waiting for missing bytes. */
  get hasHole(): boolean {
    return this.ooo.length > 0 || this.finOffset > this.next;
  }

  /**
   * A segment sent in this direction. `seq` is the sequence number of payload[0] (for a SYN,
   * already past the SYN). Payload is a view into a reused buffer: bytes buffered out of order
   * are copied; bytes delivered at once are lent to the sink (StreamSink.onData).
   */
  segment(seq: number, payload: Uint8Array, fin: boolean, ts: Micros): void {
    if (!this.started) this.begin(seq);
    const start = this.offsetOf(seq);
    let end = start + payload.length;
    // RFC 9293 §3.4: the FIN occupies the sequence number after the last data byte.
    if (fin) this.setFin(end);
    if (this.finOffset >= 0 && end > this.finOffset) {
      if (payload.length > 0) this.ctx.anomalies.add('tcp_data_after_fin');
      end = this.finOffset;
    }
    if (end > start && end > this.next) {
      if (this.ooo.length === 0 && start <= this.next) {
        // Fast path: the next bytes in order, nothing buffered. Handed on as a view of the
        // capture buffer (the sink copies what it keeps): no copy, and no new view when the
        // whole payload is new.
        const from = this.next - start;
        const to = end - start;
        this.deliver(from === 0 && to === payload.length ? payload : view(payload, from, to), ts);
        this.next = end;
      } else {
        this.insert(start, end, payload, ts);
        if (this.ooo[0]!.start <= this.next) this.drain();
        else {
          this.ctx.stats.outOfOrderSegments++;
          this.afterBuffering(ts);
        }
      }
    } else if (payload.length > 0) {
      // Entirely before `next`: a retransmit of delivered bytes (RFC 9293 §3.10.7.4: trim and drop).
      this.ctx.stats.duplicateSegments++;
    }
    this.checkFin();
  }

  /**
   * The peer acknowledged `ack` in this direction. If the receiver has bytes we never saw, waiting
   * is pointless: the capture lost them (a receiver only acknowledges what it got, RFC 9293 §3.4).
   */
  peerAck(ack: number, ts: Micros): void {
    if (!this.started) return;
    const off = this.offsetOf(ack);
    if (off > this.peerAcked) this.peerAcked = off;
    if (this.peerAcked > this.next && this.hasHole) this.skipAckedHoles(ts);
  }

  /** Give up every hole: deliver all buffered bytes with gaps between (RST, idle, end of input). */
  skipAll(ts: Micros): void {
    while (this.skipHole(Infinity, ts));
  }

  /** Drop all buffered bytes without delivering them (connection evicted after skipAll, or gone). */
  release(): void {
    this.ctx.stats.bufferedBytes -= this.charged;
    this.charged = 0;
    this.oooBytes = 0;
    this.ooo = [];
  }

  private setFin(off: number): void {
    if (this.finOffset >= 0) {
      if (off !== this.finOffset) this.ctx.anomalies.add('tcp_fin_conflict');
      return;
    }
    if (off < this.next) {
      // A FIN before bytes we already delivered: the stream ends where we are.
      this.ctx.anomalies.add('tcp_fin_conflict');
      off = this.next;
    }
    this.finOffset = off;
    // Buffered bytes past the FIN can never be part of the stream.
    let keep = this.ooo.length;
    let dropped = false;
    while (keep > 0 && this.ooo[keep - 1]!.end > off) {
      const c = this.ooo[keep - 1]!;
      dropped = true;
      if (c.start >= off) {
        this.unbuffer(c);
        keep--;
      } else {
        this.oooBytes -= c.end - off;
        this.charge(-(c.end - off));
        c.data = c.data.subarray(0, off - c.start);
        c.end = off;
        break;
      }
    }
    this.ooo.length = keep;
    if (dropped) this.ctx.anomalies.add('tcp_data_after_fin');
  }

  private checkFin(): void {
    if (!this.finDelivered && this.finOffset >= 0 && this.next >= this.finOffset) this.finDelivered = true;
  }

  /** Buffer the parts of [start, end) not yet buffered; first-received bytes win on overlap. */
  private insert(start: number, end: number, payload: Uint8Array, ts: Micros): void {
    const ooo = this.ooo;
    let cur = start > this.next ? start : this.next;
    // First chunk that ends after `cur`.
    let lo = 0;
    let hi = ooo.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ooo[mid]!.end <= cur) lo = mid + 1;
      else hi = mid;
    }
    let i = lo;
    let added = 0;
    let conflict = false;
    while (cur < end) {
      const c = ooo[i];
      if (c !== undefined && c.start <= cur) {
        const overlapEnd = c.end < end ? c.end : end;
        if (!conflict && !sameBytes(payload, cur - start, c.data, cur - c.start, overlapEnd - cur)) conflict = true;
        cur = overlapEnd;
        i++;
      } else {
        const pieceEnd = c === undefined || c.start > end ? end : c.start;
        const piece: Chunk = { start: cur, end: pieceEnd, data: copyBytes(payload, cur - start, pieceEnd - start), ts };
        if (i === ooo.length) ooo.push(piece);
        else ooo.splice(i, 0, piece);
        this.charge(pieceEnd - cur + CHUNK_OVERHEAD_BYTES);
        added += pieceEnd - cur;
        cur = pieceEnd;
        i++;
      }
    }
    this.oooBytes += added;
    if (added === 0) this.ctx.stats.duplicateSegments++;
    if (conflict) {
      // Keep what arrived first (as most stacks do, RFC 9293 §3.10.7.4 leaves it open); the
      // differing copy may be an evasion attempt or a broken middlebox: worth a count.
      this.ctx.stats.overlapConflicts++;
      this.ctx.anomalies.add('tcp_overlap_conflict');
    }
  }

  /**
   * Deliver buffered chunks that are now in order. A filled hole is delivered first, so the
   * monotonic `stamp` gives the bytes behind it the filler's capture time: when they became
   * deliverable to the application.
   */
  private drain(): void {
    const ooo = this.ooo;
    let k = 0;
    while (k < ooo.length) {
      const c = ooo[k]!;
      if (c.start > this.next) break;
      k++;
      this.unbuffer(c);
      this.next = c.end;
      this.deliver(c.data, c.ts);
    }
    if (k > 0) ooo.splice(0, k);
  }

  /** Caps on what one direction and the whole table may hold behind holes. */
  private afterBuffering(ts: Micros): void {
    if (this.peerAcked > this.next) this.skipAckedHoles(ts);
    const lim = this.ctx.limits;
    if (this.oooBytes > lim.maxOooBytesPerDir || this.ooo.length > lim.maxOooSegmentsPerDir) {
      this.ctx.anomalies.add('tcp_ooo_buffer_full');
      while (
        (this.oooBytes > lim.maxOooBytesPerDir || this.ooo.length > lim.maxOooSegmentsPerDir) &&
        this.skipHole(Infinity, ts)
      );
    }
    if (this.ctx.stats.bufferedBytes > lim.maxBufferedBytes) {
      // Flushing this stream keeps the invariant total ≤ cap: before this segment it held.
      this.ctx.anomalies.add('tcp_reassembly_memory_full');
      this.skipAll(ts);
    }
  }

  private skipAckedHoles(ts: Micros): void {
    while (this.peerAcked > this.next && this.skipHole(this.peerAcked, ts));
  }

  /**
   * Give up the hole at `next`, at most up to `limit`: onGap, then deliver what follows. The
   * bytes after the gap keep the capture time of their own segment: that is when they crossed
   * the wire, and the closest we know to when the receiver had them.
   */
  private skipHole(limit: number, ts: Micros): boolean {
    const first = this.ooo[0];
    let target = first !== undefined ? first.start : this.finOffset;
    if (target <= this.next) return false;
    if (target > limit) target = limit;
    if (target <= this.next) return false;
    const gap = target - this.next;
    this.next = target;
    const stats = this.ctx.stats;
    stats.gaps++;
    stats.gapBytes += gap;
    this.ctx.anomalies.add('tcp_gap');
    const gapTs = first !== undefined && first.start === target ? first.ts : ts;
    this.sink.onGap(this.dir, gap, this.stamp(gapTs));
    this.drain();
    this.checkFin();
    return true;
  }

  private deliver(data: Uint8Array, ts: Micros): void {
    this.ctx.stats.bytesDelivered += data.length;
    this.sink.onData(this.dir, data, this.stamp(ts));
  }

  private stamp(ts: Micros): Micros {
    if (ts > this.lastTs) this.lastTs = ts;
    return this.lastTs;
  }

  private unbuffer(c: Chunk): void {
    this.oooBytes -= c.end - c.start;
    this.charge(-(c.end - c.start + CHUNK_OVERHEAD_BYTES));
  }

  private charge(n: number): void {
    this.charged += n;
    const stats = this.ctx.stats;
    stats.bufferedBytes += n;
    if (stats.bufferedBytes > stats.peakBufferedBytes) stats.peakBufferedBytes = stats.bufferedBytes;
  }
}

function sameBytes(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, n: number): boolean {
  for (let j = 0; j < n; j++) if (a[aOff + j] !== b[bOff + j]) return false;
  return true;
}
