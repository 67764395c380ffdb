/**
 * HTTP/2 frame layer (RFC 9113 §4, §6) for one direction of a connection: the client preface,
 * frame headers, payloads, padding. Bytes arrive in whatever pieces TCP delivered them; frames
 * come out whole (control and header-block frames, up to a cap) or, for DATA, as the bytes of
 * each piece, so a body keeps the capture time of the packet that carried each part.
 *
 * When the start of the stream was not seen (a connection joined mid-way) or bytes were lost,
 * the reader looks for a frame boundary: a plausible frame header followed by another one, or
 * ending exactly where the bytes end (a sender writes whole frames, so a packet often ends on a
 * frame boundary). Plausible means a known type with a length, flags and stream id that type
 * allows (`plausibleFrameHeader`).
 */
import type { Micros } from '../../core/time.js';

/** RFC 9113 §3.4: the client connection preface. */
export const CLIENT_PREFACE: Uint8Array = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FRAME_HEADER_BYTES = 9;

/** RFC 9113 §6 frame types. */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** RFC 9113 §4.2 / §6.5.2: SETTINGS_MAX_FRAME_SIZE initial value, and the largest allowed. */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const LARGEST_FRAME_SIZE = 16_777_215;

export interface FrameHeader {
  length: number;
  type: number;
  flags: number;
  streamId: number;
  /** Capture time of the packet holding the frame's first byte. */
  startTs: Micros;
}

export interface FrameListener {
  /** Part of a DATA frame's data, padding removed (lent for the call). */
  onData(h: FrameHeader, data: Uint8Array, ts: Micros): void;
  /**
   * A frame ended with the packet captured at `ts`. `payload` (lent) is the whole payload for
   * frames other than DATA and unknown types, or null when it was over the buffering cap.
   */
  onFrame(h: FrameHeader, payload: Uint8Array | null, ts: Micros): void;
  onAnomaly(name: string): void;
  /** The reader found a frame boundary again after losing it (state before it is unknown). */
  onResync(): void;
}

export interface FrameReaderOptions {
  /** Expect the client preface first (the client side of a connection seen from its start). */
  expectPreface: boolean;
  /** The stream is seen from its start (false: joined mid-way, look for a frame boundary). */
  synced: boolean;
  /** Largest payload buffered for a non-DATA frame (header blocks: HttpLimits.maxHeaderBytes). */
  maxBufferedPayload: number;
  /** Bytes scanned for a frame boundary before giving up (HttpLimits.maxInitialResyncBytes). */
  maxResyncBytes: number;
}

/**
 * Bytes kept while looking for a frame boundary: two frame headers and a default-size frame
 * between them (9 + 16384 + 9), rounded up to 64 KiB. A frame longer than the window cannot be
 * confirmed by the header after it, only by ending where a packet ends.
 */
const RESYNC_WINDOW = 64 * 1024;

type Mode = 'preface' | 'header' | 'payload' | 'resync' | 'stopped';

/** Frame types whose payload is read whole; others (DATA, unknown) are streamed or skipped. */
function buffered(type: number): boolean {
  return type >= FrameType.HEADERS && type <= FrameType.CONTINUATION;
}

export class FrameReader {
  private mode: Mode;
  private prefaceAt = 0;
  private readonly hdr = new Uint8Array(FRAME_HEADER_BYTES);
  private hdrLen = 0;
  private hdrTs: Micros = 0;
  private frame: FrameHeader | null = null;
  /** Payload bytes still to read of the current frame. */
  private remaining = 0;
  /** DATA: trailing padding bytes of the current frame (-1: pad length byte not read yet). */
  private padLeft = 0;
  private payload: Uint8Array | null = null;
  private payloadLen = 0;
  /** Resync: bytes kept (copies) and the capture time of each piece, by end offset. */
  private scan: Uint8Array = new Uint8Array(0);
  private scanLen = 0;
  private scanTimes: { end: number; ts: Micros }[] = [];
  private scanned = 0;
  /** Largest frame the receiving side allowed (its SETTINGS_MAX_FRAME_SIZE). */
  maxFrameSize = DEFAULT_MAX_FRAME_SIZE;

  constructor(
    private readonly listener: FrameListener,
    private readonly opts: FrameReaderOptions,
  ) {
    this.mode = !opts.synced ? 'resync' : opts.expectPreface ? 'preface' : 'header';
  }

