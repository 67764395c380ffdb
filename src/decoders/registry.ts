/**
 * Decoder registry (DESIGN §3): which wire-API decoder, if any, owns an HTTP exchange.
 *
 * Pass 1 matches method + path (query ignored: Claude Code posts `/v1/messages?beta=true`) +
 * headers, most specific decoder first. Pass 2, for gateways and proxies that put an API under
 * another path, looks at the JSON request body's shape. Requests that reach an LLM API but are
 * not calls (token counting, model listings, batches, files, telemetry) are named, not decoded.
 */
import { headerValue, type HttpExchange, type HttpRequest } from '../http/types.js';
import { anthropicMessagesDecoder } from './anthropic-messages.js';
import { bedrockConverseDecoder } from './bedrock-converse.js';
import { bedrockInvokeDecoder } from './bedrock-invoke.js';
import { azureChatDecoder, azureResponsesDecoder } from './cloud-routes.js';
import { cohereChatDecoder } from './cohere-chat.js';
import { BYTE_LBRACE, blankCall, firstSignificantByte, forgetParsedBody, jsonObjectOf, parseJsonBody } from './decode-helpers.js';
import { geminiDecoder } from './gemini.js';
import { applyCompatibleServer } from './compatible-servers.js';
import { embeddingsDecoder } from './embeddings.js';
import { mcpDecoder } from './mcp.js';
import { ollamaChatDecoder, ollamaGenerateDecoder } from './ollama.js';
import { openaiChatDecoder } from './openai-chat.js';
import { openaiResponsesDecoder } from './openai-responses.js';
import { requestViewOfReader, type RequestView } from './request-view.js';
import type { DecodedCall, WireDecoder } from './types.js';

/** Pass 1 order: most specific route first. Anthropic needs its headers or a Vertex path;
 * Gemini's `models/{m}:method` paths are unmistakable; Responses and Chat end in fixed names. */
export const ROUTE_ORDER: readonly WireDecoder[] = [
  // MCP lives on any path: its headers (or Accept pair) and a JSON-RPC body say it is MCP.
  mcpDecoder,
  // Bedrock's `/model/{id}/converse|invoke…` and Cohere's `/v1|v2/chat` are their own; Azure's
  // `/openai/…` routes go before the generic OpenAI suffix matches below.
  bedrockConverseDecoder,
  bedrockInvokeDecoder,
  cohereChatDecoder,
  azureChatDecoder,
  azureResponsesDecoder,
  anthropicMessagesDecoder,
  ollamaChatDecoder,
  ollamaGenerateDecoder,
  // Before Gemini, which recognises `:embedContent` only to decline it.
  embeddingsDecoder,
  geminiDecoder,
  openaiResponsesDecoder,
  openaiChatDecoder,
];

/** Pass 2 order: `model` + `messages` is both Anthropic's and OpenAI Chat's shape, so the
 * decoder that looks for Anthropic-only fields goes first; then Chat (`messages`), Responses
 * (`input` without `messages`), Gemini (`contents`). */
export const BODY_ORDER: readonly WireDecoder[] = [
  // JSON-RPC envelopes and Ollama-only fields (`keep_alive`, `options`) are unmistakable.
  mcpDecoder,
  ollamaChatDecoder,
  ollamaGenerateDecoder,
  // Converse (`messages` without `model`, with `inferenceConfig`/`toolSpec`) and Cohere v1
  // (`message` + `chat_history`/`preamble`) are no other API's shape.
  bedrockConverseDecoder,
  cohereChatDecoder,
  anthropicMessagesDecoder,
  openaiChatDecoder,
  embeddingsDecoder,
  openaiResponsesDecoder,
  geminiDecoder,
];

/** Paths of LLM providers that are not generating calls, with the reason reported. Checked on
 * the path (no query), before any decoder. */
