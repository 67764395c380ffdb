/**
 * A structural JSON scanner over UTF-8 bytes: finds the members of an object (or the elements of
 * an array) and the byte span of each value without building any value, so that a 50–200 KB
 * agent request is not decoded to a string and parsed whole when the decoders and the request
 * view read a few of its members (see json-reader.ts). Strings are skipped with Buffer's native
 * indexOf for `"`; everything outside strings (structure, numbers, literals, whitespace) is
 * checked against the JSON grammar (RFC 8259 §2–§6), so a body cut short by a cap or a stream
 * gap, or mangled between values, is rejected as JSON.parse would reject it.
 *
 * Not checked: the contents of strings (a raw control character or a bad escape inside a string
 * that nobody reads). Values that are read go through JSON.parse and are checked then.
 *
 * Never throws; work is linear in the bytes scanned.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

/**
 * Nesting deeper than this is left to JSON.parse (the scanner says "not scanned", and the caller
 * parses the whole text as before). Real request bodies nest a few dozen levels (JSON schemas of
 * tools); 4096 keeps the scanner's stack a fixed 4 KiB whatever the input.
 */
export const MAX_SCAN_DEPTH = 4096;

/** Byte spans, flat: value i is `[spans[2i], spans[2i+1])`. */
export type Spans = number[];

/** The members of a scanned object in wire order: keys (as JSON.parse decodes them) and value
 * spans. A key may repeat; as with JSON.parse, the last one wins (see json-reader.ts). A member
 * whose value is an array is also scanned as one (see ScannedArray), else null. */
export interface ScannedObject {
  keys: string[];
  spans: Spans;
  elements: (ScannedArray | null)[];
}

/**
 * A scanned array: its element spans and, for each element that is an object, its members, all
 * found in one pass: a request's `messages` are most of its bytes and are read element by element,
 * and its tool definitions are read for their names, element by element too; scanning an element
 * again to find its members cost as much as the first pass over it.
 */
export interface ScannedArray {
  spans: Spans;
  /** Member spans of the elements that are objects, flat: key token (quotes included), then value. */
  members: number[];
  /** Element i's members are the quads `members[4k…4k+3]` for memberAt[i] ≤ 4k < memberAt[i+1]
   * (none for an element that is not an object); length elements + 1. */
  memberAt: number[];
}

function newScannedArray(): ScannedArray {
  return { spans: [], members: [], memberAt: [] };
}

