/**
 * AWS event stream framing (`application/vnd.amazon.eventstream`): the binary streaming body of
 * Bedrock's ConverseStream and InvokeModelWithResponseStream (DESIGN §2, "Streaming bodies").
 *
 * A message is (all integers big-endian; https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html
 * and awslabs/aws-c-event-stream `source/event_stream.c`):
 *   prelude: total length u32 · headers length u32 · prelude CRC32 (of the 8 bytes before it)
 *   headers: repeated { name length u8 · name · type u8 · value }
 *   payload: total − headers − 16 bytes
 *   message CRC32 (of everything before it, prelude included)
 * CRCs are CRC-32/IEEE (zlib's). Header value types: 0 bool true, 1 bool false (no value bytes),
 * 2 byte (i8), 3 short (i16), 4 int (i32), 5 long (i64), 6 bytes (u16 length), 7 string (u16
 * length, UTF-8), 8 timestamp (i64 ms since the epoch), 9 uuid (16 bytes).
 *
 * Fed incrementally with body chunks that each carry a capture time; each message carries the
 * time of the chunk that completed it, as SSE events do (sse.ts). Never throws. A frame whose
 * prelude is sound but whose headers or message CRC are not is dropped and parsing goes on at the
 * next frame (the prelude's checked length says where it is). A prelude that fails its CRC or
 * states impossible lengths leaves no way to find the next frame (the format has no sync marker):
 * parsing stops and `stopped` says why.
 */
import { crc32 } from 'node:zlib';
import type { AnomalySink } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';
import type { BodyChunk } from './types.js';
import { TailBuffer, utf8Slice } from './stream-text.js';

/** AWS's own limits (aws-c-event-stream `include/aws/event-stream/event_stream.h`:
 * AWS_EVENT_STREAM_MAX_MESSAGE_SIZE = 16 * 1024 * 1024, AWS_EVENT_STREAM_MAX_HEADERS_SIZE =
 * 128 * 1024): a frame above them is one no AWS service sends. */
export const MAX_EVENTSTREAM_MESSAGE_BYTES = 16 * 1024 * 1024;
export const MAX_EVENTSTREAM_HEADERS_BYTES = 128 * 1024;

/** Prelude (12) + message CRC (4): the size of a message with no headers and no payload. */
const PRELUDE_BYTES = 12;
const MIN_MESSAGE_BYTES = 16;

export const HEADER_TYPE = {
  boolTrue: 0,
  boolFalse: 1,
  byte: 2,
  short: 3,
  int: 4,
  long: 5,
  bytes: 6,
  string: 7,
  timestamp: 8,
  uuid: 9,
} as const;

/** One header: `value` is a boolean (types 0, 1), a number (byte, short, int, and timestamp in ms
 * since the epoch), a bigint (long: i64 does not fit a double), a string (string) or bytes (bytes,
 * uuid). */
export interface EventStreamHeader {
  name: string;
  type: number;
  value: boolean | number | bigint | string | Uint8Array;
}

export interface EventStreamMessage {
  headers: EventStreamHeader[];
  payload: Uint8Array;
  /** Capture time of the chunk that held the message's last byte. */
  ts: Micros;
}

export interface EventStreamOptions {
  /** Cap on one message; default (and at most) AWS's 16 MiB. */
  maxMessageBytes?: number;
}

/** Why parsing stopped for good, or null while it can go on. */
export type EventStreamStop = 'prelude_crc_mismatch' | 'bad_length' | null;

/** A header's string value (type 7), or undefined: `:event-type`, `:message-type`, … */
export function headerString(m: EventStreamMessage, name: string): string | undefined {
  for (const h of m.headers) if (h.name === name && typeof h.value === 'string') return h.value;
  return undefined;
}

/** Incremental parser: push() chunks in order, then end(). */
export class EventStreamParser {
  private readonly maxMessageBytes: number;
  private readonly tail = new TailBuffer();
  /** Total length of the message being gathered in `tail`, once its prelude was read; else 0. */
  private need = 0;
  /** Bytes of an over-cap message still to skip. */
  private skip = 0;
  stopped: EventStreamStop = null;

  constructor(
    private readonly onMessage: (m: EventStreamMessage) => void,
    private readonly anomalies?: AnomalySink,
    options?: EventStreamOptions,
  ) {
    this.maxMessageBytes = Math.min(options?.maxMessageBytes ?? MAX_EVENTSTREAM_MESSAGE_BYTES, MAX_EVENTSTREAM_MESSAGE_BYTES);
  }

