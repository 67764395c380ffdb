/**
 * Corpus conformance for the cloud routes (MANIFEST-real's Azure and Vertex rows in the OpenAI,
 * Gemini and Anthropic groups): each recording goes through the registry on the route it was
 * sent to (cassettes and js-genai replays carry their URL; bodies without one are put on the
 * route their manifest row names), and the call must come out with the cloud's provider, the
 * model the route names, and the output count the recording's last usage states (read here with
 * a plain text search). What the body decoders make of the content is checked by their own
 * corpus tests (openai-corpus, gemini.corpus, anthropic-messages.corpus).
 */
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../../test/corpus.js';
import type { HttpExchange } from '../http/types.js';
import { cassette, chunksToSse, genaiReplay, manifestFiles, readText } from './corpus-recordings.test-support.js';
import { isVertexRequest } from './cloud-routes.js';
import { decodeExchange } from './registry.js';
import { makeExchange } from './test-helpers.test-support.js';

const root = corpusDir ?? '';
const files = corpusDir
  ? manifestFiles(root, ['OpenAI Chat Completions', 'OpenAI Responses', 'Google Gemini', 'Anthropic Messages']).filter((f) => /azure|vertex/i.test(f) || /^langchainjs-google-common\/(claude-chat|llm-8)/.test(f))
  : [];

/** The last number stated for `key` in a body (the final usage of a stream, or the one usage). */
function lastCount(text: string, key: string): number | null {
  const all = [...text.matchAll(new RegExp(`"${key}"\\s*:\\s*(\\d+)`, 'g'))];
  return all.length > 0 ? Number(all[all.length - 1]![1]) : null;
}

/** Output tokens as the recording states them, by wire format (DESIGN §3: output includes
 * reasoning; Gemini's thoughtsTokenCount is on top of candidatesTokenCount). */
function statedOutput(api: string, text: string): number | null {
  if (api === 'gemini.generate_content') {
    const c = lastCount(text, 'candidatesTokenCount');
    const t = lastCount(text, 'thoughtsTokenCount');
    return c === null && t === null ? null : (c ?? 0) + (t ?? 0);
  }
  if (api === 'openai.chat_completions') return lastCount(text, 'completion_tokens');
  return lastCount(text, 'output_tokens');
}

function check(ex: HttpExchange, provider: string, api: string, model: string | null): void {
  const r = decodeExchange(ex);
  if (!('call' in r)) {
    // countTokens / computeTokens replays: named, not decoded.
    expect(ex.request.path).toMatch(/:(countTokens|computeTokens)$/);
    return;
  }
  const call = r.call;
  expect(call.provider).toBe(provider);
  expect(call.api).toBe(api);
  if (model !== null) expect(call.request_model).toBe(model);
  const body = Buffer.concat(ex.response!.body.chunks.map((c) => c.data)).toString('utf8');
  const stated = ex.response!.status < 400 ? statedOutput(api, body) : null;
  if (stated !== null) {
    expect(call.usage.output_tokens).toBe(stated);
    expect(call.usage.estimated).toBe(false);
  }
  if (call.error === null && !call.anomalies.some((a) => a.endsWith('_interrupted'))) expect(call.finish_reason).not.toBeNull();
}

const VERTEX = '/v1/projects/p/locations/us-central1/publishers';

