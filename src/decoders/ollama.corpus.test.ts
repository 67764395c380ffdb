/**
 * Ollama's native API over the recorded corpus (MANIFEST-real.md group "Ollama": openllmetry's
 * VCR cassettes against a real Ollama at 127.0.0.1:11434, and the NDJSON bodies extracted from
 * them). Each exchange goes through the registry as it would off the wire; what the decoder
 * reports is checked against what the recording states, read here with a plain line split: the
 * final `done` object's counts and `done_reason`, the model, the generated text, tool calls.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../../test/corpus.js';
import type { HttpExchange } from '../http/types.js';
import { cassette, manifestFiles } from './corpus-recordings.test-support.js';
import { decodeExchange } from './registry.js';
import { makeExchange, T0 } from './test-helpers.test-support.js';
import type { DecodedCall } from './types.js';

type Json = Record<string, unknown>;

interface Case {
  name: string;
  ex: HttpExchange;
  /** Response body text as recorded. */
  body: string;
  path: string;
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function objects(body: string): Json[] {
  const out: Json[] = [];
  for (const line of body.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v = JSON.parse(line) as unknown;
      if (isObj(v)) out.push(v);
    } catch {
      // A pretty-printed single object: parsed whole below.
    }
  }
  if (out.length === 0) {
    const v = JSON.parse(body) as unknown;
    if (isObj(v)) out.push(v);
  }
  return out;
}

function loadCases(root: string): { cases: Case[]; files: number } {
  const cases: Case[] = [];
  const files = manifestFiles(root, ['Ollama']);
  for (const rel of files) {
    if (rel.endsWith('.yaml')) {
      for (const it of cassette(root, rel)) {
        const ex = it.recording.exchange;
        const body = new TextDecoder().decode(Buffer.concat(ex.response!.body.chunks.map((c) => c.data)));
        cases.push({ name: it.recording.label, ex, body, path: ex.request.path });
      }
    } else if (rel.endsWith('.ndjson')) {
      // The raw stream of a cassette's interaction: one line per chunk, 30 ms apart, as it arrived.
      const body = readFileSync(join(root, rel), 'utf8');
      const path = body.includes('"message"') ? '/api/chat' : '/api/generate';
      const chunks = body
        .split(/(?<=\n)/)
        .filter((l) => l.trim() !== '')
        .map((l, i) => ({ data: l, ts: T0 + 100_000 + i * 30_000 }));
      const ex = makeExchange({
        target: path,
        reqHeaders: { host: '127.0.0.1:11434', 'content-type': 'application/json' },
        reqBody: { model: objects(body)[0]?.['model'] ?? 'x', ...(path === '/api/chat' ? { messages: [{ role: 'user', content: 'hi' }] } : { prompt: 'hi' }) },
        resHeaders: { 'content-type': 'application/x-ndjson' },
        resBody: chunks,
      });
      cases.push({ name: rel, ex, body, path });
    }
  }
  return { cases, files: files.length };
}

function check(c: Case, call: DecodedCall): void {
  const objs = objects(c.body);
  if (c.path.endsWith('/api/embeddings') || c.path.endsWith('/api/embed')) {
    expect(call.api).toBe('embeddings');
    expect(call.provider).toBe('ollama');
    const emb = objs[0]!['embedding'] ?? objs[0]!['embeddings'];
    expect(call.usage.raw).toMatchObject({ embedding_count: Array.isArray(objs[0]!['embedding']) ? 1 : (emb as unknown[]).length });
    return;
  }
  const chat = c.path.endsWith('/api/chat');
  expect(call.api).toBe(chat ? 'ollama.chat' : 'ollama.generate');
  expect(call.provider).toBe('ollama');
  const final = objs.find((o) => o['done'] === true)!;
  expect(final, 'the recording has a final object').toBeDefined();
  expect(call.response_model).toBe(final['model']);
  expect(call.usage.input_tokens).toBe(final['prompt_eval_count']);
  expect(call.usage.output_tokens).toBe(final['eval_count']);
  expect(call.usage.estimated).toBe(false);
  expect(call.usage.raw).toMatchObject({ total_duration: final['total_duration'], eval_duration: final['eval_duration'] });
  expect(call.finish_reason_raw).toBe(final['done_reason'] ?? null);
  const text = objs.map((o) => (chat ? (isObj(o['message']) ? o['message']['content'] : '') : o['response']) ?? '').join('');
  expect(call.output_text).toBe(text);
  const tools = objs.flatMap((o) => (isObj(o['message']) && Array.isArray(o['message']['tool_calls']) ? o['message']['tool_calls'] : []));
  expect(call.tool_calls.map((t) => t.name)).toEqual(tools.map((t) => (isObj(t) && isObj(t['function']) ? t['function']['name'] : null)));
  expect(call.stream).toBe(objs.length > 1);
  if (objs.length > 1) expect(call.first_token).not.toBeNull();
  expect(call.anomalies).toEqual([]);
}

describe.skipIf(!corpusDir)('Ollama decoders over the recorded corpus', () => {
  const { cases, files } = corpusDir ? loadCases(corpusDir) : { cases: [], files: 0 };

  it('finds the recordings', () => {
    // MANIFEST-real.md lists 12 Ollama files (8 cassettes, 4 NDJSON bodies).
    expect(files).toBeGreaterThanOrEqual(12);
    expect(cases.length).toBeGreaterThanOrEqual(12);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const r = decodeExchange(c.ex);
    expect(r, 'decoded as a call').toHaveProperty('call');
    check(c, (r as { call: DecodedCall }).call);
  });
});
