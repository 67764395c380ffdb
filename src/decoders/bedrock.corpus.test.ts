/**
 * Corpus conformance for Bedrock (MANIFEST-real group "AWS Bedrock"): every recorded exchange is
 * decoded through the registry and checked against what the recording itself states: the JSON
 * body's `usage`/`stopReason`/content, or a stream's final events (ConverseStream `metadata` and
 * `messageStop`, an invoke stream's `amazon-bedrock-invocationMetrics` and the family's stop
 * field). Expectations are read here from the payloads with plain lookups, not the decoder's
 * paths. The framing vectors of the same group are tested in src/http/eventstream.test.ts.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { corpusDir } from '../../test/corpus.js';
import { encodeEventMessage, headerString, parseEventStream } from '../http/eventstream.js';
import type { HttpExchange } from '../http/types.js';
import { cassette, manifestFiles, readText, type CassetteInteraction } from './corpus-recordings.test-support.js';
import { arr, num, obj, str, type JsonObject } from './json.js';
import { decodeExchange } from './registry.js';
import { makeExchange, T0 } from './test-helpers.test-support.js';
import type { DecodedCall } from './types.js';

const root = corpusDir ?? '';
const files = corpusDir ? manifestFiles(root, ['AWS Bedrock']) : [];
const tmp = mkdtempSync(join(tmpdir(), 'llmtap-bedrock-corpus-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function decoded(ex: HttpExchange): DecodedCall {
  const r = decodeExchange(ex);
  if (!('call' in r)) throw new Error(`not decoded: ${r.notLlm}`);
  return r.call;
}

/**
 * Two openllmetry cassettes continue a single-quoted `body:` scalar on lines indented no deeper
 * than the key, which PyYAML accepts and the `yaml` package rejects. Indenting the continuation
 * lines two more spaces gives the same string (line folding ignores leading spaces).
 */
