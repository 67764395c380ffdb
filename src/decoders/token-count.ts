/**
 * Exact o200k_base token counts, several times faster than gpt-tokenizer's countTokens on the
 * text estimates are made of (prompts, generated text), with the same result.
 *
 * A BPE count is the sum, over the pieces the pre-tokenizer regex cuts the text into, of each
 * piece's BPE token count (that is how gpt-tokenizer's countNative works). Two things cost time
 * there: the Unicode regex (a match array and a substring per piece) and a lookup in a 200,000-entry
 * Map that misses the CPU caches. Here:
 *  - ASCII text (nearly all of an agent's prompt: code, JSON, English) is cut by a hand-written
 *    scanner that follows the o200k pattern alternative by alternative (see pieceEnd); the
 *    character classes it uses are computed from the pattern's own Unicode properties, and
 *    token-count.test.ts checks the cuts against the library's regex on generated text. Any other
 *    text is cut by the library's own regex.
 *  - Each piece's count comes from a small open-addressing table keyed by the piece's characters
 *    (no substring is made on a hit); a miss runs the BPE merge on that piece alone
 *    (o200k-table.ts, the library's algorithm on a flat rank table), which is exact because a
 *    piece is always a single match of the pattern by itself (see countPiece).
 *
 * Special-token texts such as `<|endoftext|>` are counted as ordinary text (as countNative does
 * when no special token is allowed); gpt-tokenizer's countTokens would throw on them instead.
 */
import { createRequire } from 'node:module';
import { countPieceBytes, loadO200kTable, type O200kTable } from './o200k-table.js';
import { isWellFormed } from '../core/well-formed.js';

/**
 * The vocabulary, loaded on the first piece not in the cache: a capture whose calls all carry
 * usage never needs it. o200k-table.ts reads it from a table generated at build time (one file
 * read) instead of gpt-tokenizer's module (~0.25 s of CPU to compile and turn into a Map), and
 * counts a piece exactly as gpt-tokenizer's countNative does.
 */
let table: O200kTable | null = null;

/** Tokens of the UTF-8 piece bytes[start, end); `wholeLookup` false for text that is not
 * well-formed (a lone surrogate), which the library's whole-piece string lookup never finds. */
function countBytes(bytes: Uint8Array, start: number, end: number, wholeLookup = true): number {
  table ??= loadO200kTable();
  if (end - start <= MAX_EXACT_PIECE_BYTES) return countPieceBytes(table, bytes, start, end, wholeLookup);
  // The BPE merge is quadratic in a piece's length: one 200,000-letter run (attacker-chosen
  // bytes, a base64 blob) took 80 s of CPU. Beyond real words, the piece is counted in slices cut
  // at character boundaries; each cut can change the count by a token or so, and an estimate is
  // what such a count is anyway (`usage.estimated`).
  let total = 0;
  for (let i = start; i < end; ) {
    let cut = Math.min(end, i + MAX_EXACT_PIECE_BYTES);
    // Never inside a UTF-8 sequence: back off continuation bytes (10xxxxxx).
    while (cut < end && cut > i + 1 && (bytes[cut]! & 0xc0) === 0x80) cut--;
    total += countPieceBytes(table, bytes, i, cut, false);
    i = cut;
  }
  return total;
}

/**
 * Longest piece counted exactly. Words, identifiers and numbers are far shorter (pieces are cut
 * at every case, digit-run and punctuation change); at 256 bytes a 200,000-letter run costs
 * ~0.1 s instead of 80 s, and every piece of ordinary text stays exact.
 */
export const MAX_EXACT_PIECE_BYTES = 256;

/** Character classes of the o200k pattern (gpt-tokenizer src/encodingParams/constants.ts):
 * `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`, `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`, `\p{N}`, `\s`. */
