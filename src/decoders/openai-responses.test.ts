import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openaiResponsesDecoder } from './openai-responses.js';
import { makeExchange, sse, sseChunks, T0, type ChunkSpec } from './test-helpers.test-support.js';
import type { DecodedCall } from './types.js';

const decode = (ex: Parameters<typeof openaiResponsesDecoder.decode>[0]): DecodedCall => {
  const call = openaiResponsesDecoder.decode(ex);
  if (call === null) throw new Error('decoder declined');
  return call;
};

const req = (extra: object = {}): object => ({
  model: 'gpt-5',
  instructions: 'Be brief.',
  input: [{ role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris?' }] }],
  tools: [
    { type: 'function', name: 'get_weather', parameters: {} },
    { type: 'web_search' },
    { type: 'mcp', server_label: 'deepwiki', server_url: 'https://mcp.deepwiki.com/mcp' },
  ],
  ...extra,
});

const usage = {
  input_tokens: 2000,
  input_tokens_details: { cached_tokens: 1536 },
  output_tokens: 300,
  output_tokens_details: { reasoning_tokens: 256 },
  total_tokens: 2300,
};

const reasoningItem = { id: 'rs_1', type: 'reasoning', summary: [{ type: 'summary_text', text: 'Look it up.' }] };
const fnItem = { id: 'fc_1', type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' };
const msgItem = { id: 'msg_1', type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Sunny.', annotations: [] }] };

describe('openaiResponsesDecoder: non-streaming', () => {
  it('reads output items, tools offered and usage; a function call makes it a tool_call', () => {
    const call = decode(
      makeExchange({
        target: '/v1/responses',
        reqBody: req(),
        resBody: { id: 'resp_1', object: 'response', status: 'completed', model: 'gpt-5-2025-08-07', output: [reasoningItem, fnItem], usage },
      }),
    );
    expect(call).toMatchObject({
      api: 'openai.responses',
      operation: 'chat',
      stream: false,
      request_model: 'gpt-5',
      response_model: 'gpt-5-2025-08-07',
      response_id: 'resp_1',
      finish_reason: 'tool_call',
      finish_reason_raw: 'completed',
      reasoning_text: 'Look it up.',
      output_text: '',
      tools_offered: ['get_weather', 'web_search', 'mcp:deepwiki'],
    });
    expect(call.tool_calls).toEqual([{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }]);
    expect(call.usage).toMatchObject({ input_tokens: 2000, output_tokens: 300, cache_read_tokens: 1536, reasoning_tokens: 256, estimated: false });
  });

  it('lists hosted tool calls but finishes with stop when only the server ran tools', () => {
    const call = decode(
      makeExchange({
        target: '/v1/responses',
        reqBody: req(),
        resBody: {
          id: 'resp_2',
          status: 'completed',
          model: 'gpt-5',
          output: [{ id: 'ws_1', type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'paris weather' } }, { id: 'mcp_1', type: 'mcp_call', name: 'ask_question', arguments: '{}', server_label: 'deepwiki' }, msgItem],
          usage,
        },
      }),
    );
    expect(call.finish_reason).toBe('stop');
    expect(call.output_text).toBe('Sunny.');
    expect(call.tool_calls).toEqual([
      { id: 'ws_1', name: 'web_search' },
      { id: 'mcp_1', name: 'ask_question', arguments: '{}' },
    ]);
  });

  it('maps incomplete with max_output_tokens to length', () => {
    const call = decode(
      makeExchange({
        target: '/v1/responses',
        reqBody: req(),
        resBody: { id: 'r', status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [reasoningItem], usage },
      }),
    );
    expect(call.finish_reason).toBe('length');
    expect(call.finish_reason_raw).toBe('max_output_tokens');
  });

  it('reports HTTP errors and failed responses', () => {
    const http = decode(makeExchange({ target: '/v1/responses', reqBody: req(), status: 400, resBody: { error: { message: 'Unsupported parameter', type: 'invalid_request_error', param: 'temperature', code: 'unsupported_parameter' } } }));
    expect(http.error).toEqual({ type: 'invalid_request_error', message: 'Unsupported parameter' });
    expect(http.finish_reason).toBe('error');
    expect(http.usage.estimated).toBe(false);
    const failed = decode(makeExchange({ target: '/v1/responses', reqBody: req(), resBody: { id: 'r', status: 'failed', error: { code: 'server_error', message: 'boom' }, output: [], usage: null } }));
    expect(failed.error).toEqual({ type: 'server_error', message: 'boom' });
    expect(failed.finish_reason).toBe('error');
    expect(failed.finish_reason_raw).toBe('failed');
  });

  it('takes a plain string input for the estimate when usage is missing', () => {
    const call = decode(makeExchange({ target: '/v1/responses', reqBody: { model: 'gpt-4.1', input: 'Tell me a joke about cats' }, resBody: { id: 'r', status: 'completed', output: [msgItem] } }));
    expect(call.usage.estimated).toBe(true);
    expect(call.usage.input_tokens).toBeGreaterThan(3);
    expect(call.usage.output_tokens).toBe(2);
  });
});

describe('openaiResponsesDecoder: streaming', () => {
  const start = T0 + 300_000;
  const step = 10_000;
  const created = { type: 'response.created', response: { id: 'resp_s', status: 'in_progress', model: 'gpt-5-2025-08-07', output: [], usage: null } };

  function streamEvents(completedOutput: object[]): object[] {
    return [
      created,
      { type: 'response.output_item.added', output_index: 0, item: { id: 'rs_1', type: 'reasoning', summary: [] } },
      { type: 'response.reasoning_summary_text.delta', item_id: 'rs_1', output_index: 0, summary_index: 0, delta: 'Look ' },
      { type: 'response.reasoning_summary_text.delta', item_id: 'rs_1', output_index: 0, summary_index: 0, delta: 'it up.' },
      { type: 'response.output_item.done', output_index: 0, item: reasoningItem },
      { type: 'response.output_item.added', output_index: 1, item: { id: 'msg_1', type: 'message', role: 'assistant', content: [] } },
      { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 1, content_index: 0, delta: 'Sun' },
      { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 1, content_index: 0, delta: 'ny.' },
      { type: 'response.output_item.done', output_index: 1, item: msgItem },
      { type: 'response.output_item.added', output_index: 2, item: { id: 'fc_1', type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '' } },
      { type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 2, delta: '{"city":' },
      { type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 2, delta: '"Paris"}' },
      { type: 'response.output_item.done', output_index: 2, item: fnItem },
      { type: 'response.completed', response: { id: 'resp_s', status: 'completed', model: 'gpt-5-2025-08-07', output: completedOutput, usage } },
    ];
  }

  it('reads deltas, the completed response and usage, and times the content events', () => {
    const call = decode(makeExchange({ target: '/v1/responses', reqBody: req({ stream: true }), resBody: sseChunks(start, step, ...streamEvents([reasoningItem, msgItem, fnItem])) }));
    expect(call.stream).toBe(true);
    expect(call.output_text).toBe('Sunny.');
    expect(call.reasoning_text).toBe('Look it up.');
    expect(call.tool_calls).toEqual([{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }]);
    expect(call.finish_reason).toBe('tool_call');
    expect(call.usage).toMatchObject({ input_tokens: 2000, output_tokens: 300, estimated: false });
    expect(call.response_model).toBe('gpt-5-2025-08-07');
    expect(call.first_token).toBe(start + 2 * step); // first reasoning delta
    expect(call.last_token).toBe(start + 11 * step); // last arguments delta
    expect(call.anomalies).toEqual([]);
  });

  it('starts a new reasoning paragraph per summary part, item and event type', () => {
    const d = (item: string, si: number, delta: string, type = 'response.reasoning_summary_text.delta'): object =>
      type === 'response.reasoning_text.delta'
        ? { type, item_id: item, output_index: 0, content_index: si, delta }
        : { type, sequence_number: 1, item_id: item, output_index: 0, summary_index: si, delta };
    const events = [
      d('rs_1', 0, 'A'),
      d('rs_1', 0, 'a'),
      d('rs_1', 1, 'B'),
      d('rs_2', 1, 'C'),
      d('rs_2', 1, 'D', 'response.reasoning_text.delta'),
      d('rs_2', 1, 'd', 'response.reasoning_text.delta'),
    ];
    const call = decode(makeExchange({ target: '/v1/responses', reqBody: req({ stream: true }), resBody: sse(...events) }));
    expect(call.reasoning_text).toBe('Aa\n\nB\n\nC\n\nDd');
  });

  it('rebuilds the output from output_item.done when response.completed has none (Codex)', () => {
    const call = decode(makeExchange({ target: '/v1/responses', reqHeaders: { originator: 'codex_cli_rs' }, reqBody: req({ stream: true }), resBody: sse(...streamEvents([])) }));
    expect(call.tool_calls).toEqual([{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }]);
    expect(call.finish_reason).toBe('tool_call');
    expect(call.output_text).toBe('Sunny.');
  });

  it('works with named events (event: lines) as the real API sends them', () => {
    const body = streamEvents([]).map((e) => sse({ event: (e as { type: string }).type, data: e })).join('');
    const call = decode(makeExchange({ target: '/v1/responses', reqBody: req({ stream: true }), resBody: body }));
    expect(call.output_text).toBe('Sunny.');
    expect(call.usage.input_tokens).toBe(2000);
  });

  it('reports an interrupted stream with the partial function call', () => {
    const events = streamEvents([]).slice(0, 11);
    const call = decode(makeExchange({ target: '/v1/responses', reqBody: req({ stream: true }), resBody: sse(...events) }));
    expect(call.finish_reason).toBeNull();
    expect(call.anomalies).toContain('openai_stream_interrupted');
    expect(call.tool_calls).toEqual([{ id: 'call_1', name: 'get_weather', arguments: '{"city":' }]);
    expect(call.output_text).toBe('Sunny.');
    expect(call.usage.estimated).toBe(true);
    expect(call.usage.output_tokens).toBeGreaterThan(0);
  });

  it('reports an error event and a response.failed', () => {
    const err = decode(
      makeExchange({
        target: '/v1/responses',
        reqBody: req({ stream: true }),
        resBody: sse(created, { event: 'error', data: { type: 'error', code: 'rate_limit_exceeded', message: 'Slow down', param: null } }),
      }),
    );
    expect(err.error).toEqual({ type: 'rate_limit_exceeded', message: 'Slow down' });
    expect(err.finish_reason).toBe('error');
    expect(err.anomalies).not.toContain('openai_stream_interrupted');
    const failed = decode(
      makeExchange({
        target: '/v1/responses',
        reqBody: req({ stream: true }),
        resBody: sse(created, { type: 'response.failed', response: { id: 'resp_s', status: 'failed', error: { code: 'server_error', message: 'oops' }, output: [], usage: null } }),
      }),
    );
    expect(failed.error).toEqual({ type: 'server_error', message: 'oops' });
    expect(failed.finish_reason).toBe('error');
  });

  it('maps response.incomplete to its reason', () => {
    const call = decode(
      makeExchange({
        target: '/v1/responses',
        reqBody: req({ stream: true }),
        resBody: sse(created, { type: 'response.output_text.delta', output_index: 0, delta: 'Partial' }, { type: 'response.incomplete', response: { id: 'resp_s', status: 'incomplete', incomplete_details: { reason: 'content_filter' }, output: [], usage } }),
      }),
    );
    expect(call.finish_reason).toBe('content_filter');
    expect(call.output_text).toBe('Partial');
  });

  it('gives the same result with the body split at every offset and one byte at a time', () => {
    const bytes = new TextEncoder().encode(sse(...streamEvents([])));
    const summary = (c: DecodedCall): unknown => [c.output_text, c.reasoning_text, c.tool_calls, c.usage.input_tokens, c.finish_reason, c.anomalies];
    const run = (parts: ChunkSpec[]): unknown => summary(decode(makeExchange({ target: '/v1/responses', reqBody: req({ stream: true }), resBody: parts })));
    const whole = run([{ data: bytes, ts: start }]);
    expect(whole).toEqual(['Sunny.', 'Look it up.', [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }], 2000, 'tool_call', []]);
    for (let i = 1; i < bytes.length; i += 1) {
      expect(run([{ data: bytes.subarray(0, i), ts: start }, { data: bytes.subarray(i), ts: start + 1 }]), `split at ${i}`).toEqual(whole);
    }
    expect(run([...bytes].map((b, i) => ({ data: Uint8Array.of(b), ts: start + i })))).toEqual(whole);
  });
});

describe('openaiResponsesDecoder: robustness', () => {
  it('never throws on random bytes or random JSON events', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.jsonValue(), { maxLength: 5 }), fc.boolean(), (bytes, events, asSse) => {
        const a = openaiResponsesDecoder.decode(makeExchange({ target: '/v1/responses', reqBody: req(), resBody: [{ data: bytes, ts: T0 }], resHeaders: { 'content-type': asSse ? 'text/event-stream' : 'application/json' } }));
        const b = openaiResponsesDecoder.decode(
          makeExchange({ target: '/v1/responses', reqBody: JSON.stringify(events[0] ?? null), resBody: events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join(''), resHeaders: { 'content-type': 'text/event-stream' } }),
        );
        expect(a).not.toBeNull();
        expect(b?.stream).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on plausible events with fields of the wrong types', () => {
    const types = ['response.created', 'response.output_item.added', 'response.output_item.done', 'response.output_text.delta', 'response.function_call_arguments.delta', 'response.completed', 'error'];
    fc.assert(
      fc.property(fc.array(fc.record({ type: fc.constantFrom(...types), output_index: fc.jsonValue(), item: fc.jsonValue(), delta: fc.jsonValue(), response: fc.jsonValue() }), { maxLength: 8 }), (events) => {
        const call = openaiResponsesDecoder.decode(makeExchange({ target: '/v1/responses', reqBody: req(), resBody: sse(...events) }));
        expect(call).not.toBeNull();
        expect(call?.anomalies).not.toContain('openai_decoder_failed');
      }),
      { numRuns: 300 },
    );
  });
});
