/**
 * Corpus conformance: every recorded Gemini generateContent body in ../shared/corpus
 * (MANIFEST-real provider "Google Gemini", plus tokenscope's gemini-aistudio capture) is decoded
 * and checked against what the recording itself states: the last usageMetadata, modelVersion,
 * responseId, finishReason, text and function-call names.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { corpusDir } from '../../test/corpus.js';
import { geminiDecoder as dec } from './gemini.js';
import { cassette, chunksToSse, genaiReplay, manifestFiles, readText, recording, type Recording } from './corpus-recordings.test-support.js';
import { bodyText } from '../http/types.js';
import { arr, num, obj, str, tryParseJson, type JsonObject } from './json.js';

const DEV = '/v1beta/models/gemini-recorded';

/** Files we do not decode on their own, and why. */
const EXCLUDED_PREFIX: [prefix: string, reason: string][] = [
  ['vercel-ai/google/interactions/', 'Gemini Interactions API (/v1beta/interactions), a different wire API from generateContent'],
];
const REQUEST_OF: Record<string, string> = {
  'louter/gemini/streaming.request.json': 'louter/gemini/streaming.response.sse',
  'louter/gemini/streaming_long.request.json': 'louter/gemini/streaming_long.response.sse',
  'louter/gemini/streaming_function_calling.request_0.json': 'louter/gemini/streaming_function_calling.response_0.sse',
  'louter/gemini/streaming_function_calling.request_1.json': 'louter/gemini/streaming_function_calling.response_1.sse',
};
const REQUEST_FOR = Object.fromEntries(Object.entries(REQUEST_OF).map(([req, res]) => [res, req]));

function exclusion(rel: string): string | null {
  for (const [p, why] of EXCLUDED_PREFIX) if (rel.startsWith(p)) return why;
  if (rel in REQUEST_OF) return `request body only: used as the request of ${REQUEST_OF[rel]}`;
  return null;
}

interface Case {
  file: string;
  recordings: Recording[];
  /** Cassette interactions that are not Gemini calls (e.g. grounding redirects), with why. */
  skipped: string[];
}

function load(corpus: string, rel: string): Case {
  const text = (): string => readText(corpus, rel);
  const one = (target: string, opts: { status?: number; reqBody?: string } = {}): Case => ({
    file: rel,
    recordings: [recording(rel, { target, resBody: text(), ...opts })],
    skipped: [],
  });
  if (rel.endsWith('.yaml')) {
    const all = cassette(corpus, rel);
    const mine = all.filter((c) => dec.matchRoute(c.recording.exchange.request));
    const skipped = all.filter((c) => !mine.includes(c)).map((c) => `${c.method} ${c.uri.slice(0, 60)}…: not a Gemini model call`);
    return { file: rel, recordings: mine.map((c) => c.recording), skipped };
  }
  if (rel.startsWith('js-genai/')) return { file: rel, recordings: genaiReplay(corpus, rel), skipped: [] };
  if (rel.endsWith('.chunks.txt'))
    return { file: rel, recordings: [recording(rel, { target: `${DEV}:streamGenerateContent?alt=sse`, resBody: chunksToSse(text()) })], skipped: [] };
  if (rel.endsWith('.sse')) {
    const req = REQUEST_FOR[rel];
    return one(`${DEV}:streamGenerateContent?alt=sse`, req ? { reqBody: readText(corpus, req) } : {});
  }
  const body = text().trimStart();
  if (body.startsWith('[')) return one(`${DEV}:streamGenerateContent`);
  const status = num(obj(obj(tryParseJson(body))?.['error'])?.['code']) ?? 200;
  return one(`${DEV}:generateContent`, { status });
}

function cases(): { decoded: Case[]; excluded: [string, string][] } {
  if (!corpusDir) return { decoded: [], excluded: [] };
  const corpus = corpusDir;
  const decoded: Case[] = [];
  const excluded: [string, string][] = [];
  for (const f of manifestFiles(corpus, ['Google Gemini'])) {
    const why = exclusion(f);
    if (why !== null) excluded.push([f, why]);
    else decoded.push(load(corpus, f));
  }
  const ts = 'tokenscope/wire/gemini-aistudio/response-streaming.sse';
  if (existsSync(join(corpus, ts))) {
    decoded.push({
      file: ts,
      recordings: [recording(ts, { target: `${DEV}:streamGenerateContent?alt=sse`, reqBody: readText(corpus, 'tokenscope/wire/gemini-aistudio/request-streaming.json'), resBody: readText(corpus, ts) })],
      skipped: [],
    });
  }
  return { decoded, excluded };
}

/** What a recording states about itself, read independently of the decoder. */
interface Stated {
  stream: boolean;
  model: string | null;
  id: string | null;
  finish: string | null;
  text: string;
  tools: string[];
  usage: JsonObject | null;
  errorType: string | null;
}

function objects(body: string): { stream: boolean; list: JsonObject[] } {
  const t = body.trimStart();
  if (t.startsWith('[')) return { stream: true, list: arr(tryParseJson(t)).map(obj).filter((o): o is JsonObject => o !== null) };
  if (t.startsWith('{')) {
    const o = obj(tryParseJson(t));
    return { stream: false, list: o ? [o] : [] };
  }
  const list = body
    .split(/\r\n|\r|\n/)
    .filter((l) => l.startsWith('data:'))
    .map((l) => obj(tryParseJson(l.slice(5))))
    .filter((o): o is JsonObject => o !== null);
  return { stream: true, list };
}