const enum K {
  /** Upper-case letter class (A–Z in ASCII). */
  Upper = 1,
  /** Lower-case letter class (a–z in ASCII). */
  Lower = 2,
  Digit = 3,
  /** `\s` other than CR and LF: these may prefix a word (`[^\r\n\p{L}\p{N}]`). */
  Space = 4,
  /** CR and LF. */
  Newline = 5,
  /** Anything else (`[^\s\p{L}\p{N}]`): punctuation, symbols, control characters. */
  Other = 6,
}

/**
 * Class of each ASCII code under the Unicode properties the pattern names. A constant, not
 * derived at start: the four `\p{…}` regexes cost ~4 ms of start-up to build and run, and the
 * properties of ASCII characters are fixed. token-count.test.ts derives it from the regexes again.
 */
// prettier-ignore
export const ASCII_CLASS: Uint8Array = Uint8Array.from([
  //   0: controls; 9–13 are \s (10, 13 newlines)
  6, 6, 6, 6, 6, 6, 6, 6, 6, 4, 5, 4, 4, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
  //  32: space ! " # $ % & ' ( ) * + , - . / 0–9 : ; < = > ?
  4, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 6, 6, 6, 6, 6, 6,
  //  64: @ A–Z [ \ ] ^ _
  6, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 6, 6, 6, 6, 6,
  //  96: ` a–z { | } ~ DEL
  6, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 6, 6, 6, 6, 6,
]);

const CR = 13;
const LF = 10;
const SPACE = 32;
const SLASH = 47;
const APOSTROPHE = 39;

/** Any character outside ASCII: the text takes the Unicode regex path. */
const NON_ASCII = /[\u0080-\uffff]/;

/** Lower-cased code of c when it is an ASCII letter, else c. */
function lc(c: number): number {
  return c | 0x20;
}

/** End of the optional contraction suffix `'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE])`
 * at `k`, or `k` when there is none. */
function contractionEnd(t: Uint8Array, k: number, n: number): number {
  if (k + 1 >= n || t[k] !== APOSTROPHE) return k;
  const a = lc(t[k + 1]!);
  if (a === 0x73 || a === 0x64 || a === 0x6d || a === 0x74) return k + 2; // s d m t
  if (k + 2 >= n) return k;
  const b = lc(t[k + 2]!);
  if ((a === 0x6c && b === 0x6c) || (a === 0x76 && b === 0x65) || (a === 0x72 && b === 0x65)) return k + 3; // ll ve re
  return k;
}

/**
 * End of the piece that starts at `i` in ASCII text `t` (as bytes, length n): the match the o200k
 * pattern makes there, its alternatives tried in order as a backtracking regex does.
 *  1. `[^\r\n\p{L}\p{N}]?[Upper]*[Lower]+'s?` and 2. `[^\r\n\p{L}\p{N}]?[Upper]+[Lower]*'s?`
 *     together: an optional space/symbol prefix, then upper-case letters then lower-case ones
 *     (at least one letter), then an optional contraction.
 *  3. `\p{N}{1,3}`
 *  4. ` ?[^\s\p{L}\p{N}]+[\r\n/]*`
 *  5. `\s*[\r\n]+`: a whitespace run up to its last CR/LF.
 *  6. `\s+(?!\S)`: a whitespace run at the end of the text, or all of it but its last character.
 *  7. `\s+`: a single whitespace character before a non-space.
 */
