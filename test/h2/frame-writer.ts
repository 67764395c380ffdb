/**
 * Writes HTTP/2 frames (RFC 9113 §4.1, §6) for tests and generators: one connection's two byte
 * streams, with an HPACK encoder per direction (src/http/h2/hpack-encoder.test-support.ts).
 */
import { HpackTestEncoder, type Field } from '../../src/http/h2/hpack-encoder.test-support.js';
import { CLIENT_PREFACE, Flag, FrameType } from '../../src/http/h2/frames.js';

export { CLIENT_PREFACE, Flag, FrameType };

export function frame(type: number, flags: number, streamId: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(9 + payload.length);
  out[0] = (payload.length >> 16) & 0xff;
  out[1] = (payload.length >> 8) & 0xff;
  out[2] = payload.length & 0xff;
  out[3] = type;
  out[4] = flags;
  new DataView(out.buffer).setUint32(5, streamId >>> 0);
  out.set(payload, 9);
  return out;
}

export function settingsFrame(params: [number, number][] = [], ack = false): Uint8Array {
  const p = new Uint8Array(6 * params.length);
  const v = new DataView(p.buffer);
  params.forEach(([id, value], i) => {
    v.setUint16(6 * i, id);
    v.setUint32(6 * i + 2, value);
  });
  return frame(FrameType.SETTINGS, ack ? Flag.ACK : 0, 0, p);
}

export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  return b;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

export interface BlockOptions {
  endStream?: boolean;
  /** Split the block into HEADERS + CONTINUATION frames of at most this many bytes. */
  maxFragment?: number;
  /** Pad the HEADERS frame with this many octets (§6.2 PADDED). */
  pad?: number;
  /** Add priority fields (§6.2 PRIORITY). */
  priority?: boolean;
}

/** A header block as HEADERS (+ CONTINUATION) frames. */
export function headerFrames(streamId: number, block: Uint8Array, o: BlockOptions = {}): Uint8Array[] {
  const max = o.maxFragment ?? 16_384;
  const first = block.subarray(0, max);
  let flags = o.endStream ? Flag.END_STREAM : 0;
  if (first.length === block.length) flags |= Flag.END_HEADERS;
  const pre: Uint8Array[] = [];
  if (o.pad !== undefined) {
    flags |= Flag.PADDED;
    pre.push(Uint8Array.of(o.pad));
  }
  if (o.priority) {
    flags |= Flag.PRIORITY;
    pre.push(u32(0x80000000 | 0), Uint8Array.of(15));
  }
  const out = [frame(FrameType.HEADERS, flags, streamId, concat([...pre, first, new Uint8Array(o.pad ?? 0)]))];
  for (let at = max; at < block.length; at += max) {
    const piece = block.subarray(at, at + max);
    out.push(frame(FrameType.CONTINUATION, at + max >= block.length ? Flag.END_HEADERS : 0, streamId, piece));
  }
  return out;
}

export function dataFrame(streamId: number, data: Uint8Array, endStream = false, pad?: number): Uint8Array {
  if (pad === undefined) return frame(FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId, data);
  return frame(FrameType.DATA, (endStream ? Flag.END_STREAM : 0) | Flag.PADDED, streamId, concat([Uint8Array.of(pad), data, new Uint8Array(pad)]));
}

/** Both encoders of a connection: the client's (requests) and the server's (responses). */
export class H2Wire {
  readonly client = new HpackTestEncoder();
  readonly server = new HpackTestEncoder();

  requestHeaders(streamId: number, fields: Field[], o: BlockOptions = {}): Uint8Array[] {
    return headerFrames(streamId, this.client.encode(fields), o);
  }

  responseHeaders(streamId: number, fields: Field[], o: BlockOptions = {}): Uint8Array[] {
    return headerFrames(streamId, this.server.encode(fields), o);
  }
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
