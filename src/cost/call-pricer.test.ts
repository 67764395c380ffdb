import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Usage } from '../core/call-parts.js';
import { calcPrice } from '@pydantic/genai-prices';
import { CallPricer, configurePricing, MAX_CACHED_MODELS, MAX_MODEL_CHARS, MAX_PRICED_TOKENS, priceCall, roundUsd, type PriceInput } from './call-pricer.js';

function usage(p: Partial<Usage>): Usage {
  return {
    input_tokens: null,
    output_tokens: null,
    cache_read_tokens: null,
    cache_write_tokens: null,
    reasoning_tokens: null,
    estimated: false,
    raw: null,
    ...p,
  };
}

const JULY_2025 = Date.parse('2025-07-01T12:00:00Z');

function input(provider: string, model: string, u: Partial<Usage>, atMs = JULY_2025): PriceInput {
  return { provider, response_model: model, request_model: model, usage: usage(u), atMs };
}

/** Dollars for `tokens` at `perMillion` dollars per million tokens. */
const at = (tokens: number, perMillion: number): number => (tokens * perMillion) / 1e6;

// Expected values are computed here from the providers' published per-million prices, not read
// from the package, so a wrong mapping of our usage onto the table's would show.
describe('priceCall: published prices', () => {
  it('gpt-4o: cached input at the cached rate ($2.50 in, $1.25 cached, $10 out per M)', () => {
    const r = priceCall(input('openai', 'gpt-4o-2024-08-06', { input_tokens: 10_000, cache_read_tokens: 4_000, output_tokens: 500 }));
    expect(r.cost_status).toBe('priced');
    expect(r.anomaly).toBeNull();
    expect(r.cost_usd).toBeCloseTo(at(6_000, 2.5) + at(4_000, 1.25) + at(500, 10), 12);
  });

  it('claude-sonnet-4: cache reads and writes are parts of input ($3 in, $0.30 read, $3.75 write, $15 out per M)', () => {
    const r = priceCall(
      input('anthropic', 'claude-sonnet-4-20250514', {
        input_tokens: 20_000,
        cache_read_tokens: 15_000,
        cache_write_tokens: 3_000,
        output_tokens: 1_000,
      }),
    );
    expect(r.cost_status).toBe('priced');
    expect(r.cost_usd).toBeCloseTo(at(2_000, 3) + at(15_000, 0.3) + at(3_000, 3.75) + at(1_000, 15), 12);
  });

  it('gemini-2.5-flash: $0.30 in, $0.03 cached, $2.50 out per M', () => {
    const r = priceCall(input('google', 'gemini-2.5-flash', { input_tokens: 8_000, cache_read_tokens: 6_000, output_tokens: 2_000 }));
    expect(r.cost_usd).toBeCloseTo(at(2_000, 0.3) + at(6_000, 0.03) + at(2_000, 2.5), 12);
  });

  it('reasoning tokens are part of output: priced at the output rate where there is no own rate (gpt-5, $10 out per M)', () => {
    const r = priceCall(input('openai', 'gpt-5', { input_tokens: 1_000, output_tokens: 2_000, reasoning_tokens: 1_500 }));
    expect(r.cost_usd).toBeCloseTo(at(1_000, 1.25) + at(2_000, 10), 12);
  });

  it('reasoning tokens at their own rate where one is published (sonar-deep-research: $2 in, $8 out, $3 reasoning per M)', () => {
    const r = priceCall(input('perplexity', 'sonar-deep-research', { input_tokens: 1_000, output_tokens: 5_000, reasoning_tokens: 4_000 }));
    expect(r.cost_usd).toBeCloseTo(at(1_000, 2) + at(1_000, 8) + at(4_000, 3), 12);
  });

  it('prices as of the capture time (o3: $10/$40 per M until 2025-06-10, then $2/$8)', () => {
    const u = { input_tokens: 1_000_000, output_tokens: 100_000 };
    const before = priceCall(input('openai', 'o3', u, Date.parse('2025-05-01T00:00:00Z')));
    const after = priceCall(input('openai', 'o3', u, Date.parse('2025-07-01T00:00:00Z')));
    expect(before.cost_usd).toBeCloseTo(at(1_000_000, 10) + at(100_000, 40), 9);
    expect(after.cost_usd).toBeCloseTo(at(1_000_000, 2) + at(100_000, 8), 9);
  });

  it('maps our provider names onto the table’s (xai → x-ai; azure falls back to OpenAI models)', () => {
    expect(priceCall(input('xai', 'grok-3', { input_tokens: 100, output_tokens: 10 })).cost_status).toBe('priced');
    const azure = priceCall(input('azure', 'gpt-4o', { input_tokens: 10_000, output_tokens: 500 }));
    expect(azure.cost_usd).toBeCloseTo(at(10_000, 2.5) + at(500, 10), 12);
  });
});