function stated(body: string, status: number): Stated {
  const { stream, list } = objects(body);
  const s: Stated = { stream, model: null, id: null, finish: null, text: '', tools: [], usage: null, errorType: null };
  for (const o of list) {
    const e = obj(o['error']);
    if (e) s.errorType = str(e['status']) ?? `http_${num(e['code']) ?? status}`;
    s.model = str(o['modelVersion']) ?? str(o['model']) ?? s.model;
    s.id = str(o['responseId']) ?? s.id;
    const u = obj(o['usageMetadata']);
    if (u && (u['promptTokenCount'] !== undefined || u['candidatesTokenCount'] !== undefined || u['totalTokenCount'] !== undefined)) s.usage = u;
    s.finish = str(obj(o['promptFeedback'])?.['blockReason']) ?? s.finish;
    const cand = obj(arr(o['candidates'])[0]);
    s.finish = str(cand?.['finishReason']) ?? s.finish;
    for (const p of arr(obj(cand?.['content'])?.['parts']).map(obj)) {
      if (typeof p?.['text'] === 'string' && p['thought'] !== true) s.text += p['text'];
      const name = str(obj(p?.['functionCall'])?.['name']);
      if (name !== null) s.tools.push(name);
    }
  }
  if (status >= 400 && s.errorType === null) s.errorType = `http_${status}`;
  return s;
}

const outcomes = new Map<string, string>();
let nullAsExpected = 0;

describe.skipIf(!corpusDir)('gemini: corpus conformance', () => {
  const { decoded, excluded } = cases();

  it('finds the recordings', () => {
    expect(decoded.length).toBeGreaterThanOrEqual(100);
  });

  for (const c of decoded) {
    it(c.file, () => {
      expect(c.recordings.length + c.skipped.length).toBeGreaterThan(0);
      for (const r of c.recordings) {
        const ex = r.exchange;
        const call = dec.decode(ex);
        const method = /:([A-Za-z]+)$/.exec(ex.request.path)?.[1];
        if (method !== 'generateContent' && method !== 'streamGenerateContent') {
          // countTokens, computeTokens, Vertex predict: not chat calls.
          expect(call, r.label).toBeNull();
          nullAsExpected++;
          continue;
        }
        expect(call, r.label).not.toBeNull();
        const got = call!;
        expect(got.anomalies, r.label).not.toContain('gemini_decoder_failed');
        const want = stated(bodyText(ex.response!.body), ex.response!.status);
        if (want.errorType !== null) {
          expect(got.error?.type, r.label).toBe(want.errorType);
          expect(got.finish_reason, r.label).toBe('error');
          continue;
        }
        expect(got.error, r.label).toBeNull();
        expect(got.stream, r.label).toBe(want.stream || method === 'streamGenerateContent');
        expect(got.response_model, r.label).toBe(want.model);
        expect(got.response_id, r.label).toBe(want.id);
        expect(got.finish_reason_raw, r.label).toBe(want.finish);
        expect(got.output_text, r.label).toBe(want.text);
        expect(got.tool_calls.map((t) => t.name), r.label).toEqual(want.tools);
        if (want.tools.length > 0 && want.finish === 'STOP') expect(got.finish_reason, r.label).toBe('tool_call');
        const u = want.usage;
        if (u) {
          const n = (k: string): number => num(u[k]) ?? 0;
          expect(got.usage, r.label).toMatchObject({
            input_tokens: n('promptTokenCount') + n('toolUsePromptTokenCount'),
            output_tokens: n('candidatesTokenCount') + n('thoughtsTokenCount'),
            cache_read_tokens: n('cachedContentTokenCount'),
            reasoning_tokens: n('thoughtsTokenCount'),
            estimated: false,
          });
          expect(got.usage.raw, r.label).toEqual(u);
        } else if (want.text !== '' || want.tools.length > 0) {
          expect(got.usage.estimated, r.label).toBe(true);
        }
        if (want.stream) {
          expect(got.anomalies.includes('gemini_stream_interrupted'), r.label).toBe(want.finish === null);
          if (want.text !== '' || want.tools.length > 0) expect(got.first_token, r.label).not.toBeNull();
        }
      }
      outcomes.set(c.file, 'passed');
    });
  }

  afterAll(() => {
    const passed = [...outcomes.values()].filter((v) => v === 'passed').length;
    const recs = decoded.reduce((n, c) => n + c.recordings.length, 0);
    const skipped = decoded.flatMap((c) => c.skipped.map((s) => `  skipped in ${c.file}: ${s}`));
    const byReason = new Map<string, number>();
    for (const [, why] of excluded) byReason.set(why.replace(/ of .*$/, ''), (byReason.get(why.replace(/ of .*$/, '')) ?? 0) + 1);
    console.info(
      `[gemini corpus] files: ${decoded.length + excluded.length}, decoded: ${decoded.length} (${recs} exchanges, ${nullAsExpected} non-chat methods → null as expected), passed: ${passed}, excluded: ${excluded.length}\n` +
        [...byReason].map(([why, n]) => `  excluded ${n}: ${why}`).join('\n') +
        (skipped.length > 0 ? `\n${skipped.join('\n')}` : ''),
    );
  });
});
