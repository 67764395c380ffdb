/**
 * Pieces shared by the OpenAI Chat Completions and Responses decoders: the decode steps both
 * take in the same order (request, response JSON or stream, HTTP error, estimates), usage
 * normalisation (both OpenAI naming families and the Anthropic names some proxies answer with),
 * error extraction, provider from host. (Anomaly list, blank call, body parsing and estimates
 * come from decode-helpers.ts, shared with the Anthropic and Gemini decoders.)
 */
import type { AnomalySink } from '../core/anomalies.js';
import { headerValue, type HttpExchange, type HttpRequest, type HttpResponse } from '../http/types.js';
import {
  AnomalyList,
  blankCall,
  emptyUsage,
  fillEstimates,
  generatedAnything,
  httpError,
  isBlankText,
  isEventStream,
  parseJsonBody,
  parseRequestObject,
  requestModelFallback,
  textOf,
  wireDecoder,
} from './decode-helpers.js';
import { arr, num, obj, str, type JsonObject } from './json.js';
import type { JsonObjectReader } from './json-reader.js';
import type { CallError, DecodedCall, Usage, WireDecoder } from './types.js';

/** The request body as a JSON object reader, or null (absent, not JSON, truncated). */
function parseRequestJson(req: HttpRequest, anomalies: AnomalySink): JsonObjectReader | null {
  if (isBlankText(req.body)) return null;
  return parseRequestObject(req, anomalies, 'openai');
}

/** What differs between the two OpenAI wire APIs; decodeOpenAi runs these in the order both
 * share. */
export interface OpenAiApi {
  api: string;
  /** The model when the body names none (e.g. Azure's deployment in the path), or null. */
  modelFromPath(path: string): string | null;
  toolsOffered(body: JsonObjectReader | null): string[];
  /** The request's text as the model reads it, for estimating input tokens. */
  requestText(body: JsonObjectReader | null): string;
  /** A JSON response body of a non-error status that is an error object all the same. */
  isErrorBody(body: JsonObject): boolean;
  /** Fill the call from a non-streaming JSON response. */
  applyBody(call: DecodedCall, body: JsonObject): void;
  /** Fill the call from an event-stream response; `body` is the parsed request. */
  decodeStream(call: DecodedCall, res: HttpResponse, body: JsonObjectReader | null, anomalies: AnomalyList): void;
}

function decodeJsonResponse(call: DecodedCall, res: HttpResponse, api: OpenAiApi, anomalies: AnomalyList): void {
  const json = parseJsonBody(res.body);
  const text = textOf(res.body);
  const body = obj(json);
  if (res.status >= 400 || (body !== null && api.isErrorBody(body))) {
    call.error = errorFromJson(json) ?? httpError(res.status, text);
    call.finish_reason = 'error';
    return;
  }
  if (body === null) {
    if (text !== '') anomalies.add('openai_response_invalid_json');
    return;
  }
  api.applyBody(call, body);
}

function decodeOpenAi(ex: HttpExchange, api: OpenAiApi): DecodedCall {
  const anomalies = new AnomalyList();
  const call = blankCall(providerFromHost(ex.request, 'openai'), api.api, 'chat');
  const body = parseRequestJson(ex.request, anomalies);
  call.request_model =
    nonEmpty(str(body?.get('model'))) ?? (body === null ? requestModelFallback(ex.request) : null) ?? api.modelFromPath(ex.request.path);
  call.tools_offered = api.toolsOffered(body);
  call.stream = body?.get('stream') === true;
  const res = ex.response;
  if (res === null) {
    anomalies.add('openai_no_response');
    call.anomalies = anomalies.names;
    return call;
  }
  if (isEventStream(res)) {
    call.stream = true;
    api.decodeStream(call, res, body, anomalies);
  } else {
    decodeJsonResponse(call, res, api, anomalies);
    if (res.body.incomplete || res.body.truncated) anomalies.add('openai_response_incomplete');
  }
  // An HTTP error status is an error even when the body (an SSE stream, an empty body) did not
  // say which.
  if (res.status >= 400 && call.error === null) {
    call.error = httpError(res.status, '');
    call.finish_reason = 'error';
  }
  // DESIGN §3: no usage on the wire → count with the tokenizer and say so. An error before any
  // output generated nothing and is not estimated.
  if (call.usage.raw === null && (generatedAnything(call) || (call.error === null && res.status < 400))) {
    fillEstimates(call, () => api.requestText(body));
  }
  call.anomalies = anomalies.names;
  return call;
}

