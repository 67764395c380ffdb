import { describe, expect, it } from 'vitest';
import { decodeExchange } from './registry.js';
import { makeExchange, T0 } from './test-helpers.test-support.js';
import { EVENTSTREAM, chunk, frames } from './bedrock-test-helpers.test-support.js';
import type { DecodedCall } from './types.js';
import type { HttpExchange } from '../http/types.js';

function decoded(ex: HttpExchange): DecodedCall {
  const r = decodeExchange(ex);
  if (!('call' in r)) throw new Error(`not decoded: ${r.notLlm}`);
  return r.call;
}

const ANTHROPIC_REQ = {
  anthropic_version: 'bedrock-2023-05-31',
  max_tokens: 100,
  messages: [{ role: 'user', content: 'Tell me a joke' }],
  tools: [{ name: 'lookup', input_schema: { type: 'object' } }],
};
const METRICS = { inputTokenCount: 16, outputTokenCount: 21, invocationLatency: 738, firstByteLatency: 378 };

describe('Bedrock InvokeModel', () => {
  it('reads an Anthropic body with the Anthropic decoder’s rules (cache counts in the input)', () => {
    const call = decoded(
      makeExchange({
        target: '/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/invoke',
        reqBody: ANTHROPIC_REQ,
        resBody: {
          id: 'msg_bdrk_1',
          type: 'message',
          role: 'assistant',
          model: 'claude-3-5-haiku-20241022',
          content: [{ type: 'text', text: 'A joke.' }],
          stop_reason: 'max_tokens',
          usage: { input_tokens: 4, cache_creation_input_tokens: 100, cache_read_input_tokens: 0, output_tokens: 50 },
        },
      }),
    );
    expect(call).toMatchObject({
      provider: 'aws',
      api: 'bedrock.invoke_model',
      request_model: 'anthropic.claude-3-5-haiku-20241022-v1:0',
      response_model: 'claude-3-5-haiku-20241022',
      response_id: 'msg_bdrk_1',
      output_text: 'A joke.',
      finish_reason: 'length',
      tools_offered: ['lookup'],
    });
    expect(call.usage).toMatchObject({ input_tokens: 104, output_tokens: 50, cache_write_tokens: 100 });
  });

  it('reads a Llama body, its counts and stop reason', () => {
    const call = decoded(
      makeExchange({
        target: '/model/meta.llama3-70b-instruct-v1%3A0/invoke',
        reqBody: { prompt: 'Tell me a joke', max_gen_len: 128 },
        resBody: { generation: 'Why…', prompt_token_count: 8, generation_token_count: 35, stop_reason: 'stop' },
      }),
    );
    expect(call).toMatchObject({ output_text: 'Why…', finish_reason: 'stop', finish_reason_raw: 'stop' });
    expect(call.usage).toMatchObject({ input_tokens: 8, output_tokens: 35, estimated: false });
  });

  it('takes Bedrock’s token-count headers when the family’s body has no counts (Mistral)', () => {
    const call = decoded(
      makeExchange({
        target: '/model/mistral.mistral-7b-instruct-v0%3A2/invoke',
        reqBody: { prompt: '<s>[INST] hi [/INST]' },
        resHeaders: { 'content-type': 'application/json', 'x-amzn-bedrock-input-token-count': '12', 'x-amzn-bedrock-output-token-count': '3' },
        resBody: { outputs: [{ text: 'Hello!', stop_reason: 'length' }] },
      }),
    );
    expect(call).toMatchObject({ output_text: 'Hello!', finish_reason: 'length' });
    expect(call.usage).toMatchObject({ input_tokens: 12, output_tokens: 3, estimated: false });
  });

  it('streams Anthropic events out of base64 chunks, with the invocation metrics', () => {
    const call = decoded(
      makeExchange({
        target: '/model/anthropic.claude-3-sonnet-20240229-v1%3A0/invoke-with-response-stream',
        reqBody: { ...ANTHROPIC_REQ, stream: undefined },
        resHeaders: EVENTSTREAM,
        resBody: frames(
          T0 + 200_000,
          10_000,
          chunk({ type: 'message_start', message: { id: 'msg_bdrk_2', model: 'claude-3-sonnet-20240229', usage: { input_tokens: 16, output_tokens: 1 } } }),
          chunk({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
          chunk({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Why' } }),
          chunk({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' not?' } }),
          chunk({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 21 } }),
          chunk({ type: 'message_stop', 'amazon-bedrock-invocationMetrics': METRICS }),
        ),
      }),
    );
    expect(call).toMatchObject({
      stream: true,
      output_text: 'Why not?',
      response_id: 'msg_bdrk_2',
      finish_reason: 'stop',
      first_token: T0 + 220_000,
      last_token: T0 + 230_000,
      anomalies: [],
    });
    expect(call.usage).toMatchObject({ input_tokens: 16, output_tokens: 21, estimated: false });
  });

  it('streams Titan chunks: text pieces, FINISH, counts from the invocation metrics', () => {
    const call = decoded(
      makeExchange({
        target: '/model/amazon.titan-text-express-v1/invoke-with-response-stream',
        reqBody: { inputText: 'Tell me a story' },
        resHeaders: EVENTSTREAM,
        resBody: frames(
          T0,
          5,
          chunk({ outputText: 'Once', index: 0, inputTextTokenCount: 28 }),
          chunk({ outputText: ' upon.', index: 0, totalOutputTextTokenCount: 4, completionReason: 'FINISH', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 28, outputTokenCount: 4 } }),
        ),
      }),
    );
    expect(call).toMatchObject({ output_text: 'Once upon.', finish_reason: 'stop', finish_reason_raw: 'FINISH', anomalies: [] });
    expect(call.usage).toMatchObject({ input_tokens: 28, output_tokens: 4 });
  });

  it('streams Nova’s wrapped Converse events', () => {
    const call = decoded(
      makeExchange({
        target: '/model/amazon.nova-lite-v1%3A0/invoke-with-response-stream',
        reqBody: { messages: [{ role: 'user', content: [{ text: 'hi' }] }] },
        resHeaders: EVENTSTREAM,
        resBody: frames(
          T0,
          5,
          chunk({ messageStart: { role: 'assistant' } }),
          chunk({ contentBlockDelta: { delta: { text: 'Hello' }, contentBlockIndex: 0 } }),
          chunk({ contentBlockStop: { contentBlockIndex: 0 } }),
          chunk({ messageStop: { stopReason: 'end_turn' } }),
          chunk({
            metadata: { usage: { inputTokens: 30, outputTokens: 55, cacheReadInputTokenCount: 0, cacheWriteInputTokenCount: 0 } },
            'amazon-bedrock-invocationMetrics': { inputTokenCount: 30, outputTokenCount: 55 },
          }),
        ),
      }),
    );
    expect(call).toMatchObject({ output_text: 'Hello', finish_reason: 'stop', anomalies: [] });
    expect(call.usage).toMatchObject({ input_tokens: 30, output_tokens: 55 });
  });

  it('names a Llama stream cut before its stop reason and estimates output', () => {
    const call = decoded(
      makeExchange({
        target: '/model/meta.llama3-8b-instruct-v1%3A0/invoke-with-response-stream',
        reqBody: { prompt: 'Count to ten' },
        resHeaders: EVENTSTREAM,
        resBody: frames(T0, 5, chunk({ generation: 'one two', prompt_token_count: 5, generation_token_count: 2, stop_reason: null })),
        resBodyOptions: { incomplete: true },
      }),
    );
    expect(call.output_text).toBe('one two');
    expect(call.finish_reason).toBeNull();
    expect(call.anomalies).toContain('bedrock_stream_interrupted');
  });

  it('leaves embedding models to the embeddings decoder', () => {
    const r = decodeExchange(makeExchange({ target: '/model/amazon.titan-embed-text-v2%3A0/invoke', reqBody: { inputText: 'x' }, resBody: { embedding: [0.1], inputTextTokenCount: 1 } }));
    expect('call' in r && [r.call.api, r.call.provider, r.call.request_model, r.call.usage.input_tokens]).toEqual(['embeddings', 'aws', 'amazon.titan-embed-text-v2:0', 1]);
  });
});
