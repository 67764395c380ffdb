import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { geminiDecoder as dec } from './gemini.js';
import { makeExchange, sse, sseChunks, T0, type ChunkSpec } from './test-helpers.test-support.js';
import type { HttpRequest } from '../http/types.js';
import type { DecodedCall } from './types.js';

const DEV = '/v1beta/models/gemini-2.5-flash';
const VERTEX = '/v1/projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-pro';
const RES_START = T0 + 400_000;

function req(target: string, method = 'POST'): HttpRequest {
  return makeExchange({ target, method, reqBody: '{}' }).request;
}

function decodeOk(spec: Parameters<typeof makeExchange>[0]): DecodedCall {
  const call = dec.decode(makeExchange(spec));
  if (call === null) throw new Error('decoder returned null');
  return call;
}

const REQUEST = {
  contents: [{ role: 'user', parts: [{ text: 'Weather in Paris?' }] }],
  systemInstruction: { parts: [{ text: 'Be brief.' }] },
  tools: [{ functionDeclarations: [{ name: 'get_weather', parameters: { type: 'OBJECT' } }, { name: 'get_time' }] }, { googleSearch: {} }],
};

/** Three streamed chunks the way the Developer API sends them: thoughts, then text, usage
 * repeated cumulatively, the last one with finishReason. */
