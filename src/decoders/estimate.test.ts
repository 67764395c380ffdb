import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../../test/corpus.js';
import { estimateTokens } from './estimate.js';

describe('estimateTokens', () => {
  it('counts paragraph by paragraph exactly as the whole text, cached or not', () => {
    const para = 'You are a careful assistant. Use the tools when needed.\n\n'.repeat(20);
    const text = `${para}User: read config.toml and tell me the port.\n\n\n\nAssistant: It is 8317.\n`;
    expect(estimateTokens(text)).toBe(countTokens(text));
    expect(estimateTokens(text)).toBe(countTokens(text)); // second time from the cache
  });

  it('does not cut between a symbol, its newlines and a following slash (one piece)', () => {
    const text = `${'x'.repeat(300)}.\n\n/path and more`;
    expect(estimateTokens(text)).toBe(countTokens(text));
    expect(estimateTokens('\u0000\n\n/:')).toBe(countTokens('\u0000\n\n/:'));
  });

  it('agrees with the whole-text count on arbitrary text', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constant('\r\n'), fc.constant('\n\n'), fc.constant('\n'), fc.constant(' ')), { maxLength: 40 }), (parts) => {
        const text = parts.join('');
        expect(estimateTokens(text)).toBe(countTokens(text));
      }),
      { numRuns: 1000 },
    );
  });

  it.skipIf(!corpusDir)('agrees on a real Claude Code request', () => {
    const text = readFileSync(join(corpusDir!, 'tokenscope/exchanges/anthropic-claude-cli-exchange.txt'), 'utf8');
    expect(estimateTokens(text)).toBe(countTokens(text));
  });
});

describe('estimateTokens cache', () => {
  it('gives texts that share a cache key (lone surrogate vs U+FFFD in UTF-8) their exact counts', () => {
    const body = 'word '.repeat(100);
    const lone = `${body}\ud800 tail`;
    const replaced = `${body}\ufffd tail`;
    expect(estimateTokens(replaced)).toBe(countTokens(replaced));
    expect(estimateTokens(lone)).toBe(countTokens(lone));
    expect(estimateTokens(replaced)).toBe(countTokens(replaced));
  });
});
