import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { anthropicMessagesDecoder as dec } from './anthropic-messages.js';
import { makeExchange, sse, sseChunks, T0, type ChunkSpec } from './test-helpers.test-support.js';
import type { HttpRequest } from '../http/types.js';
import type { DecodedCall } from './types.js';

const ANTHROPIC_HEADERS = { host: 'api.anthropic.com', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };

function req(target: string, headers: Record<string, string> = ANTHROPIC_HEADERS, method = 'POST'): HttpRequest {
  return makeExchange({ target, reqHeaders: headers, method, reqBody: '{}' }).request;
}

function decodeOk(spec: Parameters<typeof makeExchange>[0]): DecodedCall {
  const call = dec.decode(makeExchange(spec));
  if (call === null) throw new Error('decoder returned null');
  return call;
}

const REQUEST = {
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  stream: true,
  system: 'You are terse.',
  messages: [{ role: 'user', content: 'Weather in Paris and Rome?' }],
  tools: [
    { name: 'get_weather', description: 'w', input_schema: { type: 'object' } },
    { type: 'web_search_20250305', name: 'web_search', max_uses: 3 },
  ],
};

/** A realistic stream: thinking, text, two parallel tool_use blocks, newer-API message_delta
 * usage that repeats the input counts. One event per chunk, 10 ms apart from resStart. */
function toolStream(start: number): ChunkSpec[] {
  return sseChunks(
    start,
    10_000,
    { event: 'message_start', data: { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5-20250929', content: [], stop_reason: null, usage: { input_tokens: 12, cache_read_input_tokens: 1000, cache_creation_input_tokens: 200, output_tokens: 1 } } } },
    { event: 'ping', data: { type: 'ping' } },
    { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Two cities, ' } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'two calls.' } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig' } } },
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
    { event: 'content_block_start', data: { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Checking ' } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'both.' } } },
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 1 } },
    { event: 'content_block_start', data: { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_a', name: 'get_weather', input: {} } } },
    { event: 'content_block_start', data: { type: 'content_block_start', index: 3, content_block: { type: 'tool_use', id: 'toolu_b', name: 'get_weather', input: {} } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 3, delta: { type: 'input_json_delta', partial_json: '{"city":' } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"city":"Paris"}' } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 3, delta: { type: 'input_json_delta', partial_json: '"Rome"}' } } },
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 2 } },
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 3 } },
    { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { input_tokens: 12, cache_read_input_tokens: 1000, cache_creation_input_tokens: 200, output_tokens: 87 } } },
    { event: 'message_stop', data: { type: 'message_stop' } },
  );
}
const RES_START = T0 + 500_000;

describe('anthropic messages: routes', () => {
  it('matches POST /v1/messages by path, ignoring the query (Claude Code posts ?beta=true)', () => {
    expect(dec.matchRoute(req('/v1/messages?beta=true'))).toBe(true);
    expect(dec.matchRoute(req('/anthropic/v1/messages'))).toBe(true);
  });
  it('needs an Anthropic header on the generic path', () => {
    expect(dec.matchRoute(req('/v1/messages', { 'x-api-key': 'sk-ant-api03-xyz' }))).toBe(true);
    expect(dec.matchRoute(req('/v1/messages', { 'x-api-key': 'other' }))).toBe(false);
    expect(dec.matchRoute(req('/v1/messages', { host: 'x' }))).toBe(false);
  });
  it('does not match other methods or paths', () => {
    expect(dec.matchRoute(req('/v1/messages', ANTHROPIC_HEADERS, 'GET'))).toBe(false);
    expect(dec.matchRoute(req('/v1/chat/completions'))).toBe(false);
    expect(dec.matchRoute(req('/v1/messagesx'))).toBe(false);
  });
  it('matches Vertex rawPredict/streamRawPredict without headers', () => {
    const p = '/v1/projects/p1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514';
    expect(dec.matchRoute(req(`${p}:rawPredict`, {}))).toBe(true);
    expect(dec.matchRoute(req(`${p}:streamRawPredict`, {}))).toBe(true);
    expect(dec.matchRoute(req('/v1/projects/p/locations/l/publishers/google/models/gemini:rawPredict', {}))).toBe(false);
  });
  it('claims count_tokens and batches but decodes them to null (not LLM calls)', () => {
    expect(dec.matchRoute(req('/v1/messages/count_tokens?beta=true'))).toBe(true);
    expect(dec.decode(makeExchange({ target: '/v1/messages/count_tokens?beta=true', reqBody: { model: 'm', messages: [] }, resBody: { input_tokens: 5 } }))).toBeNull();
    expect(dec.decode(makeExchange({ target: '/v1/messages/batches', reqBody: { requests: [] }, resBody: { id: 'b' } }))).toBeNull();
    const vertexCount = '/v1/projects/p/locations/l/publishers/anthropic/models/count-tokens:rawPredict';
    expect(dec.decode(makeExchange({ target: vertexCount, reqBody: { messages: [] }, resBody: { input_tokens: 5 } }))).toBeNull();
  });
});