  get stopped(): boolean {
    return this.mode === 'stopped';
  }

  /** The DATA frame being read, if any (for placing a hole in its stream's body). */
  get currentData(): FrameHeader | null {
    return this.mode === 'payload' && this.frame?.type === FrameType.DATA ? this.frame : null;
  }

  get inSync(): boolean {
    return this.mode === 'header' || this.mode === 'payload' || this.mode === 'preface';
  }

  push(data: Uint8Array, ts: Micros): void {
    let i = 0;
    const n = data.length;
    while (i < n) {
      switch (this.mode) {
        case 'stopped':
          return;
        case 'resync':
          this.resync(data.subarray(i), ts);
          return;
        case 'preface': {
          while (i < n && this.prefaceAt < CLIENT_PREFACE.length) {
            if (data[i] !== CLIENT_PREFACE[this.prefaceAt]) {
              this.listener.onAnomaly('h2_bad_preface');
              this.startResync();
              // The bytes that did match may be frames too: scan them again with the rest.
              const partial = CLIENT_PREFACE.subarray(0, this.prefaceAt);
              this.prefaceAt = 0;
              if (partial.length > 0) this.resync(partial, ts);
              this.resync(data.subarray(i), ts);
              return;
            }
            i++;
            this.prefaceAt++;
          }
          if (this.prefaceAt === CLIENT_PREFACE.length) this.mode = 'header';
          break;
        }
        case 'header': {
          if (this.hdrLen === 0) this.hdrTs = ts;
          const take = Math.min(FRAME_HEADER_BYTES - this.hdrLen, n - i);
          this.hdr.set(data.subarray(i, i + take), this.hdrLen);
          this.hdrLen += take;
          i += take;
          if (this.hdrLen === FRAME_HEADER_BYTES) {
            this.hdrLen = 0;
            this.startFrame(ts);
          }
          break;
        }
        case 'payload':
          i += this.payloadBytes(data, i, ts);
          break;
      }
    }
  }

  /**
   * `bytes` were lost. Inside a DATA frame's data, the frame goes on (a hole in the body);
   * anywhere else the frame boundaries are lost: returns false and looks for the next one.
   */
  gap(bytes: number): boolean {
    if (this.mode === 'stopped') return false;
    const f = this.frame;
    if (this.mode === 'payload' && f !== null && f.type === FrameType.DATA && this.padLeft >= 0 && bytes < this.remaining - this.padLeft) {
      this.remaining -= bytes;
      return true;
    }
    this.startResync();
    return false;
  }

  stop(): void {
    this.mode = 'stopped';
    this.payload = null;
    this.scan = new Uint8Array(0);
  }

  private startFrame(ts: Micros): void {
    const h = this.hdr;
    const f: FrameHeader = {
      length: (h[0]! << 16) | (h[1]! << 8) | h[2]!,
      type: h[3]!,
      flags: h[4]!,
      // RFC 9113 §4.1: the reserved bit is ignored on receipt.
      streamId: ((h[5]! & 0x7f) * 0x1000000) + ((h[6]! << 16) | (h[7]! << 8) | h[8]!),
      startTs: this.hdrTs,
    };
    if (f.length > this.maxFrameSize) this.listener.onAnomaly('h2_frame_too_large');
    this.frame = f;
    this.remaining = f.length;
    this.payloadLen = 0;
    this.payload = buffered(f.type) && f.length <= this.opts.maxBufferedPayload ? new Uint8Array(f.length) : null;
    this.padLeft = f.type === FrameType.DATA && (f.flags & Flag.PADDED) !== 0 ? -1 : 0;
    if (f.type === FrameType.DATA && f.flags & Flag.PADDED && f.length === 0) {
      this.listener.onAnomaly('h2_bad_padding');
      this.padLeft = 0;
    }
    this.mode = 'payload';
    if (f.length === 0) this.endFrame(ts);
  }

  /** Consumes payload bytes from data[i..]; returns how many. */
  private payloadBytes(data: Uint8Array, i: number, ts: Micros): number {
    const f = this.frame!;
    const take = Math.min(this.remaining, data.length - i);
    if (f.type === FrameType.DATA) this.dataBytes(f, data.subarray(i, i + take), ts);
    else if (this.payload !== null) {
      this.payload.set(data.subarray(i, i + take), this.payloadLen);
      this.payloadLen += take;
    }
    this.remaining -= take;
    if (this.remaining === 0) this.endFrame(ts);
    return take;
  }