describe('priceCall: what is not priced', () => {
  it('an unknown model is unpriced with a null cost, never $0', () => {
    const r = priceCall(input('openai', 'my-finetune-that-nobody-lists', { input_tokens: 100, output_tokens: 10 }));
    expect(r).toEqual({ cost_usd: null, cost_status: 'unpriced', anomaly: null });
  });

  it('a provider we do not map is unpriced, even for a model name the table knows', () => {
    expect(priceCall(input('alibaba', 'gpt-4o', { input_tokens: 100, output_tokens: 10 })).cost_status).toBe('unpriced');
    expect(priceCall(input('some-proxy', 'gpt-4o', { input_tokens: 100, output_tokens: 10 })).cost_usd).toBeNull();
  });

  it('unknown input or output count → unpriced; unknown cache counts are priced as uncached input', () => {
    expect(priceCall(input('openai', 'gpt-4o', { input_tokens: null, output_tokens: 10 })).cost_status).toBe('unpriced');
    expect(priceCall(input('openai', 'gpt-4o', { input_tokens: 100, output_tokens: null })).cost_usd).toBeNull();
    const r = priceCall(input('openai', 'gpt-4o', { input_tokens: 1_000, output_tokens: 100 }));
    expect(r.cost_usd).toBeCloseTo(at(1_000, 2.5) + at(100, 10), 12);
  });

  it('no model at all → unpriced', () => {
    const r = priceCall({ provider: 'openai', response_model: null, request_model: '  ', usage: usage({ input_tokens: 1, output_tokens: 1 }), atMs: JULY_2025 });
    expect(r.cost_status).toBe('unpriced');
  });
});

describe('priceCall: status and model choice', () => {
  it('estimated usage is priced from the estimate and says so', () => {
    const exact = priceCall(input('openai', 'gpt-4o', { input_tokens: 1_000, output_tokens: 100 }));
    const est = priceCall(input('openai', 'gpt-4o', { input_tokens: 1_000, output_tokens: 100, estimated: true }));
    expect(est.cost_status).toBe('estimated');
    expect(est.cost_usd).toBe(exact.cost_usd);
  });

  it('prefers the response model, and falls back to the request model when the response names none the table knows', () => {
    const u = usage({ input_tokens: 1_000_000, output_tokens: 0 });
    const mini = priceCall({ provider: 'openai', response_model: 'gpt-4o-mini-2024-07-18', request_model: 'gpt-4o', usage: u, atMs: JULY_2025 });
    expect(mini.cost_usd).toBeCloseTo(0.15, 12); // gpt-4o-mini: $0.15 per M input
    const fallback = priceCall({ provider: 'openai', response_model: 'unlisted-snapshot', request_model: 'gpt-4o', usage: u, atMs: JULY_2025 });
    expect(fallback.cost_usd).toBeCloseTo(2.5, 12);
  });
});

