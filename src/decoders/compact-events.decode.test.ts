import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anthropicMessagesDecoder } from './anthropic-messages.js';
import { openaiChatDecoder } from './openai-chat.js';
import { openaiResponsesDecoder } from './openai-responses.js';
import { makeExchange, T0, type ChunkSpec } from './test-helpers.test-support.js';
import type { DecodedCall, WireDecoder } from './types.js';

// The decoders read the most frequent events through compact-events.ts without JSON.parse. Each
// property decodes a random stream twice: as the servers write it (compact: fast paths taken)
// and with every payload written `{ "…` (the same JSON, which no fast path takes), and the two
// calls must be equal: same text, ids, first/last token times, tool calls, anomalies.

type Ev = { event?: string; data: object | string };

function stream(events: readonly Ev[], spaced: boolean): ChunkSpec[] {
  return events.map((e, i) => {
    let d = typeof e.data === 'string' ? e.data : JSON.stringify(e.data);
    if (spaced && d.startsWith('{')) d = `{ ${d.slice(1)}`;
    const head = e.event === undefined ? '' : `event: ${e.event}\n`;
    return { data: `${head}data: ${d}\n\n`, ts: T0 + 1_000_000 + i * 1000 };
  });
}

function decodeBoth(decoder: WireDecoder, target: string, reqBody: object, events: readonly Ev[], headers?: Record<string, string>): [DecodedCall, DecodedCall] {
  const run = (spaced: boolean): DecodedCall => {
    const call = decoder.decode(
      makeExchange({ target, reqHeaders: headers, reqBody, resHeaders: { 'content-type': 'text/event-stream' }, resBody: stream(events, spaced) }),
    );
    if (call === null) throw new Error('decoder declined');
    return call;
  };
  const general = run(true);
  // An error call quotes the raw payload: quote it as the compact stream wrote it.
  if (general.error !== null && general.error.message.startsWith('{ ')) general.error.message = `{${general.error.message.slice(2)}`;
  return [run(false), general];
}

// Text with escapes, quotes, control characters, lone surrogates and astral characters.
const text = fc.oneof(fc.constantFrom('', 'Hi', ' there', '\n\n', '"q"\\', '\u0000\u001f', '\ud800', '😀'), fc.string({ unit: 'binary', maxLength: 6 }));

describe('chat decoder: compact content chunks read as JSON.parse reads them', () => {
  const head = { object: 'chat.completion.chunk', created: 1768467605 };
  // Compact chunks: content, reasoning_content, or a tool call's arguments (index 0–2).
  const delta = fc.oneof(
    text.map((t) => ({ content: t })),
    text.map((t) => ({ reasoning_content: t })),
    fc.tuple(fc.nat(2), text).map(([index, t]) => ({ tool_calls: [{ index, function: { arguments: t } }] })),
  );
  const content = fc
    .record({ id: fc.constantFrom('', 'chatcmpl-1', 'chatcmpl-\u00e9'), model: fc.constantFrom('', 'gpt-4o', 'm\\1'), delta, usage: fc.boolean() })
    .map(
      (r): Ev => ({
        data: {
          id: r.id,
          ...head,
          model: r.model,
          service_tier: 'default',
          system_fingerprint: 'fp_1',
          choices: [{ index: 0, delta: r.delta, logprobs: null, finish_reason: null }],
          ...(r.usage ? { usage: null } : {}),
        },
      }),
    );
  const other = fc.oneof(
    fc.constant<Ev>({ data: { id: 'chatcmpl-1', ...head, model: 'gpt-4o', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] } }),
    text.map((t): Ev => ({ data: { id: 'chatcmpl-1', ...head, model: 'gpt-4o', choices: [{ index: 0, delta: { reasoning_content: t }, finish_reason: null }] } })),
    fc.tuple(fc.nat(2), fc.constantFrom('call_1', 'call_2'), text).map(
      ([index, id, t]): Ev => ({ data: { id: 'x', ...head, model: 'gpt-4o', choices: [{ index: 0, delta: { tool_calls: [{ index, id, function: { name: 'f', arguments: t } }] } }] } }),
    ),
    fc.constant<Ev>({ data: { id: 'chatcmpl-1', ...head, model: 'gpt-4o', choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] } }),
    fc.constant<Ev>({ data: { id: 'chatcmpl-1', ...head, model: 'gpt-4o', choices: [], usage: { prompt_tokens: 5, completion_tokens: 2 } } }),
    fc.constant<Ev>({ data: '[DONE]' }),
    // A content chunk under `event: error` is an error, not content.
    content.map((e): Ev => ({ event: 'error', data: e.data })),
  );

  it('gives the same call as the general path', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(content, content, other), { maxLength: 12 }), (events) => {
        const [fast, general] = decodeBoth(openaiChatDecoder, '/v1/chat/completions', { model: 'gpt-4o', stream: true, messages: [] }, events);
        expect(fast).toEqual(general);
      }),
      { numRuns: 300 },
    );
  });
});

