/**
 * HPACK Huffman coding (RFC 7541 §5.2, code table in Appendix B).
 *
 * The Appendix B code is canonical: codes are assigned in order of (length, symbol), so the 257
 * code lengths below determine every code (checked in huffman.test.ts against codes printed in
 * the RFC). Decoding walks a binary tree built from the codes on first use, a nibble-free bit
 * walk: header strings are short (tens of bytes), so a table-driven decoder would buy little.
 *
 * Errors (RFC 7541 §5.2): the EOS symbol inside a string, padding longer than 7 bits, and padding
 * that is not the most significant bits of EOS (all ones) are decoding errors.
 */

/** Code length in bits of symbols 0..255 and EOS (256), RFC 7541 Appendix B. */
const CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0-15
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 16-31
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // 32-47
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // 48-63
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // 64-79
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 80-95
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // 96-111
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 112-127
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128-143
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144-159
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160-175
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176-191
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192-207
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208-223
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224-239
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240-255
  30, // EOS
];

export const EOS = 256;

/** Codes (right-aligned in `length` bits) of symbols 0..256, built canonically from the lengths. */
function buildCodes(): number[] {
  const order = CODE_LENGTHS.map((len, sym) => ({ len, sym })).sort((a, b) => a.len - b.len || a.sym - b.sym);
  const codes = new Array<number>(CODE_LENGTHS.length).fill(0);
  let code = 0;
  let prevLen = order[0]!.len;
  for (const { len, sym } of order) {
    code *= 2 ** (len - prevLen); // multiply, not shift: 30-bit codes would overflow a signed shift
    prevLen = len;
    codes[sym] = code;
    code++;
  }
  return codes;
}

export const HUFFMAN_LENGTHS: readonly number[] = CODE_LENGTHS;

/**
 * Decoding tree as flat arrays: node n has children `child[2n]` (bit 0) and `child[2n+1]` (bit 1);
 * a child value < 0 is a leaf holding symbol `-value - 1`. 256 internal nodes for 257 leaves.
 */
function buildTree(codes: readonly number[]): Int32Array {
  const c = new Int32Array(2 * 512).fill(0);
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const len = CODE_LENGTHS[sym]!;
    const code = codes[sym]!;
    let n = 0;
    for (let i = len - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) & 1;
      const slot = 2 * n + bit;
      if (i === 0) c[slot] = -sym - 1;
      else {
        if (c[slot] === 0) c[slot] = nodes++;
        n = c[slot]!;
      }
    }
  }
  return c;
}

// Built on first use, not at start-up: most runs see no HTTP/2 (and start-up is paid by every
// command; the tables cost about as much as compiling a few modules).
let codesTable: readonly number[] | null = null;
let treeTable: Int32Array | null = null;

/** The code (right-aligned in HUFFMAN_LENGTHS[sym] bits) of each symbol 0..256. */
export function huffmanCodes(): readonly number[] {
  return (codesTable ??= buildCodes());
}

function tree(): Int32Array {
  return (treeTable ??= buildTree(huffmanCodes()));
}

/**
 * Decodes a Huffman-coded string literal to latin1 text (one char per octet, as the HTTP/1 layer
 * reads field values), or null when the coding is invalid.
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number): string | null {
  let node = 0;
  /** Bits read since the last symbol, and whether they were all ones (possible EOS padding). */
  let pendingBits = 0;
  let allOnes = true;
  let out = '';
  const codes: number[] = [];
  const child = tree();
  for (let i = start; i < end; i++) {
    const byte = src[i]!;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      const next = child[2 * node + bit]!;
      pendingBits++;
      if (bit === 0) allOnes = false;
      if (next < 0) {
        const sym = -next - 1;
        if (sym === EOS) return null; // §5.2: EOS in a string is an error
        codes.push(sym);
        node = 0;
        pendingBits = 0;
        allOnes = true;
      } else {
        node = next;
      }
    }
    if (codes.length >= 4096) {
      out += String.fromCharCode(...codes);
      codes.length = 0;
    }
  }
  // §5.2: padding is at most 7 bits, all ones (a prefix of EOS).
  if (pendingBits > 7 || !allOnes) return null;
  return out + String.fromCharCode(...codes);
}

/** Huffman-encodes latin1 text (each char one octet); used by tests and test generators. */
export function huffmanEncode(text: string): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  const codes = huffmanCodes();
  for (let i = 0; i < text.length; i++) {
    const sym = text.charCodeAt(i) & 0xff;
    const len = CODE_LENGTHS[sym]!;
    const code = codes[sym]!;
    for (let j = len - 1; j >= 0; j--) {
      acc = (acc << 1) | (Math.floor(code / 2 ** j) & 1);
      if (++bits === 8) {
        out.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) out.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff);
  return Uint8Array.from(out);
}
