import { describe, expect, it } from 'vitest';
import { decodeExchange } from './registry.js';
import { makeExchange, T0 } from './test-helpers.test-support.js';
import { EVENTSTREAM, frames } from './bedrock-test-helpers.test-support.js';
import type { DecodedCall } from './types.js';
import type { HttpExchange } from '../http/types.js';

function decoded(ex: HttpExchange): DecodedCall {
  const r = decodeExchange(ex);
  if (!('call' in r)) throw new Error(`not decoded: ${r.notLlm}`);
  return r.call;
}

const REQUEST = {
  messages: [{ role: 'user', content: [{ text: 'Weather in Paris?' }] }],
  system: [{ text: 'Be brief.' }],
  toolConfig: { tools: [{ toolSpec: { name: 'get_weather', inputSchema: { json: {} } } }] },
};
const HOST = { host: 'bedrock-runtime.us-east-1.amazonaws.com', 'content-type': 'application/json' };

describe('Bedrock Converse', () => {
  it('reads a whole answer: model from the URL-encoded path, text, tool call, usage with cache', () => {
    const call = decoded(
      makeExchange({
        target: '/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse',
        reqHeaders: HOST,
        reqBody: REQUEST,
        resBody: {
          output: { message: { role: 'assistant', content: [{ text: 'Checking.' }, { toolUse: { toolUseId: 't1', name: 'get_weather', input: { city: 'Paris' } } }] } },
          stopReason: 'tool_use',
          usage: { inputTokens: 2, outputTokens: 5, cacheReadInputTokens: 100, cacheWriteInputTokens: 20, totalTokens: 127 },
          metrics: { latencyMs: 300 },
        },
      }),
    );
    expect(call).toMatchObject({
      provider: 'aws',
      api: 'bedrock.converse',
      stream: false,
      request_model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      output_text: 'Checking.',
      finish_reason: 'tool_call',
      finish_reason_raw: 'tool_use',
      tools_offered: ['get_weather'],
      tool_calls: [{ id: 't1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
    });
    // DESIGN §3: input includes cache reads and writes (2 + 100 + 20).
    expect(call.usage).toMatchObject({ input_tokens: 122, output_tokens: 5, cache_read_tokens: 100, cache_write_tokens: 20, estimated: false });
  });

  it('keeps an ARN model id whole', () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123';
    const call = decoded(
      makeExchange({
        target: `/model/${encodeURIComponent(arn)}/converse`,
        reqBody: REQUEST,
        resBody: { output: { message: { content: [{ text: 'hi' }] } }, stopReason: 'end_turn', usage: { inputTokens: 1, outputTokens: 1 } },
      }),
    );
    expect(call.request_model).toBe(arn);
    expect(call.finish_reason).toBe('stop');
  });

  it('reads an error answer with its x-amzn-ErrorType', () => {
    const call = decoded(
      makeExchange({
        target: '/model/us.does-not-exist-v1%3A0/converse',
        reqBody: REQUEST,
        status: 400,
        resHeaders: { 'content-type': 'application/json', 'x-amzn-errortype': 'ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/' },
        resBody: { message: 'The provided model identifier is invalid.' },
      }),
    );
    expect(call.error).toEqual({ type: 'ValidationException', message: 'The provided model identifier is invalid.' });
    expect(call.finish_reason).toBe('error');
  });

  const stream = frames(
    T0 + 200_000,
    10_000,
    ['messageStart', { role: 'assistant' }],
    ['contentBlockDelta', { contentBlockIndex: 0, delta: { reasoningContent: { text: 'Think.' } } }],
    ['contentBlockDelta', { contentBlockIndex: 1, delta: { text: 'Let me ' } }],
    ['contentBlockDelta', { contentBlockIndex: 1, delta: { text: 'check.' } }],
    ['contentBlockStart', { contentBlockIndex: 2, start: { toolUse: { toolUseId: 'tu_1', name: 'get_weather' } } }],
    ['contentBlockDelta', { contentBlockIndex: 2, delta: { toolUse: { input: '{"city":' } } }],
    ['contentBlockDelta', { contentBlockIndex: 2, delta: { toolUse: { input: '"Paris"}' } } }],
    ['contentBlockStop', { contentBlockIndex: 2 }],
    ['messageStop', { stopReason: 'tool_use' }],
    ['metadata', { usage: { inputTokens: 30, outputTokens: 12, totalTokens: 42 }, metrics: { latencyMs: 90 } }],
  );

  it('reads ConverseStream: text, reasoning, tool input deltas, stop reason, usage, token times', () => {
    const call = decoded(makeExchange({ target: '/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream', reqBody: REQUEST, resHeaders: EVENTSTREAM, resBody: stream }));
    expect(call).toMatchObject({
      stream: true,
      output_text: 'Let me check.',
      reasoning_text: 'Think.',
      tool_calls: [{ id: 'tu_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
      finish_reason: 'tool_call',
      first_token: T0 + 210_000,
      last_token: T0 + 260_000,
      anomalies: [],
    });
    expect(call.usage).toMatchObject({ input_tokens: 30, output_tokens: 12, estimated: false });
  });

  it('recognises the frames under another Content-Type (a relabelling proxy)', () => {
    const call = decoded(makeExchange({ target: '/model/m/converse-stream', reqBody: REQUEST, resHeaders: { 'content-type': 'application/octet-stream' }, resBody: stream }));
    expect(call).toMatchObject({ stream: true, output_text: 'Let me check.', finish_reason: 'tool_call' });
  });

  it('reports an interrupted stream with what came, estimates the missing counts', () => {
    const call = decoded(
      makeExchange({
        target: '/model/m/converse-stream',
        reqBody: REQUEST,
        resHeaders: EVENTSTREAM,
        resBody: stream.slice(0, 4),
        resBodyOptions: { incomplete: true },
      }),
    );
    expect(call.output_text).toBe('Let me check.');
    expect(call.finish_reason).toBeNull();
    expect(call.anomalies).toContain('bedrock_stream_interrupted');
    expect(call.usage.estimated).toBe(true);
    expect(call.usage.output_tokens).toBeGreaterThan(0);
  });

  it('turns an exception frame into the call error', () => {
    const call = decoded(
      makeExchange({
        target: '/model/m/converse-stream',
        reqBody: REQUEST,
        resHeaders: EVENTSTREAM,
        resBody: [...stream.slice(0, 3), ...frames(T0 + 300_000, 1, ['throttlingException', { message: 'Too many requests' }, 'exception'])],
      }),
    );
    expect(call.error).toEqual({ type: 'throttlingException', message: 'Too many requests' });
    expect(call.finish_reason).toBe('error');
    expect(call.output_text).toBe('Let me ');
  });

  it('names a corrupt frame and keeps what came before it', () => {
    const corrupt = stream.map((c) => ({ ...c, data: Buffer.from(c.data as Uint8Array) }));
    const bad = corrupt[3]!.data;
    bad.writeUInt8(bad.readUInt8(2) ^ 0xff, 2);
    const call = decoded(makeExchange({ target: '/model/m/converse-stream', reqBody: REQUEST, resHeaders: EVENTSTREAM, resBody: corrupt }));
    expect(call.output_text).toBe('Let me ');
    expect(call.anomalies).toEqual(expect.arrayContaining(['eventstream_prelude_crc_mismatch', 'bedrock_stream_interrupted']));
  });
});
