import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildTableBytes, countPieceBytes, libraryRanks, loadO200kTable, ranksTag, tableFromBytes } from './o200k-table.js';
import { o200kPieces } from './token-count.js';

const table = loadO200kTable();

/** Our count of `t`, piece by piece (the library's cut), against the library's whole count. */
function ours(t: string): number {
  let n = 0;
  for (const p of o200kPieces(t)) {
    const b = Buffer.from(p, 'utf8');
    n += countPieceBytes(table, b, 0, b.length, (p as string & { isWellFormed(): boolean }).isWellFormed());
  }
  return n;
}

describe('o200k rank table', () => {
  it('finds every token at its rank, as the library ranks it', () => {
    const ranks = libraryRanks();
    let checked = 0;
    for (let r = 0; r < ranks.length; r += 97) {
      const v = ranks[r]!;
      const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : Uint8Array.from(v);
      if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) continue; // BOM: see below
      expect(table.rank(b, 0, b.length)).toBe(r);
      checked++;
    }
    expect(checked).toBeGreaterThan(2000);
  });

  it('counts as gpt-tokenizer on text with byte-order marks (its decoder drops a leading BOM)', () => {
    for (const t of ['\ufeffusing namespace', '\ufeff\ufeff//x', 'a\ufeff\n\nb', '\ufeff출장안마', '\ufeff#include']) {
      expect(ours(t)).toBe(countTokens(t));
    }
  });

  it('counts as gpt-tokenizer on arbitrary Unicode, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme-ascii', maxLength: 80 })), (t) => {
        expect(ours(t)).toBe(countTokens(t, { disallowedSpecial: new Set() }));
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses bytes that are not a table for this source', () => {
    const bytes = buildTableBytes(['a', 'b', 'ab'], 'tag one');
    expect(tableFromBytes(bytes, 'tag one')).not.toBeNull();
    expect(tableFromBytes(bytes, 'tag two')).toBeNull();
    expect(tableFromBytes(bytes.subarray(0, bytes.length - 4), 'tag one')).toBeNull();
    expect(tableFromBytes(new Uint8Array(64), 'tag one')).toBeNull();
    expect(ranksTag()).toMatch(/^gpt-tokenizer \d/);
  });
});
