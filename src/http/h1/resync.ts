/**
 * Finding the next message start after lost or unparsable bytes (DESIGN §2: "the stream
 * resynchronises at the next parsable HTTP message"). A start is a line beginning with
 *   response: `HTTP/1.x NNN`                      (RFC 9112 §4)
 *   request:  `METHOD SP target SP HTTP/1.x` EOL  (RFC 9112 §3)
 * The scan costs one indexOf per packet; only the unfinished last line is carried over, at most
 * MAX_CARRY bytes (a request line longer than that is not taken as a resync point).
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
    const keepFrom = hit.wait >= 0 ? hit.wait : w.lastIndexOf(LF) + 1;
    const tailStartsLine = hit.wait >= 0 || keepFrom > 0 || lineStart0;
    if (w.length - keepFrom <= MAX_CARRY) {
      this.carry = Buffer.from(w.subarray(keepFrom));
      this.atLineStart = tailStartsLine;
    } else {
      this.atLineStart = false;
    }
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
    if (!lineStartAt(w, i, lineStart0)) continue;
    if (w.length < i + 12) return { start: -1, wait: i };
    if (isDigit(w[i + 7]) && w[i + 8] === SP && isDigit(w[i + 9]) && isDigit(w[i + 10]) && isDigit(w[i + 11])) {
      return { start: i, wait: -1 };
    }
  }
  return { start: -1, wait: partialAtEnd(w, HTTP1, lineStart0) };
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
    if (!lineStartAt(w, ls, lineStart0) || i - ls > MAX_CARRY) continue;
    const end = i + SP_HTTP1.length; // at the minor version digit
    if (w.length < end + 2) return { start: -1, wait: ls };
    if (!isDigit(w[end])) continue;
    const eol = w[end + 1];
    if (eol !== LF && !(eol === CR && (w.length < end + 3 || w[end + 2] === LF))) continue;
    if (eol === CR && w.length < end + 3) return { start: -1, wait: ls };
    if (validRequestLinePrefix(w, ls, i)) return { start: ls, wait: -1 };
  }
  // A request line may be arriving: wait for the rest of the last line if it could be one.
  const last = w.lastIndexOf(LF) + 1;
  if (lineStartAt(w, last, lineStart0) && last < w.length && couldBeMethod(w, last)) return { start: -1, wait: last };
  return { start: -1, wait: -1 };
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