/** The WireDecoder of an OpenAI wire API: the shared decode steps around `api`'s own. */
export function openAiDecoder(api: OpenAiApi & Pick<WireDecoder, 'matchRoute' | 'matchBody'>): WireDecoder {
  return wireDecoder({
    api: api.api,
    provider: 'openai',
    operation: 'chat',
    failedAnomaly: 'openai_decoder_failed',
    matchRoute: api.matchRoute,
    matchBody: api.matchBody,
    decode: (ex) => decodeOpenAi(ex, api),
  });
}

function sumNullable(...xs: (number | null)[]): number | null {
  let total: number | null = null;
  for (const x of xs) if (x !== null) total = (total ?? 0) + x;
  return total;
}

/**
 * Normalise an OpenAI-family usage object (DESIGN §3: input includes cache reads and writes,
 * output includes reasoning):
 * - Chat Completions: `prompt_tokens` (total input), `completion_tokens` (includes reasoning),
 *   `prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens`;
 *   DeepSeek's `prompt_cache_hit_tokens`; LiteLLM's top-level `cache_read_input_tokens` /
 *   `cache_creation_input_tokens` beside `prompt_tokens` (which already totals them).
 * - Responses: `input_tokens` (total), `input_tokens_details.cached_tokens`, `output_tokens`,
 *   `output_tokens_details.reasoning_tokens`.
 * - Anthropic names behind an OpenAI path (CLIProxyAPI-style proxies, tokenscope issue #96):
 *   `input_tokens` excludes `cache_read_input_tokens` and `cache_creation_input_tokens`; add them.
 * Returns null when the object carries no count at all.
 */
export function normalizeOpenAiUsage(raw: unknown): Usage | null {
  const u = obj(raw);
  if (u === null) return null;
  const promptTokens = num(u['prompt_tokens']);
  const completionTokens = num(u['completion_tokens']);
  const inputTokens = num(u['input_tokens']);
  const outputTokens = num(u['output_tokens']);
  const anthropicRead = num(u['cache_read_input_tokens']);
  const anthropicWrite = num(u['cache_creation_input_tokens']);
  const usage = emptyUsage();
  usage.raw = raw;
  if (promptTokens !== null || completionTokens !== null) {
    const pd = obj(u['prompt_tokens_details']);
    const cd = obj(u['completion_tokens_details']);
    usage.input_tokens = promptTokens;
    usage.cache_read_tokens = num(pd?.['cached_tokens']) ?? num(u['prompt_cache_hit_tokens']) ?? anthropicRead;
    usage.cache_write_tokens = num(pd?.['cache_creation_tokens']) ?? num(pd?.['cache_write_tokens']) ?? anthropicWrite;
    usage.reasoning_tokens = num(cd?.['reasoning_tokens']) ?? num(u['reasoning_tokens']);
    usage.output_tokens = completionTokens;
    // xAI counts reasoning outside completion_tokens (total = prompt + completion + reasoning, seen
    // in real grok-3-mini streams: 12 + 2 + 340 = 354). Where the total proves it, add it back so
    // output includes reasoning as everywhere else.
    const total = num(u['total_tokens']);
    const r = usage.reasoning_tokens;
    if (completionTokens !== null && promptTokens !== null && r !== null && r > 0 && total !== null) {
      if (total === promptTokens + completionTokens + r && completionTokens < r) usage.output_tokens = completionTokens + r;
    }
    return usage;
  }
  if (inputTokens !== null || outputTokens !== null) {
    const idt = obj(u['input_tokens_details']);
    const odt = obj(u['output_tokens_details']);
    usage.output_tokens = outputTokens;
    usage.reasoning_tokens = num(odt?.['reasoning_tokens']) ?? num(u['reasoning_tokens']);
    if (idt === null && (anthropicRead !== null || anthropicWrite !== null)) {
      usage.cache_read_tokens = anthropicRead;
      usage.cache_write_tokens = anthropicWrite;
      usage.input_tokens = sumNullable(inputTokens, anthropicRead, anthropicWrite);
    } else {
      usage.input_tokens = inputTokens;
      usage.cache_read_tokens = num(idt?.['cached_tokens']) ?? null;
      usage.cache_write_tokens = num(idt?.['cache_creation_tokens']) ?? num(idt?.['cache_write_tokens']) ?? null;
    }
    return usage;
  }
  return null;
}

