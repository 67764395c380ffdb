/**
 * Embeddings over the recorded corpus (MANIFEST-real.md group "Embeddings": OpenAI, Azure,
 * Mistral, Voyage, Cohere v2, Gemini and Vertex recordings). Each exchange goes through the
 * registry; expectations are read from the recorded response here: the number of vectors, their
 * dimension (base64 float32 vectors counted in bytes / 4), the provider's input-token count, the
 * provider from the host, and the error of a failed call. Bedrock's (Titan v2, Nova multimodal)
 * come through its invoke route: their count is Titan's `inputTextTokenCount`, else Bedrock's
 * `X-Amzn-Bedrock-Input-Token-Count` response header.
 */
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../../test/corpus.js';
import type { HttpExchange } from '../http/types.js';
import { cassette, genaiReplay, manifestFiles, readText, recording, type Recording } from './corpus-recordings.test-support.js';
import { decodeExchange } from './registry.js';
import type { DecodedCall } from './types.js';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Case {
  name: string;
  ex: HttpExchange;
  host: string;
}

/** Raw response bodies (vercel-ai): the route and host each was recorded from. */
const RAW: Readonly<Record<string, { target: string; host: string; model: string }>> = {
  'vercel-ai/cohere/cohere-embedding.json': { target: '/v2/embed', host: 'api.cohere.com', model: 'embed-english-v3.0' },
  'vercel-ai/openai/embedding/openai-embedding.json': { target: '/v1/embeddings', host: 'api.openai.com', model: 'text-embedding-3-large' },
  'vercel-ai/voyage/voyage-embedding.json': { target: '/v1/embeddings', host: 'api.voyageai.com', model: 'voyage-3.5' },
  'vercel-ai/google-vertex/google-vertex-embedding.json': {
    target: '/v1/projects/p/locations/us-central1/publishers/google/models/text-embedding-004:predict',
    host: 'us-central1-aiplatform.googleapis.com',
    model: 'text-embedding-004',
  },
};

const PROVIDER_BY_HOST: readonly [RegExp, string][] = [
  [/openai\.azure\.com$/, 'azure'],
  [/api\.openai\.com$/, 'openai'],
  [/api\.mistral\.ai$/, 'mistral'],
  [/api\.voyageai\.com$/, 'voyage'],
  [/cohere\.com$/, 'cohere'],
  [/bedrock-runtime\.[a-z0-9-]+\.amazonaws\.com$/, 'aws'],
  [/googleapis\.com$|^$/, 'google'],
];

function hostOf(ex: HttpExchange): string {
  for (const [n, v] of ex.request.headers) if (n === 'host') return v;
  return '';
}

function loadCases(root: string): { cases: Case[]; excluded: string[]; files: number } {
  const cases: Case[] = [];
  const excluded: string[] = [];
  const files = manifestFiles(root, ['Embeddings']);
  const add = (r: Recording): void => {
    cases.push({ name: r.label, ex: r.exchange, host: hostOf(r.exchange) });
  };
  for (const rel of files) {
    if (rel.endsWith('.yaml')) {
      for (const it of cassette(root, rel)) {
        const host = /^[a-z]+:\/\/([^/]+)/i.exec(it.uri)?.[1] ?? '';
        if (hostOf(it.recording.exchange) === '') it.recording.exchange.request.headers.push(['host', host]);
        add(it.recording);
      }
    } else if (rel.startsWith('js-genai/')) {
      for (const r of genaiReplay(root, rel)) add(r);
    } else if (RAW[rel] !== undefined) {
      const spec = RAW[rel];
      add(recording(rel, { target: spec.target, reqHeaders: [['host', spec.host], ['content-type', 'application/json']], reqBody: JSON.stringify({ model: spec.model, input: ['a', 'b'], texts: ['a', 'b'], instances: [{ content: 'a' }] }), resBody: readText(root, rel) }));
    } else excluded.push(`${rel}: unknown format`);
  }
  return { cases, excluded, files: files.length };
}

