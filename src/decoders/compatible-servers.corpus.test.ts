/**
 * Which server answered, over the recorded corpus (MANIFEST-real.md groups "OpenAI-compatible
 * Chat (other vendors)" and "Other providers (Mistral, Groq)"). What each body decodes to (model,
 * usage, finish, text, tool calls) is checked by openai-corpus.test.ts over the same files; this
 * file checks the provider the registry reports:
 * - cassettes carry the vendor's real host: the provider is that vendor;
 * - raw bodies are replayed as if served by an unknown host on a private address: a body that
 *   names its server (Groq's `x_groq`) is that server, any other is `openai_compatible` and is
 *   not priced at OpenAI's prices, whatever its model is called.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../../test/corpus.js';
import { priceCall } from '../cost/call-pricer.js';
import type { HttpExchange } from '../http/types.js';
import { OPENAI_COMPATIBLE } from './compatible-servers.js';
import { cassette, chunksToSse, manifestFiles } from './corpus-recordings.test-support.js';
import { decodeExchange } from './registry.js';
import { makeExchange, T0 } from './test-helpers.test-support.js';
import type { DecodedCall } from './types.js';

const GROUPS = ['OpenAI-compatible Chat (other vendors)', 'Other providers (Mistral, Groq)'];

const VENDOR_HOSTS: readonly [RegExp, string][] = [
  [/api\.mistral\.ai$/, 'mistral'],
  [/api\.groq\.com$/, 'groq'],
];

interface Case {
  name: string;
  ex: HttpExchange;
  want: string;
}

function loadCases(root: string): { cases: Case[]; files: number } {
  const cases: Case[] = [];
  const files = manifestFiles(root, GROUPS);
  for (const rel of files) {
    if (rel.endsWith('.yaml')) {
      for (const it of cassette(root, rel)) {
        const host = /^[a-z]+:\/\/([^/]+)/i.exec(it.uri)?.[1] ?? '';
        const want = VENDOR_HOSTS.find(([re]) => re.test(host))?.[1];
        if (want === undefined) continue;
        const ex = it.recording.exchange;
        if (!ex.request.headers.some(([n]) => n === 'host')) ex.request.headers.push(['host', host]);
        cases.push({ name: it.recording.label, ex, want });
      }
      continue;
    }
    const text = readFileSync(join(root, rel), 'utf8');
    const stream = rel.endsWith('.chunks.txt') || rel.endsWith('.sse');
    const body = rel.endsWith('.chunks.txt') ? chunksToSse(text) : text;
    const responses = /"type"\s*:\s*"response\./.test(text) || /"object"\s*:\s*"response"/.test(text);
    // The recording names its server only by Groq's `x_groq` among these vendors.
    const want = /"x_groq"/.test(text) ? 'groq' : OPENAI_COMPATIBLE;
    cases.push({
      name: rel,
      ex: makeExchange({
        target: responses ? '/v1/responses' : '/v1/chat/completions',
        reqHeaders: { host: '10.1.2.3:8000', 'content-type': 'application/json' },
        reqBody: { model: 'gpt-4o', stream, ...(responses ? { input: 'hi' } : { messages: [{ role: 'user', content: 'hi' }] }) },
        resHeaders: { 'content-type': stream ? 'text/event-stream' : 'application/json' },
        resBody: body,
      }),
      want,
    });
  }
  return { cases, files: files.length };
}

describe.skipIf(!corpusDir)('compatible servers over the recorded corpus', () => {
  const { cases, files } = corpusDir ? loadCases(corpusDir) : { cases: [], files: 0 };

  it('finds the recordings', () => {
    // MANIFEST-real.md: 56 OpenAI-compatible vendor files and 14 Mistral/Groq files.
    expect(files).toBeGreaterThanOrEqual(70);
    expect(cases.length).toBeGreaterThanOrEqual(files);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const r = decodeExchange(c.ex);
    expect(r, 'decoded as a call').toHaveProperty('call');
    const call = (r as { call: DecodedCall }).call;
    expect(call.provider).toBe(c.want);
    if (c.want === OPENAI_COMPATIBLE) {
      // The request named gpt-4o, an OpenAI model: an unknown server is still not priced as OpenAI.
      const cost = priceCall({ provider: call.provider, response_model: call.response_model, request_model: call.request_model, usage: call.usage, atMs: T0 / 1000 });
      expect(cost.cost_status).toBe('unpriced');
    }
  });
});