describe('anthropic messages: body shape (pass 2)', () => {
  const r = req('/gateway/chat');
  it('accepts Anthropic-only fields', () => {
    expect(dec.matchBody(r, { model: 'm', messages: [], system: 's' })).toBe(true);
    expect(dec.matchBody(r, { anthropic_version: 'vertex-2023-10-16', messages: [] })).toBe(true);
    expect(dec.matchBody(r, { model: 'm', messages: [], tools: [{ name: 't', input_schema: {} }] })).toBe(true);
    expect(dec.matchBody(r, { model: 'm', messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'x', content: 'ok' }] }] })).toBe(true);
    expect(dec.matchBody(r, { model: 'm', messages: [], stop_sequences: ['###'] })).toBe(true);
    expect(dec.matchBody(r, { model: 'm', messages: [], thinking: { type: 'enabled', budget_tokens: 2048 } })).toBe(true);
    expect(dec.matchBody(r, { model: 'm', messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', data: '' } }] }] })).toBe(true);
  });
  it('leaves fields that OpenAI-compatible servers also accept to the OpenAI decoder', () => {
    expect(dec.matchBody(r, { model: 'qwen', messages: [{ role: 'user', content: 'hi' }], top_k: 20 })).toBe(false);
    expect(dec.matchBody(r, { model: 'glm-4.6', messages: [{ role: 'user', content: 'hi' }], thinking: { type: 'enabled' } })).toBe(false);
    expect(dec.matchBody(r, { model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] })).toBe(false);
  });
  it('rejects OpenAI Chat bodies and non-objects', () => {
    expect(dec.matchBody(r, { model: 'gpt-4o', messages: [{ role: 'system', content: 'x' }, { role: 'user', content: 'hi' }] })).toBe(false);
    expect(dec.matchBody(r, { model: 'gpt-4o', messages: [], tools: [{ type: 'function', function: { name: 'f' } }] })).toBe(false);
    expect(dec.matchBody(r, null)).toBe(false);
    expect(dec.matchBody(r, [1, 2])).toBe(false);
    expect(dec.matchBody(r, { input: 'x' })).toBe(false);
  });
});