const CHUNKS = [
  {
    candidates: [{ content: { role: 'model', parts: [{ text: 'Thinking about Paris.', thought: true }] }, index: 0 }],
    usageMetadata: { promptTokenCount: 20, totalTokenCount: 20 },
    modelVersion: 'gemini-2.5-flash-001',
    responseId: 'resp-1',
  },
  {
    candidates: [{ content: { role: 'model', parts: [{ text: 'It is ' }] }, index: 0 }],
    usageMetadata: { promptTokenCount: 20, candidatesTokenCount: 2, thoughtsTokenCount: 30, totalTokenCount: 52 },
    modelVersion: 'gemini-2.5-flash-001',
    responseId: 'resp-1',
  },
  {
    candidates: [{ content: { role: 'model', parts: [{ text: 'sunny.' }] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: 20, cachedContentTokenCount: 8, candidatesTokenCount: 5, thoughtsTokenCount: 30, totalTokenCount: 55 },
    modelVersion: 'gemini-2.5-flash-001',
    responseId: 'resp-1',
  },
];

describe('gemini: routes', () => {
  it('matches generateContent and streamGenerateContent on the Developer API and Vertex', () => {
    expect(dec.matchRoute(req(`${DEV}:generateContent`))).toBe(true);
    expect(dec.matchRoute(req(`${DEV}:streamGenerateContent?alt=sse`))).toBe(true);
    expect(dec.matchRoute(req('/v1/models/gemini-pro:generateContent'))).toBe(true);
    expect(dec.matchRoute(req(`${VERTEX}:streamGenerateContent`))).toBe(true);
  });
  it('does not match other publishers, methods or GETs', () => {
    expect(dec.matchRoute(req('/v1/projects/p/locations/l/publishers/anthropic/models/claude:streamRawPredict'))).toBe(false);
    expect(dec.matchRoute(req('/v1/projects/p/locations/l/publishers/meta/models/llama:generateContent'))).toBe(false);
    expect(dec.matchRoute(req(`${DEV}:generateContent`, 'GET'))).toBe(false);
    expect(dec.matchRoute(req('/v1beta/models'))).toBe(false);
    expect(dec.matchRoute(req('/v1/chat/completions'))).toBe(false);
  });
  it('claims countTokens and embeddings but decodes them to null', () => {
    for (const m of ['countTokens', 'embedContent', 'batchEmbedContents']) {
      expect(dec.matchRoute(req(`${DEV}:${m}`))).toBe(true);
      expect(dec.decode(makeExchange({ target: `${DEV}:${m}`, reqBody: REQUEST, resBody: { totalTokens: 5 } }))).toBeNull();
    }
  });
  it('matches Gemini bodies by shape', () => {
    const r = req('/proxy/generate');
    expect(dec.matchBody(r, REQUEST)).toBe(true);
    expect(dec.matchBody(r, { model: 'gpt-4o', messages: [] })).toBe(false);
    expect(dec.matchBody(r, { contents: [{ role: 'user', content: 'x' }] })).toBe(false);
    expect(dec.matchBody(r, 'contents')).toBe(false);
  });
});

describe('gemini: generateContent', () => {
  const response = {
    candidates: [
      {
        content: {
          role: 'model',
          parts: [
            { text: 'I should call the tool.', thought: true },
            { text: 'Let me check.' },
            { functionCall: { name: 'get_weather', args: { city: 'Paris' } } },
            { functionCall: { id: 'fc-2', name: 'get_time', args: { tz: 'CET' } } },
          ],
        },
        finishReason: 'STOP',
        index: 0,
      },
    ],
    usageMetadata: {
      promptTokenCount: 100,
      cachedContentTokenCount: 60,
      toolUsePromptTokenCount: 7,
      candidatesTokenCount: 15,
      thoughtsTokenCount: 40,
      totalTokenCount: 162,
    },
    modelVersion: 'gemini-2.5-pro-002',
    responseId: 'abc',
  };
  const call = decodeOk({ target: `${VERTEX}:generateContent`, reqBody: REQUEST, resBody: response });

  it('reads model from the path and modelVersion/responseId from the response', () => {
    expect(call).toMatchObject({
      provider: 'google',
      api: 'gemini.generate_content',
      operation: 'generate_content',
      stream: false,
      request_model: 'gemini-2.5-pro',
      response_model: 'gemini-2.5-pro-002',
      response_id: 'abc',
      output_text: 'Let me check.',
      reasoning_text: 'I should call the tool.',
      first_token: null,
      last_token: null,
      error: null,
    });
  });
  it('reports function calls as tool calls; STOP with calls is tool_call', () => {
    expect(call.tool_calls).toEqual([
      { id: null, name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'fc-2', name: 'get_time', arguments: '{"tz":"CET"}' },
    ]);
    expect(call.finish_reason).toBe('tool_call');
    expect(call.finish_reason_raw).toBe('STOP');
  });
  it('lists declared functions and built-in tools as offered', () => {
    expect(call.tools_offered).toEqual(['get_weather', 'get_time', 'googleSearch']);
  });
  it('maps usageMetadata: prompt includes cache; output = candidates + thoughts; tool-use prompt is input', () => {
    expect(call.usage).toEqual({
      input_tokens: 107,
      output_tokens: 55,
      cache_read_tokens: 60,
      cache_write_tokens: null,
      reasoning_tokens: 40,
      estimated: false,
      raw: response.usageMetadata,
    });
  });
  it('maps MAX_TOKENS and SAFETY', () => {
    const r = (finishReason: string) => ({ candidates: [{ content: { parts: [{ text: 'x' }] }, finishReason }], usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1 } });
    expect(decodeOk({ target: `${DEV}:generateContent`, reqBody: REQUEST, resBody: r('MAX_TOKENS') }).finish_reason).toBe('length');
    expect(decodeOk({ target: `${DEV}:generateContent`, reqBody: REQUEST, resBody: r('SAFETY') }).finish_reason).toBe('content_filter');
  });
  it('reports a blocked prompt as content_filter', () => {
    const c = decodeOk({
      target: `${DEV}:generateContent`,
      reqBody: REQUEST,
      resBody: { promptFeedback: { blockReason: 'OTHER' }, usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 } },
    });
    expect(c.finish_reason).toBe('content_filter');
    expect(c.finish_reason_raw).toBe('OTHER');
    expect(c.usage).toMatchObject({ input_tokens: 9, output_tokens: 0, estimated: false });
  });
  it('reads the model of a tuned model path', () => {
    const c = decodeOk({ target: '/v1beta/tunedModels/my-model-123:generateContent', reqBody: REQUEST, resBody: response });
    expect(c.request_model).toBe('tunedModels/my-model-123');
  });
});

