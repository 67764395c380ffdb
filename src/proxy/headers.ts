/**
 * Header rules of the proxy (RFC 9110 §7.6.1, connection-specific fields): what is forwarded
 * upstream and what goes back to the client. Everything end-to-end passes through unchanged and
 * in the client's order and case: credentials (the upstream needs them; the records get them
 * redacted by call-record.ts like captured traffic), `Accept-Encoding` (the client gets the
 * encoding the upstream chose, and llmtap decodes a copy), `Content-Length`.
 */

/**
 * Not forwarded in either direction. RFC 9110 §7.6.1: `Connection` and every field it names,
 * plus Proxy-Connection, Keep-Alive, TE, Transfer-Encoding and Upgrade (each hop frames its own
 * message: Node re-frames the body on each side). `Proxy-Authorization` / `Proxy-Authenticate`
 * are addressed to the proxy, not the origin (RFC 9110 §11.7.1–11.7.2); llmtap asks for none,
 * and a client's proxy credentials must not travel on to the upstream. `Host` is rewritten to
 * the upstream's (RFC 9110 §7.2).
 */
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'te',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
]);

/** Names listed in `Connection` header values (RFC 9110 §7.6.1: "connection-option"s). */
function connectionOptions(raw: readonly string[]): Set<string> | null {
  let out: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    for (const opt of raw[i + 1]!.split(',')) {
      const name = opt.trim().toLowerCase();
      if (name !== '') (out ??= new Set()).add(name);
    }
  }
  return out;
}

/**
 * The end-to-end fields of a message, from Node's flat `rawHeaders` list ([name, value, …], as
 * received: order, case and repeats kept), as [name, value] pairs. `dropAlso` names further
 * fields the caller sets itself (lower case).
 */
export function endToEndHeaders(raw: readonly string[], dropAlso?: ReadonlySet<string>): [string, string][] {
  const named = connectionOptions(raw);
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower) || dropAlso?.has(lower)) continue;
    out.push([name, raw[i + 1]!]);
  }
  return out;
}

const HOST = new Set(['host']);

/** What goes upstream: the client's end-to-end fields with Host replaced by the upstream's,
 * first (RFC 9112 §3.2: a client sends Host as the first field). */
export function upstreamRequestHeaders(raw: readonly string[], hostHeader: string): [string, string][] {
  return [['Host', hostHeader], ...endToEndHeaders(raw, HOST)];
}

/** What goes back to the client: the upstream's end-to-end fields. */
export function downstreamResponseHeaders(raw: readonly string[]): [string, string][] {
  return endToEndHeaders(raw);
}

/** True when a message's fields say its body is chunked (the last coding, RFC 9112 §6.1). */
export function isChunked(raw: readonly string[]): boolean {
  let last = '';
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'transfer-encoding') last = raw[i + 1]!;
  }
  const codings = last.split(',');
  return codings[codings.length - 1]!.trim().toLowerCase() === 'chunked';
}

/** Node's `writeHead`/`request` take a flat [name, value, …] list: order and case kept. */
export function flatten(pairs: readonly (readonly [string, string])[]): string[] {
  const out: string[] = [];
  for (const [k, v] of pairs) out.push(k, v);
  return out;
}
