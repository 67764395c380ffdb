/** Message body length (RFC 9112 §6.3), decided from the head (and, for a response, the request). */
import type { HeaderList } from '../types.js';
import type { RequestHead, ResponseHead } from './head.js';

export type Framing =
  | { kind: 'none' }
  | { kind: 'length'; length: number }
  | { kind: 'chunked' }
  /** Response body runs to connection close (RFC 9112 §6.3 rule 8). */
  | { kind: 'close' }
  /** The connection stops carrying HTTP/1 (CONNECT 2xx, 101 Switching Protocols). */
  | { kind: 'tunnel' };

export const NO_BODY: Framing = { kind: 'none' };
const CHUNKED: Framing = { kind: 'chunked' };
const CLOSE: Framing = { kind: 'close' };

export interface FramingResult {
  framing: Framing;
  /** Anomaly names seen while deciding (e.g. `http_bad_content_length`). */
  anomalies: string[];
}

/** All values of a field joined with commas (RFC 9110 §5.3), or null when absent. An indexed
 * loop: this runs a few times per message, mostly in V8's baseline tier, where destructuring
 * for-of pays an iterator per field. */
export function joined(headers: HeaderList, name: string): string | null {
  let out: string | null = null;
  for (let i = 0; i < headers.length; i++) {
    const field = headers[i]!;
    if (field[0] === name) out = out === null ? field[1] : `${out},${field[1]}`;
  }
  return out;
}

/** True when the last transfer coding is chunked (RFC 9112 §6.3 rules 4-5). */
function chunkedLast(te: string): boolean {
  if (te === 'chunked') return true;
  const items = te.split(',');
  for (let i = items.length - 1; i >= 0; i--) {
    const t = items[i]!.trim().toLowerCase();
    if (t !== '') return t === 'chunked' || t.startsWith('chunked;');
  }
  return false;
}

/** Content-Length as a number; a list of equal values is accepted (RFC 9110 §8.6). Null: bad. */
function contentLength(value: string): number | null {
  let n: number | null = null;
  for (const item of value.split(',')) {
    const t = item.trim();
    // 15 digits stay below 2^53, so the number is exact.
    if (!/^[0-9]{1,15}$/.test(t)) return null;
    const v = Number(t);
    if (n !== null && v !== n) return null;
    n = v;
  }
  return n;
}

export function requestFraming(head: RequestHead): FramingResult {
  const anomalies: string[] = [];
  const te = joined(head.headers, 'transfer-encoding');
  const cl = joined(head.headers, 'content-length');
  if (te !== null) {
    if (cl !== null) anomalies.push('http_te_and_cl'); // RFC 9112 §6.1: a smuggling sign
    if (chunkedLast(te)) return { framing: CHUNKED, anomalies };
    // RFC 9112 §6.3 rule 4: a request whose last coding is not chunked cannot be delimited;
    // the server answers 400 and closes. Nothing after it on this connection is framed.
    anomalies.push('http_bad_transfer_encoding');
    return { framing: CLOSE, anomalies };
  }
  if (cl !== null) {
    const n = contentLength(cl);
    if (n === null) {
      anomalies.push('http_bad_content_length');
      return { framing: NO_BODY, anomalies };
    }
    return { framing: n === 0 ? NO_BODY : { kind: 'length', length: n }, anomalies };
  }
  // RFC 9112 §6.3 rule 7: no TE, no CL: the request has no body.
  return { framing: NO_BODY, anomalies };
}

/** `requestMethod` null when the request is unknown (then GET rules apply). */
export function responseFraming(head: ResponseHead, requestMethod: string | null): FramingResult {
  const anomalies: string[] = [];
  const s = head.status;
  // Rule 1: HEAD responses, 1xx, 204 and 304 never have a body.
  if (requestMethod === 'HEAD' || (s >= 100 && s < 200) || s === 204 || s === 304) {
    return { framing: NO_BODY, anomalies };
  }
  // Rule 2: a 2xx answer to CONNECT turns the connection into a tunnel.
  if (requestMethod === 'CONNECT' && s >= 200 && s < 300) return { framing: { kind: 'tunnel' }, anomalies };
  const te = joined(head.headers, 'transfer-encoding');
  const cl = joined(head.headers, 'content-length');
  if (te !== null) {
    if (cl !== null) anomalies.push('http_te_and_cl');
    // Rule 4: chunked last → chunked; otherwise the body runs to close.
    return { framing: chunkedLast(te) ? CHUNKED : CLOSE, anomalies };
  }
  if (cl !== null) {
    const n = contentLength(cl);
    if (n === null) {
      anomalies.push('http_bad_content_length');
      return { framing: CLOSE, anomalies };
    }
    return { framing: n === 0 ? NO_BODY : { kind: 'length', length: n }, anomalies };
  }
  // Rule 8: otherwise the body is delimited by the connection close.
  return { framing: CLOSE, anomalies };
}

/** Whether the connection stays open after this message (RFC 9112 §9.3). */
export function isPersistent(version: string, headers: HeaderList): boolean {
  const conn = joined(headers, 'connection');
  // The usual answers without a token list: no field, or `keep-alive` alone.
  if (conn === null) return version !== 'HTTP/1.0';
  if (conn === 'keep-alive') return true;
  const tokens = conn.toLowerCase().split(',').map((t) => t.trim());
  if (tokens.includes('close')) return false;
  if (version === 'HTTP/1.0') return tokens.includes('keep-alive');
  return true;
}
