/**
 * The o200k_base vocabulary as one flat binary table, and BPE token counting on it, with exactly
 * the results of gpt-tokenizer's countNative (checked against it in o200k-table.test.ts and
 * token-count.test.ts).
 *
 * Why: gpt-tokenizer keeps the vocabulary in a 2.4 MB JavaScript module of string literals and
 * builds a 200,000-entry Map from it, ~0.25 s of CPU per process (compiling the module, then the
 * Map). The table below is generated at build time (`npm run build` runs o200k-table-gen.js) into
 * dist/ next to this module and is used as it is read: one file read, typed-array views, no
 * per-token work. Without the file (vitest on the sources, a broken install) it is built in
 * memory from gpt-tokenizer's ranks, the same bytes as the file.
 *
 * Lookups mirror the library, quirks included (BytePairEncodingCore.getBpeRankFromBytes):
 *  - a byte string that is valid UTF-8 is decoded with a non-fatal TextDecoder, which drops one
 *    leading byte-order mark (EF BB BF), and looked up among the string entries; so
 *    `EF BB BF "using"` has the rank of `"using"`, and entries that start with a BOM are never
 *    found that way;
 *  - any other byte string is looked up among the byte-array entries (the ones that are not valid
 *    UTF-8: the 9 array entries that are valid UTF-8 all start with a BOM and are unreachable).
 *  So the table holds the string entries that do not start with a BOM (as UTF-8) and the array
 *  entries that are not valid UTF-8; a lookup strips a leading BOM from a valid UTF-8 key first.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** File name of the generated table, next to the compiled module. */
export const TABLE_FILE = 'o200k-ranks.bin';
const MAGIC = 0x4b54_3230; // "02TK" little-endian
const FORMAT = 1;
/** Header: magic, format, entries (ranks + 1 offsets), slots, blob bytes, tag bytes. */
const HEADER_WORDS = 6;
/** Hash slots: a power of two, at most ~40% full for 200,000 entries (short probe runs). */
const SLOT_BITS = 19;

export interface O200kTable {
  /** Rank of bytes[start, end) per the library's lookup rules, or -1. */
  rank(bytes: Uint8Array, start: number, end: number): number;
}

type Ranks = readonly (string | readonly number[])[];

function fnv1a(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 | 0;
  for (let k = start; k < end; k++) h = Math.imul(h ^ b[k]!, 0x01000193);
  return h >>> 0;
}