const NOT_CALLS: readonly [RegExp, string][] = [
  // Anthropic `/v1/messages/count_tokens`, Gemini `:countTokens`, OpenAI `/responses/input_tokens`.
  [/\/count_tokens\/?$|:countTokens$|\/responses\/input_tokens\/?$/i, 'count_tokens'],
  // Anthropic `/v1/messages/batches`, OpenAI `/v1/batches`, Gemini `:batchGenerateContent`.
  [/\/batches(?:\/|$)|:batchGenerateContent$|:asyncBatchEmbedContent$/i, 'batch'],
  [/\/v1(?:beta)?\/files(?:\/|$)|\/upload\/v1beta\/files/i, 'files'],
  // Claude Code's `/api/event_logging/batch`, OTLP/HTTP exports (`/v1/traces|metrics|logs`),
  // Statsig (`/v1/rgstr`, `/v1/initialize`), Sentry envelopes, generic telemetry endpoints.
  [/\/api\/event_logging\/|\/v1\/(?:traces|metrics|logs)$|\/v1\/rgstr$|\/v1\/initialize$|\/api\/\d+\/envelope\/?$|\/telemetry(?:\/|$)/i, 'telemetry'],
  // Model listings are GETs, but some gateways answer a POST too.
  [/\/v1(?:beta)?\/models\/?$/i, 'models_list'],
];

/** Content that may be a JSON body worth parsing for pass 2. */
function looksJson(req: HttpRequest): boolean {
  if (req.body.size === 0) return false;
  const ct = headerValue(req.headers, 'content-type')?.toLowerCase();
  if (ct !== undefined && ct.includes('json')) return true;
  return firstSignificantByte(req.body) === BYTE_LBRACE;
}

export type Classification = { decoder: WireDecoder } | { notLlm: string };

export function classifyExchange(ex: HttpExchange): Classification {
  const req = ex.request;
  // An empty method is an HTTP/2 stream joined mid-way (its headers were lost): only the body
  // can tell what it is.
  if (req.method !== 'POST' && req.method !== '') {
    // Every generating API call is a POST; a GET on …/models is a listing.
    if (/\/models(?:\/[^/]*)?\/?$/i.test(req.path)) return { notLlm: 'models_list' };
    return { notLlm: 'not_llm_route' };
  }
  for (const [re, reason] of NOT_CALLS) if (re.test(req.path)) return { notLlm: reason };
  for (const d of ROUTE_ORDER) if (safeMatchRoute(d, req)) return { decoder: d };
  if (!looksJson(req)) return { notLlm: 'not_llm_route' };
  // Parsed once per exchange: the decoder that claims it reads the same value (parseJsonBody).
  const body = parseJsonBody(req.body);
  if (body === undefined) return { notLlm: 'not_llm_route' };
  for (const d of BODY_ORDER) if (safeMatchBody(d, req, body)) return { decoder: d };
  return { notLlm: 'not_llm_route' };
}

function safeMatchRoute(d: WireDecoder, req: HttpRequest): boolean {
  try {
    return d.matchRoute(req);
  } catch {
    return false;
  }
}

function safeMatchBody(d: WireDecoder, req: HttpRequest, body: unknown): boolean {
  try {
    return d.matchBody(req, body);
  } catch {
    return false;
  }
}

export function decodeExchange(ex: HttpExchange): { call: DecodedCall } | { notLlm: string } {
  try {
    return decodeClassified(ex);
  } finally {
    // The parsed body is shared within this exchange only (see parseJsonBody).
    forgetParsedBody();
  }
}

function decodeClassified(ex: HttpExchange): { call: DecodedCall } | { notLlm: string } {
  const c = classifyExchange(ex);
  if ('notLlm' in c) return c;
  // Read before decode(): the request JSON read here is the one the decoder reads next
  // (jsonObjectOf keeps one body; afterwards it may hold the response's).
  const view = safeRequestView(ex, c.decoder.api);
  let call: DecodedCall | null;
  try {
    call = c.decoder.decode(ex);
  } catch {
    // Decoders never throw by contract; if one does, the call is still reported, marked.
    call = blankCall(c.decoder.provider, c.decoder.api, 'chat');
    call.anomalies.push('decoder_threw');
  }
  // A decoder may decline after a closer look (e.g. Anthropic count_tokens under its route).
  if (call === null) return { notLlm: 'declined_by_decoder' };
  // OpenAI-shaped calls: which server answered (vLLM, Groq, Ollama's /v1, …) sets `provider`.
  applyCompatibleServer(ex, call);
  call.request_view = view;
  return { call };
}

function safeRequestView(ex: HttpExchange, api: string): RequestView | null {
  if (ex.request.body.size === 0) return null;
  try {
    const body = jsonObjectOf(ex.request.body);
    return body === null ? null : requestViewOfReader(api, body);
  } catch {
    return null;
  }
}
