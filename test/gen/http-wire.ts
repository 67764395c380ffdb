/**
 * HTTP/1.1 message bytes for the generators (RFC 9112): request and response heads, bodies framed
 * by Content-Length, chunked transfer coding (§7.1) or connection close (§6.3 rule 8), and gzip
 * content coding flushed per piece (as a streaming server does with Z_SYNC_FLUSH, so each SSE
 * event is decodable as soon as its packet arrives).
 */
import { constants, crc32, deflateRawSync } from 'node:zlib';
import type { Micros } from '../../src/core/time.js';
import type { TimedPiece } from './tcp-conversation.js';

export type Header = [string, string];
export type Framing = 'content-length' | 'chunked' | 'close';

const enc = new TextEncoder();

export function utf8(s: string): Uint8Array {
  return enc.encode(s);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function head(startLine: string, headers: Header[]): Uint8Array {
  let s = startLine + '\r\n';
  for (const [k, v] of headers) s += `${k}: ${v}\r\n`;
  return utf8(s + '\r\n');
}

/** A whole request: head and Content-Length body, sent as one piece at `at`. */
export function requestPiece(at: Micros, method: string, target: string, headers: Header[], body: Uint8Array): TimedPiece {
  const h = head(`${method} ${target} HTTP/1.1`, [...headers, ['Content-Length', String(body.length)]]);
  return { at, data: concat([h, body]) };
}

/** Streaming gzip (RFC 1952) where every piece ends on a sync flush: concatenated raw-deflate
 * segments that never set BFINAL, then a final empty block and the CRC32/ISIZE trailer. */
export function gzipPieces(pieces: Uint8Array[], complete = true): Uint8Array[] {
  // Header: ID1 ID2, CM=8 (deflate), FLG=0, MTIME=0 (reproducible), XFL=0, OS=255 (unknown).
  const header = Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff);
  let crc = 0;
  let size = 0;
  const out = pieces.map((p, i) => {
    crc = crc32(p, crc);
    size += p.length;
    const z = new Uint8Array(deflateRawSync(p, { finishFlush: constants.Z_SYNC_FLUSH }));
    return i === 0 ? concat([header, z]) : z;
  });
  if (out.length === 0) out.push(header);
  if (complete) {
    const trailer = new Uint8Array(8);
    const v = new DataView(trailer.buffer);
    v.setUint32(0, crc >>> 0, true);
    v.setUint32(4, size >>> 0, true);
    const fin = new Uint8Array(deflateRawSync(new Uint8Array(0)));
    out[out.length - 1] = concat([out[out.length - 1]!, fin, trailer]);
  }
  return out;
}

export interface ResponseSpec {
  status: number;
  reason: string;
  headers: Header[];
  /** Body pieces (decoded) with the time each leaves the server. */
  body: TimedPiece[];
  /** Time of the status line (when headers are flushed before the body); default: first piece. */
  headAt?: Micros;
  framing: Framing;
  gzip?: boolean;
  /** false: the body stops early (interrupted stream): no final chunk, no gzip trailer. */
  complete?: boolean;
}

/** Response pieces on the wire, where each body piece landed (`bodyIndex[i]` = index in
 * `pieces`), and the body's size on the wire. */
export function responsePieces(r: ResponseSpec): { pieces: TimedPiece[]; bodyIndex: number[]; bodyWireBytes: number } {
  const complete = r.complete ?? true;
  let data = r.body.map((p) => p.data);
  if (r.gzip) data = gzipPieces(data, complete);
  const headers: Header[] = [...r.headers];
  if (r.gzip) headers.push(['Content-Encoding', 'gzip']);
  if (r.framing === 'content-length') {
    // A truncated Content-Length body still declares the full size.
    const full = r.gzip && !complete ? gzipPieces(r.body.map((p) => p.data), true) : data;
    headers.push(['Content-Length', String(full.reduce((n, p) => n + p.length, 0))]);
  } else if (r.framing === 'chunked') {
    headers.push(['Transfer-Encoding', 'chunked']);
  } else {
    headers.push(['Connection', 'close']);
  }
  const h = head(`HTTP/1.1 ${r.status} ${r.reason}`, headers);
  const wire = data.map((d, i) => {
    if (r.framing !== 'chunked') return d;
    const parts = d.length > 0 ? [utf8(`${d.length.toString(16)}\r\n`), d, utf8('\r\n')] : [];
    if (complete && i === data.length - 1) parts.push(utf8('0\r\n\r\n'));
    return concat(parts);
  });
  const bodyWireBytes = wire.reduce((n, p) => n + p.length, 0);
  const pieces: TimedPiece[] = [];
  const bodyIndex: number[] = [];
  const firstAt = r.body[0]?.at ?? r.headAt ?? 0;
  if (r.headAt !== undefined && r.headAt < firstAt) {
    pieces.push({ at: r.headAt, data: h });
    r.body.forEach((p, i) => bodyIndex.push(pieces.push({ at: p.at, data: wire[i]! }) - 1));
  } else {
    r.body.forEach((p, i) => bodyIndex.push(pieces.push({ at: p.at, data: i === 0 ? concat([h, wire[0]!]) : wire[i]! }) - 1));
    if (r.body.length === 0) pieces.push({ at: r.headAt ?? 0, data: complete && r.framing === 'chunked' ? concat([h, utf8('0\r\n\r\n')]) : h });
  }
  return { pieces, bodyIndex, bodyWireBytes };
}

/** RFC 9110 §5.6.7 IMF-fixdate from capture time (deterministic `Date` headers). */
export function httpDate(t: Micros): string {
  return new Date(Math.floor(t / 1000)).toUTCString();
}
