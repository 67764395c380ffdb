/**
 * Cloud-hosted routes of the OpenAI, Gemini and Anthropic wire formats (DESIGN §3):
 *
 * Azure OpenAI (https://learn.microsoft.com/azure/ai-foundry/openai/reference and
 * …/reference-preview-latest): `/openai/deployments/{deployment}/chat/completions`,
 * `/openai/v1/chat/completions`, `/openai/responses`, `/openai/v1/responses`, each with
 * `?api-version=`, on `*.openai.azure.com`, `*.cognitiveservices.azure.com` or
 * `*.services.ai.azure.com`. The Chat and Responses decoders already read those bodies (and name
 * the deployment as the model when the body has none); this decoder claims the Azure routes first
 * so that the provider is `azure` whatever the Host (a private endpoint, a gateway in front), and
 * reads Azure's content filter: a prompt the filter blocked comes back as an error whose code is
 * `content_filter` (openllmetry's test_azure test_prompt_content_filtering), which is reported
 * with finish reason `content_filter` rather than a bare `error`. `/openai/deployments/{d}/embeddings`
 * is left to the embeddings decoder; legacy `/completions` has no decoder yet.
 *
 * Vertex AI: Gemini (`…/publishers/google/models/{m}:generateContent|:streamGenerateContent`) and
 * Anthropic (`…/publishers/anthropic/models/{m}:rawPredict|:streamRawPredict`) are matched by the
 * Gemini and Anthropic decoders. Their provider stays `google` / `anthropic`: the genai-prices
 * table has no Vertex prices of its own (its `google-vertex` id resolves to the `google`
 * provider, which also lists the Claude models), so a Vertex provider name would only lose
 * prices. Whether a call went to Vertex is told by `isVertexRequest` (host or path).
 */
import { headerValue, type HttpExchange, type HttpRequest } from '../http/types.js';
import { openaiChatDecoder } from './openai-chat.js';
import { openaiResponsesDecoder } from './openai-responses.js';
import type { DecodedCall, WireDecoder } from './types.js';

/** Azure OpenAI generating paths (the query, `api-version`, is not part of `path`). */
const AZURE_CHAT = /\/openai\/(?:deployments\/[^/]+|v1)\/chat\/completions\/?$/;
const AZURE_RESPONSES = /\/openai\/(?:v1\/)?responses\/?$/;
/** Recognised, not decoded here: embeddings belong to the embeddings decoder. */
export const AZURE_EMBEDDINGS = /\/openai\/(?:deployments\/[^/]+|v1)\/embeddings\/?$/;

const AZURE_HOST = /(?:^|\.)(?:openai\.azure\.com|cognitiveservices\.azure\.com|services\.ai\.azure\.com)(?::\d+)?$/i;

function hostOf(req: HttpRequest): string {
  return headerValue(req.headers, 'host') ?? headerValue(req.headers, ':authority') ?? '';
}

export function isAzureHost(req: HttpRequest): boolean {
  return AZURE_HOST.test(hostOf(req));
}

/** Azure reports a filtered prompt as an error with code/type `content_filter`, and a filtered
 * completion as finish_reason `content_filter` (which the Chat decoder maps already). */
function applyContentFilter(call: DecodedCall): void {
  if (call.error !== null && call.error.type === 'content_filter') {
    call.finish_reason = 'content_filter';
    call.finish_reason_raw = 'content_filter';
  }
}

/** `/openai/deployments/…` is Azure's alone; `/openai/v1/…` and `/openai/responses` also occur
 * behind gateways that speak OpenAI's own API (Cloudflare AI Gateway's `…/openai/responses`), so
 * those need Azure's host or its `api-version` query. */
function looksAzure(req: HttpRequest): boolean {
  return req.path.includes('/openai/deployments/') || isAzureHost(req) || /(?:^|&)api-version=/.test(req.query);
}

/** An Azure route's decoder: the OpenAI decoder of that body format, provider `azure`. */
function azureDecoder(inner: WireDecoder, path: RegExp): WireDecoder {
  return {
    api: inner.api,
    provider: 'azure',
    matchRoute: (req) => req.method === 'POST' && path.test(req.path) && looksAzure(req),
    matchBody: () => false,
    decode(ex: HttpExchange): DecodedCall | null {
      const call = inner.decode(ex);
      if (call === null) return null;
      call.provider = 'azure';
      applyContentFilter(call);
      return call;
    },
  };
}

export const azureChatDecoder: WireDecoder = azureDecoder(openaiChatDecoder, AZURE_CHAT);
export const azureResponsesDecoder: WireDecoder = azureDecoder(openaiResponsesDecoder, AZURE_RESPONSES);

/** Vertex AI: the `aiplatform.googleapis.com` hosts (regional `{region}-aiplatform…`) or a
 * `/projects/{p}/locations/{l}/` path. */
const VERTEX_HOST = /(?:^|[.-])aiplatform\.googleapis\.com(?::\d+)?$/i;
const VERTEX_PATH = /\/projects\/[^/]+\/locations\/[^/]+\//;

export function isVertexRequest(req: HttpRequest): boolean {
  return VERTEX_HOST.test(hostOf(req)) || VERTEX_PATH.test(req.path);
}
