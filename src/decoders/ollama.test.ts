import { describe, expect, it } from 'vitest';
import { ollamaChatDecoder, ollamaGenerateDecoder } from './ollama.js';
import { decodeExchange } from './registry.js';
import { makeExchange, T0, type ChunkSpec } from './test-helpers.test-support.js';
import type { DecodedCall } from './types.js';

const NDJSON = { 'content-type': 'application/x-ndjson' };
const HOST = { host: '127.0.0.1:11434', 'content-type': 'application/json' };

/** NDJSON lines, one per chunk, 20 ms apart after the response start. */
function lines(...objs: object[]): ChunkSpec[] {
  return objs.map((o, i) => ({ data: `${JSON.stringify(o)}\n`, ts: T0 + 100_000 + i * 20_000 }));
}

const FINAL = {
  done: true,
  done_reason: 'stop',
  total_duration: 4_218_611_084,
  load_duration: 1_797_788_834,
  prompt_eval_count: 17,
  prompt_eval_duration: 167_135_000,
  eval_count: 71,
  eval_duration: 2_252_182_000,
};

function decodeVia(spec: Parameters<typeof makeExchange>[0]): DecodedCall {
  const r = decodeExchange(makeExchange(spec));
  if (!('call' in r)) throw new Error(`not decoded: ${r.notLlm}`);
  return r.call;
}

describe('ollama /api/chat', () => {
  it('decodes an NDJSON stream: text, counts, durations, finish and token times', () => {
    const call = decodeVia({
      target: '/api/chat',
      reqHeaders: HOST,
      reqBody: { model: 'llama3.1', messages: [{ role: 'user', content: 'Tell me a joke' }] },
      resHeaders: NDJSON,
      resBody: lines(
        { model: 'llama3.1', message: { role: 'assistant', content: 'Why' }, done: false },
        { model: 'llama3.1', message: { role: 'assistant', content: ' not?' }, done: false },
        { model: 'llama3.1', message: { role: 'assistant', content: '' }, ...FINAL },
      ),
    });
    expect(call).toMatchObject({
      provider: 'ollama',
      api: 'ollama.chat',
      operation: 'chat',
      stream: true,
      request_model: 'llama3.1',
      response_model: 'llama3.1',
      output_text: 'Why not?',
      finish_reason: 'stop',
      finish_reason_raw: 'stop',
      first_token: T0 + 100_000,
      last_token: T0 + 120_000,
      error: null,
      anomalies: [],
    });
    expect(call.usage).toMatchObject({ input_tokens: 17, output_tokens: 71, estimated: false });
    expect(call.usage.raw).toEqual({
      prompt_eval_count: 17,
      eval_count: 71,
      total_duration: 4_218_611_084,
      load_duration: 1_797_788_834,
      prompt_eval_duration: 167_135_000,
      eval_duration: 2_252_182_000,
    });
  });

  it('decodes stream: false (one JSON object) with tool calls and thinking', () => {
    const call = decodeVia({
      target: '/api/chat',
      reqHeaders: HOST,
      reqBody: {
        model: 'qwen3',
        stream: false,
        think: true,
        messages: [{ role: 'user', content: 'weather in Paris?' }],
        tools: [{ type: 'function', function: { name: 'get_weather', parameters: {} } }],
      },
      resHeaders: { 'content-type': 'application/json; charset=utf-8' },
      resBody: {
        model: 'qwen3',
        message: {
          role: 'assistant',
          content: '',
          thinking: 'The user wants the weather.',
          tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }],
        },
        ...FINAL,
      },
    });
    expect(call.stream).toBe(false);
    expect(call.tools_offered).toEqual(['get_weather']);
    expect(call.tool_calls).toEqual([{ id: null, name: 'get_weather', arguments: '{"city":"Paris"}' }]);
    expect(call.reasoning_text).toBe('The user wants the weather.');
    // Ollama says `stop` when the model called a tool: the caller has to act on the call.
    expect(call.finish_reason).toBe('tool_call');
    expect(call.first_token).toBeNull();
  });

  it('reports an interrupted stream and estimates what it generated', () => {
    const call = ollamaChatDecoder.decode(
      makeExchange({
        target: '/api/chat',
        reqBody: { model: 'llama3.1', messages: [{ role: 'user', content: 'hello there' }] },
        resHeaders: NDJSON,
        resBody: lines({ model: 'llama3.1', message: { role: 'assistant', content: 'Hello! How' }, done: false }),
        resBodyOptions: { incomplete: true },
      }),
    )!;
    expect(call.finish_reason).toBeNull();
    expect(call.anomalies).toContain('ollama_stream_interrupted');
    expect(call.output_text).toBe('Hello! How');
    expect(call.usage.estimated).toBe(true);
    expect(call.usage.output_tokens).toBeGreaterThan(0);
  });

  it('reports an HTTP error and an error line in a 200 stream', () => {
    const notFound = ollamaChatDecoder.decode(
      makeExchange({ target: '/api/chat', reqBody: { model: 'nope', messages: [] }, status: 404, resBody: { error: "model 'nope' not found" } }),
    )!;
    expect(notFound.error).toEqual({ type: 'ollama_error', message: "model 'nope' not found" });
    expect(notFound.finish_reason).toBe('error');
    expect(notFound.usage.estimated).toBe(false);

    const inStream = ollamaChatDecoder.decode(
      makeExchange({
        target: '/api/chat',
        reqBody: { model: 'llama3.1', messages: [{ role: 'user', content: 'x' }] },
        resHeaders: NDJSON,
        resBody: lines({ model: 'llama3.1', message: { role: 'assistant', content: 'A' }, done: false }, { error: 'an error was encountered while running the model' }),
      }),
    )!;
    expect(inStream.error?.message).toBe('an error was encountered while running the model');
    expect(inStream.finish_reason).toBe('error');
    expect(inStream.output_text).toBe('A');
  });

  it('never throws on junk and counts it', () => {
    const call = ollamaChatDecoder.decode(
      makeExchange({ target: '/api/chat', reqBody: '{"model":"x", "mess', resHeaders: NDJSON, resBody: 'garbage\n{"also": broken\n' }),
    )!;
    expect(call.request_model).toBe('x');
    expect(call.anomalies).toEqual(expect.arrayContaining(['ollama_request_invalid_json', 'ndjson_invalid_json']));
  });
});