describe('gemini: errors', () => {
  it('reads {error:{code,message,status}} on HTTP errors', () => {
    const c = decodeOk({
      target: `${DEV}:generateContent`,
      reqBody: REQUEST,
      status: 429,
      resBody: { error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' } },
    });
    expect(c.error).toEqual({ type: 'RESOURCE_EXHAUSTED', message: 'Resource has been exhausted (e.g. check quota).' });
    expect(c.finish_reason).toBe('error');
    expect(c.usage.estimated).toBe(false);
  });
  it('reads an error element inside a streamed JSON array', () => {
    const body = `[${JSON.stringify(CHUNKS[0])},\r\n{"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}\r\n]`;
    const c = decodeOk({ target: `${DEV}:streamGenerateContent`, reqBody: REQUEST, resBody: body, resHeaders: { 'content-type': 'application/json' } });
    expect(c.error).toEqual({ type: 'UNAVAILABLE', message: 'The model is overloaded.' });
    expect(c.finish_reason).toBe('error');
    expect(c.reasoning_text).toBe('Thinking about Paris.');
  });
});

describe('gemini: streaming', () => {
  it('reads an SSE stream (alt=sse): last usage wins, times on content chunks', () => {
    const c = decodeOk({ target: `${DEV}:streamGenerateContent?alt=sse`, reqBody: REQUEST, resBody: sseChunks(RES_START, 20_000, ...CHUNKS) });
    expect(c).toMatchObject({
      stream: true,
      request_model: 'gemini-2.5-flash',
      response_model: 'gemini-2.5-flash-001',
      response_id: 'resp-1',
      output_text: 'It is sunny.',
      reasoning_text: 'Thinking about Paris.',
      finish_reason: 'stop',
      first_token: RES_START,
      last_token: RES_START + 40_000,
      anomalies: [],
    });
    expect(c.usage).toMatchObject({ input_tokens: 20, cache_read_tokens: 8, output_tokens: 35, reasoning_tokens: 30, estimated: false });
  });
  it('reads a JSON-array stream (no alt=sse) with per-element times', () => {
    const pieces: ChunkSpec[] = [
      { data: `[${JSON.stringify(CHUNKS[0])}`, ts: RES_START },
      { data: `,\r\n${JSON.stringify(CHUNKS[1])}`, ts: RES_START + 5_000 },
      { data: `,\r\n${JSON.stringify(CHUNKS[2])}\r\n]`, ts: RES_START + 9_000 },
    ];
    const c = decodeOk({ target: `${VERTEX}:streamGenerateContent`, reqBody: REQUEST, resBody: pieces, resHeaders: { 'content-type': 'application/json; charset=UTF-8' } });
    expect(c.stream).toBe(true);
    expect(c.output_text).toBe('It is sunny.');
    expect(c.first_token).toBe(RES_START);
    expect(c.last_token).toBe(RES_START + 9_000);
    expect(c.usage.output_tokens).toBe(35);
    expect(c.anomalies).toEqual([]);
  });
  it('ignores usageMetadata that carries no counts (Vertex sends only trafficType early on)', () => {
    const c = decodeOk({
      target: `${DEV}:streamGenerateContent?alt=sse`,
      reqBody: REQUEST,
      resBody: sse(CHUNKS[2]!, { candidates: [{ content: { parts: [{ text: '' }] }, index: 0 }], usageMetadata: { trafficType: 'ON_DEMAND' } }),
    });
    expect(c.usage.output_tokens).toBe(35);
  });
  it('rebuilds streamed function-call arguments from partialArgs', () => {
    const part = (functionCall: object) => ({ candidates: [{ content: { role: 'model', parts: [{ functionCall }] } }], usageMetadata: { trafficType: 'ON_DEMAND' } });
    const c = decodeOk({
      target: `${DEV}:streamGenerateContent?alt=sse`,
      reqBody: REQUEST,
      resBody: sse(
        part({ name: 'writeItems', willContinue: true }),
        part({ partialArgs: [{ jsonPath: '$.operations[0].action', stringValue: 'ad', willContinue: true }], willContinue: true }),
        part({ partialArgs: [{ jsonPath: '$.operations[0].action', stringValue: 'd' }], willContinue: true }),
        part({ partialArgs: [{ jsonPath: '$.operations[0].price', numberValue: 0.5 }, { jsonPath: "$['odd key']", boolValue: true }], willContinue: true }),
        part({}),
        part({ name: 'getWeather', willContinue: true }),
        part({ partialArgs: [{ jsonPath: '$.location', stringValue: 'Boston' }] }),
        {
          candidates: [{ content: { parts: [{ text: '' }] }, finishReason: 'STOP' }],
          usageMetadata: { promptTokenCount: 26, candidatesTokenCount: 23, thoughtsTokenCount: 132 },
        },
      ),
    });
    expect(c.tool_calls).toEqual([
      { id: null, name: 'writeItems', arguments: '{"operations":[{"action":"add","price":0.5}],"odd key":true}' },
      { id: null, name: 'getWeather', arguments: '{"location":"Boston"}' },
    ]);
    expect(c.finish_reason).toBe('tool_call');
    expect(c.usage.output_tokens).toBe(155);
  });
  it('refuses a forged huge array index in partialArgs', () => {
    const part = (functionCall: object) => ({ candidates: [{ content: { parts: [{ functionCall }] } }] });
    const c = decodeOk({
      target: `${DEV}:streamGenerateContent?alt=sse`,
      reqBody: REQUEST,
      resBody: sse(part({ name: 'f', willContinue: true }), part({ partialArgs: [{ jsonPath: '$.a[999999999]', numberValue: 1 }, { jsonPath: '$.__proto__.x', numberValue: 2 }], willContinue: true }), part({})),
    });
    expect(c.tool_calls[0]!.arguments).toBe('{"__proto__":{"x":2}}');
    expect(c.anomalies).toContain('gemini_partial_arg_index_cap');
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });
  it('reports an interrupted stream with what was generated', () => {
    const c = decodeOk({
      target: `${DEV}:streamGenerateContent?alt=sse`,
      reqBody: REQUEST,
      resBody: sseChunks(RES_START, 1_000, CHUNKS[0]!, CHUNKS[1]!),
      resBodyOptions: { incomplete: true },
    });
    expect(c.anomalies).toContain('gemini_stream_interrupted');
    expect(c.finish_reason).toBeNull();
    expect(c.output_text).toBe('It is ');
    // The last usage seen is the count so far (Gemini repeats it cumulatively).
    expect(c.usage).toMatchObject({ output_tokens: 32, estimated: false });
  });
  it('estimates when the stream carries no usage at all', () => {
    const c = decodeOk({
      target: `${DEV}:streamGenerateContent?alt=sse`,
      reqBody: REQUEST,
      resBody: sse({ candidates: [{ content: { parts: [{ text: 'Hello there, friend.' }] }, finishReason: 'STOP' }] }),
    });
    expect(c.usage.estimated).toBe(true);
    expect(c.usage.output_tokens).toBeGreaterThan(2);
    expect(c.usage.input_tokens).toBeGreaterThan(2);
  });
  it('returns request facts and an anomaly when no response came', () => {
    const c = decodeOk({ target: `${DEV}:streamGenerateContent?alt=sse`, reqBody: REQUEST, noResponse: true });
    expect(c.request_model).toBe('gemini-2.5-flash');
    expect(c.stream).toBe(true);
    expect(c.anomalies).toEqual(['gemini_no_response']);
  });
});

function semantic(c: DecodedCall | null): unknown {
  if (c === null) return null;
  const { first_token: _f, last_token: _l, ...rest } = c;
  return rest;
}

describe('gemini: byte splits and fuzz', () => {
  const enc = new TextEncoder();
  const cases: [string, string][] = [
    ['sse', `${DEV}:streamGenerateContent?alt=sse`],
    ['json-array', `${DEV}:streamGenerateContent`],
  ];
  for (const [kind, target] of cases) {
    const whole = kind === 'sse' ? sse(...CHUNKS) : `[${CHUNKS.map((c) => JSON.stringify(c, null, 2)).join(',\r\n')}]`;
    const bytes = enc.encode(whole);
    const headers = { 'content-type': kind === 'sse' ? 'text/event-stream' : 'application/json' };
    const reference = semantic(dec.decode(makeExchange({ target, reqBody: REQUEST, resBody: whole, resHeaders: headers })));

    it(`${kind}: same call for the body split at every offset and one byte at a time`, () => {
      expect(reference).toMatchObject({ output_text: 'It is sunny.', anomalies: [] });
      for (let i = 1; i < bytes.length; i++) {
        const chunks: ChunkSpec[] = [
          { data: bytes.subarray(0, i), ts: RES_START },
          { data: bytes.subarray(i), ts: RES_START + 1 },
        ];
        expect(semantic(dec.decode(makeExchange({ target, reqBody: REQUEST, resBody: chunks, resHeaders: headers })))).toEqual(reference);
      }
      const single: ChunkSpec[] = Array.from(bytes, (b, i) => ({ data: new Uint8Array([b]), ts: RES_START + i }));
      expect(semantic(dec.decode(makeExchange({ target, reqBody: REQUEST, resBody: single, resHeaders: headers })))).toEqual(reference);
    });
  }
  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.uint8Array({ maxLength: 400 }), fc.boolean(), fc.integer({ min: 100, max: 599 }), (a, b, stream, status) => {
        const target = stream ? `${DEV}:streamGenerateContent` : `${DEV}:generateContent`;
        const c = dec.decode(makeExchange({ target, reqBody: new TextDecoder().decode(a), status, resBody: [{ data: b, ts: RES_START }] }));
        expect(c).not.toBeNull();
      }),
      { numRuns: 300 },
    );
  });
  it('never throws on random Gemini-shaped chunks', () => {
    const anyJson = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.boolean(), fc.dictionary(fc.string(), fc.string()));
    const part = fc.record({
      text: fc.oneof(fc.string(), anyJson),
      thought: anyJson,
      functionCall: fc.oneof(
        anyJson,
        fc.record({
          name: anyJson,
          args: anyJson,
          willContinue: fc.boolean(),
          partialArgs: fc.oneof(anyJson, fc.array(fc.record({ jsonPath: fc.oneof(fc.string(), fc.constantFrom('$.a', '$.a[3].b', "$['x']", '$[0]', '$..')), stringValue: anyJson, numberValue: anyJson }))),
        }),
      ),
    });
    const chunk = fc.record({
      candidates: fc.oneof(anyJson, fc.array(fc.record({ content: fc.oneof(anyJson, fc.record({ parts: fc.oneof(anyJson, fc.array(part, { maxLength: 4 })) })), finishReason: anyJson, index: anyJson }), { maxLength: 2 })),
      usageMetadata: fc.oneof(anyJson, fc.record({ promptTokenCount: anyJson, candidatesTokenCount: anyJson, thoughtsTokenCount: anyJson })),
      error: fc.oneof(fc.constant(undefined), anyJson),
    });
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 10 }), (chunks) => {
        const c = dec.decode(makeExchange({ target: `${DEV}:streamGenerateContent?alt=sse`, reqBody: REQUEST, resBody: sse(...chunks) }));
        expect(c).not.toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});
