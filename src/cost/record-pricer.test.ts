import { describe, expect, it } from 'vitest';
import type { Usage } from '../core/call-parts.js';
import { configurePricing } from './call-pricer.js';
import { priceRecord, type PricedFields } from './record-pricer.js';

function stored(p: Partial<Omit<PricedFields, 'usage'>> & { usage: Partial<Usage> }): PricedFields {
  return {
    provider: 'openai',
    response_model: 'gpt-4o',
    request_model: 'gpt-4o',
    timing: { request_start: '2025-07-01T12:00:00.000001Z', request_end: null, response_start: null, first_token: null, last_token: null, response_end: null },
    anomalies: [],
    ...p,
    usage: { input_tokens: null, output_tokens: null, cache_read_tokens: null, cache_write_tokens: null, reasoning_tokens: null, estimated: false, raw: null, ...p.usage },
  };
}

describe('priceRecord (reprice a stored call)', () => {
  it('prices from the record’s own fields ($2.50 in / $10 out per M for gpt-4o)', () => {
    const r = priceRecord(stored({ usage: { input_tokens: 1_000_000, output_tokens: 100_000 } }));
    expect(r.cost_status).toBe('priced');
    expect(r.cost_usd).toBeCloseTo(2.5 + 1, 12);
  });

  it('uses the request’s capture time for dated prices (o3: $10/$40 before 2025-06-10, $2/$8 after)', () => {
    const u = { input_tokens: 1_000_000, output_tokens: 0 };
    const before = priceRecord(stored({ response_model: 'o3', request_model: 'o3', usage: u, timing: { ...stored({ usage: u }).timing, request_start: '2025-05-01T00:00:00.000000Z' } }));
    const after = priceRecord(stored({ response_model: 'o3', request_model: 'o3', usage: u }));
    expect(before.cost_usd).toBeCloseTo(10, 9);
    expect(after.cost_usd).toBeCloseTo(2, 9);
  });

  it('a newly configured price prices a call that was unpriced, and drops the old cost anomaly', () => {
    const call = stored({ provider: 'vllm', response_model: 'my-llama-3', request_model: null, usage: { input_tokens: 1_000_000, output_tokens: 1_000_000 }, anomalies: ['tcp_gap', 'cost_price_failed'] });
    expect(priceRecord(call).cost_status).toBe('unpriced');
    const pricer = configurePricing({ models: [{ model: 'my-llama-*', provider: null, input_per_mtok: 0.1, output_per_mtok: 0.3, cache_read_per_mtok: null, cache_write_per_mtok: null }] });
    expect(priceRecord(call, pricer)).toEqual({ cost_usd: 0.4, cost_status: 'priced', anomalies: ['tcp_gap'] });
  });

  it('a stored call with bad counts or a broken time gets its anomaly, once', () => {
    const bad = priceRecord(stored({ usage: { input_tokens: 5, cache_read_tokens: 50, output_tokens: 1 }, anomalies: ['cost_usage_invalid'] }));
    expect(bad).toEqual({ cost_usd: null, cost_status: 'unpriced', anomalies: ['cost_usage_invalid'] });
    const noTime = priceRecord(stored({ response_model: 'o3', request_model: 'o3', usage: { input_tokens: 1, output_tokens: 1 }, timing: { ...stored({ usage: {} }).timing, request_start: 'garbage' } }));
    expect(noTime.anomalies).toEqual(['cost_price_failed']);
  });
});