describe('ollama /api/generate', () => {
  it('decodes the response text and keeps the thinking apart', () => {
    const call = ollamaGenerateDecoder.decode(
      makeExchange({
        target: '/api/generate',
        reqBody: { model: 'deepseek-r1', prompt: 'Why is the sky blue?' },
        resHeaders: NDJSON,
        resBody: lines(
          { model: 'deepseek-r1', thinking: 'Rayleigh', response: '', done: false },
          { model: 'deepseek-r1', response: 'Scattering.', done: false },
          { model: 'deepseek-r1', response: '', context: [1, 2, 3], ...FINAL, done_reason: 'length' },
        ),
      }),
    )!;
    expect(call).toMatchObject({ api: 'ollama.generate', operation: 'text_completion', output_text: 'Scattering.', finish_reason: 'length', stream: true });
    // `thinking` is a top-level field on /api/generate lines.
    expect(call.reasoning_text).toBe('Rayleigh');
    expect(call.first_token).toBe(T0 + 100_000);
    expect(call.usage.input_tokens).toBe(17);
  });

  it('is found behind a gateway path by its Ollama-only fields, and not otherwise', () => {
    const r = decodeExchange(makeExchange({ target: '/llm/x', reqBody: { model: 'llama3', prompt: 'hi', options: { temperature: 0 } }, resBody: { model: 'llama3', response: 'yo', ...FINAL } }));
    expect('call' in r && r.call.api).toBe('ollama.generate');
    const chat = decodeExchange(makeExchange({ target: '/llm/x', reqBody: { model: 'llama3', messages: [], keep_alive: '5m' }, resBody: { model: 'llama3', message: { content: 'yo' }, ...FINAL } }));
    expect('call' in chat && chat.call.api).toBe('ollama.chat');
    const openai = decodeExchange(makeExchange({ target: '/llm/x', reqBody: { model: 'llama3', messages: [] }, resBody: {} }));
    expect('call' in openai && openai.call.api).toBe('openai.chat_completions');
  });
});

describe('ollama stream split at every offset', () => {
  it('decodes the same whatever the chunking', () => {
    const text = [
      { model: 'llama3', message: { role: 'assistant', content: 'Héllo' }, done: false },
      { model: 'llama3', message: { role: 'assistant', content: ' wörld 🌍' }, done: false },
      { model: 'llama3', message: { role: 'assistant', content: '' }, ...FINAL },
    ]
      .map((o) => `${JSON.stringify(o)}\n`)
      .join('');
    const bytes = new TextEncoder().encode(text);
    const want = { output_text: 'Héllo wörld 🌍', finish_reason: 'stop', input: 17, output: 71 };
    for (let k = 0; k <= bytes.length; k++) {
      const call = ollamaChatDecoder.decode(
        makeExchange({
          target: '/api/chat',
          reqBody: { model: 'llama3', messages: [] },
          resHeaders: NDJSON,
          resBody: [
            { data: bytes.subarray(0, k), ts: T0 + 100_000 },
            { data: bytes.subarray(k), ts: T0 + 200_000 },
          ],
        }),
      )!;
      expect({ output_text: call.output_text, finish_reason: call.finish_reason, input: call.usage.input_tokens, output: call.usage.output_tokens }, `split at ${k}`).toEqual(want);
      expect(call.anomalies, `split at ${k}`).toEqual([]);
    }
  });
});

