/**
 * A round's items for one worker, packed for transfer: a Float64Array of META_COLUMNS numbers per
 * item and the frames' bytes end to end in one buffer. Both buffers are transferred (not copied)
 * by postMessage; the writer starts fresh ones for the next round. One message per round, not per
 * packet: a 4 MiB read holds thousands of frames.
 */
import type { CapturedFrame, TcpSegment } from '../capture/types.js';
import type { Micros } from '../core/time.js';
import { ItemKind, META_COLUMNS, type SegmentFields } from './messages.js';

/** Smallest buffer sizes of a round; they double as needed, and the next round starts at the size
 * the last one needed (a round's share of ROUND_BYTES), so growing copies happen in the first
 * rounds only. 64 KiB holds ~40 full-size Ethernet frames. */
const INITIAL_BYTES = 64 * 1024;
const INITIAL_ITEMS = 256;

export class BatchWriter {
  private meta = new Float64Array(INITIAL_ITEMS * META_COLUMNS);
  private bytes = new Uint8Array(INITIAL_BYTES);
  private items = 0;
  private used = 0;
  private segments: SegmentFields[] = [];
  /** Frames (and segments) in this round: what a dropped round loses. */
  packets = 0;

  get byteLength(): number {
    return this.used;
  }

  get itemCount(): number {
    return this.items;
  }

  addFrame(frameNo: number, source: number, f: CapturedFrame): void {
    const len = f.end - f.start;
    this.row(ItemKind.Frame, frameNo, source, f.ts, f.linkType, f.iface, f.origLen, len);
    this.copy(f.buf, f.start, len);
    this.packets++;
  }

  addSegment(frameNo: number, source: number, seg: TcpSegment): void {
    const len = seg.payload.length;
    this.row(ItemKind.Segment, frameNo, source, seg.ts, this.segments.length, 0, len, len);
    this.segments.push({ srcIp: seg.srcIp, dstIp: seg.dstIp, srcPort: seg.srcPort, dstPort: seg.dstPort, seq: seg.seq, ack: seg.ack, flags: seg.flags });
    this.copy(seg.payload, 0, len);
    this.packets++;
  }

  addMarker(kind: typeof ItemKind.Expire | typeof ItemKind.AdvanceTo, frameNo: number, source: number, ts: Micros): void {
    this.row(kind, frameNo, source, ts, 0, 0, 0, 0);
  }

  /** Drops the round's frames and segments, keeping its markers (a live source's full queue). */
  dropPackets(): number {
    const dropped = this.packets;
    if (dropped === 0) return 0;
    const m = this.meta;
    let w = 0;
    for (let r = 0; r < this.items; r++) {
      const k = m[r * META_COLUMNS]!;
      if (k === ItemKind.Frame || k === ItemKind.Segment) continue;
      if (w !== r) m.copyWithin(w * META_COLUMNS, r * META_COLUMNS, (r + 1) * META_COLUMNS);
      w++;
    }
    this.items = w;
    this.used = 0;
    this.segments = [];
    this.packets = 0;
    return dropped;
  }

  /** The round's buffers (to transfer) and a fresh writer state, on `spare` buffers when the
   * workers handed some back (BufferRecycler) and they are large enough. */
  take(spare?: BufferRecycler): { meta: Float64Array; bytes: Uint8Array; segments: SegmentFields[] } {
    const out = { meta: this.meta.subarray(0, this.items * META_COLUMNS), bytes: this.bytes.subarray(0, this.used), segments: this.segments };
    this.meta = new Float64Array(spare?.get(this.meta.byteLength) ?? new ArrayBuffer(this.meta.byteLength));
    this.bytes = new Uint8Array(spare?.get(this.bytes.byteLength) ?? new ArrayBuffer(this.bytes.byteLength));
    this.items = 0;
    this.used = 0;
    this.segments = [];
    this.packets = 0;
    return out;
  }