function pieceEnd(t: Uint8Array, i: number, n: number): number {
  const c = ASCII_CLASS[t[i]!]!;
  let j = i;
  if ((c === K.Space || c === K.Other) && i + 1 < n) {
    const d = ASCII_CLASS[t[i + 1]!]!;
    if (d === K.Upper || d === K.Lower) j = i + 1;
  }
  let cj = j === i ? c : ASCII_CLASS[t[j]!]!;
  if (cj === K.Upper || cj === K.Lower) {
    let k = j;
    while (cj === K.Upper) {
      k++;
      cj = k < n ? ASCII_CLASS[t[k]!]! : 0;
    }
    while (cj === K.Lower) {
      k++;
      cj = k < n ? ASCII_CLASS[t[k]!]! : 0;
    }
    return contractionEnd(t, k, n);
  }
  if (c === K.Digit) {
    let k = i + 1;
    while (k < n && k < i + 3 && ASCII_CLASS[t[k]!] === K.Digit) k++;
    return k;
  }
  const p = t[i] === SPACE && i + 1 < n && ASCII_CLASS[t[i + 1]!] === K.Other ? i + 1 : i;
  if (ASCII_CLASS[t[p]!] === K.Other) {
    let k = p + 1;
    while (k < n && ASCII_CLASS[t[k]!] === K.Other) k++;
    while (k < n) {
      const x = t[k];
      if (x !== CR && x !== LF && x !== SLASH) break;
      k++;
    }
    return k;
  }
  // Whitespace (Space or Newline).
  let e = i;
  let lastNewline = -1;
  while (e < n) {
    const x = ASCII_CLASS[t[e]!];
    if (x === K.Newline) lastNewline = e;
    else if (x !== K.Space) break;
    e++;
  }
  if (lastNewline >= 0) return lastNewline + 1;
  if (e === n) return e;
  return e - i >= 2 ? e - 1 : i + 1;
}

// ---- piece counts ----

/** Table slots (a power of two), filled to half at most, then emptied: English and code use a
 * few thousand distinct pieces, identifiers and ids add more. */
const SLOTS = 1 << 15;
const MASK = SLOTS - 1;
const MAX_ENTRIES = SLOTS >> 1;
/** Longer pieces (long runs of spaces or symbols, very long words) are counted without caching. */
const MAX_CACHED_PIECE = 64;
/** Bytes of the cached pieces' text: MAX_ENTRIES pieces of 32 bytes on average. */
const POOL_BYTES = MAX_ENTRIES * 32;

/** Per slot: hash (0 = empty; real hashes are forced odd), offset and length in `pool`, count. */
const slotHash = new Int32Array(SLOTS);
const slotOff = new Int32Array(SLOTS);
const slotLen = new Int32Array(SLOTS);
const slotCount = new Int32Array(SLOTS);
const pool = new Uint8Array(POOL_BYTES);
let poolUsed = 0;
let entries = 0;

/**
 * Token count of one piece given as a string (the Unicode path). A piece is one match of the
 * pattern, and it is also the first match of the pattern on the piece alone (no alternative can
 * match more of it, and only the `(?!\S)` lookahead looks past a match, which end of text
 * satisfies), so counting it alone is exact. A piece never holds a whole special token (each has
 * letters between `<|` and `|>`, which are separate pieces).
 */
function countPiece(piece: string): number {
  const bytes = Buffer.from(piece, 'utf8');
  return countBytes(bytes, 0, bytes.length, isWellFormed(piece));
}

/**
 * Pieces of at most SHORT_PIECE bytes (most pieces: a word with its leading space averages under
 * 6) have a table of their own keyed by their bytes packed into two int32s: a hit compares two
 * numbers, with no byte-by-byte hash and no compare against the pool (measured on the bench's
 * estimated texts: ~25% less time per piece).
 */
const SHORT_PIECE = 8;
const SHORT_SLOTS = 1 << 14;
const SHORT_MASK = SHORT_SLOTS - 1;
/** Filled to half at most, then emptied (as the long-piece table). */
const SHORT_MAX_ENTRIES = SHORT_SLOTS >> 1;
const shortLo = new Int32Array(SHORT_SLOTS);
const shortHi = new Int32Array(SHORT_SLOTS);
/** The piece's length + 1; 0 = empty slot (the length tells "a" from "a\0": NUL packs as 0). */
const shortLen = new Int32Array(SHORT_SLOTS);
const shortCount = new Int32Array(SHORT_SLOTS);
let shortEntries = 0;

