/**
 * HTTP/1.x message heads (RFC 9112 §2-5): finding the end of the head in bytes, and parsing the
 * start line and header fields from its latin1 text (RFC 9110 §5.5: field values are octets;
 * latin1 maps each byte to one char, so nothing is lost and no UTF-8 decode runs on the hot path).
 */
import type { HeaderList } from '../types.js';

export interface RequestHead {
  kind: 'request';
  method: string;
  target: string;
  path: string;
  query: string;
  version: string;
  headers: HeaderList;
}

export interface ResponseHead {
  kind: 'response';
  status: number;
  reason: string;
  version: string;
  headers: HeaderList;
}

/** `PRI * HTTP/2.0`: the HTTP/2 connection preface (RFC 9113 §3.4), h2c with prior knowledge. */
export interface H2PrefaceHead {
  kind: 'h2-preface';
}

export type MessageHead = RequestHead | ResponseHead | H2PrefaceHead;

const LF = 0x0a;
const CR = 0x0d;

/**
 * Index just past the empty line that ends a head in `buf[from..]`, or -1. Accepts CRLF and bare
 * LF line ends (RFC 9112 §2.2 lets a recipient recognise a single LF). `buf` must end where the
 * valid bytes end.
 */
export function findHeadEnd(buf: Uint8Array, from: number): number {
  let i = buf.indexOf(LF, from);
  while (i >= 0) {
    const n = buf[i + 1];
    if (n === LF) return i + 2;
    if (n === CR && buf[i + 2] === LF) return i + 3;
    i = buf.indexOf(LF, i + 1);
  }
  return -1;
}

/** tchar (RFC 9110 §5.6.2) lookup. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;
export function isTchar(c: number): boolean {
  return TCHAR[c] === 1;
}

/** Longest method we take as the start of a request line. The longest registered method
 * (IANA HTTP Method Registry) is UPDATEREDIRECTREF, 17 chars; 32 leaves room for custom ones. */
export const MAX_METHOD_LENGTH = 32;

const HTTP_SLASH = [0x48, 0x54, 0x54, 0x50, 0x2f]; // "HTTP/"

/**
 * Do the first bytes of a message look like a start line? 'more' when too few bytes to tell.
 * Lets a parser reject non-HTTP bytes after a few bytes instead of buffering a whole head cap.
 */
