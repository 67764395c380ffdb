import type { Micros } from '../core/time.js';
import type { ConnectionInfo } from '../reassembly/types.js';
import { utf8Slice } from './stream-text.js';

/** Header list in wire order; names lower-cased, values as sent (trimmed). */
export type HeaderList = [name: string, value: string][];

export function headerValue(headers: HeaderList, name: string): string | undefined {
  for (const [n, v] of headers) if (n === name) return v;
  return undefined;
}

/** A piece of a decoded body (de-chunked and decompressed) with the capture time of the packet
 * whose arrival produced it. SSE/NDJSON event times are taken from these. */
export interface BodyChunk {
  data: Uint8Array;
  ts: Micros;
}

export interface HttpBody {
  /** Decoded pieces in order (after transfer and content decoding). */
  chunks: BodyChunk[];
  /** Decoded size kept in `chunks`. */
  size: number;
  /** Bytes of body on the wire (before transfer/content decoding). */
  wireBytes: number;
  /** Content-Encoding as sent (e.g. "gzip"), or null. */
  contentEncoding: string | null;
  /** True when a cap stopped us keeping all of it, or decoding failed part-way. */
  truncated: boolean;
  /** True when the body ended before its declared end (connection closed, gap). */
  incomplete: boolean;
}

export interface HttpRequest {
  method: string;
  /** Request target as sent (path + query). */
  target: string;
  /** Path without query. */
  path: string;
  /** Raw query string without '?', or ''. */
  query: string;
  version: string; // "HTTP/1.1", "HTTP/2"
  headers: HeaderList;
  body: HttpBody;
  /** First byte of the request line. */
  start: Micros;
  /** Last byte of the request. */
  end: Micros;
  /** Bytes on the wire: head + body. */
  wireBytes: number;
}

export interface HttpResponse {
  status: number;
  reason: string;
  version: string;
  headers: HeaderList;
  /** Final trailers (chunked), if any. */
  trailers: HeaderList;
  body: HttpBody;
  /** Capture time of the packet carrying the status line (of the final, non-1xx response). */
  start: Micros;
  end: Micros;
  wireBytes: number;
}

/** One request and its response (null when the connection ended before any response). */
export interface HttpExchange {
  connection: ConnectionInfo;
  /** Position of this exchange on its connection, from 0. */
  seq: number;
  request: HttpRequest;
  response: HttpResponse | null;
  /** Anomaly names that touched this exchange (also counted globally). */
  anomalies: string[];
}

export type ExchangeHandler = (ex: HttpExchange) => void;

/**
 * The buffer a body's chunks were cut from, end to end, by chunks array: h1/body.ts registers it.
 * Finding out from the chunks costs the `buffer` and `byteOffset` getters of every chunk (~400
 * instructions a chunk, callgrind), and a streamed response has a chunk per packet (103k on the
 * 200 MB bench). A WeakMap: the entry goes with the body.
 */
const contiguous = new WeakMap<readonly BodyChunk[], Buffer>();

/** Records that `chunks` lie end to end in `whole` (all of it, in order). */
export function setContiguousChunks(chunks: readonly BodyChunk[], whole: Buffer): void {
  contiguous.set(chunks, whole);
}

/** The one buffer holding `chunks` end to end, when one was recorded and still spans `size` bytes
 * (the chunks' total length, which the caller has: a changed chunk list is then not trusted). */
export function contiguousBytes(chunks: readonly BodyChunk[], size: number): Buffer | undefined {
  const whole = contiguous.get(chunks);
  return whole !== undefined && whole.length === size ? whole : undefined;
}

/** The whole decoded body as one array: a view (no copy) when its chunks lie end to end in one
 * buffer, as the HTTP/1 layer stores them (h1/body.ts), else a concatenation. */
export function bodyBytes(body: HttpBody): Uint8Array {
  const chunks = body.chunks;
  if (chunks.length === 1) return chunks[0]!.data;
  if (chunks.length === 0) return new Uint8Array(0);
  const whole = contiguousBytes(chunks, body.size);
  if (whole !== undefined) return whole;
  const first = chunks[0]!.data;
  let next = first.byteOffset + first.length;
  let adjacent = true;
  for (let i = 1; i < chunks.length; i++) {
    const d = chunks[i]!.data;
    if (d.buffer !== first.buffer || d.byteOffset !== next) {
      adjacent = false;
      break;
    }
    next += d.length;
  }
  if (adjacent) return Buffer.from(first.buffer, first.byteOffset, next - first.byteOffset);
  const out = Buffer.allocUnsafe(body.size);
  let off = 0;
  for (const c of chunks) {
    out.set(c.data, off);
    off += c.data.length;
  }
  return out;
}

/**
 * The body as text: UTF-8 decoded as the WHATWG decoder does (`new TextDecoder()`: a leading BOM
 * dropped, invalid sequences replaced by U+FFFD), by Node's Buffer decoder, which follows the
 * same replacement rules and is faster on the large bodies agents send (checked in
 * types.test.ts).
 */
export function bodyText(body: HttpBody): string {
  const b = bodyBytes(body);
  const start = b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  return utf8Slice(b, start, b.length);
}

export type { HttpGauges } from './gauges.js';