describe('anthropic messages: non-streaming', () => {
  const message = {
    id: 'msg_01',
    type: 'message',
    role: 'assistant',
    model: 'claude-opus-4-1-20250805',
    content: [
      { type: 'thinking', thinking: 'Let me look.', signature: 'x' },
      { type: 'redacted_thinking', data: 'opaque' },
      { type: 'text', text: 'Searching. ' },
      { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'paris weather' } },
      { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] },
      { type: 'text', text: 'Calling the tool.' },
      { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
    ],
    stop_reason: 'tool_use',
    stop_sequence: null,
    usage: { input_tokens: 30, cache_read_input_tokens: 4000, cache_creation_input_tokens: 500, output_tokens: 120, server_tool_use: { web_search_requests: 1 } },
  };
  const call = decodeOk({ target: '/v1/messages', reqBody: { ...REQUEST, stream: false }, resBody: message });

  it('reads model, id, text, reasoning and finish reason', () => {
    expect(call).toMatchObject({
      provider: 'anthropic',
      api: 'anthropic.messages',
      operation: 'chat',
      stream: false,
      request_model: 'claude-sonnet-4-5',
      response_model: 'claude-opus-4-1-20250805',
      response_id: 'msg_01',
      finish_reason: 'tool_call',
      finish_reason_raw: 'tool_use',
      output_text: 'Searching. Calling the tool.',
      reasoning_text: 'Let me look.',
      error: null,
      first_token: null,
      last_token: null,
    });
  });
  it('lists offered tools, client and server', () => {
    expect(call.tools_offered).toEqual(['get_weather', 'web_search']);
  });
  it('reports client and server tool calls with their arguments', () => {
    expect(call.tool_calls).toEqual([
      { id: 'srvtoolu_1', name: 'web_search', arguments: '{"query":"paris weather"}' },
      { id: 'toolu_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
    ]);
  });
  it('counts input as input + cache reads + cache writes, and keeps the raw usage', () => {
    expect(call.usage).toEqual({
      input_tokens: 4530,
      output_tokens: 120,
      cache_read_tokens: 4000,
      cache_write_tokens: 500,
      reasoning_tokens: null,
      estimated: false,
      raw: message.usage,
    });
  });
  it('keeps cache counts null when the wire has none (older API versions)', () => {
    const c = decodeOk({ target: '/v1/messages', reqBody: { model: 'm', messages: [] }, resBody: { ...message, usage: { input_tokens: 7, output_tokens: 3 } } });
    expect(c.usage).toMatchObject({ input_tokens: 7, output_tokens: 3, cache_read_tokens: null, cache_write_tokens: null, estimated: false });
  });
  it('maps end_turn to stop and max_tokens to length', () => {
    const endTurn = decodeOk({ target: '/v1/messages', reqBody: REQUEST, resBody: { ...message, content: [{ type: 'text', text: 'Hi' }], stop_reason: 'end_turn' } });
    expect(endTurn.finish_reason).toBe('stop');
    const maxed = decodeOk({ target: '/v1/messages', reqBody: REQUEST, resBody: { ...message, stop_reason: 'max_tokens' } });
    expect(maxed.finish_reason).toBe('length');
  });
  it('takes the model from the Vertex path', () => {
    const c = decodeOk({
      target: '/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-3-5-sonnet-v2%4020241022:rawPredict',
      reqBody: { anthropic_version: 'vertex-2023-10-16', messages: [], max_tokens: 10 },
      resBody: message,
    });
    expect(c.request_model).toBe('claude-3-5-sonnet-v2@20241022');
    expect(c.stream).toBe(false);
  });
});

describe('anthropic messages: HTTP errors', () => {
  it('reads {type:error, error:{type,message}}', () => {
    const c = decodeOk({
      target: '/v1/messages',
      reqBody: REQUEST,
      status: 529,
      resBody: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
    });
    expect(c.error).toEqual({ type: 'overloaded_error', message: 'Overloaded' });
    expect(c.finish_reason).toBe('error');
    expect(c.usage.output_tokens).toBeNull();
    expect(c.usage.estimated).toBe(false);
  });
  it('falls back to the status for a non-Anthropic error body', () => {
    const c = decodeOk({ target: '/v1/messages', reqBody: REQUEST, status: 502, resBody: '<html>Bad gateway</html>', resHeaders: { 'content-type': 'text/html' } });
    expect(c.error).toEqual({ type: 'http_502', message: '<html>Bad gateway</html>' });
  });
});

