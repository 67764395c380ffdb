import type { Micros } from '../core/time.js';
import type { ConnectionInfo } from '../reassembly/types.js';

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

export function bodyBytes(body: HttpBody): Uint8Array {
  if (body.chunks.length === 1) return body.chunks[0]!.data;
  const out = new Uint8Array(body.size);
  let off = 0;
  for (const c of body.chunks) {
    out.set(c.data, off);
    off += c.data.length;
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
export function bodyText(body: HttpBody): string {
  return utf8.decode(bodyBytes(body));
}
