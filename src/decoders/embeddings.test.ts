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

describe('embeddings on Bedrock (InvokeModel on an embedding model)', () => {
  const BEDROCK_HOST = { host: 'bedrock-runtime.us-east-1.amazonaws.com', 'content-type': 'application/json' };

  it('Titan: inputTextTokenCount, one vector, the path model', () => {
    const call = decode({
      target: '/model/amazon.titan-embed-text-v2%3A0/invoke',
      reqHeaders: BEDROCK_HOST,
      reqBody: { inputText: 'Test embedding dimensions', dimensions: 256, normalize: true },
      resHeaders: { 'content-type': 'application/json', 'x-amzn-bedrock-input-token-count': '4' },
      resBody: { embedding: vec(256), embeddingsByType: { float: vec(256) }, inputTextTokenCount: 4 },
    });
    expect(call).toMatchObject({ provider: 'aws', api: 'embeddings', operation: 'embeddings', request_model: 'amazon.titan-embed-text-v2:0', error: null });
    expect(call.usage).toMatchObject({ input_tokens: 4, output_tokens: 0, estimated: false });
    expect(call.usage.raw).toMatchObject({ inputTextTokenCount: 4, embedding_count: 1, embedding_dimensions: 256 });
  });

  it('Cohere on Bedrock: no count in the body; Bedrock’s header count, else an estimate', () => {
    const spec = {
      target: '/model/cohere.embed-english-v3/invoke',
      reqHeaders: BEDROCK_HOST,
      reqBody: { texts: ['first text to embed', 'second text'], input_type: 'search_document' },
      resBody: { id: 'emb-1', embeddings: [vec(1024), vec(1024)], response_type: 'embeddings_floats', texts: ['first text to embed', 'second text'] },
    };
    const withHeader = decode({ ...spec, resHeaders: { 'content-type': 'application/json', 'x-amzn-bedrock-input-token-count': '7' } });
    expect(withHeader).toMatchObject({ provider: 'aws', request_model: 'cohere.embed-english-v3', response_id: 'emb-1' });
    expect(withHeader.usage).toMatchObject({ input_tokens: 7, output_tokens: 0, estimated: false });
    expect(withHeader.usage.raw).toMatchObject({ embedding_count: 2, embedding_dimensions: 1024 });
    const bare = decode(spec);
    expect(bare.usage.estimated).toBe(true);
    expect(bare.usage.input_tokens).toBeGreaterThan(0);
    // Cohere v4 by type.
    const byType = decode({ ...spec, target: '/model/cohere.embed-v4%3A0/invoke', resBody: { id: 'e2', embeddings: { float: [vec(1536)] }, response_type: 'embeddings_by_type' } });
    expect(byType.usage.raw).toMatchObject({ embedding_count: 1, embedding_dimensions: 1536 });
  });

  it('Nova multimodal embeddings: embeddings[].embedding', () => {
    const call = decode({
      target: '/model/amazon.nova-2-multimodal-embeddings-v1%3A0/invoke',
      reqHeaders: BEDROCK_HOST,
      reqBody: { taskType: 'SINGLE_EMBEDDING', singleEmbeddingParams: { embeddingPurpose: 'GENERIC_RETRIEVAL', text: { value: 'Test Nova dimensions', truncationMode: 'NONE' }, embeddingDimension: 256 } },
      resBody: { embeddings: [{ embeddingType: 'TEXT', embedding: vec(256) }] },
    });
    expect(call.usage.raw).toMatchObject({ embedding_count: 1, embedding_dimensions: 256 });
    expect(call.usage.estimated).toBe(true);
  });

  it('a Bedrock error: the x-amzn-ErrorType and message', () => {
    const call = decode({
      target: '/model/amazon.titan-embed-text-v2%3A0/invoke',
      reqHeaders: BEDROCK_HOST,
      reqBody: { inputText: 'x' },
      status: 400,
      resHeaders: { 'content-type': 'application/json', 'x-amzn-errortype': 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/' },
      resBody: { message: 'Malformed input request' },
    });
    expect(call.error).toEqual({ type: 'ValidationException', message: 'Malformed input request' });
    expect(call.finish_reason).toBe('error');
  });

  it('each Bedrock model id is claimed by exactly one decoder: chat models by bedrock.invoke_model, embedding models here', () => {
    const ids = {
      embeddings: ['amazon.titan-embed-text-v2:0', 'amazon.titan-embed-image-v1', 'cohere.embed-english-v3', 'cohere.embed-multilingual-v3', 'cohere.embed-v4:0', 'amazon.nova-2-multimodal-embeddings-v1:0', 'us.cohere.embed-v4:0'],
      'bedrock.invoke_model': ['anthropic.claude-3-haiku-20240307-v1:0', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'amazon.titan-text-express-v1', 'cohere.command-r-v1:0', 'meta.llama3-8b-instruct-v1:0', 'amazon.nova-lite-v1:0'],
    };
    for (const [api, list] of Object.entries(ids)) {
      for (const id of list) {
        const r = decodeExchange(makeExchange({ target: `/model/${encodeURIComponent(id)}/invoke`, reqHeaders: BEDROCK_HOST, reqBody: { inputText: 'x' }, resBody: { embedding: [0.1] } }));
        expect('call' in r ? r.call.api : r.notLlm, id).toBe(api);
      }
    }
    // Embeddings are not streamed: an embedding model on the streaming route is nobody's call.
    const streamed = decodeExchange(makeExchange({ target: '/model/amazon.titan-embed-text-v2%3A0/invoke-with-response-stream', reqHeaders: BEDROCK_HOST, reqBody: { inputText: 'x' }, resBody: '' }));
    expect('call' in streamed).toBe(false);
  });
});