describe('priceCall: bad input never throws', () => {
  it('inconsistent counts (cache above input, reasoning above output) are unpriced with an anomaly', () => {
    const cache = priceCall(input('anthropic', 'claude-sonnet-4-20250514', { input_tokens: 10, cache_read_tokens: 50, output_tokens: 1 }));
    expect(cache).toEqual({ cost_usd: null, cost_status: 'unpriced', anomaly: 'cost_usage_invalid' });
    const reasoning = priceCall(input('perplexity', 'sonar-deep-research', { input_tokens: 10, output_tokens: 5, reasoning_tokens: 50 }));
    expect(reasoning.anomaly).toBe('cost_usage_invalid');
    // Dated prices go through the package itself: the same check holds there.
    const dated = priceCall(input('openai', 'o3', { input_tokens: 10, cache_read_tokens: 50, output_tokens: 1 }));
    expect(dated.anomaly).toBe('cost_usage_invalid');
  });

  it('absurd and invalid counts and times are unpriced with an anomaly', () => {
    const bad = [
      { input_tokens: 1e308, output_tokens: 1e308 },
      { input_tokens: MAX_PRICED_TOKENS + 1, output_tokens: 1 },
      { input_tokens: -5, output_tokens: 1 },
      { input_tokens: Number.NaN, output_tokens: 1 },
      { input_tokens: 1, output_tokens: Number.POSITIVE_INFINITY },
    ];
    for (const u of bad) {
      expect(priceCall(input('openai', 'gpt-4o', u))).toEqual({ cost_usd: null, cost_status: 'unpriced', anomaly: 'cost_usage_invalid' });
    }
    // o3 has date-dependent prices, so an invalid capture time matters.
    expect(priceCall(input('openai', 'o3', { input_tokens: 1, output_tokens: 1 }, Number.NaN)).anomaly).toBe('cost_price_failed');
  });

  it('an over-long model name is not looked up and is named', () => {
    const r = priceCall(input('openai', `gpt-4o${'x'.repeat(MAX_MODEL_CHARS)}`, { input_tokens: 1, output_tokens: 1 }));
    expect(r).toEqual({ cost_usd: null, cost_status: 'unpriced', anomaly: 'cost_model_name_too_long' });
  });

  it('any model string and any counts: a result, never an exception, never a negative or non-finite cost', () => {
    const pricer = new CallPricer();
    const count = fc.oneof(fc.constant(null), fc.nat(), fc.double());
    fc.assert(
      fc.property(
        fc.constantFrom('openai', 'anthropic', 'google', 'azure', 'openrouter', 'junk'),
        fc.oneof(fc.string(), fc.constantFrom('gpt-4o', 'o3', 'claude-opus-4', '(', '[a-', '\\', 'gpt-4o\u0000'), fc.string({ unit: 'binary' })),
        count,
        count,
        count,
        fc.boolean(),
        (provider, model, inTok, outTok, cacheTok, estimated) => {
          const r = pricer.price({
            provider,
            response_model: model,
            request_model: null,
            usage: usage({ input_tokens: inTok, output_tokens: outTok, cache_read_tokens: cacheTok, estimated }),
            atMs: JULY_2025,
          });
          if (r.cost_usd === null) expect(r.cost_status).toBe('unpriced');
          else expect(Number.isFinite(r.cost_usd) && r.cost_usd >= 0).toBe(true);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('keeps pricing right after more distinct model names than it remembers', () => {
    const pricer = new CallPricer();
    for (let i = 0; i <= MAX_CACHED_MODELS; i++) {
      pricer.price(input('openai', `junk-model-${i}`, { input_tokens: 1, output_tokens: 1 }));
    }
    const r = pricer.price(input('openai', 'gpt-4o', { input_tokens: 1_000, output_tokens: 100 }));
    expect(r.cost_usd).toBeCloseTo(at(1_000, 2.5) + at(100, 10), 12);
  });
});

describe('CallPricer: the remembered rates agree with the package', () => {
  it('prices valid usages as calcPrice does, for untiered, tiered and dated models', () => {
    const pricer = new CallPricer();
    const cases: [ours: string, table: string, model: string][] = [
      ['openai', 'openai', 'gpt-4o'],
      ['anthropic', 'anthropic', 'claude-sonnet-4-20250514'],
      ['anthropic', 'anthropic', 'claude-3-5-haiku-latest'],
      ['google', 'google', 'gemini-2.5-pro'],
      ['openai', 'openai', 'o3'],
      ['perplexity', 'perplexity', 'sonar-deep-research'],
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...cases),
        fc.nat({ max: 2_000_000 }),
        fc.nat({ max: 100_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        ([ours, table, model], inTok, outTok, readShare, writeShare, reasoningShare) => {
          const read = Math.floor(inTok * readShare);
          const write = Math.floor((inTok - read) * writeShare);
          const reasoning = Math.floor(outTok * reasoningShare);
          const u = { input_tokens: inTok, output_tokens: outTok, cache_read_tokens: read, cache_write_tokens: write, reasoning_tokens: reasoning };
          const want = calcPrice(
            { input_tokens: inTok, output_tokens: outTok, cache_read_tokens: read, cache_write_tokens: write, output_reasoning_tokens: reasoning },
            model,
            { providerId: table, timestamp: new Date(JULY_2025) },
          );
          const got = pricer.price(input(ours, model, u));
          expect(want).not.toBeNull();
          expect(got.cost_usd).not.toBeNull();
          expect(Math.abs((got.cost_usd ?? 0) - (want?.total_price ?? 0))).toBeLessThanOrEqual(1e-9 * Math.max(1, want?.total_price ?? 0));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('CallPricer: tiered and dated prices from remembered rates agree with the package', () => {
  // Tiered (claude-sonnet-4-5, gemini-2.5-pro, grok-4.20), dated (o3, mistral-ocr-latest with
  // three dates), both (claude-sonnet-4-6, gpt-5.6-luna) and time-of-day (deepseek-chat, left on
  // the package). Counts cluster at the tier starts and times at the period starts, where a
  // wrong band or period would show.
  const cases: [ours: string, table: string, model: string][] = [
    ['anthropic', 'anthropic', 'claude-sonnet-4-5-20250929'],
    ['anthropic', 'anthropic', 'claude-sonnet-4-6'],
    ['google', 'google', 'gemini-2.5-pro'],
    ['xai', 'x-ai', 'grok-4.20'],
    ['openai', 'openai', 'o3'],
    ['openai', 'openai', 'gpt-5.6-luna'],
    ['mistral', 'mistral', 'mistral-ocr-latest'],
    ['deepseek', 'deepseek', 'deepseek-chat'],
  ];
  const edges = [0, 128_000, 200_000, 272_000, 1_000_000];
  const dates = ['2025-06-10', '2025-12-18', '2026-03-13', '2026-06-23', '2026-07-30'].map((d) => Date.parse(d));
  const count = fc.oneof(fc.nat({ max: 2_000_000 }), fc.tuple(fc.constantFrom(...edges), fc.integer({ min: -2, max: 2 })).map(([e, d]) => Math.max(0, e + d)));
  const time = fc.oneof(
    fc.integer({ min: Date.parse('2025-01-01'), max: Date.parse('2027-06-01') }),
    fc.tuple(fc.constantFrom(...dates), fc.integer({ min: -2, max: 2 })).map(([t, d]) => t + d),
  );

  it('prices valid usages, 1-hour writes included, to the same twelve decimals as calcPrice', () => {
    const pricer = new CallPricer();
    fc.assert(
      fc.property(
        fc.constantFrom(...cases),
        count,
        fc.nat({ max: 100_000 }),
        fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })),
        time,
        ([ours, table, model], inTok, outTok, [readShare, writeShare, oneHourShare, reasoningShare], atMs) => {
          const read = Math.floor(inTok * readShare);
          const write = Math.floor((inTok - read) * writeShare);
          const write1h = Math.floor(write * oneHourShare);
          const reasoning = Math.floor(outTok * reasoningShare);
          const raw = { cache_creation: { ephemeral_1h_input_tokens: write1h } };
          const u = { input_tokens: inTok, output_tokens: outTok, cache_read_tokens: read, cache_write_tokens: write, reasoning_tokens: reasoning, raw };
          const tableUsage: Record<string, number> = { input_tokens: inTok, output_tokens: outTok };
          if (read > 0) tableUsage['cache_read_tokens'] = read;
          if (write > 0) tableUsage['cache_write_tokens'] = write;
          if (write > 0 && write1h > 0) tableUsage['cache_write_1h_tokens'] = write1h;
          if (reasoning > 0) tableUsage['output_reasoning_tokens'] = reasoning;
          const want = calcPrice(tableUsage, model, { providerId: table, timestamp: new Date(atMs) });
          const got = pricer.price(input(ours, model, u, atMs));
          expect(want).not.toBeNull();
          expect(got.cost_usd).not.toBeNull();
          expect(got.cost_usd).toBe(roundUsd(want?.total_price ?? NaN));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('a capture time that is no date fails dated prices, as the package does, and not undated tiered ones', () => {
    const u = { input_tokens: 1_000, output_tokens: 10 };
    expect(priceCall(input('openai', 'o3', u, NaN)).anomaly).toBe('cost_price_failed');
    expect(priceCall(input('anthropic', 'claude-sonnet-4-6', u, 1e20)).anomaly).toBe('cost_price_failed');
    expect(priceCall(input('anthropic', 'claude-sonnet-4-5-20250929', u, NaN)).cost_status).toBe('priced');
  });
});

describe('roundUsd', () => {
  it('drops binary-float tails and keeps twelve decimals', () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(roundUsd(0.1 + 0.2)).toBe(0.3);
    expect(roundUsd(0.0062675000000000005)).toBe(0.0062675);
    expect(roundUsd(1.23456789012345e-7)).toBe(1.23457e-7);
  });
});


// Anthropic's published prices (https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#pricing):
// 5-minute cache writes cost 1.25× the input price, 1-hour writes 2×, cache reads 0.1×.
describe('priceCall: Anthropic 1-hour cache writes', () => {
  const raw = (w5m: number, w1h: number): object => ({
    input_tokens: 1_000,
    cache_read_input_tokens: 10_000,
    cache_creation_input_tokens: w5m + w1h,
    cache_creation: { ephemeral_5m_input_tokens: w5m, ephemeral_1h_input_tokens: w1h },
    output_tokens: 500,
  });
  const anthropicUsage = (w5m: number, w1h: number): Partial<Usage> => ({
    input_tokens: 1_000 + 10_000 + w5m + w1h,
    cache_read_tokens: 10_000,
    cache_write_tokens: w5m + w1h,
    output_tokens: 500,
    raw: raw(w5m, w1h),
  });
  /** Hand computation at a model's input and output prices per million tokens. */
  const byHand = (inPrice: number, outPrice: number, w5m: number, w1h: number): number =>
    at(1_000, inPrice) + at(10_000, inPrice * 0.1) + at(w5m, inPrice * 1.25) + at(w1h, inPrice * 2) + at(500, outPrice);

  it('claude-opus-4-1 (one price, $15 in / $75 out): 1-hour writes at 2× input, 5-minute at 1.25×', () => {
    const r = priceCall(input('anthropic', 'claude-opus-4-1-20250805', anthropicUsage(2_000, 3_000)));
    expect(r.cost_status).toBe('priced');
    expect(r.cost_usd).toBeCloseTo(byHand(15, 75, 2_000, 3_000), 12);
  });

  it('claude-sonnet-4-5 (tiered prices, through the package; $3 in / $15 out below 200k)', () => {
    const r = priceCall(input('anthropic', 'claude-sonnet-4-5-20250929', anthropicUsage(1_000, 4_000)));
    expect(r.cost_usd).toBeCloseTo(byHand(3, 15, 1_000, 4_000), 12);
  });

  it('without the split, or with a split that does not fit the write count, writes stay at the 5-minute rate', () => {
    const plain = anthropicUsage(5_000, 0);
    const none = priceCall(input('anthropic', 'claude-opus-4-1-20250805', { ...plain, raw: null }));
    expect(none.cost_usd).toBeCloseTo(byHand(15, 75, 5_000, 0), 12);
    const tooMany = priceCall(input('anthropic', 'claude-opus-4-1-20250805', { ...plain, raw: { cache_creation: { ephemeral_1h_input_tokens: 9_999_999 } } }));
    expect(tooMany.cost_usd).toBe(none.cost_usd);
    const junk = priceCall(input('anthropic', 'claude-opus-4-1-20250805', { ...plain, raw: { cache_creation: { ephemeral_1h_input_tokens: '3000' } } }));
    expect(junk.cost_usd).toBe(none.cost_usd);
  });

  it('a model without a 1-hour rate prices those writes as plain cache writes', () => {
    // gpt-4o has no cache-write price at all: writes are input ($2.50 per M).
    const r = priceCall(input('openai', 'gpt-4o', { input_tokens: 10_000, cache_write_tokens: 4_000, output_tokens: 0, raw: raw(0, 4_000) }));
    expect(r.cost_usd).toBeCloseTo(at(10_000, 2.5), 12);
  });
});

describe('configured prices (pricing.models)', () => {
  const llama = { model: 'my-llama-*', provider: null, input_per_mtok: 0.2, output_per_mtok: 0.6, cache_read_per_mtok: 0.05, cache_write_per_mtok: null };

  it('prices a model the table does not know, for any provider, reasoning as output and writes at the input price by default', () => {
    const pricer = configurePricing({ models: [llama] });
    const r = priceCall(
      input('ollama', 'my-llama-3.1-70b', { input_tokens: 10_000, cache_read_tokens: 3_000, cache_write_tokens: 2_000, output_tokens: 1_000, reasoning_tokens: 400 }),
      pricer,
    );
    expect(r).toEqual({ cost_usd: expect.any(Number), cost_status: 'priced', anomaly: null });
    expect(r.cost_usd).toBeCloseTo(at(5_000, 0.2) + at(3_000, 0.05) + at(2_000, 0.2) + at(1_000, 0.6), 12);
    // The shared, table-only pricer still does not know it.
    expect(priceCall(input('ollama', 'my-llama-3.1-70b', { input_tokens: 10, output_tokens: 1 })).cost_status).toBe('unpriced');
  });

  it('wins over the table, also when the response names a dated snapshot of the configured model', () => {
    const discount = { model: 'gpt-4o', provider: 'openai', input_per_mtok: 2, output_per_mtok: 8, cache_read_per_mtok: null, cache_write_per_mtok: null };
    const pricer = configurePricing({ models: [discount] });
    const r = pricer.price({ provider: 'openai', response_model: 'gpt-4o-2024-08-06', request_model: 'gpt-4o', usage: usage({ input_tokens: 1_000_000, output_tokens: 100_000 }), atMs: JULY_2025 });
    expect(r.cost_usd).toBeCloseTo(2 + 0.8, 12);
    // Restricted to its provider: Azure's gpt-4o keeps the table price ($2.50 / $10).
    const azure = pricer.price(input('azure', 'gpt-4o', { input_tokens: 1_000_000, output_tokens: 100_000 }));
    expect(azure.cost_usd).toBeCloseTo(2.5 + 1, 12);
  });

  it('first matching entry wins; estimated usage says so; bad usage is refused as with the table', () => {
    const pricer = new CallPricer({ models: [{ ...llama, model: 'my-llama-3*', input_per_mtok: 1 }, llama] });
    const r = pricer.price(input('vllm', 'my-llama-3', { input_tokens: 1_000_000, output_tokens: 0, estimated: true }));
    expect(r).toEqual({ cost_usd: 1, cost_status: 'estimated', anomaly: null });
    expect(pricer.price(input('vllm', 'my-llama-2', { input_tokens: 1_000_000, output_tokens: 0 })).cost_usd).toBeCloseTo(0.2, 12);
    expect(pricer.price(input('vllm', 'my-llama-2', { input_tokens: 10, cache_read_tokens: 50, output_tokens: 0 })).anomaly).toBe('cost_usage_invalid');
    expect(pricer.price(input('vllm', 'my-llama-2', { input_tokens: null, output_tokens: 5 })).cost_status).toBe('unpriced');
  });

  it('without configured prices, configurePricing gives the table-only pricer', () => {
    const pricer = configurePricing({ models: [] });
    const r = priceCall(input('openai', 'gpt-4o', { input_tokens: 1_000, output_tokens: 100 }), pricer);
    expect(r.cost_usd).toBeCloseTo(at(1_000, 2.5) + at(100, 10), 12);
  });
});
