/**
 * Corpus conformance for Cohere (MANIFEST-real group "Cohere"): every recorded chat exchange is
 * decoded through the registry and checked against what the recording states: the JSON body, the
 * v1 stream's `stream-end` event or the v2 stream's `message-end` event (usage as billed units,
 * see cohere-chat.ts), and the text and tool calls read here with plain lookups. The group's
 * `/v1/generate`, `/v2/embed` and `/v2/rerank` recordings must not be taken for chat calls.
 */
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../../test/corpus.js';
import type { HttpExchange } from '../http/types.js';
import { cassette, chunksToSse, manifestFiles, readText } from './corpus-recordings.test-support.js';
import { arr, num, obj, str, type JsonObject } from './json.js';
import { decodeExchange } from './registry.js';
import { makeExchange, T0 } from './test-helpers.test-support.js';
import type { DecodedCall } from './types.js';

const root = corpusDir ?? '';
const files = corpusDir ? manifestFiles(root, ['Cohere']) : [];

interface Stated {
  input: number | null;
  output: number | null;
  finish: string | null;
  text: string;
  tools: string[];
}

const billed = (u: JsonObject | null): { input: number | null; output: number | null } => {
  const b = obj(u?.['billed_units']);
  return { input: num(b?.['input_tokens']), output: num(b?.['output_tokens']) };
};

function statedWhole(b: JsonObject): Stated {
  const m = obj(b['message']);
  if (m) {
    return {
      ...billed(obj(b['usage'])),
      finish: str(b['finish_reason']),
      text: arr(m['content'])
        .map((c) => (obj(c)?.['type'] === 'text' ? (str(obj(c)?.['text']) ?? '') : ''))
        .join(''),
      tools: arr(m['tool_calls']).map((t) => str(obj(obj(t)?.['function'])?.['name']) ?? ''),
    };
  }
  return { ...billed(obj(b['meta'])), finish: str(b['finish_reason']), text: str(b['text']) ?? '', tools: arr(b['tool_calls']).map((t) => str(obj(t)?.['name']) ?? '') };
}

/** v2 stream payloads: text deltas joined, tool-call-start names, message-end. */
function statedV2(payloads: JsonObject[]): Stated {
  const s: Stated = { input: null, output: null, finish: null, text: '', tools: [] };
  for (const p of payloads) {
    const m = obj(obj(p['delta'])?.['message']);
    if (p['type'] === 'content-delta' || p['type'] === 'content-start') s.text += str(obj(m?.['content'])?.['text']) ?? '';
    if (p['type'] === 'tool-call-start') s.tools.push(str(obj(obj(m?.['tool_calls'])?.['function'])?.['name']) ?? '');
    if (p['type'] === 'message-end') {
      s.finish = str(obj(p['delta'])?.['finish_reason']);
      Object.assign(s, billed(obj(obj(p['delta'])?.['usage'])));
    }
  }
  return s;
}

/** v1 NDJSON stream: the stream-end event states the whole response. */
function statedV1(lines: JsonObject[]): Stated {
  const end = lines.find((l) => l['event_type'] === 'stream-end');
  const r = obj(end?.['response']) ?? {};
  return { ...statedWhole(r), finish: str(end?.['finish_reason']) };
}

const jsonLines = (text: string): JsonObject[] =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => obj(JSON.parse(l) as unknown) ?? {});

function ssePayloads(text: string): JsonObject[] {
  return text
    .split(/\r?\n/)
    .filter((l) => l.startsWith('data:') && l.slice(5).trim() !== '[DONE]')
    .map((l) => obj(JSON.parse(l.slice(5)) as unknown) ?? {});
}

function decoded(ex: HttpExchange): DecodedCall {
  const r = decodeExchange(ex);
  if (!('call' in r)) throw new Error(`not decoded: ${r.notLlm}`);
  return r.call;
}

function expectStated(call: DecodedCall, s: Stated): void {
  expect(call).toMatchObject({ provider: 'cohere', api: 'cohere.chat', anomalies: [] });
  expect(call.usage).toMatchObject({ input_tokens: s.input, output_tokens: s.output, estimated: false });
  expect(call.finish_reason_raw).toBe(s.finish);
  expect(call.finish_reason).not.toBeNull();
  expect(call.output_text).toBe(s.text);
  expect(call.tool_calls.map((t) => t.name)).toEqual(s.tools);
}

function bodyText(ex: HttpExchange): string {
  return Buffer.concat(ex.response!.body.chunks.map((c) => c.data)).toString('utf8');
}

describe.skipIf(!corpusDir)('Cohere corpus', () => {
  it('lists the recordings of the manifest', () => {
    expect(files.length).toBe(26);
  });

  for (const rel of files.filter((f) => f.endsWith('.yaml'))) {
    it(`decodes ${rel}`, () => {
      let chats = 0;
      for (const { recording } of cassette(root, rel)) {
        const ex = recording.exchange;
        if (!/^\/v[12]\/chat$/.test(ex.request.path)) {
          // /v1/generate, /v2/embed, /v2/rerank (and another provider's call in a mixed cassette).
          const r = decodeExchange(ex);
          if ('call' in r) expect(r.call.api).not.toBe('cohere.chat');
          continue;
        }
        chats++;
        const call = decoded(ex);
        expect(call.request_model).toBe(str(obj(JSON.parse(ex.request.body.size > 0 ? Buffer.from(ex.request.body.chunks[0]!.data).toString('utf8') : '{}') as unknown)?.['model']));
        const text = bodyText(ex);
        if (call.stream && ex.request.path === '/v1/chat') expectStated(call, statedV1(jsonLines(text)));
        else if (call.stream) expectStated(call, statedV2(ssePayloads(text)));
        else expectStated(call, statedWhole(obj(JSON.parse(text) as unknown)!));
      }
      if (/chat/.test(rel) || rel.startsWith('pydantic-ai/')) expect(chats).toBeGreaterThan(0);
    });
  }

  for (const rel of files.filter((f) => f.endsWith('.resp0.sse') || f.endsWith('.resp0.ndjson'))) {
    it(`decodes the extracted body ${rel}`, () => {
      const text = readText(root, rel);
      const v1 = rel.endsWith('.ndjson');
      const call = decoded(
        makeExchange({
          target: v1 ? '/v1/chat' : '/v2/chat',
          reqBody: { model: 'command', message: 'x', stream: true },
          resHeaders: { 'content-type': v1 ? 'application/stream+json' : 'text/event-stream' },
          resBody: text,
        }),
      );
      expectStated(call, v1 ? statedV1(jsonLines(text)) : statedV2(ssePayloads(text)));
    });
  }

  for (const rel of files.filter((f) => f.startsWith('vercel-ai/'))) {
    it(`decodes ${rel}`, () => {
      const text = readText(root, rel);
      const streamed = rel.endsWith('.chunks.txt');
      const call = decoded(
        makeExchange({
          target: '/v2/chat',
          reqBody: { model: 'command-a-03-2025', messages: [{ role: 'user', content: 'x' }], stream: streamed },
          resBody: streamed ? chunksToSse(text) : text,
          reqStart: T0,
        }),
      );
      expectStated(call, streamed ? statedV2(jsonLines(text)) : statedWhole(obj(JSON.parse(text) as unknown)!));
    });
  }
});