  push(chunk: Uint8Array, ts: Micros): void {
    let off = 0;
    const n = chunk.length;
    while (off < n && this.stopped === null) {
      if (this.skip > 0) {
        const k = Math.min(this.skip, n - off);
        this.skip -= k;
        off += k;
        continue;
      }
      if (this.tail.length === 0) {
        // Whole frames inside this chunk are read in place, without a copy.
        if (n - off < PRELUDE_BYTES) {
          this.tail.push(chunk.subarray(off));
          return;
        }
        const total = this.prelude(chunk, off);
        if (total < 0) return;
        if (total > this.maxMessageBytes) {
          this.anomalies?.add('eventstream_message_too_large');
          this.skip = total;
          continue;
        }
        if (n - off < total) {
          this.tail.push(chunk.subarray(off));
          this.need = total;
          return;
        }
        this.message(chunk, off, total, ts);
        off += total;
        continue;
      }
      if (this.need === 0) {
        const k = Math.min(PRELUDE_BYTES - this.tail.length, n - off);
        this.tail.push(chunk.subarray(off, off + k));
        off += k;
        if (this.tail.length < PRELUDE_BYTES) return;
        const pre = this.tail.join(new Uint8Array(0));
        this.tail.clear();
        const total = this.prelude(pre, 0);
        if (total < 0) return;
        if (total > this.maxMessageBytes) {
          this.anomalies?.add('eventstream_message_too_large');
          this.skip = total - PRELUDE_BYTES;
          continue;
        }
        this.tail.push(pre);
        this.need = total;
        continue;
      }
      const k = Math.min(this.need - this.tail.length, n - off);
      this.tail.push(chunk.subarray(off, off + k));
      off += k;
      if (this.tail.length < this.need) return;
      const frame = this.tail.join(new Uint8Array(0));
      const total = this.need;
      this.tail.clear();
      this.need = 0;
      this.message(frame, 0, total, ts);
    }
  }

  /** End of body: a partial frame left over is a message cut short. */
  end(): void {
    if (this.stopped === null && (this.tail.length > 0 || this.skip > 0)) this.anomalies?.add('eventstream_truncated_message');
    this.tail.clear();
    this.need = 0;
    this.skip = 0;
  }

  /** Checks the prelude at `b[off]` (12 bytes present) and returns the total length, or -1 after
   * stopping (a prelude that fails cannot be skipped: its lengths are not to be trusted). */
  private prelude(b: Uint8Array, off: number): number {
    const v = new DataView(b.buffer, b.byteOffset + off, PRELUDE_BYTES);
    const total = v.getUint32(0);
    const headers = v.getUint32(4);
    if (crc32(b.subarray(off, off + 8)) !== v.getUint32(8)) {
      this.stop('prelude_crc_mismatch');
      return -1;
    }
    if (total < MIN_MESSAGE_BYTES || headers > MAX_EVENTSTREAM_HEADERS_BYTES || headers > total - MIN_MESSAGE_BYTES) {
      this.stop('bad_length');
      return -1;
    }
    return total;
  }

  private stop(why: Exclude<EventStreamStop, null>): void {
    this.stopped = why;
    this.anomalies?.add(`eventstream_${why}`);
    this.tail.clear();
    this.need = 0;
  }

  /** A whole frame `b[off, off + total)` whose prelude was checked. */
  private message(b: Uint8Array, off: number, total: number, ts: Micros): void {
    const end = off + total;
    const v = new DataView(b.buffer, b.byteOffset + off, total);
    if (crc32(b.subarray(off, end - 4)) !== v.getUint32(total - 4)) {
      this.anomalies?.add('eventstream_message_crc_mismatch');
      return;
    }
    const headersEnd = off + PRELUDE_BYTES + v.getUint32(4);
    const headers = readHeaders(b, off + PRELUDE_BYTES, headersEnd);
    if (headers === null) {
      this.anomalies?.add('eventstream_bad_headers');
      return;
    }
    // A copy: the chunk may be a view of a buffer its owner reuses after push() returns.
    const payload = new Uint8Array(b.subarray(headersEnd, end - 4));
    this.onMessage({ headers, payload, ts });
  }
}