function shortSlot(lo: number, hi: number, len: number): number {
  return (Math.imul(lo ^ Math.imul(hi ^ len, 0x9e3779b1), 0x85ebca6b) >>> 17) & SHORT_MASK;
}

/** Count of the ASCII piece bytes[start, start + len), len ≤ SHORT_PIECE. */
function countShortPiece(bytes: Uint8Array, start: number, len: number): number {
  let lo = 0;
  let hi = 0;
  const m = len < 4 ? len : 4;
  for (let k = 0; k < m; k++) lo |= bytes[start + k]! << (8 * k);
  for (let k = 4; k < len; k++) hi |= bytes[start + k]! << (8 * (k - 4));
  let slot = shortSlot(lo, hi, len);
  for (;;) {
    const sl = shortLen[slot]!;
    if (sl === 0) break;
    if (sl === len + 1 && shortLo[slot] === lo && shortHi[slot] === hi) return shortCount[slot]!;
    slot = (slot + 1) & SHORT_MASK;
  }
  const n = countBytes(bytes, start, start + len);
  if (shortEntries >= SHORT_MAX_ENTRIES) {
    shortLen.fill(0);
    shortEntries = 0;
    slot = shortSlot(lo, hi, len);
  }
  shortLo[slot] = lo;
  shortHi[slot] = hi;
  shortLen[slot] = len + 1;
  shortCount[slot] = n;
  shortEntries++;
  return n;
}

/** Count of the ASCII piece bytes[start, end); a cache hit makes no string. */
function countAsciiPiece(bytes: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len <= SHORT_PIECE) return countShortPiece(bytes, start, len);
  if (len > MAX_CACHED_PIECE) return countBytes(bytes, start, end);
  let h = 0x811c9dc5 | 0;
  for (let k = start; k < end; k++) h = Math.imul(h ^ bytes[k]!, 0x01000193);
  h |= 1;
  let slot = h & MASK;
  for (;;) {
    const sh = slotHash[slot]!;
    if (sh === 0) break;
    if (sh === h && slotLen[slot] === len && sameBytes(bytes, start, slotOff[slot]!, len)) return slotCount[slot]!;
    slot = (slot + 1) & MASK;
  }
  const n = countBytes(bytes, start, end);
  if (entries >= MAX_ENTRIES || poolUsed + len > POOL_BYTES) {
    slotHash.fill(0);
    entries = 0;
    poolUsed = 0;
    slot = h & MASK;
  }
  pool.set(bytes.subarray(start, end), poolUsed);
  slotHash[slot] = h;
  slotOff[slot] = poolUsed;
  slotLen[slot] = len;
  slotCount[slot] = n;
  poolUsed += len;
  entries++;
  return n;
}

function sameBytes(a: Uint8Array, aOff: number, poolOff: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (a[aOff + k] !== pool[poolOff + k]) return false;
  return true;
}

/** Unicode pieces: cached by their text in a Map (non-ASCII text is the rare case here). */
const unicodeCache = new Map<string, number>();
/** Entries kept before the Map is emptied. */
const UNICODE_CACHE_MAX = 50_000;

function countUnicodePiece(piece: string): number {
  if (piece.length > MAX_CACHED_PIECE) return countPiece(piece);
  let n = unicodeCache.get(piece);
  if (n === undefined) {
    n = countPiece(piece);
    if (unicodeCache.size >= UNICODE_CACHE_MAX) unicodeCache.clear();
    unicodeCache.set(piece, n);
  }
  return n;
}

/**
 * The library's own pre-tokenizer regex (a copy: its lastIndex is ours to move), made on the
 * first non-ASCII text: its module builds three `\p{…}` regexes (~5 ms of start-up) that ASCII
 * traffic never needs. Required synchronously (counting is synchronous) from the library's
 * CommonJS build, which is made from the same source as its ESM one (token-count.test.ts checks
 * the two patterns are the same).
 */
