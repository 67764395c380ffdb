import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_COMPACT_EVENT_CHARS,
  jsonStringText,
  matchBlockDelta,
  matchChatChunkPiece,
  matchOutputTextDelta,
  matchReasoningSummaryDelta,
  type ChatChunkPiece,
} from './compact-events.js';

// The matchers may decline anything (the caller then runs JSON.parse); what they must never do is
// accept text that JSON.parse rejects or reads differently. Each `viaJsonParse*` says what the
// decoder would read of the JSON.parse result, and fails the test when that is not what the fast
// path assumed.

function parsed(data: string): Record<string, unknown> {
  const o = JSON.parse(data) as unknown; // throws (fails the test) on text the matcher wrongly took
  expect(typeof o === 'object' && o !== null && !Array.isArray(o)).toBe(true);
  return o as Record<string, unknown>;
}

/** Fails unless the fast result is exactly what openai-chat.ts decodeStream reads of the object. */
function checkChat(data: string): void {
  const fast = matchChatChunkPiece(data);
  if (fast === null) return;
  const o = parsed(data);
  expect(o['error']).toBeUndefined();
  expect(o['x_groq']).toBeUndefined();
  expect(o['usage'] ?? null).toBeNull();
  expect(jsonStringText(fast.idBody)).toBe(o['id']);
  expect(jsonStringText(fast.modelBody)).toBe(o['model']);
  const delta =
    fast.kind === 'content'
      ? { content: fast.piece }
      : fast.kind === 'reasoning'
        ? { reasoning_content: fast.piece }
        : { tool_calls: [{ index: fast.toolIndex, function: { arguments: fast.piece } }] };
  const choice: Record<string, unknown> = { index: 0, delta, finish_reason: null };
  // `logprobs: null` is optional (vLLM and llama.cpp leave it out); the decoder does not read it.
  const choices = o['choices'] as Record<string, unknown>[];
  if (Array.isArray(choices) && choices.length > 0 && 'logprobs' in choices[0]!) choice['logprobs'] = null;
  expect(choices).toEqual([choice]);
}

/** The content piece of a chat chunk taken by the fast path, or null. */
function chatContent(data: string): string | null {
  const m: ChatChunkPiece | null = matchChatChunkPiece(data);
  return m !== null && m.kind === 'content' ? m.piece : null;
}

/** … what openai-responses.ts reads of an output_text.delta event: its type and delta. */
function checkOutputTextDelta(data: string): void {
  const fast = matchOutputTextDelta(data);
  if (fast === null) return;
  const o = parsed(data);
  expect(o['type']).toBe('response.output_text.delta');
  expect(o['delta']).toBe(fast);
}

/** … what openai-responses.ts reads of a reasoning summary delta: type, item_id, summary_index
 * (content_index when absent), delta. */
function checkReasoningSummaryDelta(data: string): void {
  const fast = matchReasoningSummaryDelta(data);
  if (fast === null) return;
  const o = parsed(data);
  expect(o['type']).toBe('response.reasoning_summary_text.delta');
  expect(jsonStringText(fast.itemIdBody)).toBe(o['item_id']);
  expect(o['summary_index']).toBe(fast.summaryIndex);
  expect(o['delta']).toBe(fast.delta);
}

/** … what anthropic-messages.ts reads of a content_block_delta. */
function checkBlockDelta(data: string): void {
  const fast = matchBlockDelta(data);
  if (fast === null) return;
  const o = parsed(data);
  expect(o['type']).toBe('content_block_delta');
  expect(o['index']).toBe(fast.index);
  const field = { text_delta: 'text', thinking_delta: 'thinking', input_json_delta: 'partial_json' }[fast.type];
  expect(o['delta']).toEqual({ type: fast.type, [field]: fast.piece });
}

const checkAll = (data: string): void => {
  checkChat(data);
  checkOutputTextDelta(data);
  checkReasoningSummaryDelta(data);
  checkBlockDelta(data);
};

// Real events (the 200 MB bench mix and recorded api.openai.com / api.anthropic.com streams).
const CHAT =
  '{"id":"chatcmpl-D2cGWdOy5T2XLSwWJA3BnYZ7Yg8aQ","object":"chat.completion.chunk","created":1768467605,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_151a22e271","choices":[{"index":0,"delta":{"content":" is,"},"logprobs":null,"finish_reason":null}],"usage":null}';
const CHAT_GROQ =
  '{"id":"chatcmpl-532a6640-2e18-4a4c-8406-8437a857ce48","object":"chat.completion.chunk","created":1739948145,"model":"llama3-8b-8192","system_fingerprint":"fp_179b0f92c9","choices":[{"index":0,"delta":{"content":"A"},"logprobs":null,"finish_reason":null}]}';