/** The headers in `b[start, end)`, or null when one runs past the end or has an unknown type. */
function readHeaders(b: Uint8Array, start: number, end: number): EventStreamHeader[] | null {
  const out: EventStreamHeader[] = [];
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = start;
  while (p < end) {
    const nameLen = b[p]!;
    p += 1;
    if (nameLen === 0 || p + nameLen + 1 > end) return null;
    const name = utf8Slice(b, p, p + nameLen);
    p += nameLen;
    const type = b[p]!;
    p += 1;
    let value: EventStreamHeader['value'];
    const fixed = (size: number): boolean => p + size <= end;
    switch (type) {
      case HEADER_TYPE.boolTrue:
        value = true;
        break;
      case HEADER_TYPE.boolFalse:
        value = false;
        break;
      case HEADER_TYPE.byte:
        if (!fixed(1)) return null;
        value = v.getInt8(p);
        p += 1;
        break;
      case HEADER_TYPE.short:
        if (!fixed(2)) return null;
        value = v.getInt16(p);
        p += 2;
        break;
      case HEADER_TYPE.int:
        if (!fixed(4)) return null;
        value = v.getInt32(p);
        p += 4;
        break;
      case HEADER_TYPE.long:
        if (!fixed(8)) return null;
        value = v.getBigInt64(p);
        p += 8;
        break;
      case HEADER_TYPE.timestamp:
        if (!fixed(8)) return null;
        value = Number(v.getBigInt64(p));
        p += 8;
        break;
      case HEADER_TYPE.uuid:
        if (!fixed(16)) return null;
        value = new Uint8Array(b.subarray(p, p + 16));
        p += 16;
        break;
      case HEADER_TYPE.bytes:
      case HEADER_TYPE.string: {
        if (!fixed(2)) return null;
        const len = v.getUint16(p);
        p += 2;
        if (!fixed(len)) return null;
        value = type === HEADER_TYPE.string ? utf8Slice(b, p, p + len) : new Uint8Array(b.subarray(p, p + len));
        p += len;
        break;
      }
      default:
        return null;
    }
    out.push({ name, type, value });
  }
  return out;
}

/** Parse a whole body. */
export function parseEventStream(
  chunks: readonly BodyChunk[],
  anomalies?: AnomalySink,
  options?: EventStreamOptions,
): { messages: EventStreamMessage[]; stopped: EventStreamStop } {
  const messages: EventStreamMessage[] = [];
  const p = new EventStreamParser((m) => messages.push(m), anomalies, options);
  for (const c of chunks) p.push(c.data, c.ts);
  p.end();
  return { messages, stopped: p.stopped };
}

/** Encodes one message (tests and generators; the wire format above, CRCs included). */
export function encodeEventStreamMessage(headers: readonly EventStreamHeader[], payload: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const h of headers) {
    const name = Buffer.from(h.name, 'utf8');
    let value: Uint8Array;
    const fixed = (size: number, write: (d: DataView) => void): Uint8Array => {
      const a = new Uint8Array(size);
      write(new DataView(a.buffer));
      return a;
    };
    switch (h.type) {
      case HEADER_TYPE.boolTrue:
      case HEADER_TYPE.boolFalse:
        value = new Uint8Array(0);
        break;
      case HEADER_TYPE.byte:
        value = fixed(1, (d) => d.setInt8(0, Number(h.value)));
        break;
      case HEADER_TYPE.short:
        value = fixed(2, (d) => d.setInt16(0, Number(h.value)));
        break;
      case HEADER_TYPE.int:
        value = fixed(4, (d) => d.setInt32(0, Number(h.value)));
        break;
      case HEADER_TYPE.long:
      case HEADER_TYPE.timestamp:
        value = fixed(8, (d) => d.setBigInt64(0, BigInt(h.value as number | bigint)));
        break;
      case HEADER_TYPE.uuid:
        value = h.value as Uint8Array;
        break;
      default: {
        const data = typeof h.value === 'string' ? Buffer.from(h.value, 'utf8') : (h.value as Uint8Array);
        value = new Uint8Array(2 + data.length);
        new DataView(value.buffer).setUint16(0, data.length);
        value.set(data, 2);
      }
    }
    parts.push(Uint8Array.of(name.length), name, Uint8Array.of(h.type), value);
  }
  const headerBytes = Buffer.concat(parts);
  const total = MIN_MESSAGE_BYTES + headerBytes.length + payload.length;
  const out = Buffer.alloc(total);
  out.writeUInt32BE(total, 0);
  out.writeUInt32BE(headerBytes.length, 4);
  out.writeUInt32BE(crc32(out.subarray(0, 8)), 8);
  out.set(headerBytes, PRELUDE_BYTES);
  out.set(payload, PRELUDE_BYTES + headerBytes.length);
  out.writeUInt32BE(crc32(out.subarray(0, total - 4)), total - 4);
  return out;
}

/** A Bedrock-style event message: `:message-type event`, `:event-type`, `:content-type`. */
export function encodeEventMessage(eventType: string, payload: unknown, messageType = 'event'): Uint8Array {
  const typeHeader = messageType === 'exception' ? ':exception-type' : ':event-type';
  return encodeEventStreamMessage(
    [
      { name: typeHeader, type: HEADER_TYPE.string, value: eventType },
      { name: ':content-type', type: HEADER_TYPE.string, value: 'application/json' },
      { name: ':message-type', type: HEADER_TYPE.string, value: messageType },
    ],
    Buffer.from(JSON.stringify(payload), 'utf8'),
  );
}
