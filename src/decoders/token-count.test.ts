import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants';
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../../test/corpus.js';
import { countO200k, MAX_EXACT_PIECE_BYTES, o200kPieces } from './token-count.js';

/** The library's own cut of `t` (what countNative iterates over). */
function libraryPieces(t: string): string[] {
  return [...t.matchAll(new RegExp(O200K_TOKEN_SPLIT_REGEX.source, O200K_TOKEN_SPLIT_REGEX.flags))].map((m) => m[0]);
}

/** ASCII text rich in the characters where the pattern's alternatives meet: case changes,
 * contractions, digit runs, symbols with and without a leading space, CR/LF, tabs, `/`. */
const trickyAscii = fc
  .array(
    fc.oneof(
      fc.constantFrom(' ', '  ', '\t', '\n', '\r\n', '\n\n', ' \n', '\v', '\f', "'", "'s", "'LL", "'ve", "'Re", "'x", '/', '//', '.', ',', '"', '{', '}', '<|endoftext|>', '\x00', '\x1f', '\x7f'),
      fc.constantFrom('a', 'Z', 'abc', 'ABC', 'AbC', 'aBc', 'HTTPServer', 'don', 'I', '1', '12', '1234567', 'x1'),
      fc.string({ unit: fc.integer({ min: 0, max: 127 }).map((c) => String.fromCharCode(c)), maxLength: 12 }),
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(''));

describe('o200k pieces', () => {
  it('cut ASCII text exactly where the library regex does', () => {
    fc.assert(
      fc.property(trickyAscii, (t) => {
        expect(o200kPieces(t)).toEqual(libraryPieces(t));
      }),
      { numRuns: 5000 },
    );
  });

  it('cut every pair and triple of ASCII classes as the library does', () => {
    const reps = ['A', 'a', '0', ' ', '\t', '\n', '\r', '.', '/', "'", 's', 'L', 'e'];
    for (const a of reps) for (const b of reps) for (const c of reps) for (const d of ['', ...reps]) {
      const t = a + b + c + d;
      expect(o200kPieces(t)).toEqual(libraryPieces(t));
    }
  });

  it('cut non-ASCII text with the library regex', () => {
    const t = 'Größe: 12345 — naïve café 東京 😀 x';
    expect(o200kPieces(t)).toEqual(libraryPieces(t));
  });
});

describe('countO200k', () => {
  it('equals countTokens on ASCII and Unicode text, cached or not', () => {
    fc.assert(
      fc.property(fc.oneof(trickyAscii.filter((t) => !t.includes('<|')), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })), (t) => {
        expect(countO200k(t)).toBe(countTokens(t));
        expect(countO200k(t)).toBe(countTokens(t));
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps short pieces that pack alike apart (trailing NULs, lengths 1–8) and stays exact after its table is emptied', () => {
    // Short pieces are cached by their bytes packed into two int32s: NUL packs as 0, so only the
    // length tells `a` from `a\0`; each case is counted twice (miss, then hit) and alone.
    // (`.\0\0` is one piece: a symbol run; `abc\0` is two.)
    for (const base of ['.', '-', ' !', 'a', 'ab', 'abc', ' abcd', ' abcdefg']) {
      for (let nuls = 0; base.length + nuls <= 9; nuls++) {
        const t = `${base}${'\0'.repeat(nuls)}`;
        expect(countO200k(t)).toBe(countTokens(t));
        expect(countO200k(t)).toBe(countTokens(t));
      }
    }
    // Well over the table's entries in distinct short pieces (`qxa`…`qzz`, each a few tokens),
    // then the same words again: counts taken before and after the table is emptied agree.
    const words: string[] = [];
    for (let i = 0; i < 20_000; i++) words.push(` q${String.fromCharCode(97 + (i % 26), 97 + ((i / 26) % 26 | 0), 97 + ((i / 676) % 26 | 0))}`);
    const first = words.map((w) => countO200k(w));
    expect(words.map((w) => countO200k(w))).toEqual(first);
    expect(first.slice(0, 300)).toEqual(words.slice(0, 300).map((w) => countTokens(w)));
  });

  it('counts long pieces (beyond the cached length) exactly', () => {
    const t = `${'a'.repeat(300)} ${' '.repeat(200)}x ${'-'.repeat(150)}\n`;
    expect(countO200k(t)).toBe(countTokens(t));
  });

  it('counts special-token text as ordinary text instead of throwing', () => {
    const t = 'before <|endoftext|> after';
    expect(() => countTokens(t)).toThrow();
    expect(countO200k(t)).toBe(countTokens(t, { disallowedSpecial: new Set() }));
  });

  it.skipIf(!corpusDir)('agrees on a real Claude Code request', () => {
    const text = readFileSync(join(corpusDir!, 'tokenscope/exchanges/anthropic-claude-cli-exchange.txt'), 'utf8');
    expect(countO200k(text)).toBe(countTokens(text));
  });
});

describe('countO200k line table', () => {
  // Lines are counted whole and cached: recurring lines put where a cut is allowed (after a
  // newline run followed by indentation or text) and where it is not (a `/` after the newlines,
  // whitespace holding another newline, a symbol before the newline).
  const line = fc.constantFrom('    1\texport function f() {', '  }', '', '   ', '\t', '// comment', '/path/to', 'x = 1;', 'Hello world.', '  - item', '\r', ' \r', '.', '\v', 'a');
  const lineEnd = fc.constantFrom('\n', '\r\n', '\n\n', '\n \n', '\n\r');

  it('counts texts of recurring lines as the library does, first time and from the table', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(line, lineEnd), { maxLength: 30 }), line, (lines, last) => {
        const t = lines.map(([l, e]) => l + e).join('') + last;
        expect(countO200k(t)).toBe(countTokens(t));
        expect(countO200k(t)).toBe(countTokens(t));
      }),
      { numRuns: 3000 },
    );
  });

  it('counts lines alike at both ends (they hash alike) exactly, in a bounded probe run', () => {
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) lines.push(`    if (value === ${String(i * 7919).padStart(8, '0')}) return true;`);
    const text = lines.join('\n');
    expect(countO200k(text)).toBe(countTokens(text));
    expect(countO200k(text)).toBe(countTokens(text));
  });

  it('stays exact after the line table is emptied', () => {
    // Well over the table's entries in distinct lines, counted twice.
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) lines.push(`  const v${i} = f(${i % 97});`);
    const text = lines.join('\n');
    const n = countTokens(text);
    expect(countO200k(text)).toBe(n);
    expect(countO200k(text)).toBe(n);
  });
});