describe('responses decoder: compact output_text deltas read as JSON.parse reads them', () => {
  const delta = fc.record({ seq: fc.nat(99), delta: text, obf: fc.boolean() }).map(
    (r): Ev => ({
      event: 'response.output_text.delta',
      data: {
        type: 'response.output_text.delta',
        sequence_number: r.seq,
        item_id: 'msg_1',
        output_index: 0,
        content_index: 0,
        delta: r.delta,
        logprobs: [],
        ...(r.obf ? { obfuscation: 'abc' } : {}),
      },
    }),
  );
  const response = { id: 'resp_1', model: 'gpt-5', status: 'completed', output: [{ type: 'message', content: [{ type: 'output_text', text: 'whole' }] }] };
  const other = fc.oneof(
    fc.constant<Ev>({ data: { type: 'response.created', sequence_number: 0, response: { ...response, status: 'in_progress', output: [] } } }),
    // Reasoning summary deltas (compact: the fast path) across parts, and reasoning_text deltas
    // (general path only) that share the paragraph logic.
    fc.tuple(fc.constantFrom('rs_1', 'rs_\u00e9'), fc.nat(1), text).map(
      ([item, si, t]): Ev => ({ data: { type: 'response.reasoning_summary_text.delta', sequence_number: 3, item_id: item, output_index: 0, summary_index: si, delta: t } }),
    ),
    text.map((t): Ev => ({ data: { type: 'response.reasoning_text.delta', item_id: 'rs_1', output_index: 0, content_index: 0, delta: t } })),
    fc.constant<Ev>({ data: { type: 'response.completed', sequence_number: 9, response: { ...response, usage: { input_tokens: 3, output_tokens: 4 } } } }),
  );

  it('gives the same call as the general path', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(delta, delta, other), { maxLength: 12 }), (events) => {
        const [fast, general] = decodeBoth(openaiResponsesDecoder, '/v1/responses', { model: 'gpt-5', stream: true, input: 'hi' }, events);
        expect(fast).toEqual(general);
      }),
      { numRuns: 300 },
    );
  });
});

describe('anthropic decoder: compact block deltas read as JSON.parse reads them', () => {
  const kinds = [
    ['text_delta', 'text'],
    ['thinking_delta', 'thinking'],
    ['input_json_delta', 'partial_json'],
  ] as const;
  const delta = fc.record({ index: fc.nat(3), kind: fc.constantFrom(...kinds), piece: text }).map(
    (r): Ev => ({ event: 'content_block_delta', data: { type: 'content_block_delta', index: r.index, delta: { type: r.kind[0], [r.kind[1]]: r.piece } } }),
  );
  const blockStart = fc.record({ index: fc.nat(3), block: fc.constantFrom<object>({ type: 'text', text: '' }, { type: 'thinking', thinking: '' }, { type: 'tool_use', id: 't1', name: 'f', input: {} }) }).map(
    (r): Ev => ({ event: 'content_block_start', data: { type: 'content_block_start', index: r.index, content_block: r.block } }),
  );
  const other = fc.oneof(
    fc.constant<Ev>({ event: 'message_start', data: { type: 'message_start', message: { id: 'msg_1', model: 'claude', usage: { input_tokens: 3, output_tokens: 1 } } } }),
    fc.constant<Ev>({ event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 's' } } }),
    fc.constant<Ev>({ event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } } }),
    fc.constant<Ev>({ event: 'message_stop', data: { type: 'message_stop' } }),
  );

  it('gives the same call as the general path', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(delta, delta, blockStart, other), { maxLength: 14 }), (events) => {
        const [fast, general] = decodeBoth(anthropicMessagesDecoder, '/v1/messages', { model: 'claude', max_tokens: 5, stream: true, messages: [] }, events, {
          host: 'api.anthropic.com',
          'anthropic-version': '2023-06-01',
          'content-type': 'application/json',
        });
        expect(fast).toEqual(general);
      }),
      { numRuns: 300 },
    );
  });
});