function loadCassette(rel: string): CassetteInteraction[] {
  try {
    return cassette(root, rel);
  } catch {
    const lines = readText(root, rel).split('\n');
    const out: string[] = [];
    let open = false;
    for (const line of lines) {
      if (open) {
        out.push(`  ${line}`);
        if ((line.replace(/''/g, '').match(/'/g) ?? []).length % 2 === 1) open = false;
        continue;
      }
      out.push(line);
      const m = /^\s*[\w-]+: '(.*)$/.exec(line);
      if (m && (m[1]!.replace(/''/g, '').match(/'/g) ?? []).length % 2 === 0) open = true;
    }
    const fixed = join(tmp, rel);
    mkdirSync(dirname(fixed), { recursive: true });
    writeFileSync(fixed, out.join('\n'));
    return cassette(tmp, rel);
  }
}

/** What a recording states about its call. */
interface Stated {
  input: number | null;
  output: number | null;
  stop: string | null;
  text: string | null;
  tools: string[];
}

function converseUsageStated(u: JsonObject | null): { input: number | null; output: number | null } {
  if (!u) return { input: null, output: null };
  const cache = (num(u['cacheReadInputTokens']) ?? num(u['cacheReadInputTokenCount']) ?? 0) + (num(u['cacheWriteInputTokens']) ?? num(u['cacheWriteInputTokenCount']) ?? 0);
  const input = num(u['inputTokens']) ?? num(u['inputTokenCount']);
  return { input: input === null ? null : input + cache, output: num(u['outputTokens']) ?? num(u['outputTokenCount']) };
}

/** Converse events (type, payload) → stated values: text deltas joined, tool names, metadata usage. */
function statedConverseEvents(events: [string, JsonObject][]): Stated {
  const s: Stated = { input: null, output: null, stop: null, text: '', tools: [] };
  for (const [type, p] of events) {
    if (type === 'contentBlockDelta') s.text += str(obj(p['delta'])?.['text']) ?? '';
    if (type === 'contentBlockStart') {
      const name = str(obj(obj(p['start'])?.['toolUse'])?.['name']);
      if (name !== null) s.tools.push(name);
    }
    if (type === 'messageStop') s.stop = str(p['stopReason']);
    if (type === 'metadata') Object.assign(s, converseUsageStated(obj(p['usage'])));
  }
  return s;
}

/** An invoke stream's chunks: Bedrock's invocation metrics, the stop field of the family. */
function statedInvokeChunks(chunks: JsonObject[]): Stated {
  const converse: [string, JsonObject][] = [];
  const s: Stated = { input: null, output: null, stop: null, text: null, tools: [] };
  for (const c of chunks) {
    const m = obj(c['amazon-bedrock-invocationMetrics']);
    if (m) Object.assign(s, converseUsageStated(m));
    s.stop = str(obj(c['delta'])?.['stop_reason']) ?? str(c['completionReason']) ?? str(c['stop_reason']) ?? s.stop;
    for (const k of Object.keys(c)) if (obj(c[k]) && /^(message|content|metadata)/.test(k)) converse.push([k, obj(c[k])!]);
  }
  if (converse.length > 0) s.stop = statedConverseEvents(converse).stop ?? s.stop;
  // A guardrail that blocked the prompt: the recording states no stop field, only the action.
  if (s.stop === null && chunks.some((c) => c['amazon-bedrock-guardrailAction'] === 'INTERVENED')) s.stop = 'guardrail_intervened';
  return s;
}

/** A whole JSON body: Converse (`output.message`), Anthropic (`content` + `usage`), Llama, etc. */
function statedBody(b: JsonObject): Stated {
  const message = obj(obj(b['output'])?.['message']);
  if (message) {
    const content = arr(message['content']).map(obj);
    return {
      ...converseUsageStated(obj(b['usage'])),
      stop: str(b['stopReason']),
      text: content.map((c) => str(c?.['text']) ?? '').join(''),
      tools: content.flatMap((c) => (obj(c?.['toolUse']) ? [str(obj(c?.['toolUse'])?.['name']) ?? ''] : [])),
    };
  }
  if (Array.isArray(b['content'])) {
    const u = obj(b['usage']);
    const content = arr(b['content']).map(obj);
    return {
      input: (num(u?.['input_tokens']) ?? 0) + (num(u?.['cache_read_input_tokens']) ?? 0) + (num(u?.['cache_creation_input_tokens']) ?? 0),
      output: num(u?.['output_tokens']),
      stop: str(b['stop_reason']),
      text: content.map((c) => (c?.['type'] === 'text' ? (str(c['text']) ?? '') : '')).join(''),
      tools: content.flatMap((c) => (c?.['type'] === 'tool_use' ? [str(c['name']) ?? ''] : [])),
    };
  }
  const choice = obj(arr(b['choices'])[0]);
  const generation = obj(arr(b['generations'])[0]);
  return {
    input: num(b['prompt_token_count']) ?? num(obj(b['usage'])?.['prompt_tokens']),
    output: num(b['generation_token_count']) ?? num(obj(b['usage'])?.['completion_tokens']),
    stop: str(b['stop_reason']) ?? str(choice?.['finish_reason']) ?? str(generation?.['finish_reason']),
    text: str(b['generation']) ?? str(choice?.['text']) ?? str(generation?.['text']),
    tools: [],
  };
}

function expectStated(call: DecodedCall, s: Stated): void {
  if (s.output !== null) expect(call.usage.output_tokens).toBe(s.output);
  if (s.input !== null) expect(call.usage.input_tokens).toBe(s.input);
  if (s.output !== null && s.input !== null) expect(call.usage.estimated).toBe(false);
  expect(call.finish_reason_raw).toBe(s.stop);
  expect(call.finish_reason).not.toBeNull();
  if (s.text !== null) expect(call.output_text).toBe(s.text);
  else expect(call.output_text.length + call.tool_calls.length).toBeGreaterThan(0);
  expect(call.tool_calls.map((t) => t.name)).toEqual(s.tools);
  expect(call.anomalies).toEqual([]);
}

function eventPayloads(body: Uint8Array): [string, JsonObject][] {
  return parseEventStream([{ data: body, ts: 0 }]).messages.map((m) => [
    headerString(m, ':event-type') ?? '',
    obj(JSON.parse(Buffer.from(m.payload).toString('utf8')) as unknown) ?? {},
  ]);
}

function bytesOf(ex: HttpExchange): Uint8Array {
  return Buffer.concat(ex.response!.body.chunks.map((c) => c.data));
}

describe.skipIf(!corpusDir)('Bedrock corpus', () => {
  it('lists the recordings of the manifest', () => {
    // Counts as of the corpus snapshot (MANIFEST-real.md: 86 files): fewer means files went missing.
    expect(files.length).toBe(86);
  });

  for (const rel of files.filter((f) => f.endsWith('.yaml'))) {
    it(`decodes ${rel}`, () => {
      const interactions = loadCassette(rel);
      expect(interactions.length).toBeGreaterThan(0);
      interactions.forEach(({ recording }, i) => {
        const ex = recording.exchange;
        const call = decoded(ex);
        const model = /\/model\/(.+)\/[a-z-]+$/.exec(ex.request.path)![1]!;
        expect(call.provider).toBe('aws');
        expect(call.request_model).toBe(decodeURIComponent(model));
        expect(call.api).toBe(/converse/.test(ex.request.path) ? 'bedrock.converse' : 'bedrock.invoke_model');
        const res = ex.response!;
        if (res.status >= 400) {
          const b = obj(JSON.parse(Buffer.from(bytesOf(ex)).toString('utf8')) as unknown);
          expect(call.error?.message).toBe(str(b?.['message']));
          expect(call.finish_reason).toBe('error');
          return;
        }
        const raw = bytesOf(ex);
        if (/converse-stream$/.test(ex.request.path)) {
          expect(call.stream).toBe(true);
          expectStated(call, statedConverseEvents(eventPayloads(raw)));
        } else if (/invoke-with-response-stream$/.test(ex.request.path)) {
          expect(call.stream).toBe(true);
          const chunks = eventPayloads(raw).map(([, p]) => obj(JSON.parse(Buffer.from(str(p['bytes']) ?? '', 'base64').toString('utf8')) as unknown) ?? {});
          expectStated(call, statedInvokeChunks(chunks));
        } else {
          expect(call.stream).toBe(false);
          expectStated(call, statedBody(obj(JSON.parse(Buffer.from(raw).toString('utf8')) as unknown)!));
        }
        // The extracted `.respN.eventstream` file is this interaction's body, byte for byte.
        const extracted = rel.replace(/\.yaml$/, `.resp${i}.eventstream`);
        if (files.includes(extracted)) expect(Buffer.compare(readFileSync(join(root, extracted)), Buffer.from(raw))).toBe(0);
      });
    });
  }

  for (const rel of files.filter((f) => f.endsWith('.chunks.txt'))) {
    it(`decodes ${rel} re-framed as a ConverseStream`, () => {
      const events: [string, JsonObject][] = readText(root, rel)
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => {
          const o = obj(JSON.parse(l) as unknown)!;
          const key = Object.keys(o)[0]!;
          return [key, obj(o[key]) ?? {}];
        });
      const call = decoded(
        makeExchange({
          target: '/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse-stream',
          reqBody: { messages: [{ role: 'user', content: [{ text: 'x' }] }] },
          resHeaders: { 'content-type': 'application/vnd.amazon.eventstream' },
          resBody: events.map(([type, p], i) => ({ data: encodeEventMessage(type, p), ts: T0 + 100_000 + i * 1000 })),
        }),
      );
      expect(call.stream).toBe(true);
      expectStated(call, statedConverseEvents(events));
    });
  }

  for (const rel of files.filter((f) => f.startsWith('vercel-ai/') && f.endsWith('.json'))) {
    it(`decodes ${rel} as a Converse answer`, () => {
      const body = readText(root, rel);
      const call = decoded(makeExchange({ target: '/model/amazon.nova-pro-v1%3A0/converse', reqBody: { messages: [] }, resBody: body }));
      expectStated(call, statedBody(obj(JSON.parse(body) as unknown)!));
    });
  }
});
