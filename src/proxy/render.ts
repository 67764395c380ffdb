/**
 * The HTTP/1.1 bytes a capture between llmtap and the upstream would show (RFC 9112), rebuilt
 * from what Node parsed: llmtap's own HTTP layer reads them like captured bytes (DESIGN §1: proxy
 * sources enter the HTTP layer as a connection's two byte streams), so records come out of the
 * same code as for captured traffic.
 *
 * Node hands bodies over with their transfer coding removed; a chunked message is rendered with
 * each received piece as one chunk (RFC 9112 §7.1), so the framing is valid and every piece
 * keeps its own arrival time. Content codings (gzip, br…) are untouched: the body is what the
 * upstream sent.
 */

/** Header field values as Node parsed them are latin1 strings (one char per byte). */
function bytes(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

function fieldLines(headers: readonly (readonly [string, string])[], chunked: boolean): string {
  let out = '';
  for (const [k, v] of headers) out += `${k}: ${v}\r\n`;
  if (chunked) out += 'Transfer-Encoding: chunked\r\n';
  return `${out}\r\n`;
}

/** `METHOD target HTTP/1.1` and the fields as forwarded (Host first). */
export function renderRequestHead(method: string, target: string, headers: readonly (readonly [string, string])[], chunked: boolean): Buffer {
  return bytes(`${method} ${target} HTTP/1.1\r\n${fieldLines(headers, chunked)}`);
}

/** Status line and the upstream's fields; a reason phrase with control characters is dropped
 * (it is optional, RFC 9112 §4). */
export function renderResponseHead(status: number, reason: string, headers: readonly (readonly [string, string])[], chunked: boolean): Buffer {
  // eslint-disable-next-line no-control-regex
  const phrase = /^[^\x00-\x1f\x7f]*$/.test(reason) ? reason : '';
  return bytes(`HTTP/1.1 ${status} ${phrase}\r\n${fieldLines(headers, chunked)}`);
}

/** The size line before one chunk's data (RFC 9112 §7.1). */
export function chunkHeader(size: number): Buffer {
  return bytes(`${size.toString(16)}\r\n`);
}

export const CRLF = bytes('\r\n');

/** The last chunk and the trailer section (RFC 9112 §7.1.2). */
export function lastChunk(trailers: readonly (readonly [string, string])[]): Buffer {
  let out = '0\r\n';
  for (const [k, v] of trailers) out += `${k}: ${v}\r\n`;
  return bytes(`${out}\r\n`);
}
