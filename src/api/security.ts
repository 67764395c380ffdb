/**
 * Safe by default (DESIGN §7, issue 3 item 5): loopback unless told otherwise, an access token
 * anywhere else, and response headers that keep captured content inert in a browser.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** Name of the cookie that carries the access token for the console (set by `/?token=`). */
export const TOKEN_COOKIE = 'llmtap_token';

/**
 * Content-Security-Policy (CSP Level 3): everything from our own origin only, no inline script or
 * style, no plugins, no framing, no <base> tricks. Captured content is rendered as text, so even
 * if it were ever put into the DOM as markup, the browser would run none of it.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every response, API and console alike. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // frame-ancestors covers CSP-aware browsers; X-Frame-Options the rest (RFC 7034).
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * Whether a listen address only accepts connections from this machine: 127.0.0.0/8 (RFC 1122
 * §3.2.1.3), ::1 (RFC 4291 §2.5.3), IPv4-mapped loopback, and the name `localhost` (RFC 6761 §6.3
 * lets resolvers answer it only with loopback). Any other name could resolve anywhere: not loopback.
 */
export function isLoopbackAddress(host: string): boolean {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h.startsWith('::ffff:')) h = h.slice('::ffff:'.length);
  const v = isIP(h);
  if (v === 4) return h.startsWith('127.');
  if (v === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

/**
 * Whether a Host header names this machine. With no token (loopback mode) requests must say they
 * are for a loopback name: a page on another site that rebinds its DNS name to 127.0.0.1 (DNS
 * rebinding) then still sends its own name as Host and is refused.
 */
export function isLoopbackHostHeader(hostHeader: string | undefined): boolean {
  if (hostHeader === undefined || hostHeader === '') return false;
  let h = hostHeader.trim();
  // Strip the port: "[::1]:3000" or "127.0.0.1:3000".
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return false;
    h = h.slice(0, end + 1);
  } else {
    const colon = h.lastIndexOf(':');
    if (colon >= 0 && h.indexOf(':') === colon) h = h.slice(0, colon);
  }
  return isLoopbackAddress(h);
}

/** Compares a presented token with the expected one in constant time. Both are hashed first so
 * that neither their contents nor their lengths leak through timing. */
export function tokenMatches(presented: string | null, expected: string): boolean {
  if (presented === null) return false;
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** The token a request presents: `Authorization: Bearer <token>` (RFC 6750 §2.1), else the cookie. */
export function presentedToken(authorization: string | undefined, cookie: string | undefined): string | null {
  if (authorization !== undefined) {
    const m = /^Bearer[ ]+([^\s]+)\s*$/i.exec(authorization);
    if (m) return m[1]!;
  }
  if (cookie === undefined) return null;
  const v = cookieValue(cookie, TOKEN_COOKIE);
  if (v === null) return null;
  // tokenCookie() percent-encodes the value.
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

/** One cookie's value from a Cookie header (RFC 6265 §5.4: `name=value` pairs split by "; "). */
export function cookieValue(header: string, name: string): string | null {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let v = part.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    return v;
  }
  return null;
}

/** The Set-Cookie value that hands the console its token: not readable by scripts, sent only to
 * this origin, never on cross-site requests (RFC 6265 §4.1.2, RFC 6265bis SameSite). */
export function tokenCookie(token: string, secure: boolean): string {
  return `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}