function isWs(c: number): boolean {
  // RFC 8259 §2: space, horizontal tab, line feed, carriage return.
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipWs(b: Buffer, p: number, end: number): number {
  while (p < end && isWs(b[p]!)) p++;
  return p;
}

/** Index just after the closing quote of the string whose opening quote is at `p`, or -1. */
export function stringEnd(b: Buffer, p: number, end: number): number {
  let from = p + 1;
  for (;;) {
    const q = b.indexOf(QUOTE, from);
    if (q < 0 || q >= end) return -1;
    // A quote preceded by an odd run of backslashes is escaped.
    let k = q - 1;
    while (k > p && b[k] === BACKSLASH) k--;
    if (((q - 1 - k) & 1) === 0) return q + 1;
    from = q + 1;
  }
}

function digitsEnd(b: Buffer, p: number, end: number): number {
  while (p < end && b[p]! >= DIGIT_0 && b[p]! <= DIGIT_9) p++;
  return p;
}

/** End of the number at `p` (RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`),
 * or -1. */
function numberEnd(b: Buffer, p: number, end: number): number {
  if (b[p] === MINUS) p++;
  if (p >= end) return -1;
  const c = b[p]!;
  if (c === DIGIT_0) p++;
  else if (c > DIGIT_0 && c <= DIGIT_9) p = digitsEnd(b, p + 1, end);
  else return -1;
  if (p < end && b[p] === DOT) {
    const q = digitsEnd(b, p + 1, end);
    if (q === p + 1) return -1;
    p = q;
  }
  if (p < end && (b[p] === LOWER_E || b[p] === UPPER_E)) {
    p++;
    if (p < end && (b[p] === PLUS || b[p] === MINUS)) p++;
    const q = digitsEnd(b, p, end);
    if (q === p) return -1;
    p = q;
  }
  return p;
}

function literalEnd(b: Buffer, p: number, end: number, word: string): number {
  if (end - p < word.length) return -1;
  for (let i = 0; i < word.length; i++) if (b[p + i] !== word.charCodeAt(i)) return -1;
  return p + word.length;
}

/** End of a scalar (number, true, false, null) at `p`, or -1. */
function scalarEnd(b: Buffer, p: number, end: number): number {
  const c = b[p]!;
  if (c === 0x74) return literalEnd(b, p, end, 'true');
  if (c === 0x66) return literalEnd(b, p, end, 'false');
  if (c === 0x6e) return literalEnd(b, p, end, 'null');
  return numberEnd(b, p, end);
}

/** End of the key (a string, then `:`) at `p`; returns the index after the colon, or -1. */
function keyEnd(b: Buffer, p: number, end: number): number {
  if (p >= end || b[p] !== QUOTE) return -1;
  const q = stringEnd(b, p, end);
  if (q < 0) return -1;
  const c = skipWs(b, q, end);
  return c < end && b[c] === COLON ? c + 1 : -1;
}

/** One reusable stack of open containers (true = object); the scanner never re-enters itself. */
const openObject = new Uint8Array(MAX_SCAN_DEPTH);

/**
 * End (exclusive) of the JSON value that starts at `p` (no leading whitespace), checked as
 * described above; -1 when it is not a complete value within `end`, or nests deeper than
 * MAX_SCAN_DEPTH.
 */
export function valueEnd(b: Buffer, p: number, end: number): number {
  let depth = 0;
  for (;;) {
    // A value is expected at p.
    if (p >= end) return -1;
    const c = b[p]!;
    if (c === QUOTE) {
      p = stringEnd(b, p, end);
      if (p < 0) return -1;
    } else if (c === LBRACE || c === LBRACKET) {
      const isObject = c === LBRACE;
      p = skipWs(b, p + 1, end);
      if (p < end && b[p] === (isObject ? RBRACE : RBRACKET)) {
        p++;
      } else {
        if (depth === MAX_SCAN_DEPTH) return -1;
        openObject[depth++] = isObject ? 1 : 0;
        if (isObject) {
          p = keyEnd(b, p, end);
          if (p < 0) return -1;
          p = skipWs(b, p, end);
        }
        continue;
      }
    } else {
      p = scalarEnd(b, p, end);
      if (p < 0) return -1;
    }
    // After a value: close containers, or move on to the next member/element.
    for (;;) {
      if (depth === 0) return p;
      p = skipWs(b, p, end);
      if (p >= end) return -1;
      const d = b[p]!;
      const inObject = openObject[depth - 1] === 1;
      if (d === COMMA) {
        p = skipWs(b, p + 1, end);
        if (inObject) {
          p = keyEnd(b, p, end);
          if (p < 0) return -1;
          p = skipWs(b, p, end);
        }
        break;
      }
      if (d !== (inObject ? RBRACE : RBRACKET)) return -1;
      depth--;
      p++;
    }
  }
}

/** Decodes a key's string token `b[s, e)` (quotes included) as JSON.parse would; null when it is
 * not a valid JSON string. */
export function keyText(b: Buffer, s: number, e: number): string | null {
  for (let i = s + 1; i < e - 1; i++) {
    const c = b[i]!;
    if (c === BACKSLASH || c < 0x20) {
      try {
        return JSON.parse(b.toString('utf8', s, e)) as string;
      } catch {
        return null;
      }
    }
  }
  // Invalid UTF-8 becomes U+FFFD, as when the whole body is decoded (types.ts bodyText).
  return b.toString('utf8', s + 1, e - 1);
}

/**
 * The members of the object that is the whole of `b[start, end)` (whitespace around it allowed),
 * or null when that is not one complete JSON object (by the checks above) or nests too deep.
 */
export function scanObject(b: Buffer, start: number, end: number): ScannedObject | null {
  let p = skipWs(b, start, end);
  if (p >= end || b[p] !== LBRACE) return null;
  const keys: string[] = [];
  const spans: Spans = [];
  const elements: (ScannedArray | null)[] = [];
  p = skipWs(b, p + 1, end);
  if (p < end && b[p] === RBRACE) return trailingWsOnly(b, p + 1, end) ? { keys, spans, elements } : null;
  for (;;) {
    if (p >= end || b[p] !== QUOTE) return null;
    const ke = stringEnd(b, p, end);
    if (ke < 0) return null;
    const key = keyText(b, p, ke);
    if (key === null) return null;
    p = skipWs(b, ke, end);
    if (p >= end || b[p] !== COLON) return null;
    const vs = skipWs(b, p + 1, end);
    let ve: number;
    if (vs < end && b[vs] === LBRACKET) {
      const items = newScannedArray();
      ve = arrayEnd(b, vs, end, items);
      elements.push(items);
    } else {
      ve = valueEnd(b, vs, end);
      elements.push(null);
    }
    if (ve < 0) return null;
    keys.push(key);
    spans.push(vs, ve);
    p = skipWs(b, ve, end);
    if (p >= end) return null;
    if (b[p] === RBRACE) return trailingWsOnly(b, p + 1, end) ? { keys, spans, elements } : null;
    if (b[p] !== COMMA) return null;
    p = skipWs(b, p + 1, end);
  }
}

/** The array that is the whole of `b[start, end)`, scanned, or null (as scanObject). */
export function scanArray(b: Buffer, start: number, end: number): ScannedArray | null {
  const p = skipWs(b, start, end);
  if (p >= end || b[p] !== LBRACKET) return null;
  const into = newScannedArray();
  const e = arrayEnd(b, p, end, into);
  return e >= 0 && trailingWsOnly(b, e, end) ? into : null;
}

/** End (exclusive) of the array whose `[` is at `p`, filling `into` with its elements (and the
 * members of those that are objects); -1 when it is not a complete array (checked as valueEnd
 * checks). */
function arrayEnd(b: Buffer, p: number, end: number, into: ScannedArray): number {
  const { spans, members, memberAt } = into;
  p = skipWs(b, p + 1, end);
  if (p < end && b[p] === RBRACKET) {
    memberAt.push(0);
    return p + 1;
  }
  for (;;) {
    memberAt.push(members.length);
    const ve = b[p] === LBRACE ? objectEnd(b, p, end, members) : valueEnd(b, p, end);
    if (ve < 0) return -1;
    spans.push(p, ve);
    p = skipWs(b, ve, end);
    if (p >= end) return -1;
    if (b[p] === RBRACKET) {
      memberAt.push(members.length);
      return p + 1;
    }
    if (b[p] !== COMMA) return -1;
    p = skipWs(b, p + 1, end);
  }
}

/** End (exclusive) of the object whose `{` is at `p`, pushing each member's key token and value
 * span to `into`; -1 when it is not a complete object (checked as valueEnd checks; its members'
 * values nest up to MAX_SCAN_DEPTH below it). */
function objectEnd(b: Buffer, p: number, end: number, into: number[]): number {
  p = skipWs(b, p + 1, end);
  if (p < end && b[p] === RBRACE) return p + 1;
  for (;;) {
    if (p >= end || b[p] !== QUOTE) return -1;
    const ke = stringEnd(b, p, end);
    if (ke < 0) return -1;
    const c = skipWs(b, ke, end);
    if (c >= end || b[c] !== COLON) return -1;
    const vs = skipWs(b, c + 1, end);
    const ve = valueEnd(b, vs, end);
    if (ve < 0) return -1;
    into.push(p, ke, vs, ve);
    p = skipWs(b, ve, end);
    if (p >= end) return -1;
    if (b[p] === RBRACE) return p + 1;
    if (b[p] !== COMMA) return -1;
    p = skipWs(b, p + 1, end);
  }
}

function trailingWsOnly(b: Buffer, p: number, end: number): boolean {
  return skipWs(b, p, end) === end;
}