describe('pieces longer than MAX_EXACT_PIECE_BYTES (untrusted input)', () => {
  it('counts a 200,000-letter run in slices: bounded work, within a token per slice of exact', () => {
    // The library's exact count of 8,000 letters, times 25 (a run of one letter tokenises
    // periodically), is the exact count of 200,000; the library itself would take minutes on it.
    const exact = countTokens('a'.repeat(8_000)) * 25;
    const run = 'a'.repeat(200_000);
    const slices = Math.ceil(run.length / MAX_EXACT_PIECE_BYTES);
    expect(Math.abs(countO200k(run) - exact)).toBeLessThanOrEqual(slices);
  });

  it('never cuts inside a UTF-8 sequence: a long run of 2-byte letters counts as its slices do', () => {
    const run = 'é'.repeat(50_000);
    const n = countO200k(run);
    expect(n).toBeGreaterThan(0);
    // Each slice is whole characters, so the count is that of the same text cut by hand.
    const perSlice = Math.floor(MAX_EXACT_PIECE_BYTES / 2);
    let byHand = 0;
    for (let i = 0; i < run.length; i += perSlice) byHand += countO200k(run.slice(i, i + perSlice));
    expect(n).toBe(byHand);
  });

  it('leaves pieces up to the limit exact (the library agrees)', () => {
    const word = 'xq'.repeat(MAX_EXACT_PIECE_BYTES / 2);
    expect(countO200k(word)).toBe(countTokens(word));
  });
});
