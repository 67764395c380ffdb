import { describe, expect, it } from 'vitest';
import type { ModelPriceConfig } from '../config/types.js';
import type { Usage } from '../core/call-parts.js';
import { ConfiguredPrices, configuredCost } from './configured-prices.js';

const entry = (model: string, provider: string | null = null): ModelPriceConfig => ({
  model,
  provider,
  input_per_mtok: 1,
  output_per_mtok: 2,
  cache_read_per_mtok: null,
  cache_write_per_mtok: null,
});

describe('ConfiguredPrices.find', () => {
  it('returns the first entry matching model and provider', () => {
    const a = entry('team-*', 'openai');
    const b = entry('team-*');
    const prices = new ConfiguredPrices({ models: [a, b] });
    expect(prices.find('openai', 'team-large')).toBe(a);
    expect(prices.find('ollama', 'team-large')).toBe(b);
    expect(prices.find('openai', 'other')).toBeNull();
    // Remembered answers stay right when asked again.
    expect(prices.find('ollama', 'team-large')).toBe(b);
  });

  it('stays right after more distinct names than it remembers', () => {
    const prices = new ConfiguredPrices({ models: [entry('keep')] });
    for (let i = 0; i < 5_000; i++) prices.find('openai', `junk-${i}`);
    expect(prices.find('openai', 'keep')?.model).toBe('keep');
  });
});

describe('configuredCost', () => {
  const u = (p: Partial<Usage>): Usage => ({ input_tokens: 0, output_tokens: 0, cache_read_tokens: null, cache_write_tokens: null, reasoning_tokens: null, estimated: false, raw: null, ...p });

  it('prices cache parts at their own rates, defaulting to the input rate', () => {
    const price = { ...entry('m'), input_per_mtok: 4, cache_read_per_mtok: 0.4, cache_write_per_mtok: 5 };
    expect(configuredCost(price, u({ input_tokens: 1_000_000, cache_read_tokens: 500_000, cache_write_tokens: 100_000, output_tokens: 0 }))).toBeCloseTo(
      0.4 * 4 + 0.5 * 0.4 + 0.1 * 5,
      12,
    );
    expect(configuredCost(entry('m'), u({ input_tokens: 1_000_000, cache_read_tokens: 500_000, output_tokens: 1_000_000, reasoning_tokens: 900_000 }))).toBeCloseTo(1 + 2, 12);
  });
});