const CHAT_OBFUSCATED =
  '{"id":"chatcmpl-DPTOvF5JuGlXgYrrfyNsKaLXC8lPH","object":"chat.completion.chunk","created":1774963589,"model":"gpt-3.5-turbo-0125","service_tier":"default","system_fingerprint":null,"choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}],"obfuscation":"rW"}';
const CHAT_NO_LOGPROBS =
  '{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1739948145,"model":"qwen","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}';
const CHAT_TOOL_ARGS =
  '{"id":"chatcmpl-eskAz49H9EEYCvJQBOzhQZvWvqjuV","object":"chat.completion.chunk","created":1768467603,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_963ab3022e","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"mand\\":\\"rg -"}}]},"logprobs":null,"finish_reason":null}],"usage":null}';
const CHAT_REASONING =
  '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1768467603,"model":"deepseek-reasoner","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"reasoning_content":"."},"logprobs":null,"finish_reason":null}]}';
const OUTPUT_DELTA =
  '{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_0786f8f250c4d4490069120b2a73648190a01076e12501bc76","output_index":0,"content_index":0,"delta":"1","logprobs":[],"obfuscation":"pgN6OMeaej1652d"}';
const SUMMARY_DELTA =
  '{"type":"response.reasoning_summary_text.delta","sequence_number":4,"item_id":"rs_41b684f648ae605683394362fc54755fb7beb3b37c0acea9","output_index":0,"summary_index":1,"delta":" memory index"}';
const BLOCK_TEXT = '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\\n\\n"}}';
const BLOCK_PADDED = '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ry-"}            }';
const BLOCK_TOOL = '{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{\\"path\\": \\"sr"}}';

describe('compact event matchers on long events', () => {
  it('leave events over the length cap to JSON.parse, without throwing on millions of escapes', () => {
    // 4 Mi escape sequences overflow irregexp's backtrack stack (RangeError) without the cap.
    const escapes = '\\n'.repeat(4 * 1024 * 1024);
    expect(matchBlockDelta(BLOCK_TEXT.replace('\\n\\n', escapes))).toBeNull();
    expect(matchChatChunkPiece(CHAT.replace(' is,', escapes))).toBeNull();
    expect(matchOutputTextDelta(OUTPUT_DELTA.replace('"delta":"1"', `"delta":"${escapes}"`))).toBeNull();
    expect(matchReasoningSummaryDelta(SUMMARY_DELTA.replace(' memory index', escapes))).toBeNull();
    // Just under the cap: still taken.
    const text = 'a'.repeat(MAX_COMPACT_EVENT_CHARS - BLOCK_TEXT.length + 4);
    const atCap = BLOCK_TEXT.replace('\\n\\n', text);
    expect(atCap.length).toBe(MAX_COMPACT_EVENT_CHARS);
    expect(matchBlockDelta(atCap)?.piece).toBe(text);
    expect(matchBlockDelta(atCap.replace('aa', 'aaa'))).toBeNull();
  });
});