describe('anthropic messages: streaming', () => {
  const call = decodeOk({ target: '/v1/messages?beta=true', reqBody: REQUEST, resBody: toolStream(RES_START), resStart: RES_START });

  it('assembles text, thinking and parallel tool calls keyed by index', () => {
    expect(call.stream).toBe(true);
    expect(call.response_id).toBe('msg_1');
    expect(call.response_model).toBe('claude-sonnet-4-5-20250929');
    expect(call.output_text).toBe('Checking both.');
    expect(call.reasoning_text).toBe('Two cities, two calls.');
    expect(call.tool_calls).toEqual([
      { id: 'toolu_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'toolu_b', name: 'get_weather', arguments: '{"city":"Rome"}' },
    ]);
    expect(call.finish_reason).toBe('tool_call');
    expect(call.anomalies).toEqual([]);
  });
  it('merges usage from message_start and message_delta', () => {
    expect(call.usage).toMatchObject({ input_tokens: 1212, output_tokens: 87, cache_read_tokens: 1000, cache_write_tokens: 200, estimated: false });
    expect(call.usage.raw).toEqual({ input_tokens: 12, cache_read_input_tokens: 1000, cache_creation_input_tokens: 200, output_tokens: 87 });
  });
  it('times first/last token on content events, not on message_start, ping or message_delta', () => {
    // Events 0-based: 3 = first thinking_delta, 15 = last input_json_delta.
    expect(call.first_token).toBe(RES_START + 3 * 10_000);
    expect(call.last_token).toBe(RES_START + 15 * 10_000);
  });
  it('counts a tool_use content_block_start as content', () => {
    const c = decodeOk({
      target: '/v1/messages',
      reqBody: REQUEST,
      resBody: sseChunks(
        RES_START,
        1_000,
        { type: 'message_start', message: { id: 'm', model: 'x', usage: { input_tokens: 3, output_tokens: 1 } } },
        { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 't', name: 'ls', input: {} } },
        { type: 'content_block_stop', index: 0 },
        { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 9 } },
        { type: 'message_stop' },
      ),
    });
    expect(c.first_token).toBe(RES_START + 1_000);
    expect(c.last_token).toBe(RES_START + 1_000);
    expect(c.tool_calls).toEqual([{ id: 't', name: 'ls', arguments: '{}' }]);
    expect(c.usage.output_tokens).toBe(9);
  });
  it('lets later non-null usage values win (message_delta repeats input on newer APIs)', () => {
    const c = decodeOk({
      target: '/v1/messages',
      reqBody: REQUEST,
      resBody: sse(
        { type: 'message_start', message: { id: 'm', model: 'x', usage: { input_tokens: 43, output_tokens: 1 } } },
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'pong' } },
        { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { input_tokens: 61, cache_read_input_tokens: null, output_tokens: 2 } },
        { type: 'message_stop' },
      ),
    });
    expect(c.usage).toMatchObject({ input_tokens: 61, output_tokens: 2 });
    expect(c.usage.raw).toEqual({ input_tokens: 61, output_tokens: 2 });
  });
  it('reports an in-stream error event as the call error', () => {
    const c = decodeOk({
      target: '/v1/messages',
      reqBody: REQUEST,
      resBody: sse(
        { type: 'message_start', message: { id: 'm', model: 'x', usage: { input_tokens: 10, output_tokens: 1 } } },
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Partial answer' } },
        { event: 'error', data: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } },
      ),
    });
    expect(c.error).toEqual({ type: 'overloaded_error', message: 'Overloaded' });
    expect(c.finish_reason).toBe('error');
    expect(c.output_text).toBe('Partial answer');
    // message_start's output_tokens (1) is a placeholder: the count is estimated from the text.
    expect(c.usage).toMatchObject({ input_tokens: 10, output_tokens: 2, estimated: true });
    expect(c.anomalies).not.toContain('anthropic_stream_interrupted');
  });
  it('reports an interrupted stream with what was generated and estimated output', () => {
    const events = toolStream(RES_START).slice(0, 14); // cut inside the second tool call
    const c = decodeOk({ target: '/v1/messages', reqBody: REQUEST, resBody: events, resBodyOptions: { incomplete: true } });
    expect(c.anomalies).toContain('anthropic_stream_interrupted');
    expect(c.finish_reason).toBeNull();
    expect(c.output_text).toBe('Checking both.');
    expect(c.tool_calls.map((t) => t.name)).toEqual(['get_weather', 'get_weather']);
    expect(c.tool_calls[1]!.arguments).toBe('{"city":');
    expect(c.usage.input_tokens).toBe(1212);
    expect(c.usage.estimated).toBe(true);
    expect(c.usage.output_tokens).toBeGreaterThan(5);
  });
  it('keeps the event type from the SSE event line when the payload lacks it', () => {
    const body =
      'event: message_start\ndata: {"message":{"id":"m","model":"x","usage":{"input_tokens":1,"output_tokens":1}}}\n\n' +
      'event: message_stop\ndata: {}\n\n';
    const c = decodeOk({ target: '/v1/messages', reqBody: REQUEST, resBody: body });
    expect(c.response_id).toBe('m');
    expect(c.anomalies).toEqual([]);
  });
  it('counts invalid JSON events and goes on', () => {
    const body = sse(
      { type: 'message_start', message: { id: 'm', model: 'x', usage: { input_tokens: 1, output_tokens: 1 } } },
      '{not json',
      { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 4 } },
      { type: 'message_stop' },
    );
    const c = decodeOk({ target: '/v1/messages', reqBody: REQUEST, resBody: body });
    expect(c.anomalies).toEqual(['sse_invalid_json']);
    expect(c.finish_reason).toBe('stop');
  });
  it('drops the first message when a proxy splices a second message_start with a new id', () => {
    const body = sse(
      { type: 'message_start', message: { id: 'msg_first', model: 'x', usage: { input_tokens: 17, output_tokens: 1 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_first', name: 't', input: {} } },
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"v":"Spa' } },
      { type: 'message_start', message: { id: 'msg_second', model: 'x', usage: { input_tokens: 17, output_tokens: 1 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_second', name: 't', input: {} } },
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"v":"Sparkle"}' } },
      { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 65 } },
      { type: 'message_stop' },
    );
    const c = decodeOk({ target: '/v1/messages', reqBody: REQUEST, resBody: body });
    expect(c.response_id).toBe('msg_second');
    expect(c.tool_calls).toEqual([{ id: 'toolu_second', name: 't', arguments: '{"v":"Sparkle"}' }]);
    expect(c.anomalies).toContain('anthropic_duplicate_message_start');
  });
  it('marks a Vertex streamRawPredict call as streamed with the model from the path', () => {
    const c = decodeOk({
      target: '/v1/projects/p/locations/l/publishers/anthropic/models/claude-haiku-4-5:streamRawPredict',
      reqBody: { anthropic_version: 'vertex-2023-10-16', messages: [], max_tokens: 10 },
      resBody: toolStream(RES_START),
    });
    expect(c.request_model).toBe('claude-haiku-4-5');
    expect(c.stream).toBe(true);
    expect(c.tool_calls).toHaveLength(2);
  });
});

describe('anthropic messages: damaged requests and missing responses', () => {
  it('salvages the model from a request body cut by a cap', () => {
    const text = JSON.stringify({ model: 'claude-opus-4-1', messages: [{ role: 'user', content: 'x'.repeat(1000) }] }).slice(0, 300);
    const c = decodeOk({ target: '/v1/messages', reqBody: text, resBody: { id: 'm', type: 'message', content: [], usage: { input_tokens: 1, output_tokens: 1 } } });
    expect(c.request_model).toBe('claude-opus-4-1');
    expect(c.anomalies).toContain('anthropic_request_invalid_json');
  });
  it('returns the call with request facts when no response came', () => {
    const c = decodeOk({ target: '/v1/messages', reqBody: REQUEST, noResponse: true });
    expect(c.request_model).toBe('claude-sonnet-4-5');
    expect(c.tools_offered).toEqual(['get_weather', 'web_search']);
    expect(c.anomalies).toEqual(['anthropic_no_response']);
  });
  it('estimates input from the prompt when the wire has no usage at all', () => {
    const c = decodeOk({
      target: '/v1/messages',
      reqBody: REQUEST,
      resBody: sse(
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Sunny in Paris.' } },
        { type: 'message_stop' },
      ),
    });
    expect(c.usage.estimated).toBe(true);
    expect(c.usage.input_tokens).toBeGreaterThan(3);
    expect(c.usage.output_tokens).toBeGreaterThan(2);
  });
});

/** Everything but capture times, which depend on how the body was cut. */
function semantic(c: DecodedCall | null): unknown {
  if (c === null) return null;
  const { first_token: _f, last_token: _l, ...rest } = c;
  return rest;
}

describe('anthropic messages: byte splits and fuzz', () => {
  const whole = toolStream(RES_START)
    .map((c) => c.data as string)
    .join('');
  const bytes = new TextEncoder().encode(whole);
  const reference = semantic(dec.decode(makeExchange({ target: '/v1/messages', reqBody: REQUEST, resBody: whole })));

  it('gives the same call for the stream split at every offset', () => {
    for (let i = 1; i < bytes.length; i++) {
      const chunks: ChunkSpec[] = [
        { data: bytes.subarray(0, i), ts: RES_START },
        { data: bytes.subarray(i), ts: RES_START + 1 },
      ];
      expect(semantic(dec.decode(makeExchange({ target: '/v1/messages', reqBody: REQUEST, resBody: chunks })))).toEqual(reference);
    }
  });
  it('gives the same call for the stream fed one byte at a time', () => {
    const chunks: ChunkSpec[] = Array.from(bytes, (b, i) => ({ data: new Uint8Array([b]), ts: RES_START + i }));
    const c = dec.decode(makeExchange({ target: '/v1/messages', reqBody: REQUEST, resBody: chunks }));
    expect(semantic(c)).toEqual(reference);
    // Each content event completes at the byte that ends it: first_token is after message_start.
    expect(c!.first_token).toBeGreaterThan(RES_START + whole.indexOf('thinking_delta'));
  });
  it('never throws on random bytes as request or response body', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 100, max: 599 }), (a, b, status) => {
        const ex = makeExchange({ target: '/v1/messages', reqBody: new TextDecoder().decode(a), status, resBody: [{ data: b, ts: RES_START }] });
        const c = dec.decode(ex);
        expect(c).not.toBeNull();
      }),
      { numRuns: 300 },
    );
  });
  it('never throws on random Anthropic-shaped event sequences', () => {
    const anyJson = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean(), fc.dictionary(fc.string(), fc.string()));
    const event = fc.record({
      type: fc.constantFrom('message_start', 'content_block_start', 'content_block_delta', 'message_delta', 'message_stop', 'error', 'ping', 'x'),
      index: fc.oneof(fc.integer({ min: -1, max: 3 }), anyJson),
      message: fc.oneof(anyJson, fc.record({ id: anyJson, model: anyJson, usage: fc.oneof(anyJson, fc.record({ input_tokens: anyJson, output_tokens: anyJson })) })),
      content_block: fc.oneof(anyJson, fc.record({ type: fc.constantFrom('text', 'thinking', 'tool_use', 'server_tool_use', 'x'), text: anyJson, name: anyJson, input: anyJson })),
      delta: fc.oneof(anyJson, fc.record({ type: fc.constantFrom('text_delta', 'thinking_delta', 'input_json_delta', 'signature_delta'), text: anyJson, thinking: anyJson, partial_json: anyJson, stop_reason: anyJson })),
      usage: anyJson,
      error: anyJson,
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30 }), (events) => {
        const c = dec.decode(makeExchange({ target: '/v1/messages', reqBody: REQUEST, resBody: sse(...events) }));
        expect(c).not.toBeNull();
        expect(typeof c!.output_text).toBe('string');
      }),
      { numRuns: 300 },
    );
  });
});