let o200kSplit: RegExp | null = null;

export function o200kSplitRegex(): RegExp {
  if (o200kSplit === null) {
    const { O200K_TOKEN_SPLIT_REGEX: r } = createRequire(import.meta.url)('gpt-tokenizer/encodingParams/constants') as typeof import('gpt-tokenizer/encodingParams/constants');
    o200kSplit = new RegExp(r.source, r.flags);
  }
  return o200kSplit;
}

/** Pieces of `t` (for tests: the cuts the counter makes). */
export function o200kPieces(t: string): string[] {
  const out: string[] = [];
  if (!NON_ASCII.test(t)) {
    const bytes = Buffer.from(t, 'latin1');
    for (let i = 0; i < bytes.length; ) {
      const e = pieceEnd(bytes, i, bytes.length);
      out.push(t.slice(i, e));
      i = e;
    }
    return out;
  }
  forEachUnicodePiece(t, (p) => out.push(p));
  return out;
}

function forEachUnicodePiece(t: string, f: (piece: string) => void): void {
  // As countNative does (matchAll): every match, in order. The pattern cannot match the empty
  // string (each alternative consumes a character), so exec always advances.
  const re = o200kSplitRegex();
  re.lastIndex = 0;
  for (let m = re.exec(t); m !== null; m = re.exec(t)) f(m[0]);
}

// ---- line counts ----

/**
 * Agent prompts repeat lines: every call resends the conversation, and tool results quote the
 * same files. Lines of ASCII text are counted whole through a table of their own (keyed by
 * their bytes, as the piece tables): a hit costs a short hash and a compare of the line's bytes
 * instead of cutting and looking up each piece. On the bench's 44 estimated prompts (5.25 M
 * characters, 64% of them in lines seen before, though no message repeats) a warm pass took
 * 60–90 ms before and 40–50 ms after, and the cold pass 15% fewer instructions.
 *
 * A line ends after a run of LF/CR that starts with an LF, unless a `/` follows (a symbol piece
 * takes the newlines and slashes after it: ` ?[^\s\p{L}\p{N}]+[\r\n/]*`) or the whitespace
 * after it holds another newline (`\s*[\r\n]+` runs to the last newline of a whitespace run).
 * No piece crosses such a point, and pieces are matched looking forward only, so a line counts
 * alone as it counts in its text (as estimate.ts's paragraphs, with indentation allowed).
 */
/** Longer lines (prose paragraphs, one-line JSON) are counted piece by piece, uncached. */
const MAX_CACHED_LINE = 256;
/** Bytes hashed at each end of a line. */
const LINE_HASH_EDGE = 12;
/** Slots tried before a line is counted without the table. */
const LINE_MAX_PROBES = 8;
const LINE_SLOTS = 1 << 14;
const LINE_MASK = LINE_SLOTS - 1;
/** Filled to half at most, then emptied (as the piece tables). */
const LINE_MAX_ENTRIES = LINE_SLOTS >> 1;
/** Bytes of the cached lines: LINE_MAX_ENTRIES lines of 64 bytes on average (512 KiB). */
const LINE_POOL_BYTES = LINE_MAX_ENTRIES * 64;
const lineHash = new Int32Array(LINE_SLOTS);
const lineOff = new Int32Array(LINE_SLOTS);
const lineLen = new Int32Array(LINE_SLOTS);
const lineCount = new Int32Array(LINE_SLOTS);
const linePool = new Uint8Array(LINE_POOL_BYTES);
let linePoolUsed = 0;
let lineEntries = 0;

/** End of the line that starts at `i` in ASCII text `b` (length n): see above; n when the rest
 * of the text is one line. */
