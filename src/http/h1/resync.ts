/**
 * Finding the next message start after lost or unparsable bytes (DESIGN §2: "the stream
 * resynchronises at the next parsable HTTP message"). A start is a line beginning with
 *   response: `HTTP/1.x NNN`                      (RFC 9112 §4)
 *   request:  `METHOD SP target SP HTTP/1.x` EOL  (RFC 9112 §3)
 * or, right after a JSON closer (`}`, `]`, `"`), a whole status line, or a request line with a
 * standard method (RFC 9110 §9) and an origin-form or absolute-form target: on a keep-alive
 * connection a JSON body with Content-Length usually ends without a newline, so the next message
 * starts mid-line. Without this, a capture that joins a connection inside a body (a live capture
 * started while an SDK's keep-alive connection is busy, or a hole) never finds the next request
 * on it. Inside a JSON string the CR LF that ends a start line is escaped, so string contents
 * are not taken for a start.
 * The scan costs one indexOf per pattern per packet; the unfinished last line is carried over,
 * at most MAX_CARRY bytes (of a longer line its last MAX_CARRY bytes, for a mid-line start).
 */
import { isTchar, MAX_METHOD_LENGTH } from './head.js';

/** 8 KiB: the request-line limit of common servers (nginx large_client_header_buffers 8k,
 * Apache LimitRequestLine 8190). */
const MAX_CARRY = 8 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTTP1 = Buffer.from('HTTP/1.');
const SP_HTTP1 = Buffer.from(' HTTP/1.');
const HTAB = 0x09;
const DEL = 0x7f;
const SLASH = 0x2f;
const STAR = 0x2a;
const LOWER_H = 0x68;
/** RFC 9110 §9 methods (and PATCH, RFC 5789): a mid-line request start must use one of them. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'].map((m) => Buffer.from(m));
/** A mid-line status line must end within this many bytes of its status code: real reason
 * phrases are a few words ("OK", "Too Many Requests"), and a cap keeps a status-line-looking text
 * inside a body from swallowing the bytes up to the next real line end. */
const MAX_MID_LINE_REASON = 128;