  private dataBytes(f: FrameHeader, bytes: Uint8Array, ts: Micros): void {
    let b = bytes;
    if (this.padLeft === -1 && b.length > 0) {
      // §6.1: Pad Length, then data, then that many octets of padding.
      const pad = b[0]!;
      b = b.subarray(1);
      if (pad > f.length - 1) {
        // §6.1: padding as long as the payload is a protocol error; nothing here is data.
        this.listener.onAnomaly('h2_bad_padding');
        this.padLeft = this.remaining - 1;
      } else this.padLeft = pad;
    }
    // Data is what lies before the trailing padding.
    const dataLeft = this.remaining - (bytes.length - b.length) - this.padLeft;
    const n = Math.max(0, Math.min(b.length, dataLeft));
    if (n > 0) this.listener.onData(f, b.subarray(0, n), ts);
  }

  private endFrame(ts: Micros): void {
    const f = this.frame!;
    const payload = this.payload;
    this.payload = null;
    this.frame = null;
    this.mode = 'header';
    this.listener.onFrame(f, payload, ts);
  }

  // ---- finding a frame boundary ----

  private startResync(): void {
    this.mode = 'resync';
    this.frame = null;
    this.payload = null;
    this.hdrLen = 0;
    this.scanLen = 0;
    this.scanTimes = [];
    this.scanned = 0;
  }

  private resync(data: Uint8Array, ts: Micros): void {
    let off = 0;
    while (off < data.length && this.mode === 'resync') {
      // Keep at most RESYNC_WINDOW bytes; older ones can no longer start a confirmed frame.
      const take = Math.min(data.length - off, RESYNC_WINDOW - this.scanLen);
      if (take === 0) {
        this.dropScan(this.scanLen - FRAME_HEADER_BYTES + 1);
        continue;
      }
      this.appendScan(data.subarray(off, off + take), ts);
      off += take;
      this.scanned += take;
      const at = this.findBoundary();
      if (at >= 0) {
        this.resume(at, data.subarray(off), ts);
        return;
      }
      if (this.scanned > this.opts.maxResyncBytes) {
        this.listener.onAnomaly('h2_resync_failed');
        this.stop();
        return;
      }
    }
  }

  private appendScan(piece: Uint8Array, ts: Micros): void {
    if (this.scan.length < this.scanLen + piece.length) {
      const next = new Uint8Array(Math.min(RESYNC_WINDOW, Math.max(2 * this.scan.length, this.scanLen + piece.length, 4096)));
      next.set(this.scan.subarray(0, this.scanLen));
      this.scan = next;
    }
    this.scan.set(piece, this.scanLen);
    this.scanLen += piece.length;
    const last = this.scanTimes[this.scanTimes.length - 1];
    if (last !== undefined && last.ts === ts) last.end = this.scanLen;
    else this.scanTimes.push({ end: this.scanLen, ts });
  }

  /** Drops the first `n` kept bytes. */
  private dropScan(n: number): void {
    if (n <= 0) return;
    this.scan.copyWithin(0, n, this.scanLen);
    this.scanLen -= n;
    this.scanTimes = this.scanTimes.map((p) => ({ end: p.end - n, ts: p.ts })).filter((p) => p.end > 0);
  }

  /**
   * Offset of the first confirmed frame start in the kept bytes, or -1. Bytes that cannot start
   * one any more are dropped; an offset that needs bytes not yet seen keeps the rest for later.
   */
  private findBoundary(): number {
    const b = this.scan;
    const n = this.scanLen;
    const max = Math.max(this.maxFrameSize, DEFAULT_MAX_FRAME_SIZE);
    let i = 0;
    for (; i + FRAME_HEADER_BYTES <= n; i++) {
      if (!plausibleFrameHeader(b, i, max)) continue;
      const next = i + FRAME_HEADER_BYTES + frameLength(b, i);
      if (next === n) return i;
      if (next + FRAME_HEADER_BYTES <= n) {
        if (plausibleFrameHeader(b, next, max)) return i;
        continue;
      }
      // The confirming header is not here yet: wait, unless the window could never hold it.
      if (next + FRAME_HEADER_BYTES - i <= RESYNC_WINDOW) break;
    }
    this.dropScan(Math.min(i, n - (FRAME_HEADER_BYTES - 1)));
    return -1;
  }