describe.skipIf(!corpusDir)('Azure and Vertex recordings through the registry', () => {
  it('lists the recordings of the manifest', () => {
    // Azure/Vertex rows of the snapshot (MANIFEST-real.md), langchain's Vertex mocks included.
    expect(files.length).toBe(78);
  });

  for (const rel of files) {
    it(`routes ${rel}`, () => {
      if (rel.startsWith('js-genai/')) {
        const recs = genaiReplay(root, rel);
        expect(recs.length).toBeGreaterThan(0);
        for (const { exchange } of recs) {
          expect(isVertexRequest(exchange.request)).toBe(true);
          check(exchange, 'google', 'gemini.generate_content', /models\/([^/:]+):/.exec(exchange.request.path)![1]!);
        }
      } else if (rel.endsWith('.yaml')) {
        for (const { recording } of cassette(root, rel)) {
          const ex = recording.exchange;
          if (/\/openai\/deployments\//.test(ex.request.path)) check(ex, 'azure', 'openai.chat_completions', null);
          else {
            expect(isVertexRequest(ex.request)).toBe(true);
            check(ex, 'google', 'gemini.generate_content', /models\/([^/:]+):/.exec(ex.request.path)![1]!);
          }
        }
      } else if (rel.endsWith('.resp0.sse') || /\.resp\d\.sse$/.test(rel)) {
        const text = readText(root, rel);
        if (rel.startsWith('openllmetry/')) {
          const ex = makeExchange({ target: '/openai/deployments/openllmetry-testing/chat/completions?api-version=2024-02-01', reqBody: { messages: [], stream: true }, resBody: text });
          check(ex, 'azure', 'openai.chat_completions', 'openllmetry-testing');
        } else {
          const ex = makeExchange({ target: `${VERTEX}/google/models/gemini-3-flash-preview:streamGenerateContent?alt=sse`, reqBody: { contents: [] }, resBody: text });
          check(ex, 'google', 'gemini.generate_content', 'gemini-3-flash-preview');
        }
      } else if (rel.startsWith('vercel-ai/azure/')) {
        const text = readText(root, rel);
        // The manifest files these under /openai/v1/responses, but the DeepSeek pair is a Chat
        // Completions body (`"object": "chat.completion"`): it goes on Azure's v1 chat route.
        const chat = /"object"\s*:\s*"chat\.completion/.test(text);
        const streamed = rel.endsWith('.chunks.txt');
        const ex = makeExchange({
          target: chat ? '/openai/v1/chat/completions' : '/openai/v1/responses',
          reqHeaders: { host: 'res.openai.azure.com', 'content-type': 'application/json' },
          reqBody: chat ? { model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'x' }], stream: streamed } : { model: 'gpt-4.1-mini', input: 'x', stream: streamed },
          resBody: streamed ? chunksToSse(text) : text,
        });
        check(ex, 'azure', chat ? 'openai.chat_completions' : 'openai.responses', 'gpt-4.1-mini');
      } else if (rel === 'vercel-ai/openai/chat/azure-model-router.1.chunks.txt') {
        const ex = makeExchange({
          target: '/openai/deployments/model-router/chat/completions?api-version=2025-01-01-preview',
          reqBody: { messages: [{ role: 'user', content: 'x' }], stream: true, stream_options: { include_usage: true } },
          resBody: chunksToSse(readText(root, rel)),
        });
        check(ex, 'azure', 'openai.chat_completions', 'model-router');
      } else if (rel.startsWith('vercel-ai/google/')) {
        const ex = makeExchange({ target: `${VERTEX}/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, reqBody: { contents: [] }, resBody: chunksToSse(readText(root, rel)) });
        check(ex, 'google', 'gemini.generate_content', 'gemini-2.5-flash');
      } else if (rel === 'langchainjs-google-common/llm-8-mock.json') {
        const ex = makeExchange({
          target: `${VERTEX}/google/models/gemini-1.5-pro:streamGenerateContent`,
          reqBody: { contents: [] },
          resBody: readText(root, rel),
          resHeaders: { 'content-type': 'application/json' },
        });
        check(ex, 'google', 'gemini.generate_content', 'gemini-1.5-pro');
      } else {
        const streamed = rel.endsWith('.sse');
        const ex = makeExchange({
          target: `${VERTEX}/anthropic/models/claude-3-5-sonnet-v2@20241022:${streamed ? 'streamRawPredict' : 'rawPredict'}`,
          reqBody: { anthropic_version: 'vertex-2023-10-16', max_tokens: 100, messages: [{ role: 'user', content: 'x' }], stream: streamed },
          resBody: readText(root, rel),
        });
        check(ex, 'anthropic', 'anthropic.messages', 'claude-3-5-sonnet-v2@20241022');
      }
    });
  }
});