/** An error object in the shapes OpenAI-compatible servers use: `{error:{type,code,message}}`,
 * `{error:"text"}`, `{message}`, FastAPI's `{detail}`; null when none is recognisable. */
export function errorFromJson(json: unknown): CallError | null {
  const o = obj(json);
  if (o === null) return null;
  const e = o['error'];
  const eo = obj(e);
  if (eo !== null) {
    const type = str(eo['type']) ?? str(eo['code']) ?? (typeof eo['code'] === 'number' ? String(eo['code']) : null);
    const message = str(eo['message']) ?? str(eo['detail']) ?? '';
    return { type: type ?? 'error', message };
  }
  if (typeof e === 'string') return { type: str(o['type']) ?? 'error', message: e };
  if (str(o['object']) === 'error' || (str(o['message']) !== null && o['choices'] === undefined && o['output'] === undefined)) {
    return { type: str(o['type']) ?? str(o['code']) ?? 'error', message: str(o['message']) ?? '' };
  }
  const detail = o['detail'];
  if (typeof detail === 'string') return { type: 'error', message: detail };
  if (Array.isArray(detail)) return { type: 'validation_error', message: JSON.stringify(detail).slice(0, 1000) };
  return null;
}

/** Known OpenAI-compatible hosts → provider name (the record's `provider`); the wire API stays
 * openai.*. Anything else, including self-hosted servers, is reported as `openai`. */
const HOST_PROVIDERS: readonly [suffix: string, provider: string][] = [
  ['openai.azure.com', 'azure'],
  ['cognitiveservices.azure.com', 'azure'],
  ['services.ai.azure.com', 'azure'],
  ['api.groq.com', 'groq'],
  ['api.mistral.ai', 'mistral'],
  ['api.deepseek.com', 'deepseek'],
  ['api.x.ai', 'xai'],
  ['openrouter.ai', 'openrouter'],
  ['api.together.xyz', 'together'],
  ['api.fireworks.ai', 'fireworks'],
  ['api.perplexity.ai', 'perplexity'],
  ['api.moonshot.ai', 'moonshotai'],
  ['api.moonshot.cn', 'moonshotai'],
  ['dashscope.aliyuncs.com', 'alibaba'],
  ['dashscope-intl.aliyuncs.com', 'alibaba'],
  ['api.cerebras.ai', 'cerebras'],
  ['generativelanguage.googleapis.com', 'google'],
  ['aiplatform.googleapis.com', 'google'],
  ['api.anthropic.com', 'anthropic'],
  ['api.githubcopilot.com', 'github'],
  ['models.github.ai', 'github'],
];

export function providerFromHost(req: HttpRequest, fallback: string): string {
  const host = (headerValue(req.headers, 'host') ?? headerValue(req.headers, ':authority') ?? '').toLowerCase().replace(/:\d+$/, '');
  if (host === '') return fallback;
  for (const [suffix, provider] of HOST_PROVIDERS) {
    if (host === suffix || host.endsWith(`.${suffix}`)) return provider;
  }
  return fallback;
}

/** Text of a message `content` in any of the shapes Chat/Responses use: a string, or parts with
 * `text` / `input_text` / `output_text` / `refusal`. Appends to `out`. */
export function collectContentText(content: unknown, out: string[]): void {
  if (typeof content === 'string') {
    out.push(content);
    return;
  }
  for (const part of arr(content)) {
    if (typeof part === 'string') out.push(part);
    const p = obj(part);
    if (p === null) continue;
    const t = str(p['text']) ?? str(p['refusal']);
    if (t !== null) out.push(t);
  }
}

/** null for null or '' (servers send `"model": ""` in Azure's first stream chunk). */
export function nonEmpty(s: string | null): string | null {
  return s === null || s === '' ? null : s;
}