  /** Frames start at `at` of the kept bytes: parse from there, then the rest of this piece. */
  private resume(at: number, rest: Uint8Array, ts: Micros): void {
    const kept = this.scan.subarray(0, this.scanLen);
    const times = this.scanTimes;
    this.mode = 'header';
    this.hdrLen = 0;
    this.scan = new Uint8Array(0);
    this.scanLen = 0;
    this.scanTimes = [];
    this.listener.onResync();
    let start = 0;
    for (const p of times) {
      const from = Math.max(start, at);
      if (p.end > from) this.push(kept.subarray(from, p.end), p.ts);
      start = p.end;
    }
    if (rest.length > 0) this.push(rest, ts);
  }
}

function frameLength(b: Uint8Array, i: number): number {
  return (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
}

/**
 * Could b[i..i+9) be a frame header? Known type; R bit clear; length within `maxLength` and what
 * the type requires (§6.3 PRIORITY 5, §6.4 RST_STREAM 4, §6.5 SETTINGS a multiple of 6 and empty
 * when ACK, §6.7 PING 8, §6.8 GOAWAY at least 8, §6.9 WINDOW_UPDATE 4); only the type's defined
 * flags; a stream id where the type needs one, none where it must not have one.
 */
export function plausibleFrameHeader(b: Uint8Array, i: number, maxLength: number): boolean {
  const len = frameLength(b, i);
  const type = b[i + 3]!;
  const flags = b[i + 4]!;
  if (len > maxLength || (b[i + 5]! & 0x80) !== 0) return false;
  const sid = ((b[i + 5]! & 0x7f) << 24) | (b[i + 6]! << 16) | (b[i + 7]! << 8) | b[i + 8]!;
  switch (type) {
    case FrameType.DATA:
      return sid !== 0 && (flags & ~(Flag.END_STREAM | Flag.PADDED)) === 0;
    case FrameType.HEADERS:
      return sid !== 0 && len > 0 && (flags & ~(Flag.END_STREAM | Flag.END_HEADERS | Flag.PADDED | Flag.PRIORITY)) === 0;
    case FrameType.PRIORITY:
      return sid !== 0 && len === 5 && flags === 0;
    case FrameType.RST_STREAM:
      return sid !== 0 && len === 4 && flags === 0;
    case FrameType.SETTINGS:
      return sid === 0 && len % 6 === 0 && (flags === 0 || (flags === Flag.ACK && len === 0));
    case FrameType.PUSH_PROMISE:
      return sid !== 0 && len >= 4 && (flags & ~(Flag.END_HEADERS | Flag.PADDED)) === 0;
    case FrameType.PING:
      return sid === 0 && len === 8 && (flags & ~Flag.ACK) === 0;
    case FrameType.GOAWAY:
      return sid === 0 && len >= 8 && flags === 0;
    case FrameType.WINDOW_UPDATE:
      return len === 4 && flags === 0;
    case FrameType.CONTINUATION:
      return sid !== 0 && (flags & ~Flag.END_HEADERS) === 0;
    default:
      return false;
  }
}

/**
 * Whether `b`, a stream's first bytes (not the preface), starts with HTTP/2 frames: 'yes' when
 * the first header is plausible and so is the next one, or the first frame ends exactly at `b`'s
 * end; 'more' when the first is plausible but its end is not here yet; else 'no'.
 */
export function framesAtStart(b: Uint8Array): 'yes' | 'no' | 'more' {
  if (b.length < FRAME_HEADER_BYTES) return b.length === 0 ? 'more' : partialHeaderOk(b) ? 'more' : 'no';
  if (!plausibleFrameHeader(b, 0, DEFAULT_MAX_FRAME_SIZE)) return 'no';
  const next = FRAME_HEADER_BYTES + frameLength(b, 0);
  if (next === b.length) return 'yes';
  if (next + FRAME_HEADER_BYTES > b.length) return 'more';
  return plausibleFrameHeader(b, next, DEFAULT_MAX_FRAME_SIZE) ? 'yes' : 'no';
}

/** A header cut short could still be plausible: its length must fit the default maximum. */
function partialHeaderOk(b: Uint8Array): boolean {
  if (b[0] !== 0) return false;
  return b.length < 2 || b[1]! <= DEFAULT_MAX_FRAME_SIZE >> 8;
}

export function startsWithFrames(b: Uint8Array): boolean {
  return framesAtStart(b) === 'yes';
}