  private row(kind: number, frameNo: number, source: number, ts: number, a: number, b: number, origLen: number, len: number): void {
    if ((this.items + 1) * META_COLUMNS > this.meta.length) {
      const grown = new Float64Array(this.meta.length * 2);
      grown.set(this.meta);
      this.meta = grown;
    }
    const m = this.meta;
    const o = this.items * META_COLUMNS;
    m[o] = kind;
    m[o + 1] = frameNo;
    m[o + 2] = source;
    m[o + 3] = ts;
    m[o + 4] = a;
    m[o + 5] = b;
    m[o + 6] = origLen;
    m[o + 7] = len;
    this.items++;
  }

  private copy(src: Uint8Array, start: number, len: number): void {
    if (this.used + len > this.bytes.length) {
      let size = this.bytes.length * 2;
      while (size < this.used + len) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    const b = this.bytes;
    const at = this.used;
    // Small frames (pure ACKs are ~40% of them) are copied byte by byte: cheaper than a view and set().
    if (len <= 64) for (let i = 0; i < len; i++) b[at + i] = src[start + i]!;
    else b.set(new Uint8Array(src.buffer, src.byteOffset + start, len), at);
    this.used = at + len;
  }
}

/**
 * Buffers the workers handed back after a round (transferred again, not copied): reused for the
 * next rounds instead of allocating 2 × ROUND_BYTES of external memory per round, whose churn
 * makes every isolate collect more often. At most MAX_SPARE are kept.
 */
export class BufferRecycler {
  private readonly spare: ArrayBuffer[] = [];
  /** Two buffers per worker per round in flight is the most that can come back before reuse. */
  static readonly MAX_SPARE = 64;

  put(b: ArrayBuffer): void {
    if (this.spare.length < BufferRecycler.MAX_SPARE && b.byteLength > 0) this.spare.push(b);
  }

  /** A spare buffer of at least `size` bytes, or undefined. */
  get(size: number): ArrayBuffer | undefined {
    for (let i = this.spare.length - 1; i >= 0; i--) {
      const b = this.spare[i]!;
      if (b.byteLength >= size && b.byteLength % 8 === 0) {
        this.spare[i] = this.spare[this.spare.length - 1]!;
        this.spare.pop();
        return b;
      }
    }
    return undefined;
  }
}

/** What a worker does with each item of a batch, in order. The frame and segment objects are
 * reused across items (valid only during the call, as the capture reader's are). */
export interface BatchVisitor {
  frame(frameNo: number, source: number, f: CapturedFrame): void;
  segment(frameNo: number, source: number, seg: TcpSegment): void;
  marker(kind: typeof ItemKind.Expire | typeof ItemKind.AdvanceTo, frameNo: number, source: number, ts: Micros): void;
}

export function readBatch(meta: Float64Array, bytes: Uint8Array, segments: readonly SegmentFields[], visit: BatchVisitor): void {
  const frame: CapturedFrame = { ts: 0, linkType: 0, iface: 0, buf: bytes, start: 0, end: 0, origLen: 0 };
  const seg: TcpSegment = { ts: 0, srcIp: '', dstIp: '', srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, payload: bytes.subarray(0, 0) };
  let at = 0;
  for (let o = 0; o + META_COLUMNS <= meta.length; o += META_COLUMNS) {
    const kind = meta[o]!;
    const frameNo = meta[o + 1]!;
    const source = meta[o + 2]!;
    const ts = meta[o + 3]!;
    const len = meta[o + 7]!;
    if (kind === ItemKind.Frame) {
      frame.ts = ts;
      frame.linkType = meta[o + 4]!;
      frame.iface = meta[o + 5]!;
      frame.origLen = meta[o + 6]!;
      frame.start = at;
      frame.end = at + len;
      visit.frame(frameNo, source, frame);
    } else if (kind === ItemKind.Segment) {
      const f = segments[meta[o + 4]!];
      if (f !== undefined) {
        seg.ts = ts;
        seg.srcIp = f.srcIp;
        seg.dstIp = f.dstIp;
        seg.srcPort = f.srcPort;
        seg.dstPort = f.dstPort;
        seg.seq = f.seq;
        seg.ack = f.ack;
        seg.flags = f.flags;
        seg.payload = bytes.subarray(at, at + len);
        visit.segment(frameNo, source, seg);
      }
    } else if (kind === ItemKind.Expire || kind === ItemKind.AdvanceTo) {
      visit.marker(kind, frameNo, source, ts);
    }
    at += len;
  }
}
