/**
 * Which server answered an OpenAI-shaped call (Chat Completions, Responses, OpenAI-style
 * embeddings). Many servers speak OpenAI's wire format — hosted (Mistral, Groq, Together,
 * DeepSeek, OpenRouter, Fireworks, xAI, Perplexity, Cerebras, Voyage …) and self-hosted (vLLM,
 * llama.cpp's server, LM Studio, Ollama's `/v1`) — so the decoders report `openai` and this step,
 * run by the registry after decode(), sets `provider` from what the exchange shows:
 *
 * 1. a known vendor host (the decoders already map most, openai-common.ts HOST_PROVIDERS);
 * 2. OpenAI's own response headers (`openai-organization`, `openai-processing-ms`,
 *    `openai-version`: https://platform.openai.com/docs/api-reference/debugging-requests), which
 *    only OpenAI sends (gateways that relay them relay OpenAI);
 * 3. headers and body features of other servers: Groq's `x-groq-id` / `x_groq`, llama.cpp's
 *    `timings` (tools/server/README.md), vLLM's `prompt_logprobs` / `kv_transfer_params`
 *    (vllm/entrypoints/openai/protocol.py), Ollama's `system_fingerprint: "fp_ollama"`
 *    (openai/openai.go), OpenRouter's `provider` field, LM Studio's `stats` object;
 * 4. otherwise a host that is not api.openai.com is `openai_compatible`: an unknown server,
 *    priced only by `pricing.models` — not at OpenAI's list price because its model is named
 *    like one of OpenAI's. With no host at all (an HTTP/2 stream joined mid-way) nothing is
 *    known, and the decoder's `openai` stands.
 */
import { bodyBytes, headerValue, type HttpBody, type HttpExchange } from '../http/types.js';
import type { DecodedCall } from './types.js';

/** Provider of a server that speaks OpenAI's format but is not one we can name. */
export const OPENAI_COMPATIBLE = 'openai_compatible';

/** The APIs whose decoders report `openai` for whatever server speaks the format. */
const OPENAI_SHAPED = new Set(['openai.chat_completions', 'openai.responses', 'embeddings']);

/** Hosts the decoders do not map (openai-common.ts is not this file's) and OpenAI's own. */
const EXTRA_HOSTS: readonly [suffix: string, provider: string][] = [
  ['api.openai.com', 'openai'],
  ['api.voyageai.com', 'voyage'],
  ['api.deepinfra.com', 'deepinfra'],
  ['integrate.api.nvidia.com', 'nvidia'],
  ['api.sambanova.ai', 'sambanova'],
  ['router.huggingface.co', 'huggingface'],
  ['api.novita.ai', 'novita'],
  ['api.hyperbolic.xyz', 'hyperbolic'],
  ['api.cohere.ai', 'cohere'],
  ['api.cohere.com', 'cohere'],
];

/** Response headers only OpenAI's API sets. */
const OPENAI_HEADERS = ['openai-organization', 'openai-processing-ms', 'openai-version', 'openai-project'];

/** Ollama's default port (https://github.com/ollama/ollama/blob/main/docs/faq.md), vLLM's
 * (`vllm serve`), LM Studio's (docs: lmstudio.ai/docs/app/api) and llama.cpp server's. Used
 * only when no header or body feature named the server. */
const DEFAULT_PORTS: ReadonlyMap<number, string> = new Map([
  [11434, 'ollama'],
  [1234, 'lmstudio'],
]);

/** Body markers, searched as bytes in the head and tail of the response (below). Order: the
 * most specific first. */
const BODY_MARKERS: readonly [marker: string, provider: string][] = [
  ['"x_groq"', 'groq'],
  ['"fp_ollama"', 'ollama'],
  ['"kv_transfer_params"', 'vllm'],
  ['"prompt_logprobs"', 'vllm'],
  ['"timings"', 'llamacpp'],
];

/** How much of a response's head and tail is searched for markers: a chunk or the JSON body's
 * end is where servers put them (Groq's `x_groq` rides the first and last chunks, llama.cpp's
 * `timings` the last); 64 KiB each way bounds the search on a long stream. */
export const MARKER_SCAN_BYTES = 64 * 1024;

const enc = new TextEncoder();
const MARKER_BYTES: readonly [Uint8Array, string][] = BODY_MARKERS.map(([m, p]) => [enc.encode(m), p]);

function hostOf(ex: HttpExchange): string {
  const h = headerValue(ex.request.headers, 'host') ?? headerValue(ex.request.headers, ':authority') ?? '';
  return h.toLowerCase().replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
}

function portOf(ex: HttpExchange): number | null {
  const h = headerValue(ex.request.headers, 'host') ?? '';
  const m = /:(\d+)$/.exec(h);
  return m !== null ? Number(m[1]) : ex.connection.server.port;
}

function hostProvider(host: string): string | null {
  for (const [suffix, provider] of EXTRA_HOSTS) if (host === suffix || host.endsWith(`.${suffix}`)) return provider;
  return null;
}

function indexOfBytes(hay: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.length).indexOf(needle) !== -1;
}

/** A body marker in the first and last MARKER_SCAN_BYTES of the response, or null. */
function bodyProvider(body: HttpBody): string | null {
  if (body.size === 0) return null;
  const b = bodyBytes(body);
  const head = b.subarray(0, MARKER_SCAN_BYTES);
  const tail = b.length > MARKER_SCAN_BYTES ? b.subarray(Math.max(MARKER_SCAN_BYTES, b.length - MARKER_SCAN_BYTES)) : null;
  for (const [m, p] of MARKER_BYTES) {
    if (indexOfBytes(head, m) || (tail !== null && indexOfBytes(tail, m))) return p;
  }
  // OpenRouter names the upstream in a top-level `"provider":"…"` of its bodies and chunks.
  if (indexOfBytes(head, enc.encode('"provider":"'))) return 'openrouter';
  return null;
}

/** The server behind an OpenAI-shaped call, or null to keep the decoder's provider. */
export function compatibleServer(ex: HttpExchange, call: DecodedCall): string | null {
  if (!OPENAI_SHAPED.has(call.api)) return null;
  // A vendor the decoder already named from the host (groq, mistral, azure, …).
  if (call.provider !== 'openai') return null;
  const host = hostOf(ex);
  const named = hostProvider(host);
  if (named !== null) return named;
  const res = ex.response;
  if (res !== null) {
    if (OPENAI_HEADERS.some((h) => headerValue(res.headers, h) !== undefined)) return 'openai';
    if (headerValue(res.headers, 'x-groq-id') !== undefined) return 'groq';
    const server = headerValue(res.headers, 'server')?.toLowerCase() ?? '';
    if (server.includes('llama.cpp')) return 'llamacpp';
    const marked = bodyProvider(res.body);
    if (marked !== null) return marked;
  }
  if (host === '') return null;
  const port = portOf(ex);
  return (port !== null ? DEFAULT_PORTS.get(port) : undefined) ?? OPENAI_COMPATIBLE;
}

/** The registry's post-decode step: set `provider` when the exchange names the server. */
export function applyCompatibleServer(ex: HttpExchange, call: DecodedCall): void {
  try {
    const p = compatibleServer(ex, call);
    if (p !== null) call.provider = p;
  } catch {
    // Never throws (DESIGN §3); the decoder's provider stands.
  }
}
