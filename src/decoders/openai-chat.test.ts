import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openaiChatDecoder } from './openai-chat.js';
import { makeExchange, sse, sseChunks, T0, type ChunkSpec } from './test-helpers.test-support.js';
import type { DecodedCall } from './types.js';

const decode = (ex: Parameters<typeof openaiChatDecoder.decode>[0]): DecodedCall => {
  const call = openaiChatDecoder.decode(ex);
  if (call === null) throw new Error('decoder declined');
  return call;
};

const chatReq = (extra: object = {}): object => ({
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'What is the weather in Paris?' },
  ],
  ...extra,
});

const chunk = (delta: object, finish: string | null = null, extra: object = {}): object => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  model: 'gpt-4o-mini-2024-07-18',
  choices: [{ index: 0, delta, finish_reason: finish }],
  ...extra,
});

describe('openaiChatDecoder: non-streaming', () => {
  it('reads model, id, text, finish reason and usage with cache and reasoning details', () => {
    const call = decode(
      makeExchange({
        target: '/v1/chat/completions',
        reqHeaders: { host: 'api.openai.com', 'content-type': 'application/json' },
        reqBody: chatReq({ tools: [{ type: 'function', function: { name: 'get_weather' } }] }),
        resBody: {
          id: 'chatcmpl-abc',
          object: 'chat.completion',
          model: 'gpt-4o-mini-2024-07-18',
          choices: [{ index: 0, message: { role: 'assistant', content: 'Sunny.' }, finish_reason: 'stop' }],
          usage: {
            prompt_tokens: 1200,
            completion_tokens: 40,
            total_tokens: 1240,
            prompt_tokens_details: { cached_tokens: 1024 },
            completion_tokens_details: { reasoning_tokens: 16 },
          },
        },
      }),
    );
    expect(call).toMatchObject({
      provider: 'openai',
      api: 'openai.chat_completions',
      operation: 'chat',
      stream: false,
      request_model: 'gpt-4o-mini',
      response_model: 'gpt-4o-mini-2024-07-18',
      response_id: 'chatcmpl-abc',
      error: null,
      finish_reason: 'stop',
      finish_reason_raw: 'stop',
      output_text: 'Sunny.',
      tools_offered: ['get_weather'],
      first_token: null,
      last_token: null,
    });
    expect(call.usage).toMatchObject({
      input_tokens: 1200,
      output_tokens: 40,
      cache_read_tokens: 1024,
      cache_write_tokens: null,
      reasoning_tokens: 16,
      estimated: false,
    });
    expect(call.anomalies).toEqual([]);
  });

  it('reports tool calls with ids, names and arguments, and reasoning_content', () => {
    const call = decode(
      makeExchange({
        target: '/v1/chat/completions',
        reqBody: chatReq({ functions: [{ name: 'legacy_fn' }], tools: [{ type: 'function', function: { name: 'a' } }] }),
        resBody: {
          id: 'x',
          model: 'deepseek-reasoner',
          choices: [
            {
              message: {
                content: null,
                reasoning_content: 'Need the weather tool.',
                tool_calls: [
                  { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
                  { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } },
                ],
              },
              finish_reason: 'tool_calls',
            },
          ],
          usage: { prompt_tokens: 10, completion_tokens: 20 },
        },
      }),
    );
    expect(call.tools_offered).toEqual(['a', 'legacy_fn']);
    expect(call.finish_reason).toBe('tool_call');
    expect(call.reasoning_text).toBe('Need the weather tool.');
    expect(call.tool_calls).toEqual([
      { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'call_2', name: 'get_time', arguments: '{}' },
    ]);
  });

  it('adds cache reads and writes to input when a proxy answers with Anthropic usage names', () => {
    const call = decode(
      makeExchange({
        target: '/v1/chat/completions',
        reqBody: chatReq(),
        resBody: {
          id: 'x',
          model: 'claude-sonnet-4',
          choices: [{ message: { content: 'ok' }, finish_reason: 'stop' }],
          usage: { input_tokens: 53, output_tokens: 37, cache_read_input_tokens: 256, cache_creation_input_tokens: 10 },
        },
      }),
    );
    expect(call.usage).toMatchObject({ input_tokens: 319, output_tokens: 37, cache_read_tokens: 256, cache_write_tokens: 10 });
  });

  it('keeps reasoning in output_tokens when xAI counts it outside completion_tokens', () => {
    const call = decode(
      makeExchange({
        target: '/v1/chat/completions',
        reqBody: chatReq(),
        resBody: {
          id: 'x',
          choices: [{ message: { content: 'Hi' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 12, completion_tokens: 2, total_tokens: 354, completion_tokens_details: { reasoning_tokens: 340 } },
        },
      }),
    );
    expect(call.usage.output_tokens).toBe(342);
    expect(call.usage.reasoning_tokens).toBe(340);
  });

  it('takes the model from the Azure deployment when the body has none', () => {
    const call = decode(
      makeExchange({
        target: '/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21',
        reqHeaders: { host: 'contoso.openai.azure.com', 'content-type': 'application/json' },
        reqBody: { messages: [{ role: 'user', content: 'hi' }] },
        resBody: { id: 'x', model: 'gpt-4o-2024-08-06', choices: [{ message: { content: 'hello' }, finish_reason: 'stop' }], usage: { prompt_tokens: 8, completion_tokens: 2 } },
      }),
    );
    expect(call.request_model).toBe('my-gpt4o');
    expect(call.provider).toBe('azure');
    expect(call.response_model).toBe('gpt-4o-2024-08-06');
  });

  it('reports an HTTP error body as the error, without inventing usage', () => {
    const call = decode(
      makeExchange({
        target: '/v1/chat/completions',
        reqBody: chatReq(),
        status: 429,
        resBody: { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } },
      }),
    );
    expect(call.error).toEqual({ type: 'requests', message: 'Rate limit reached' });
    expect(call.finish_reason).toBe('error');
    expect(call.usage.input_tokens).toBeNull();
    expect(call.usage.estimated).toBe(false);
  });

  it('reports a non-JSON error page with its status', () => {
    const call = decode(makeExchange({ target: '/v1/chat/completions', reqBody: chatReq(), status: 502, resBody: '<html>Bad gateway</html>', resHeaders: { 'content-type': 'text/html' } }));
    expect(call.error).toEqual({ type: 'http_502', message: '<html>Bad gateway</html>' });
  });

  it('estimates usage when the response carries none', () => {
    const call = decode(
      makeExchange({
        target: '/v1/chat/completions',
        reqBody: chatReq(),
        resBody: { id: 'x', choices: [{ message: { content: 'It is sunny in Paris today.' }, finish_reason: 'stop' }] },
      }),
    );
    expect(call.usage.estimated).toBe(true);
    expect(call.usage.output_tokens).toBeGreaterThanOrEqual(5);
    expect(call.usage.output_tokens).toBeLessThanOrEqual(10);
    expect(call.usage.input_tokens).toBeGreaterThan(5);
  });

  it('salvages the request model from a truncated request body', () => {
    const ex = makeExchange({
      target: '/v1/chat/completions',
      reqBody: '{"model":"gpt-4.1","messages":[{"role":"user","content":"cut here',
      resBody: { id: 'x', choices: [{ message: { content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1 } },
    });
    ex.request.body.truncated = true;
    const call = decode(ex);
    expect(call.request_model).toBe('gpt-4.1');
    expect(call.anomalies).toContain('openai_request_truncated');
  });
});

describe('openaiChatDecoder: streaming', () => {
  const step = 10_000;
  const start = T0 + 200_000;

  it('joins text deltas, takes usage from the final choices:[] chunk, and times the content events', () => {
    const body = sseChunks(
      start,
      step,
      { id: 'chatcmpl-1', model: '', choices: [], prompt_filter_results: [] }, // Azure's first chunk
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Hel' }),
      chunk({ content: 'lo' }),
      chunk({}, 'stop'),
      { id: 'chatcmpl-1', model: 'gpt-4o-mini-2024-07-18', choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } },
      '[DONE]',
    );
    const call = decode(
      makeExchange({ target: '/v1/chat/completions', reqBody: chatReq({ stream: true, stream_options: { include_usage: true } }), resBody: body }),
    );
    expect(call.stream).toBe(true);
    expect(call.output_text).toBe('Hello');
    expect(call.response_model).toBe('gpt-4o-mini-2024-07-18');
    expect(call.response_id).toBe('chatcmpl-1');
    expect(call.finish_reason).toBe('stop');
    expect(call.usage).toMatchObject({ input_tokens: 9, output_tokens: 2, estimated: false });
    // Content arrived in chunks 2 and 3 (the empty role chunk carries nothing).
    expect(call.first_token).toBe(start + 2 * step);
    expect(call.last_token).toBe(start + 3 * step);
    expect(call.anomalies).toEqual([]);
  });

  it('assembles parallel tool calls from index-keyed deltas', () => {
    const tc = (index: number, fn: object, id?: string): object => chunk({ tool_calls: [{ index, ...(id ? { id, type: 'function' } : {}), function: fn }] });
    const body = sse(
      tc(0, { name: 'get_weather', arguments: '' }, 'call_a'),
      tc(1, { name: 'get_time', arguments: '' }, 'call_b'),
      tc(0, { arguments: '{"city":' }),
      tc(1, { arguments: '{"tz":"CET"}' }),
      tc(0, { arguments: '"Paris"}' }),
      chunk({}, 'tool_calls'),
      '[DONE]',
    );
    const call = decode(makeExchange({ target: '/v1/chat/completions', reqBody: chatReq({ stream: true }), resBody: body }));
    expect(call.tool_calls).toEqual([
      { id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'call_b', name: 'get_time', arguments: '{"tz":"CET"}' },
    ]);
    expect(call.finish_reason).toBe('tool_call');
    expect(call.finish_reason_raw).toBe('tool_calls');
  });

  it('reads reasoning_content and reasoning deltas, and Mistral typed content chunks', () => {
    const body = sse(
      chunk({ reasoning_content: 'Think ' }),
      chunk({ reasoning: 'more. ' }),
      chunk({ content: [{ type: 'thinking', thinking: [{ type: 'text', text: 'Magistral.' }] }] }),
      chunk({ content: [{ type: 'text', text: 'Answer' }] }),
      chunk({}, 'stop'),
      '[DONE]',
    );
    const call = decode(makeExchange({ target: '/v1/chat/completions', reqBody: chatReq({ stream: true }), resBody: body }));
    expect(call.reasoning_text).toBe('Think more. Magistral.');
    expect(call.output_text).toBe('Answer');
  });

  it('reports an in-stream error event (Groq) as the error', () => {
    const body =
      sse(chunk({ reasoning: 'Let me call the tool' })) +
      sse({ event: 'error', data: { error: { message: 'Tool call validation failed', type: 'invalid_request_error', code: 'tool_use_failed' } } });
    const call = decode(makeExchange({ target: '/openai/v1/chat/completions', reqHeaders: { host: 'api.groq.com' }, reqBody: chatReq({ stream: true }), resBody: body }));
    expect(call.provider).toBe('groq');
    expect(call.error).toEqual({ type: 'invalid_request_error', message: 'Tool call validation failed' });
    expect(call.finish_reason).toBe('error');
    expect(call.reasoning_text).toBe('Let me call the tool');
    // Something was generated before the error: counted by estimate.
    expect(call.usage.estimated).toBe(true);
  });

  it('reports an interrupted stream: what was generated, no finish reason, estimated usage', () => {
    const body = sse(chunk({ content: 'The weather in Paris is' }), chunk({ tool_calls: [{ index: 0, id: 'c1', function: { name: 'get_weather', arguments: '{"ci' } }] }));
    const call = decode(makeExchange({ target: '/v1/chat/completions', reqBody: chatReq({ stream: true, stream_options: { include_usage: true } }), resBody: body }));
    expect(call.output_text).toBe('The weather in Paris is');
    expect(call.tool_calls).toEqual([{ id: 'c1', name: 'get_weather', arguments: '{"ci' }]);
    expect(call.finish_reason).toBeNull();
    expect(call.finish_reason_raw).toBeNull();
    expect(call.anomalies).toContain('openai_stream_interrupted');
    expect(call.usage.estimated).toBe(true);
    expect(call.usage.output_tokens).toBeGreaterThan(0);
    expect(call.usage.input_tokens).toBeGreaterThan(0);
  });

  it('treats a body cut by the connection as interrupted even after [DONE] was not seen', () => {
    const body = sse(chunk({ content: 'Hi' }), chunk({}, 'stop'));
    const call = decode(makeExchange({ target: '/v1/chat/completions', reqBody: chatReq({ stream: true }), resBody: body, resBodyOptions: { incomplete: true } }));
    expect(call.anomalies).toContain('openai_stream_interrupted');
    expect(call.finish_reason).toBe('stop');
  });

  it('estimates when the stream completed without include_usage', () => {
    const body = sse(chunk({ content: 'Hello there' }), chunk({}, 'stop'), '[DONE]');
    const call = decode(makeExchange({ target: '/v1/chat/completions', reqBody: chatReq({ stream: true }), resBody: body }));
    expect(call.usage.estimated).toBe(true);
    expect(call.usage.output_tokens).toBe(2);
    expect(call.anomalies).toEqual([]);
  });

  it('reads Groq usage from x_groq and legacy function_call deltas', () => {
    const body = sse(
      chunk({ function_call: { name: 'lookup', arguments: '' } }),
      chunk({ function_call: { arguments: '{"q":1}' } }),
      chunk({}, 'function_call', { x_groq: { usage: { prompt_tokens: 5, completion_tokens: 7 } } }),
      '[DONE]',
    );
    const call = decode(makeExchange({ target: '/v1/chat/completions', reqBody: chatReq({ stream: true }), resBody: body }));
    expect(call.tool_calls).toEqual([{ id: null, name: 'lookup', arguments: '{"q":1}' }]);
    expect(call.finish_reason).toBe('tool_call');
    expect(call.usage).toMatchObject({ input_tokens: 5, output_tokens: 7, estimated: false });
  });

  it('counts a bad JSON event and goes on', () => {
    const body = `data: {"broken\n\n${sse(chunk({ content: 'ok' }), chunk({}, 'stop'), '[DONE]')}`;
    const call = decode(makeExchange({ target: '/v1/chat/completions', reqBody: chatReq({ stream: true }), resBody: body }));
    expect(call.output_text).toBe('ok');
    expect(call.anomalies).toContain('sse_invalid_json');
  });

  it('gives the same result with the body split at every offset and one byte at a time', () => {
    const text = sse(
      chunk({ role: 'assistant', content: 'Bonjour ' }),
      chunk({ content: 'à tous 🌍' }),
      chunk({ tool_calls: [{ index: 0, id: 'c', function: { name: 'f', arguments: '{"a":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
      chunk({}, 'tool_calls'),
      { id: 'chatcmpl-1', choices: [], usage: { prompt_tokens: 3, completion_tokens: 4 } },
      '[DONE]',
    );
    const bytes = new TextEncoder().encode(text);
    const summary = (c: DecodedCall): unknown => [c.output_text, c.tool_calls, c.usage.input_tokens, c.usage.output_tokens, c.finish_reason, c.anomalies];
    const whole = summary(decode(makeExchange({ target: '/v1/chat/completions', reqBody: chatReq({ stream: true }), resBody: [{ data: bytes, ts: start }] })));
    expect(whole).toEqual(['Bonjour à tous 🌍', [{ id: 'c', name: 'f', arguments: '{"a":1}' }], 3, 4, 'tool_call', []]);
    for (let i = 1; i < bytes.length; i++) {
      const parts: ChunkSpec[] = [
        { data: bytes.subarray(0, i), ts: start },
        { data: bytes.subarray(i), ts: start + step },
      ];
      expect(summary(decode(makeExchange({ target: '/v1/chat/completions', reqBody: chatReq({ stream: true }), resBody: parts }))), `split at ${i}`).toEqual(whole);
    }
    const single: ChunkSpec[] = [...bytes].map((b, i) => ({ data: Uint8Array.of(b), ts: start + i }));
    expect(summary(decode(makeExchange({ target: '/v1/chat/completions', reqBody: chatReq({ stream: true }), resBody: single })))).toEqual(whole);
  });
});

describe('openaiChatDecoder: robustness', () => {
  it('never throws on random response bytes, as SSE or JSON', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), fc.integer({ min: 100, max: 599 }), (bytes, asSse, status) => {
        const call = openaiChatDecoder.decode(
          makeExchange({
            target: '/v1/chat/completions',
            reqBody: chatReq({ stream: asSse }),
            status,
            resBody: [{ data: bytes, ts: T0 }],
            resHeaders: { 'content-type': asSse ? 'text/event-stream' : 'application/json' },
          }),
        );
        expect(call).not.toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on random JSON values in chunks and bodies', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { maxLength: 6 }), fc.jsonValue(), (events, reqBody) => {
        const body = events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('');
        const s = openaiChatDecoder.decode(makeExchange({ target: '/v1/chat/completions', reqBody: JSON.stringify(reqBody) ?? '', resBody: body, resHeaders: { 'content-type': 'text/event-stream' } }));
        const j = openaiChatDecoder.decode(makeExchange({ target: '/v1/chat/completions', reqBody: JSON.stringify(reqBody) ?? '', resBody: JSON.stringify(events[0] ?? null) }));
        expect(s?.stream).toBe(true);
        expect(j).not.toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('reports a request that got no response', () => {
    const call = decode(makeExchange({ target: '/v1/chat/completions', reqBody: chatReq(), noResponse: true }));
    expect(call.request_model).toBe('gpt-4o-mini');
    expect(call.anomalies).toEqual(['openai_no_response']);
  });
});

describe('openaiChatDecoder: HTTP status', () => {
  it('marks an error status as an error even when the body says nothing', () => {
    const call = decode(makeExchange({ target: '/v1/chat/completions', reqBody: chatReq({ stream: true }), status: 503, resBody: '', resHeaders: { 'content-type': 'text/event-stream' } }));
    expect(call.error).toEqual({ type: 'http_503', message: '' });
    expect(call.finish_reason).toBe('error');
    expect(call.usage.estimated).toBe(false);
  });
});