function startsWithBom(b: Uint8Array, start: number, end: number): boolean {
  return end - start >= 3 && b[start] === 0xef && b[start + 1] === 0xbb && b[start + 2] === 0xbf;
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
function isValidUtf8(b: Uint8Array, start: number, end: number): boolean {
  try {
    fatalUtf8.decode(b.subarray(start, end));
    return true;
  } catch {
    return false;
  }
}

/** The table file's bytes for these ranks; `tag` names their source (checked when loading). */
export function buildTableBytes(ranks: Ranks, tag: string): Uint8Array {
  const keys: (Uint8Array | null)[] = ranks.map((v) => {
    // String entries are found by valid UTF-8 keys, which lose a leading BOM first; array entries
    // only by invalid ones.
    if (typeof v === 'string') {
      const k = Buffer.from(v, 'utf8');
      return startsWithBom(k, 0, k.length) ? null : k;
    }
    const k = Uint8Array.from(v);
    return isValidUtf8(k, 0, k.length) ? null : k;
  });
  const n = keys.length;
  const blobBytes = keys.reduce((s, k) => s + (k?.length ?? 0), 0);
  const tagBytes = Buffer.from(tag, 'utf8');
  const tagWords = Math.ceil(tagBytes.length / 4);
  const slots = 1 << SLOT_BITS;
  const words = HEADER_WORDS + tagWords + (n + 1) + slots;
  const out = new Uint8Array(words * 4 + blobBytes);
  const w = new Uint32Array(out.buffer, 0, words);
  w.set([MAGIC, FORMAT, n + 1, slots, blobBytes, tagBytes.length]);
  out.set(tagBytes, HEADER_WORDS * 4);
  const offsets = w.subarray(HEADER_WORDS + tagWords, HEADER_WORDS + tagWords + n + 1);
  const slotRanks = new Int32Array(out.buffer, (HEADER_WORDS + tagWords + n + 1) * 4, slots);
  const blob = out.subarray(words * 4);
  let off = 0;
  for (let r = 0; r < n; r++) {
    offsets[r] = off;
    const k = keys[r];
    if (k) {
      blob.set(k, off);
      off += k.length;
    }
  }
  offsets[n] = off;
  const table = new FlatTable(offsets, slotRanks, blob);
  for (let r = 0; r < n; r++) {
    const k = keys[r];
    // The ranks hold no byte string twice (a Map from them would keep the last one).
    if (k && k.length > 0) table.insert(r);
  }
  return out;
}

class FlatTable implements O200kTable {
  private readonly mask: number;
  constructor(
    private readonly offsets: Uint32Array,
    private readonly slots: Int32Array,
    private readonly blob: Uint8Array,
  ) {
    this.mask = slots.length - 1;
  }

  insert(rank: number): void {
    const s = this.offsets[rank]!;
    const e = this.offsets[rank + 1]!;
    let slot = fnv1a(this.blob, s, e) & this.mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
    this.slots[slot] = rank + 1;
  }

  rank(b: Uint8Array, start: number, end: number): number {
    if (startsWithBom(b, start, end) && isValidUtf8(b, start, end)) start += 3;
    return this.find(b, start, end);
  }

  /** Rank of exactly these bytes among the table's entries, or -1. */
  find(b: Uint8Array, start: number, end: number): number {
    const len = end - start;
    if (len <= 0) return -1;
    const { offsets, slots, blob, mask } = this;
    let slot = fnv1a(b, start, end) & mask;
    for (;;) {
      const r1 = slots[slot]!;
      if (r1 === 0) return -1;
      const o = offsets[r1 - 1]!;
      if (offsets[r1]! - o === len) {
        let k = 0;
        while (k < len && blob[o + k] === b[start + k]) k++;
        if (k === len) return r1 - 1;
      }
      slot = (slot + 1) & mask;
    }
  }
}

/** The table in `bytes`, or null when they are not a table of this format and source tag. */
export function tableFromBytes(bytes: Uint8Array, tag: string): O200kTable | null {
  if (bytes.byteLength < HEADER_WORDS * 4 || bytes.byteOffset % 4 !== 0) return null;
  const h = new Uint32Array(bytes.buffer, bytes.byteOffset, HEADER_WORDS);
  const [magic, format, nOffsets, slots, blobBytes, tagLen] = h as unknown as [number, number, number, number, number, number];
  if (magic !== MAGIC || format !== FORMAT || slots !== 1 << SLOT_BITS) return null;
  const tagWords = Math.ceil(tagLen / 4);
  const words = HEADER_WORDS + tagWords + nOffsets + slots;
  if (bytes.byteLength !== words * 4 + blobBytes) return null;
  if (Buffer.from(bytes.buffer, bytes.byteOffset + HEADER_WORDS * 4, tagLen).toString('utf8') !== tag) return null;
  const base = bytes.byteOffset;
  return new FlatTable(
    new Uint32Array(bytes.buffer, base + (HEADER_WORDS + tagWords) * 4, nOffsets),
    new Int32Array(bytes.buffer, base + (HEADER_WORDS + tagWords + nOffsets) * 4, slots),
    new Uint8Array(bytes.buffer, base + words * 4, blobBytes),
  );
}

const require = createRequire(import.meta.url);

/** Names the ranks' source: the installed gpt-tokenizer version (a table from another is rebuilt). */
export function ranksTag(): string {
  const pkg = require('gpt-tokenizer/package.json') as { version: string };
  return `gpt-tokenizer ${pkg.version} o200k_base`;
}

/** gpt-tokenizer's o200k_base ranks (its CommonJS build: loadable synchronously). */
export function libraryRanks(): Ranks {
  return (require('gpt-tokenizer/cjs/bpeRanks/o200k_base') as { default: Ranks }).default;
}

/** The generated table next to this module if it is there and current, else one built now. */
export function loadO200kTable(): O200kTable {
  const tag = ranksTag();
  try {
    const file = readFileSync(new URL(`./${TABLE_FILE}`, import.meta.url));
    // Buffers from readFileSync of a large file own their ArrayBuffer at offset 0 (aligned).
    const table = tableFromBytes(file, tag);
    if (table) return table;
  } catch {
    // No generated table (sources run directly): build it.
  }
  return tableFromBytes(buildTableBytes(libraryRanks(), tag), tag)!;
}

/** Scratch for the merge loop; grown when a longer piece comes. */
let starts = new Int32Array(256);
let pairRanks = new Float64Array(256);

/**
 * Tokens of the piece bytes[start, end) (UTF-8 of one pre-tokenizer match), as gpt-tokenizer's
 * countNative counts it: 1 when the whole piece is a token (`wholeLookup`: the caller's string
 * lookup applies), else the parts left by its bytePairMerge (lowest rank first, leftmost on ties).
 */
export function countPieceBytes(table: O200kTable, b: Uint8Array, start: number, end: number, wholeLookup: boolean): number {
  const n = end - start;
  if (n <= 1) return n;
  // The library's shortcut is a lookup of the piece as a string: no BOM stripping there.
  if (wholeLookup && !startsWithBom(b, start, end) && (table as FlatTable).find(b, start, end) >= 0) return 1;
  if (starts.length < n + 1) {
    starts = new Int32Array(2 * (n + 1));
    pairRanks = new Float64Array(2 * (n + 1));
  }
  const st = starts;
  const rk = pairRanks;
  const rankAt = (i: number, len: number): number => {
    if (i + 2 >= len) return Infinity;
    const r = table.rank(b, start + st[i]!, start + st[i + 2]!);
    return r < 0 ? Infinity : r;
  };
  for (let i = 0; i <= n; i++) st[i] = i;
  let len = n + 1;
  for (let i = 0; i < len; i++) rk[i] = rankAt(i, len);
  while (len > 1) {
    let lowest = Infinity;
    let at = -1;
    for (let i = 0; i < len - 1; i++) {
      if (rk[i]! < lowest) {
        lowest = rk[i]!;
        at = i;
      }
    }
    if (at < 0) break;
    // starts.splice(at + 1, 1); ranks.splice(at, 1)
    st.copyWithin(at + 1, at + 2, len);
    rk.copyWithin(at, at + 1, len);
    len--;
    rk[at] = rankAt(at, len);
    if (at > 0) rk[at - 1] = rankAt(at - 1, len);
  }
  return len - 1;
}