describe('compact event matchers on real events', () => {
  it('take the events the servers send, with the values JSON.parse gives', () => {
    expect(matchChatChunkPiece(CHAT)).toEqual({ idBody: 'chatcmpl-D2cGWdOy5T2XLSwWJA3BnYZ7Yg8aQ', modelBody: 'gpt-4o-2024-08-06', kind: 'content', toolIndex: -1, piece: ' is,' });
    expect(chatContent(CHAT_GROQ)).toBe('A');
    expect(chatContent(CHAT_OBFUSCATED)).toBe('Hi');
    expect(chatContent(CHAT_NO_LOGPROBS)).toBe('Hello');
    expect(matchChatChunkPiece(CHAT_TOOL_ARGS)).toMatchObject({ kind: 'tool_arguments', toolIndex: 1, piece: 'mand":"rg -' });
    expect(matchChatChunkPiece(CHAT_REASONING)).toMatchObject({ kind: 'reasoning', toolIndex: -1, piece: '.' });
    expect(matchOutputTextDelta(OUTPUT_DELTA)).toBe('1');
    expect(matchReasoningSummaryDelta(SUMMARY_DELTA)).toEqual({ itemIdBody: 'rs_41b684f648ae605683394362fc54755fb7beb3b37c0acea9', summaryIndex: 1, delta: ' memory index' });
    expect(matchReasoningSummaryDelta(SUMMARY_DELTA.replace('}', ',"obfuscation":"x1"}'))?.delta).toBe(' memory index');
    expect(matchBlockDelta(BLOCK_TEXT)).toEqual({ index: 0, type: 'text_delta', piece: '\n\n' });
    expect(matchBlockDelta(BLOCK_PADDED)).toEqual({ index: 0, type: 'text_delta', piece: 'ry-' });
    expect(matchBlockDelta(BLOCK_TOOL)).toEqual({ index: 3, type: 'input_json_delta', piece: '{"path": "sr' });
    for (const e of [CHAT, CHAT_GROQ, CHAT_OBFUSCATED, CHAT_NO_LOGPROBS, CHAT_TOOL_ARGS, CHAT_REASONING, OUTPUT_DELTA, SUMMARY_DELTA, BLOCK_TEXT, BLOCK_PADDED, BLOCK_TOOL]) checkAll(e);
  });

  it('decline what the decoders must read in full', () => {
    // Another choice, a finish reason, usage, a role, an error member, a tool call.
    expect(matchChatChunkPiece(CHAT.replace('"index":0', '"index":1'))).toBeNull();
    expect(matchChatChunkPiece(CHAT.replace('"finish_reason":null', '"finish_reason":"stop"'))).toBeNull();
    expect(matchChatChunkPiece(CHAT.replace('"usage":null', '"usage":{"prompt_tokens":1}'))).toBeNull();
    expect(matchChatChunkPiece(CHAT.replace('"delta":{', '"delta":{"role":"assistant",'))).toBeNull();
    expect(matchChatChunkPiece(CHAT.replace('"usage":null', '"usage":null,"error":{}'))).toBeNull();
    expect(matchOutputTextDelta(OUTPUT_DELTA.replace('output_text', 'refusal'))).toBeNull();
    // Another piece field than the delta type's (the decoder would take no piece).
    expect(matchBlockDelta(BLOCK_TEXT.replace('"text":', '"thinking":'))).toBeNull();
    expect(matchBlockDelta(BLOCK_TEXT.replace('text_delta', 'signature_delta'))).toBeNull();
  });

  it('decline duplicated keys (JSON.parse keeps the last), extra members and whitespace variants', () => {
    const dup = [
      CHAT.replace('"choices"', '"id":"other","choices"'),
      CHAT.replace('"content":" is,"', '"content":" is,","content":"x"'),
      CHAT.replace('"usage":null', '"usage":null,"usage":{"prompt_tokens":3}'),
      OUTPUT_DELTA.replace('"logprobs"', '"delta":"2","logprobs"'),
      BLOCK_TEXT.replace('"text":"\\n\\n"', '"text":"\\n\\n","text":"x"'),
      BLOCK_TEXT.replace('"index":0,', '"index":0,"index":1,'),
      CHAT.replace('{"id"', '{ "id"'),
      CHAT.replace('"model":', '"model" :'),
      OUTPUT_DELTA.replace('}', ',"extra":1}'),
      BLOCK_TEXT + '\n',
    ];
    for (const d of dup) {
      expect(matchChatChunkPiece(d)).toBeNull();
      expect(matchOutputTextDelta(d)).toBeNull();
      expect(matchBlockDelta(d)).toBeNull();
    }
  });

  it('agree with JSON.parse on every prefix of real events (truncation)', () => {
    for (const e of [CHAT, CHAT_OBFUSCATED, CHAT_TOOL_ARGS, OUTPUT_DELTA, SUMMARY_DELTA, BLOCK_TEXT, BLOCK_PADDED, BLOCK_TOOL]) {
      for (let i = 0; i < e.length; i++) {
        expect(matchChatChunkPiece(e.slice(0, i))).toBeNull();
        expect(matchOutputTextDelta(e.slice(0, i))).toBeNull();
        expect(matchReasoningSummaryDelta(e.slice(0, i))).toBeNull();
        expect(matchBlockDelta(e.slice(0, i))).toBeNull();
      }
    }
  });

  it('decode escapes as JSON.parse does, lone surrogates included', () => {
    const cases = ['\\u00e9t\\u00C9', '\\ud83d\\ude00', '\\ud800', '\\udc00x', '\\"\\\\\\/\\b\\f\\n\\r\\t', 'caf\u00e9 \ud800 raw'];
    for (const body of cases) {
      const e = BLOCK_TEXT.replace('\\n\\n', body);
      expect(matchBlockDelta(e)?.piece).toBe((JSON.parse(e) as { delta: { text: string } }).delta.text);
    }
    // Values holding (escaped) the text that follows them in the shape.
    const chat = CHAT.replace('chatcmpl-D2cGWdOy5T2XLSwWJA3BnYZ7Yg8aQ', 'a\\\\\\",\\"object\\":\\"chat.completion.chunk\\",\\"created\\":1')
      .replace('gpt-4o-2024-08-06', 'g\\",\\"x')
      .replace('" is,"', '"\\"},\\"logprobs\\":null,\\"finish_reason\\":null}]"');
    checkChat(chat);
    expect(chatContent(chat)).toBe('"},"logprobs":null,"finish_reason":null}]');
    const delta = OUTPUT_DELTA.replace('"delta":"1"', '"delta":"\\",\\"delta\\":\\"2"');
    checkOutputTextDelta(delta);
    expect(matchOutputTextDelta(delta)).toBe('","delta":"2');
    const last = '{"type":"response.output_text.delta","sequence_number":1,"item_id":"i","output_index":0,"content_index":0,"delta":"a\\",\\"b"}';
    expect(matchOutputTextDelta(last)).toBe('a","b');
    const piece = BLOCK_TEXT.replace('\\n\\n', '\\"}  }');
    expect(matchBlockDelta(piece)?.piece).toBe('"}  }');
    // Invalid escapes, raw control characters and raw quotes are not JSON: declined.
    for (const body of ['\\x41', '\\u12', '\\u12g4', '\\', 'a\tb', 'a\u0000', 'a"b', '\\U0041']) {
      expect(matchBlockDelta(BLOCK_TEXT.replace('\\n\\n', body))).toBeNull();
    }
  });
});

