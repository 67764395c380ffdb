import { describe, expect, it } from 'vitest';
import { decodeExchange } from './registry.js';
import { makeExchange, type ExchangeSpec } from './test-helpers.test-support.js';
import type { DecodedCall } from './types.js';

function decode(spec: ExchangeSpec): DecodedCall {
  const r = decodeExchange(makeExchange(spec));
  if (!('call' in r)) throw new Error(`not decoded: ${r.notLlm}`);
  return r.call;
}

const vec = (n: number): number[] => Array.from({ length: n }, (_, i) => i / n);

describe('embeddings', () => {
  it('OpenAI /v1/embeddings: prompt tokens, vectors and dimension, output 0', () => {
    const call = decode({
      target: '/v1/embeddings',
      reqHeaders: { host: 'api.openai.com', 'content-type': 'application/json' },
      reqBody: { model: 'text-embedding-3-small', input: ['a', 'b'] },
      resBody: { object: 'list', data: [{ object: 'embedding', index: 0, embedding: vec(8) }, { object: 'embedding', index: 1, embedding: vec(8) }], model: 'text-embedding-3-small', usage: { prompt_tokens: 4, total_tokens: 4 } },
    });
    expect(call).toMatchObject({ provider: 'openai', api: 'embeddings', operation: 'embeddings', stream: false, request_model: 'text-embedding-3-small', response_model: 'text-embedding-3-small', error: null });
    expect(call.usage).toMatchObject({ input_tokens: 4, output_tokens: 0, estimated: false });
    expect(call.usage.raw).toEqual({ prompt_tokens: 4, total_tokens: 4, embedding_count: 2, embedding_dimensions: 8 });
  });

  it('base64 vectors: dimension from the float32 byte count', () => {
    const b64 = Buffer.from(new Float32Array(vec(256)).buffer).toString('base64');
    const call = decode({
      target: '/v1/embeddings',
      reqHeaders: { host: 'api.openai.com' },
      reqBody: { model: 'text-embedding-3-large', input: 'x', encoding_format: 'base64' },
      resBody: { data: [{ embedding: b64 }], usage: { prompt_tokens: 1, total_tokens: 1 } },
    });
    expect(call.usage.raw).toMatchObject({ embedding_count: 1, embedding_dimensions: 256 });
  });

  it('Azure deployment path: the deployment stands in for the model', () => {
    const call = decode({
      target: '/openai/deployments/emb-small/embeddings?api-version=2024-10-21',
      reqHeaders: { host: 'x.openai.azure.com' },
      reqBody: { input: 'x' },
      resBody: { data: [{ embedding: vec(3) }], usage: { prompt_tokens: 1, total_tokens: 1 } },
    });
    expect(call).toMatchObject({ provider: 'azure', request_model: 'emb-small' });
  });

  it('Gemini :embedContent and :batchEmbedContents (no count on the wire: estimated)', () => {
    const one = decode({
      target: '/v1beta/models/gemini-embedding-001:embedContent',
      reqBody: { content: { parts: [{ text: 'What is the meaning of life?' }] } },
      resBody: { embedding: { values: vec(768) } },
    });
    expect(one).toMatchObject({ provider: 'google', api: 'embeddings', request_model: 'gemini-embedding-001' });
    expect(one.usage.output_tokens).toBe(0);
    expect(one.usage.estimated).toBe(true);
    expect(one.usage.input_tokens).toBeGreaterThan(0);
    expect(one.usage.raw).toMatchObject({ embedding_count: 1, embedding_dimensions: 768 });

    const batch = decode({
      target: '/v1beta/models/gemini-embedding-001:batchEmbedContents',
      reqBody: { requests: [{ model: 'models/gemini-embedding-001', content: { parts: [{ text: 'a' }] } }, { content: { parts: [{ text: 'b' }] } }] },
      resBody: { embeddings: [{ values: vec(3) }, { values: vec(3) }] },
    });
    expect(batch.usage.raw).toMatchObject({ embedding_count: 2, embedding_dimensions: 3 });
  });

  it('Cohere v1 and v2 /embed: billed input tokens, vectors by type', () => {
    const v2 = decode({
      target: '/v2/embed',
      reqHeaders: { host: 'api.cohere.com' },
      reqBody: { model: 'embed-v4.0', texts: ['sunny', 'rainy'], input_type: 'search_document', embedding_types: ['float'] },
      resBody: { id: 'e1', embeddings: { float: [vec(5), vec(5)] }, meta: { billed_units: { input_tokens: 10 } }, response_type: 'embeddings_by_type' },
    });
    expect(v2).toMatchObject({ provider: 'cohere', request_model: 'embed-v4.0', response_id: 'e1' });
    expect(v2.usage).toMatchObject({ input_tokens: 10, output_tokens: 0 });
    expect(v2.usage.raw).toEqual({ billed_units: { input_tokens: 10 }, embedding_count: 2, embedding_dimensions: 5 });

    const v1 = decode({
      target: '/v1/embed',
      reqBody: { model: 'embed-english-v3.0', texts: ['a'] },
      resBody: { id: 'e2', embeddings: [vec(4)], meta: { billed_units: { input_tokens: 1 } }, response_type: 'embeddings_floats' },
    });
    expect(v1.usage.raw).toMatchObject({ embedding_count: 1, embedding_dimensions: 4 });
  });

  it('Ollama /api/embed (prompt_eval_count) and the older /api/embeddings', () => {
    const embed = decode({
      target: '/api/embed',
      reqHeaders: { host: 'localhost:11434' },
      reqBody: { model: 'all-minilm', input: ['why is the sky blue?'] },
      resBody: { model: 'all-minilm', embeddings: [vec(384)], total_duration: 14_143_917, load_duration: 1_019_500, prompt_eval_count: 8 },
    });
    expect(embed).toMatchObject({ provider: 'ollama', response_model: 'all-minilm' });
    expect(embed.usage).toMatchObject({ input_tokens: 8, output_tokens: 0, estimated: false });
    expect(embed.usage.raw).toMatchObject({ prompt_eval_count: 8, total_duration: 14_143_917, embedding_count: 1, embedding_dimensions: 384 });

    const legacy = decode({ target: '/api/embeddings', reqBody: { model: 'all-minilm', prompt: 'hello' }, resBody: { embedding: vec(384) } });
    expect(legacy).toMatchObject({ provider: 'ollama', request_model: 'all-minilm' });
    expect(legacy.usage.estimated).toBe(true);
  });

  it('errors: the provider error object, no estimate', () => {
    const call = decode({
      target: '/v1/embeddings',
      reqHeaders: { host: 'api.openai.com' },
      reqBody: { model: 'nope', input: 'x' },
      status: 404,
      resBody: { error: { message: 'The model `nope` does not exist', type: 'invalid_request_error', code: 'model_not_found' } },
    });
    expect(call.error).toEqual({ type: 'invalid_request_error', message: 'The model `nope` does not exist' });
    expect(call.finish_reason).toBe('error');
    expect(call.usage).toMatchObject({ input_tokens: null, output_tokens: null, estimated: false });
  });

  it('never throws on junk', () => {
    const call = decode({ target: '/v1/embeddings', reqBody: '{"model":"m","inp', resBody: '<html>oops' });
    expect(call.request_model).toBe('m');
    expect(call.anomalies).toEqual(expect.arrayContaining(['embeddings_request_invalid_json', 'embeddings_response_invalid_json']));
  });
});