export function startLineVerdict(buf: Uint8Array, start: number, end: number): 'ok' | 'bad' | 'more' {
  const n = end - start;
  let httpPrefix = true;
  for (let i = 0; i < HTTP_SLASH.length && i < n; i++) {
    if (buf[start + i] !== HTTP_SLASH[i]) {
      httpPrefix = false;
      break;
    }
  }
  if (httpPrefix) return n >= HTTP_SLASH.length ? 'ok' : 'more';
  for (let i = 0; i < n; i++) {
    const c = buf[start + i]!;
    if (c === 0x20) return i > 0 ? 'ok' : 'bad';
    if (!isTchar(c) || i >= MAX_METHOD_LENGTH) return 'bad';
  }
  return 'more';
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

export interface ParsedFields {
  headers: HeaderList;
  /** Lines that were neither a field nor a continuation (counted `http_bad_header_line`). */
  badLines: number;
}

/**
 * A well-formed field line: token name, colon, at most one space, value without CR or LF, CRLF or
 * LF. Matched in place (sticky) by the regexp engine: heads come once per message, too rarely for
 * the optimizing compiler, so JS loops over them run in V8's baseline tier, where each charCodeAt,
 * slice and call is a builtin call. On the 200 MB bench's 2,544 heads (callgrind): 146 M
 * instructions for the fields split into lines and trimmed, 103–110 M for a char loop over the
 * text, 90–95 M with this regexp. Lines it does not match, and values it leaves with OWS at
 * either end, go through `fieldLine`, which takes any line.
 *
 * Linear on any input: no two quantifiers can trade the same characters (a lazy value followed
 * by `[ \t]*` took 12 s on one line of 2,000 spaces).
 */
const CLEAN_FIELD = /([!#$%&'*+\-.^_`|~0-9A-Za-z]+): ?([^\r\n]*)\r?\n/y;

/**
 * Header (or trailer) field lines of `text` from offset `from` to its end. Names lower-cased,
 * values OWS-trimmed (SP / HTAB only: String.trim would also eat latin1 NBSP, 0xA0, a valid
 * field-value octet); obs-fold continuation lines (RFC 9112 §5.2) are joined to the previous value
 * with one space; empty lines are skipped; a CR before a LF is dropped (bare LF line ends are
 * accepted, RFC 9112 §2.2).
 */
export function parseFields(text: string, from: number): ParsedFields {
  const out: ParsedFields = { headers: [], badLines: 0 };
  const end = text.length;
  let ls = from;
  while (ls < end) {
    CLEAN_FIELD.lastIndex = ls;
    const m = CLEAN_FIELD.exec(text);
    if (m !== null && !owsAtEnds(m[2]!)) {
      out.headers.push([m[1]!.toLowerCase(), m[2]!]);
      ls = CLEAN_FIELD.lastIndex;
      continue;
    }
    let lf = text.indexOf('\n', ls);
    if (lf < 0) lf = end;
    fieldLine(text, ls, lf > ls && text.charCodeAt(lf - 1) === 0x0d ? lf - 1 : lf, out);
    ls = lf + 1;
  }
  return out;
}

function owsAtEnds(v: string): boolean {
  return v.length > 0 && (isOws(v.charCodeAt(0)) || isOws(v.charCodeAt(v.length - 1)));
}

/** One line text[ls..le) (line end removed), whatever it holds. */
function fieldLine(text: string, ls: number, le: number, out: ParsedFields): void {
  if (le === ls) return;
  const headers = out.headers;
  if (isOws(text.charCodeAt(ls))) {
    const last = headers[headers.length - 1];
    if (last) {
      const more = trimmed(text, ls, le);
      last[1] = last[1].length === 0 ? more : more.length === 0 ? last[1] : `${last[1]} ${more}`;
    } else out.badLines++;
    return;
  }
  const colon = text.indexOf(':', ls);
  if (colon <= ls || colon >= le) {
    out.badLines++;
    return;
  }
  // RFC 9112 §5.1 forbids whitespace before the colon; tolerate it (trim) rather than drop.
  headers.push([trimmed(text, ls, colon).toLowerCase(), trimmed(text, colon + 1, le)]);
}

/** text[a..b) without leading and trailing OWS. */
function trimmed(text: string, a: number, b: number): string {
  while (a < b && isOws(text.charCodeAt(a))) a++;
  while (b > a && isOws(text.charCodeAt(b - 1))) b--;
  return text.slice(a, b);
}

const VERSION_RE = /^HTTP\/1\.[0-9]$/;

/** Parses a head's latin1 text. Returns null when the start line is not HTTP/1.x. */
export function parseHead(text: string): { head: MessageHead; badLines: number } | null {
  const lf = text.indexOf('\n');
  const firstEnd = lf < 0 ? text.length : lf;
  const first = text.slice(0, firstEnd > 0 && text.charCodeAt(firstEnd - 1) === 0x0d ? firstEnd - 1 : firstEnd);
  const fieldsFrom = lf < 0 ? text.length : lf + 1;
  if (first.startsWith('HTTP/')) {
    // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4)
    const sp = first.indexOf(' ');
    if (sp < 0) return null;
    const version = first.slice(0, sp);
    if (!VERSION_RE.test(version)) return null;
    const code = first.slice(sp + 1, sp + 4);
    if (!/^[0-9]{3}$/.test(code)) return null;
    const rest = first.slice(sp + 4);
    if (rest.length > 0 && rest.charCodeAt(0) !== 0x20) return null;
    const f = parseFields(text, fieldsFrom);
    return {
      head: { kind: 'response', status: Number(code), reason: rest.slice(1), version, headers: f.headers },
      badLines: f.badLines,
    };
  }
  // request-line = method SP request-target SP HTTP-version (RFC 9112 §3)
  const sp1 = first.indexOf(' ');
  const sp2 = first.lastIndexOf(' ');
  if (sp1 <= 0 || sp2 <= sp1 + 1) return null;
  const method = first.slice(0, sp1);
  for (let i = 0; i < method.length; i++) if (!isTchar(method.charCodeAt(i))) return null;
  const target = first.slice(sp1 + 1, sp2);
  const version = first.slice(sp2 + 1);
  if (method === 'PRI' && target === '*' && version === 'HTTP/2.0') {
    return { head: { kind: 'h2-preface' }, badLines: 0 };
  }
  if (!VERSION_RE.test(version) || target.includes(' ')) return null;
  const { path, query } = splitTarget(target);
  const f = parseFields(text, fieldsFrom);
  return {
    head: { kind: 'request', method, target, path, query, version, headers: f.headers },
    badLines: f.badLines,
  };
}

/**
 * Path and query of a request target (RFC 9112 §3.2). Absolute-form (a proxy request,
 * `http://host/p?q`) yields the path of the URI, since matching uses the path (DESIGN §2).
 */
export function splitTarget(target: string): { path: string; query: string } {
  let pathStart = 0;
  if (target.charCodeAt(0) !== 0x2f /* / */) {
    const scheme = target.indexOf('://');
    if (scheme > 0 && /^[A-Za-z][A-Za-z0-9+.-]*$/.test(target.slice(0, scheme))) {
      const slash = target.indexOf('/', scheme + 3);
      const q = target.indexOf('?', scheme + 3);
      if (slash < 0 || (q >= 0 && q < slash)) {
        return { path: '/', query: q >= 0 ? target.slice(q + 1) : '' };
      }
      pathStart = slash;
    }
  }
  const q = target.indexOf('?', pathStart);
  if (q < 0) return { path: pathStart === 0 ? target : target.slice(pathStart), query: '' };
  return { path: target.slice(pathStart, q), query: target.slice(q + 1) };
}