// Generated events: arbitrary text values (control characters, quotes, backslashes, lone
// surrogates, astral characters), each character written plainly or as a \u escape.
const unit = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 4 }),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('"', '\\', '/', '\n', '\u0000', '\u001f', '\u007f', '\u2028', '\ud800', '\udfff'),
);
const text = fc.array(unit, { maxLength: 8 }).map((a) => a.join(''));

/** A JSON string literal for `s`; `escapeAll` writes every character as \uXXXX (upper or lower
 * hex), else JSON.stringify's form (which also writes `/` plainly: `\/` comes from `slash`). */
function encode(s: string, escapeAll: boolean, upper: boolean, slash: boolean): string {
  if (!escapeAll) {
    const j = JSON.stringify(s);
    return slash ? j.replaceAll('/', '\\/') : j;
  }
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const hex = s.charCodeAt(i).toString(16).padStart(4, '0');
    out += `\\u${upper ? hex.toUpperCase() : hex}`;
  }
  return `${out}"`;
}
const jsonString = fc.tuple(text, fc.boolean(), fc.boolean(), fc.boolean()).map(([s, a, u, sl]) => encode(s, a, u, sl));
const jsonNumber = fc.oneof(
  fc.nat().map(String),
  fc.constantFrom('0', '-0', '1e5', '2.5E-3', '-12.0', '01', '1.', '.5', '+1', '1e', 'NaN', 'Infinity', '1_0', '99999999999', '123456789'),
);

function chatDelta(kind: string, piece: string): string {
  if (kind === 'content') return `{"content":${piece}}`;
  if (kind === 'reasoning_content') return `{"reasoning_content":${piece}}`;
  if (kind === 'tool') return `{"tool_calls":[{"index":0,"function":{"arguments":${piece}}}]}`;
  if (kind === 'tool-1') return `{"tool_calls":[{"index":12,"function":{"arguments":${piece}}}]}`;
  return `{"content":${piece},"reasoning_content":${piece}}`; // not a shape the fast path takes
}

const chatEvent = fc
  .record({
    id: jsonString,
    created: jsonNumber,
    model: jsonString,
    tier: fc.option(jsonString),
    fp: fc.option(fc.oneof(jsonString, fc.constant('null'))),
    content: jsonString,
    delta: fc.constantFrom('content', 'reasoning_content', 'tool', 'tool-1', 'both'),
    logprobs: fc.boolean(),
    usage: fc.boolean(),
    obf: fc.option(jsonString),
  })
  .map(
    (r) =>
      `{"id":${r.id},"object":"chat.completion.chunk","created":${r.created},"model":${r.model}` +
      (r.tier === null ? '' : `,"service_tier":${r.tier}`) +
      (r.fp === null ? '' : `,"system_fingerprint":${r.fp}`) +
      `,"choices":[{"index":0,"delta":${chatDelta(r.delta, r.content)}${r.logprobs ? ',"logprobs":null' : ''},"finish_reason":null}]` +
      (r.usage ? ',"usage":null' : '') +
      (r.obf === null ? '' : `,"obfuscation":${r.obf}`) +
      '}',
  );
