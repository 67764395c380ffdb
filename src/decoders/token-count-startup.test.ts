/**
 * What token-count.ts precomputes or loads late to start faster must equal what it replaced:
 * the ASCII class table is the one the pattern's Unicode properties give, and the lazily
 * required split regex is the library's ESM pattern.
 */
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants';
import { describe, expect, it } from 'vitest';
import { ASCII_CLASS, countO200k, o200kSplitRegex } from './token-count.js';

/** The classes as the pattern defines them (the derivation the constant table replaced). */
function derivedAsciiClasses(): number[] {
  const upper = /[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]/u;
  const lower = /[\p{Ll}\p{Lm}\p{Lo}\p{M}]/u;
  const out: number[] = [];
  for (let c = 0; c < 128; c++) {
    const ch = String.fromCharCode(c);
    if (upper.test(ch)) out.push(1);
    else if (lower.test(ch)) out.push(2);
    else if (/\p{N}/u.test(ch)) out.push(3);
    else if (ch === '\r' || ch === '\n') out.push(5);
    else if (/\s/.test(ch)) out.push(4);
    else out.push(6);
  }
  return out;
}

describe('token-count start-up tables', () => {
  it('the ASCII class table is what the Unicode properties give', () => {
    expect([...ASCII_CLASS]).toEqual(derivedAsciiClasses());
  });

  it('the lazily loaded split regex is the library pattern', () => {
    const re = o200kSplitRegex();
    expect(re.source).toBe(O200K_TOKEN_SPLIT_REGEX.source);
    expect(re.flags).toBe(O200K_TOKEN_SPLIT_REGEX.flags);
    // Non-ASCII text is cut by it: counts match the library's.
    const text = 'Grüße aus Köln: ça coûte 12,50 € — 東京で会いましょう';
    expect(countO200k(text)).toBe(countTokens(text));
  });
});