function lineEnd(b: Buffer, i: number, n: number): number {
  for (let from = i; ; ) {
    const at = b.indexOf(LF, from);
    if (at < 0) return n;
    let e = at + 1;
    while (e < n && (b[e] === LF || b[e] === CR)) e++;
    if (e >= n) return n;
    // Spaces and tabs may follow (indented code): the newline piece still ends at the last
    // newline when the whitespace run holds no other one.
    let k = e;
    while (k < n && ASCII_CLASS[b[k]!] === K.Space) k++;
    if (b[e] !== SLASH && (k === n || ASCII_CLASS[b[k]!] !== K.Newline)) return e;
    from = k;
  }
}

/** Tokens of the ASCII text bytes[start, end) that is a whole number of pieces, piece by piece. */
function countAsciiPieces(bytes: Uint8Array, start: number, end: number): number {
  let total = 0;
  for (let i = start; i < end; ) {
    const e = pieceEnd(bytes, i, end);
    total += countAsciiPiece(bytes, i, e);
    i = e;
  }
  return total;
}

/** Tokens of the ASCII line bytes[start, end), from the line table when it was counted before. */
function countAsciiLine(bytes: Uint8Array, start: number, end: number): number {
  const len = end - start;
  // The hash reads the length and at most the first and last LINE_HASH_EDGE bytes: a hit is
  // then one compare of the line's bytes, not a hash and a compare (lines alike at both ends
  // only share a probe run, told apart by the compare).
  let h = Math.imul(0x811c9dc5 ^ len, 0x01000193);
  const headEnd = Math.min(end, start + LINE_HASH_EDGE);
  for (let k = start; k < headEnd; k++) h = Math.imul(h ^ bytes[k]!, 0x01000193);
  for (let k = Math.max(headEnd, end - LINE_HASH_EDGE); k < end; k++) h = Math.imul(h ^ bytes[k]!, 0x01000193);
  h = (h ^ (h >>> 15)) | 1;
  let slot = h & LINE_MASK;
  for (let probes = 0; ; probes++) {
    const sh = lineHash[slot]!;
    if (sh === 0) break;
    if (sh === h && lineLen[slot] === len && sameLineBytes(bytes, start, lineOff[slot]!, len)) return lineCount[slot]!;
    // Many lines alike at both ends (or crafted to be) hash alike: past a few probes the line is
    // counted uncached, so that their probe run, and the compares along it, stay short.
    if (probes === LINE_MAX_PROBES) return countAsciiPieces(bytes, start, end);
    slot = (slot + 1) & LINE_MASK;
  }
  const n = countAsciiPieces(bytes, start, end);
  if (lineEntries >= LINE_MAX_ENTRIES || linePoolUsed + len > LINE_POOL_BYTES) {
    lineHash.fill(0);
    lineEntries = 0;
    linePoolUsed = 0;
    slot = h & LINE_MASK;
  }
  linePool.set(bytes.subarray(start, end), linePoolUsed);
  lineHash[slot] = h;
  lineOff[slot] = linePoolUsed;
  lineLen[slot] = len;
  lineCount[slot] = n;
  linePoolUsed += len;
  lineEntries++;
  return n;
}

function sameLineBytes(a: Uint8Array, aOff: number, poolOff: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (a[aOff + k] !== linePool[poolOff + k]) return false;
  return true;
}

/** Exact o200k_base token count of `t`, special-token texts counted as ordinary text. */
export function countO200k(t: string): number {
  let total = 0;
  // ASCII (as many UTF-8 bytes as characters): scanned as bytes. One native encode both tests
  // and copies (a regex test and a latin1 copy took ~6× as long).
  const bytes = Buffer.from(t, 'utf8');
  if (bytes.length === t.length) {
    const n = bytes.length;
    for (let i = 0; i < n; ) {
      const e = lineEnd(bytes, i, n);
      total += e - i <= MAX_CACHED_LINE ? countAsciiLine(bytes, i, e) : countAsciiPieces(bytes, i, e);
      i = e;
    }
    return total;
  }
  forEachUnicodePiece(t, (p) => {
    total += countUnicodePiece(p);
  });
  return total;
}