const outputDeltaEvent = fc
  .record({ seq: jsonNumber, item: jsonString, oi: jsonNumber, ci: jsonNumber, delta: jsonString, lp: fc.boolean(), obf: fc.option(jsonString) })
  .map(
    (r) =>
      `{"type":"response.output_text.delta","sequence_number":${r.seq},"item_id":${r.item},"output_index":${r.oi},"content_index":${r.ci},"delta":${r.delta}` +
      (r.lp ? ',"logprobs":[]' : '') +
      (r.obf === null ? '' : `,"obfuscation":${r.obf}`) +
      '}',
  );
const summaryDeltaEvent = fc
  .record({ seq: jsonNumber, item: jsonString, oi: jsonNumber, si: jsonNumber, delta: jsonString, obf: fc.option(jsonString) })
  .map(
    (r) =>
      `{"type":"response.reasoning_summary_text.delta","sequence_number":${r.seq},"item_id":${r.item},"output_index":${r.oi},"summary_index":${r.si},"delta":${r.delta}` +
      (r.obf === null ? '' : `,"obfuscation":${r.obf}`) +
      '}',
  );
const blockDeltaEvent = fc
  .record({
    index: jsonNumber,
    kind: fc.constantFrom(['text', 'text'], ['thinking', 'thinking'], ['input_json', 'partial_json'], ['text', 'thinking'], ['signature', 'signature']),
    piece: jsonString,
    pad: fc.constantFrom('', ' ', '      ', '\t', '\n', '\u00a0', '\u2028'),
  })
  .map((r) => `{"type":"content_block_delta","index":${r.index},"delta":{"type":"${r.kind[0]}_delta","${r.kind[1]}":${r.piece}}${r.pad}}`);

/** Random edits in JSON's own alphabet (and any character), to land on near-misses. */
const edits = fc.array(
  fc.record({
    at: fc.nat(),
    op: fc.constantFrom('insert', 'delete', 'replace'),
    ch: fc.oneof(fc.constantFrom(...'"\\{}[],: \t\n0123456789-+.eEunlfrtabx/'.split('')), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
  }),
  { minLength: 1, maxLength: 3 },
);

function mutate(s: string, es: readonly { at: number; op: string; ch: string }[]): string {
  for (const e of es) {
    const i = s.length === 0 ? 0 : e.at % (s.length + 1);
    if (e.op === 'insert') s = s.slice(0, i) + e.ch + s.slice(i);
    else if (e.op === 'delete') s = s.slice(0, i) + s.slice(i + 1);
    else s = s.slice(0, i) + e.ch + s.slice(i + 1);
  }
  return s;
}

describe('compact event matchers agree with JSON.parse (property)', () => {
  const anyEvent = fc.oneof(chatEvent, outputDeltaEvent, summaryDeltaEvent, blockDeltaEvent);

  it('on generated events in the exact forms (and take the well-formed ones)', () => {
    fc.assert(
      fc.property(chatEvent, (e) => {
        checkAll(e);
        // A generated chat chunk is valid JSON exactly when its numbers are: then it is taken.
        let valid = true;
        try {
          JSON.parse(e);
        } catch {
          valid = false;
        }
        // (Unescaped quotes occur only in the structure: these find the delta with both members.)
        const both = e.includes('{"content":') && e.includes('"reasoning_content":');
        expect(matchChatChunkPiece(e) !== null).toBe(valid && !both);
      }),
      { numRuns: 3000 },
    );
    fc.assert(fc.property(outputDeltaEvent, checkAll), { numRuns: 3000 });
    fc.assert(fc.property(summaryDeltaEvent, checkAll), { numRuns: 3000 });
    fc.assert(fc.property(blockDeltaEvent, checkAll), { numRuns: 3000 });
  });

  it('on mutations of generated and real events', () => {
    const real = fc.constantFrom(CHAT, CHAT_GROQ, CHAT_OBFUSCATED, CHAT_NO_LOGPROBS, CHAT_TOOL_ARGS, CHAT_REASONING, OUTPUT_DELTA, SUMMARY_DELTA, BLOCK_TEXT, BLOCK_PADDED, BLOCK_TOOL);
    fc.assert(
      fc.property(fc.oneof(anyEvent, real), edits, (e, es) => checkAll(mutate(e, es))),
      { numRuns: 20000 },
    );
  });

  it('on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), checkAll), { numRuns: 2000 });
  });
});
