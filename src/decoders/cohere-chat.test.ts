import { describe, expect, it } from 'vitest';
import { decodeExchange } from './registry.js';
import { makeExchange, sse, T0 } from './test-helpers.test-support.js';
import type { DecodedCall } from './types.js';
import type { HttpExchange } from '../http/types.js';

function decoded(ex: HttpExchange): DecodedCall {
  const r = decodeExchange(ex);
  if (!('call' in r)) throw new Error(`not decoded: ${r.notLlm}`);
  return r.call;
}

const USAGE = { billed_units: { input_tokens: 62, output_tokens: 28 }, tokens: { input_tokens: 968, output_tokens: 83 } };
const V2_REQ = {
  model: 'command-r-plus-08-2024',
  messages: [{ role: 'user', content: 'Weather in Tokyo?' }],
  tools: [{ type: 'function', function: { name: 'get_weather', parameters: {} } }],
  stream: true,
};

describe('Cohere v2 chat', () => {
  it('reads a whole answer: text, thinking, tool calls, billed units as usage', () => {
    const call = decoded(
      makeExchange({
        target: '/v2/chat',
        reqBody: { ...V2_REQ, stream: false },
        resBody: {
          id: 'r1',
          message: {
            role: 'assistant',
            content: [{ type: 'thinking', thinking: 'Hmm.' }, { type: 'text', text: 'It is sunny.' }],
            tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Tokyo"}' } }],
          },
          finish_reason: 'TOOL_CALL',
          usage: { ...USAGE, cached_tokens: 900 },
        },
      }),
    );
    expect(call).toMatchObject({
      provider: 'cohere',
      api: 'cohere.chat',
      stream: false,
      request_model: 'command-r-plus-08-2024',
      response_id: 'r1',
      output_text: 'It is sunny.',
      reasoning_text: 'Hmm.',
      finish_reason: 'tool_call',
      finish_reason_raw: 'TOOL_CALL',
      tools_offered: ['get_weather'],
      tool_calls: [{ id: 'c1', name: 'get_weather', arguments: '{"city":"Tokyo"}' }],
    });
    expect(call.usage).toMatchObject({ input_tokens: 62, output_tokens: 28, cache_read_tokens: null, estimated: false });
    expect(call.usage.raw).toMatchObject({ tokens: { input_tokens: 968 }, cached_tokens: 900 });
  });

  const events = [
    { event: 'message-start', data: { id: 's1', type: 'message-start', delta: { message: { role: 'assistant' } } } },
    { event: 'tool-plan-delta', data: { type: 'tool-plan-delta', delta: { message: { tool_plan: 'I will look.' } } } },
    { event: 'tool-call-start', data: { type: 'tool-call-start', index: 0, delta: { message: { tool_calls: { id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '' } } } } } },
    { event: 'tool-call-delta', data: { type: 'tool-call-delta', index: 0, delta: { message: { tool_calls: { function: { arguments: '{"city":' } } } } } },
    { event: 'tool-call-delta', data: { type: 'tool-call-delta', index: 0, delta: { message: { tool_calls: { function: { arguments: '"Tokyo"}' } } } } } },
    { event: 'tool-call-end', data: { type: 'tool-call-end', index: 0 } },
    { event: 'message-end', data: { type: 'message-end', delta: { finish_reason: 'TOOL_CALL', usage: USAGE } } },
  ];

  it('reads an SSE stream: plan as reasoning, tool-call deltas, finish and usage from message-end', () => {
    const call = decoded(
      makeExchange({
        target: '/v2/chat',
        reqBody: V2_REQ,
        resBody: events.map((e, i) => ({ data: sse(e) + (i === events.length - 1 ? 'data: [DONE]\n\n' : ''), ts: T0 + 200_000 + i * 1000 })),
      }),
    );
    expect(call).toMatchObject({
      stream: true,
      response_id: 's1',
      reasoning_text: 'I will look.',
      tool_calls: [{ id: 'c1', name: 'get_weather', arguments: '{"city":"Tokyo"}' }],
      finish_reason: 'tool_call',
      first_token: T0 + 201_000,
      last_token: T0 + 204_000,
      anomalies: [],
    });
    expect(call.usage).toMatchObject({ input_tokens: 62, output_tokens: 28 });
  });

  it('names a stream cut before message-end', () => {
    const call = decoded(makeExchange({ target: '/v2/chat', reqBody: V2_REQ, resBody: sse(...events.slice(0, 4)), resBodyOptions: { incomplete: true } }));
    expect(call.finish_reason).toBeNull();
    expect(call.anomalies).toContain('cohere_stream_interrupted');
    expect(call.usage.estimated).toBe(true);
  });

  it('reads an error body', () => {
    const call = decoded(makeExchange({ target: '/v2/chat', reqBody: V2_REQ, status: 429, resBody: { message: 'You are using a Trial key' } }));
    expect(call.error).toEqual({ type: 'http_429', message: 'You are using a Trial key' });
    expect(call.finish_reason).toBe('error');
  });
});

describe('Cohere v1 chat', () => {
  it('reads an NDJSON stream: text pieces, tool calls, finish and billed units from stream-end', () => {
    const lines = [
      { is_finished: false, event_type: 'stream-start', generation_id: 'g1' },
      { is_finished: false, event_type: 'text-generation', text: 'Arr' },
      { is_finished: false, event_type: 'text-generation', text: 'r!' },
      { is_finished: false, event_type: 'tool-calls-generation', tool_calls: [{ name: 'dig', parameters: { depth: 3 } }] },
      { is_finished: true, event_type: 'stream-end', finish_reason: 'COMPLETE', response: { text: 'Arrr!', meta: { billed_units: { input_tokens: 7, output_tokens: 115 }, tokens: { input_tokens: 69, output_tokens: 116 } } } },
    ];
    const call = decoded(
      makeExchange({
        target: '/v1/chat',
        reqBody: { message: 'Tell me a joke, pirate style', stream: true, model: 'command' },
        resHeaders: { 'content-type': 'application/stream+json' },
        resBody: lines.map((l, i) => ({ data: `${JSON.stringify(l)}\n`, ts: T0 + 200_000 + i * 1000 })),
      }),
    );
    expect(call).toMatchObject({
      stream: true,
      request_model: 'command',
      response_id: 'g1',
      output_text: 'Arrr!',
      tool_calls: [{ id: null, name: 'dig', arguments: '{"depth":3}' }],
      // A tool call with COMPLETE: the client has a tool to run.
      finish_reason: 'tool_call',
      first_token: T0 + 201_000,
      last_token: T0 + 203_000,
      anomalies: [],
    });
    expect(call.usage).toMatchObject({ input_tokens: 7, output_tokens: 115 });
  });

  it('reads a whole answer', () => {
    const call = decoded(
      makeExchange({
        target: '/v1/chat',
        reqBody: { message: 'hi', model: 'command-r' },
        resBody: { response_id: 'r', generation_id: 'g2', text: 'Hello', finish_reason: 'MAX_TOKENS', meta: { billed_units: { input_tokens: 1, output_tokens: 2 } } },
      }),
    );
    expect(call).toMatchObject({ stream: false, response_id: 'g2', output_text: 'Hello', finish_reason: 'length' });
    expect(call.usage).toMatchObject({ input_tokens: 1, output_tokens: 2 });
  });

  it('does not take OpenAI Chat’s /v1/chat/completions', () => {
    const r = decodeExchange(makeExchange({ target: '/v1/chat/completions', reqBody: { model: 'gpt-4o', messages: [] }, resBody: { choices: [] } }));
    expect('call' in r && r.call.api).toBe('openai.chat_completions');
  });
});