/** Vectors and their dimension as the recording states them. */
function vectorsOf(body: Json): { count: number; dim: number | null } {
  const dimOf = (v: unknown): number | null => (Array.isArray(v) ? v.length : typeof v === 'string' ? Buffer.from(v, 'base64').length / 4 : null);
  let list: unknown[] = [];
  if (Array.isArray(body['embedding'])) list = [body['embedding']]; // Bedrock Titan
  else if (Array.isArray(body['data'])) list = body['data'].map((d) => (isObj(d) ? d['embedding'] : null));
  else if (Array.isArray(body['predictions'])) list = body['predictions'].map((p) => (isObj(p) && isObj(p['embeddings']) ? p['embeddings']['values'] : null));
  else if (isObj(body['embedding'])) list = [body['embedding']['values']];
  else if (Array.isArray(body['embeddings'])) list = body['embeddings'].map((e) => (isObj(e) ? (e['values'] ?? e['embedding']) : e)); // Bedrock Nova: `embedding`
  else if (isObj(body['embeddings'])) list = (body['embeddings']['float'] as unknown[] | undefined) ?? [];
  return { count: list.length, dim: list.length === 0 ? null : dimOf(list[0]) };
}

function inputTokensOf(body: Json, res: NonNullable<HttpExchange['response']>): number | null {
  if (typeof body['inputTextTokenCount'] === 'number') return body['inputTextTokenCount'];
  const bedrockCount = res.headers.find(([n]) => n.toLowerCase() === 'x-amzn-bedrock-input-token-count')?.[1];
  if (bedrockCount !== undefined) return Number(bedrockCount);
  const u = isObj(body['usage']) ? body['usage'] : null;
  if (u !== null) return (u['prompt_tokens'] as number | undefined) ?? (u['total_tokens'] as number | undefined) ?? null;
  const billed = isObj(body['meta']) && isObj(body['meta']['billed_units']) ? body['meta']['billed_units'] : null;
  if (billed !== null) return billed['input_tokens'] as number;
  if (Array.isArray(body['predictions'])) {
    return body['predictions'].reduce((n: number, p) => n + Number(isObj(p) && isObj(p['embeddings']) && isObj(p['embeddings']['statistics']) ? p['embeddings']['statistics']['token_count'] : 0), 0);
  }
  return null;
}

function check(c: Case, call: DecodedCall): void {
  expect(call.api).toBe('embeddings');
  expect(call.operation).toBe('embeddings');
  const want = PROVIDER_BY_HOST.find(([re]) => re.test(c.host.replace(/:\d+$/, '')))?.[1];
  expect(call.provider).toBe(want);
  const res = c.ex.response!;
  const text = new TextDecoder().decode(Buffer.concat(res.body.chunks.map((x) => x.data)));
  if (res.status >= 400) {
    expect(call.error).not.toBeNull();
    expect(call.finish_reason).toBe('error');
    expect(call.usage.estimated).toBe(false);
    return;
  }
  const body = JSON.parse(text) as Json;
  const v = vectorsOf(body);
  expect(v.count).toBeGreaterThan(0);
  expect(call.usage.raw).toMatchObject({ embedding_count: v.count, embedding_dimensions: v.dim });
  expect(call.usage.output_tokens).toBe(0);
  const input = inputTokensOf(body, res);
  if (input !== null) {
    expect(call.usage.input_tokens).toBe(input);
    expect(call.usage.estimated).toBe(false);
  } else {
    // Gemini sends no count: estimated from the embedded text.
    expect(call.usage.estimated).toBe(true);
    expect(call.usage.input_tokens).toBeGreaterThan(0);
  }
  expect(call.error).toBeNull();
  expect(call.request_model ?? call.response_model).not.toBeNull();
}

describe.skipIf(!corpusDir)('embeddings decoder over the recorded corpus', () => {
  const { cases, excluded, files } = corpusDir ? loadCases(corpusDir) : { cases: [], excluded: [], files: 0 };

  it('finds the recordings', () => {
    // MANIFEST-real.md lists 18 embeddings files (2 of them Bedrock), 24 exchanges in all.
    expect(files).toBeGreaterThanOrEqual(18);
    expect(cases.length).toBeGreaterThanOrEqual(24);
    expect(cases.filter((c) => c.host.startsWith('bedrock-runtime.')).map((c) => c.name)).toHaveLength(2);
    console.info(`embeddings corpus: ${files} files, ${cases.length} exchanges; excluded:\n  ${excluded.join('\n  ')}`);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const r = decodeExchange(c.ex);
    expect(r, 'decoded as a call').toHaveProperty('call');
    check(c, (r as { call: DecodedCall }).call);
  });
});