/** The bytes JSON values end with (RFC 8259 §2, §7): what precedes a mid-line start. */
function isJsonCloser(c: number | undefined): boolean {
  return c === 0x7d || c === 0x5d || c === 0x22;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

export type ScanRole = 'request' | 'response' | 'either';

export class StartScanner {
  private carry: Buffer | null = null;
  /** Whether `carry` (or the next data, when carry is empty) begins at a line start. */
  private atLineStart = true;

  /** The next data follows a hole: it may begin with a message. */
  reset(atLineStart: boolean): void {
    this.carry = null;
    this.atLineStart = atLineStart;
  }

  /**
   * Scans `data`. Returns the bytes from the message start on (carried bytes included), or null
   * when none was found yet (the tail is carried to the next call).
   */
  scan(data: Buffer, role: ScanRole): Buffer | null {
    const w = this.carry && this.carry.length > 0 ? Buffer.concat([this.carry, data]) : data;
    const lineStart0 = this.atLineStart;
    this.carry = null;
    const hit = findStart(w, lineStart0, role);
    if (hit.start >= 0) {
      this.atLineStart = true;
      return w.subarray(hit.start);
    }
    // Carry the unfinished last line (or the undecided candidate) for the next packet.
    let keepFrom = hit.wait >= 0 ? hit.wait : w.lastIndexOf(LF) + 1;
    // A mid-line candidate keeps the JSON closer before it: that byte is what makes it one.
    if (hit.wait > 0 && !lineStartAt(w, hit.wait, lineStart0)) keepFrom = hit.wait - 1;
    let tailStartsLine = lineStartAt(w, keepFrom, lineStart0);
    if (w.length - keepFrom > MAX_CARRY) {
      // A line this long is no line-start candidate any more; its tail may still hold the
      // beginning of a mid-line start.
      keepFrom = w.length - MAX_CARRY;
      tailStartsLine = false;
    }
    this.carry = Buffer.from(w.subarray(keepFrom));
    this.atLineStart = tailStartsLine;
    return null;
  }
}

interface Hit {
  /** Message start, or -1. */
  start: number;
  /** A candidate that needs more bytes to decide, or -1. */
  wait: number;
}

function findStart(w: Buffer, lineStart0: boolean, role: ScanRole): Hit {
  let best: Hit = { start: -1, wait: -1 };
  if (role !== 'request') best = pick(best, findResponse(w, lineStart0));
  if (role !== 'response') best = pick(best, findRequest(w, lineStart0));
  return best;
}

function pick(a: Hit, b: Hit): Hit {
  const firstOf = (x: number, y: number) => (x < 0 ? y : y < 0 ? x : Math.min(x, y));
  const start = firstOf(a.start, b.start);
  const wait = firstOf(a.wait, b.wait);
  // A pending candidate before the found start must be decided first.
  if (start >= 0 && (wait < 0 || start < wait)) return { start, wait: -1 };
  return { start: -1, wait };
}

function lineStartAt(w: Buffer, i: number, lineStart0: boolean): boolean {
  return i === 0 ? lineStart0 : w[i - 1] === LF;
}

function findResponse(w: Buffer, lineStart0: boolean): Hit {
  // Candidate may also be a partial "HTTP/1." at the very end.
  for (let i = w.indexOf(HTTP1); i >= 0; i = w.indexOf(HTTP1, i + 1)) {
    if (lineStartAt(w, i, lineStart0)) {
      if (w.length < i + 12) return { start: -1, wait: i };
      if (isDigit(w[i + 7]) && w[i + 8] === SP && isDigit(w[i + 9]) && isDigit(w[i + 10]) && isDigit(w[i + 11])) {
        return { start: i, wait: -1 };
      }
    } else if (i > 0 && isJsonCloser(w[i - 1])) {
      const v = midLineStatusLine(w, i);
      if (v === 'wait') return { start: -1, wait: i };
      if (v === 'yes') return { start: i, wait: -1 };
    }
  }
  return { start: -1, wait: partialAtEnd(w, HTTP1, lineStart0) };
}

/** Whether a whole status line (`HTTP/1.0` or `1.1`, SP, a 1xx–5xx code, an optional reason of
 * at most MAX_MID_LINE_REASON bytes, CR LF or LF) starts at `i`; 'wait' when the bytes run out
 * before that is decided. */
function midLineStatusLine(w: Buffer, i: number): 'yes' | 'no' | 'wait' {
  const head = i + 12;
  if (w.length < head) return 'wait';
  const minor = w[i + 7];
  const first = w[i + 9]!;
  if ((minor !== 0x30 && minor !== 0x31) || w[i + 8] !== SP || first < 0x31 || first > 0x35 || !isDigit(w[i + 10]) || !isDigit(w[i + 11])) return 'no';
  const limit = Math.min(w.length, head + 1 + MAX_MID_LINE_REASON);
  for (let k = head; k < limit; k++) {
    const c = w[k]!;
    if (c === LF) return 'yes';
    if (c === CR) return k + 1 >= w.length ? 'wait' : w[k + 1] === LF ? 'yes' : 'no';
    // RFC 9112 §4: reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ), after one SP.
    if (k === head ? c !== SP : (c < SP && c !== HTAB) || c === DEL) return 'no';
  }
  return limit === w.length && limit < head + 1 + MAX_MID_LINE_REASON ? 'wait' : 'no';
}

function findRequest(w: Buffer, lineStart0: boolean): Hit {
  // Line start of each candidate, found without rescanning: `nextLf` is the first LF after the
  // previous candidate, so many candidates on one long line cost one scan, not one each.
  let ls = 0;
  let nextLf = w.indexOf(LF);
  for (let i = w.indexOf(SP_HTTP1); i >= 0; i = w.indexOf(SP_HTTP1, i + 1)) {
    if (nextLf >= 0 && nextLf < i) {
      ls = w.lastIndexOf(LF, i) + 1;
      nextLf = w.indexOf(LF, i);
    }
    let start = ls;
    if (!lineStartAt(w, ls, lineStart0) || i - ls > MAX_CARRY) {
      start = midLineRequestStart(w, ls, i);
      if (start < 0) continue;
    }
    const end = i + SP_HTTP1.length; // at the minor version digit
    if (w.length < end + 2) return { start: -1, wait: start };
    if (!isDigit(w[end])) continue;
    const eol = w[end + 1];
    if (eol !== LF && !(eol === CR && (w.length < end + 3 || w[end + 2] === LF))) continue;
    if (eol === CR && w.length < end + 3) return { start: -1, wait: start };
    if (validRequestLinePrefix(w, start, i)) return { start, wait: -1 };
  }
  // A request line may be arriving: wait for the rest of the last line if it could be one.
  const last = w.lastIndexOf(LF) + 1;
  if (lineStartAt(w, last, lineStart0) && last < w.length && couldBeMethod(w, last)) return { start: -1, wait: last };
  return { start: -1, wait: -1 };
}

/**
 * Start of a mid-line request line ending at the " HTTP/1." at `sp`, or -1: the target (no
 * spaces; `/…`, `http…` or `*`) is preceded by SP and a standard method, and the method by a JSON
 * closer. `ls` bounds the look back (the line start).
 */
function midLineRequestStart(w: Buffer, ls: number, sp: number): number {
  let t = sp;
  const floor = Math.max(ls, sp - MAX_CARRY);
  while (t > floor && w[t - 1]! > SP && w[t - 1] !== DEL) t--;
  if (t === sp || t - 1 <= floor || w[t - 1] !== SP) return -1;
  const c = w[t];
  if (c !== SLASH && c !== LOWER_H && c !== STAR) return -1;
  const methodEnd = t - 1;
  for (const m of METHODS) {
    const at = methodEnd - m.length;
    if (at > ls && isJsonCloser(w[at - 1]) && w.subarray(at, methodEnd).equals(m)) return at;
  }
  return -1;
}

/** `METHOD SP target` with no other spaces, between ls and the " HTTP/1." at sp. */
function validRequestLinePrefix(w: Buffer, ls: number, sp: number): boolean {
  let i = ls;
  while (i < sp && isTchar(w[i]!)) i++;
  if (i === ls || i - ls > MAX_METHOD_LENGTH || w[i] !== SP) return false;
  const targetStart = i + 1;
  if (targetStart >= sp) return false;
  for (let k = targetStart; k < sp; k++) {
    const c = w[k]!;
    if (c <= SP || c === 0x7f) return false;
  }
  return true;
}

/** The line at ls starts with tchars then (maybe) a space: it could still become a request line. */
function couldBeMethod(w: Buffer, ls: number): boolean {
  let i = ls;
  while (i < w.length && i - ls <= MAX_METHOD_LENGTH && isTchar(w[i]!)) i++;
  if (i === w.length) return i > ls;
  if (i === ls || w[i] !== SP) return false;
  for (let k = i + 1; k < w.length; k++) if (w[k]! < SP || w[k] === 0x7f) return false;
  return true;
}

/** Start of a proper prefix of `pat` that ends `w` at a line start, or -1. */
function partialAtEnd(w: Buffer, pat: Buffer, lineStart0: boolean): number {
  for (let len = Math.min(pat.length - 1, w.length); len > 0; len--) {
    const at = w.length - len;
    if (!lineStartAt(w, at, lineStart0)) continue;
    if (w.subarray(at).equals(pat.subarray(0, len))) return at;
  }
  return -1;
}
