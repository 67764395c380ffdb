import { describe, expect, it } from 'vitest';
import { CallPricer } from './call-pricer.js';
import { priceTableProvider } from './provider-ids.js';

const usage = (input: number, output: number) => ({
  input_tokens: input,
  output_tokens: output,
  cache_read_tokens: null,
  cache_write_tokens: null,
  reasoning_tokens: null,
  estimated: false,
  raw: null,
});

describe('cloud providers in the price table', () => {
  it('maps Bedrock (aws) and Cohere to the table’s ids', () => {
    expect(priceTableProvider('aws')).toBe('aws-bedrock');
    expect(priceTableProvider('cohere')).toBe('cohere');
  });

  it('prices a Bedrock cross-region model id and a Cohere model', () => {
    const pricer = new CallPricer();
    const atMs = Date.UTC(2025, 5, 1);
    const bedrock = pricer.price({ provider: 'aws', request_model: 'us.anthropic.claude-3-5-haiku-20241022-v1:0', response_model: null, usage: usage(1_000_000, 0), atMs });
    expect(bedrock.cost_status).toBe('priced');
    expect(bedrock.cost_usd).toBeGreaterThan(0);
    const cohere = pricer.price({ provider: 'cohere', request_model: 'command-r-plus-08-2024', response_model: null, usage: usage(1000, 1000), atMs });
    expect(cohere.cost_status).toBe('priced');
  });
});
