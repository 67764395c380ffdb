/**
 * Embeddings (DESIGN §3: api `embeddings`, operation `embeddings`) across the providers whose
 * wire formats differ:
 * - OpenAI `POST /v1/embeddings` (https://platform.openai.com/docs/api-reference/embeddings),
 *   Azure `/openai/deployments/{d}/embeddings`, and the servers that copy it (Mistral, Voyage,
 *   vLLM, …): `data[].embedding` (floats, or base64 float32 with `encoding_format: base64`),
 *   `usage.prompt_tokens` (Voyage: `usage.total_tokens`).
 * - Gemini `models/{m}:embedContent` → `embedding.values`, `:batchEmbedContents` →
 *   `embeddings[].values` (https://ai.google.dev/api/embeddings); no token count on the wire.
 *   Vertex `…/models/{m}:predict` on an embedding model → `predictions[].embeddings.values` with
 *   `statistics.token_count` (https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api).
 * - Cohere `/v1/embed`, `/v2/embed` (https://docs.cohere.com/reference/embed): `embeddings` as an
 *   array (v1 `embeddings_floats`) or by type (`{float: [[…]], int8: …}`),
 *   `meta.billed_units.input_tokens`.
 * - Ollama `/api/embed` (`embeddings`, `prompt_eval_count`, durations) and the older
 *   `/api/embeddings` (`embedding`, no count).
 * - Bedrock InvokeModel on an embedding model, `/model/{id}/invoke` (the chat decoder in
 *   bedrock-invoke.ts leaves these ids to us; provider `aws`):
 *   Titan (`amazon.titan-embed-*`) → `embedding` (+ `embeddingsByType`), `inputTextTokenCount`
 *   (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html);
 *   Cohere (`cohere.embed-*`) → Cohere's `embeddings` (array or by type) without any count
 *   (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-embed.html);
 *   Nova (`amazon.nova-*-embeddings-*`) → `embeddings[].embedding`. Every InvokeModel answer
 *   also carries Bedrock's own `X-Amzn-Bedrock-Input-Token-Count` (recorded in pydantic-ai's
 *   Bedrock embedding cassettes), the count input falls back to before it is estimated.
 *
 * Output tokens are 0 (an embedding generates no tokens), so a priced model is priced on its
 * input alone. The number of vectors and their dimension go into `usage.raw` beside the
 * provider's own usage fields, as `embedding_count` and `embedding_dimensions` (the decoder has
 * no way to set record attributes). Without a count on the wire, input is estimated.
 */
import type { HttpExchange, HttpRequest, HttpResponse } from '../http/types.js';
import {
  AnomalyList,
  blankCall,
  decodePathSegment,
  emptyUsage,
  finishCall,
  isBlankText,
  parseJsonBody,
  parseRequestObject,
  requestModelFallback,
  wireDecoder,
} from './decode-helpers.js';
import { BEDROCK_PROVIDER, bedrockHttpError, bedrockRoute, invocationHeaderUsage } from './bedrock-common.js';
import { arr, num, obj, str, type JsonObject } from './json.js';
import type { JsonObjectReader } from './json-reader.js';
import { OLLAMA_PROVIDER, ollamaUsage } from './ollama.js';
import { errorFromJson, providerFromHost } from './openai-common.js';
import type { DecodedCall, Usage, WireDecoder } from './types.js';

export const EMBEDDINGS_API = 'embeddings';

type Family = 'openai' | 'gemini' | 'vertex_predict' | 'cohere' | 'ollama_embed' | 'ollama_legacy' | 'bedrock';

interface Route {
  family: Family;
  /** The model the path names (Gemini, Vertex, Azure deployment), or null. */
  pathModel: string | null;
}

/** Gemini/Vertex `…/models/{m}:{method}` (any prefix: API version, project/location). */
const GOOGLE_METHOD = /\/models\/([^/:]+):([A-Za-z]+)$/;
/** Vertex predicts for many model kinds; only embedding models (`text-embedding-005`,
 * `gemini-embedding-001`, `textembedding-gecko@003`, `multimodalembedding@001`) are ours. */
const EMBEDDING_MODEL = /embed/i;
const AZURE_EMBEDDINGS = /\/openai\/deployments\/([^/]+)\/embeddings$/;
/** Bedrock embedding model ids: `amazon.titan-embed-text-v2:0`, `amazon.titan-embed-image-v1`,
 * `cohere.embed-english-v3`, `cohere.embed-v4:0`, `amazon.nova-2-multimodal-embeddings-v1:0`
 * (and inference profiles / ARNs ending so). The same test bedrock-invoke.ts declines them by;
 * embeddings.test.ts checks that exactly one of the two decoders claims each id. */
const BEDROCK_EMBEDDING_MODEL = /(?:^|[./-])(?:titan-)?embed/i;

function routeOf(path: string): Route | null {
  const p = path.endsWith('/') && path.length > 1 ? path.slice(0, -1) : path;
  const bedrock = bedrockRoute(p);
  if (bedrock !== null) {
    // Embeddings are never streamed: `invoke` only.
    return bedrock.operation === 'invoke' && BEDROCK_EMBEDDING_MODEL.test(bedrock.model) ? { family: 'bedrock', pathModel: bedrock.model } : null;
  }
  if (p.endsWith('/api/embed')) return { family: 'ollama_embed', pathModel: null };
  if (p.endsWith('/api/embeddings')) return { family: 'ollama_legacy', pathModel: null };
  const g = GOOGLE_METHOD.exec(p);
  if (g !== null) {
    const model = decodePathSegment(g[1]!);
    if (g[2] === 'embedContent' || g[2] === 'batchEmbedContents') return { family: 'gemini', pathModel: model };
    if (g[2] === 'predict' && EMBEDDING_MODEL.test(model) && /\/publishers\/google\//.test(p)) return { family: 'vertex_predict', pathModel: model };
    return null;
  }
  if (/\/v[12]\/embed$/.test(p)) return { family: 'cohere', pathModel: null };
  const az = AZURE_EMBEDDINGS.exec(p);
  if (az !== null) return { family: 'openai', pathModel: decodePathSegment(az[1]!) };
  if (p.endsWith('/embeddings')) return { family: 'openai', pathModel: null };
  return null;
}

function providerOf(family: Family, req: HttpRequest): string {
  switch (family) {
    case 'gemini':
    case 'vertex_predict':
      return 'google';
    case 'cohere':
      return 'cohere';
    case 'ollama_embed':
    case 'ollama_legacy':
      return OLLAMA_PROVIDER;
    case 'bedrock':
      return BEDROCK_PROVIDER;
    case 'openai':
      // Refined afterwards by compatible-servers.ts (Voyage, vLLM, …).
      return providerFromHost(req, 'openai');
  }
}

interface Vectors {
  count: number;
  dimensions: number | null;
}

/** Dimension of one vector: an array of numbers, or OpenAI's base64 of little-endian float32s. */
function dimensionOf(v: unknown): number | null {
  if (Array.isArray(v)) return v.length;
  if (typeof v === 'string') {
    const pad = v.endsWith('==') ? 2 : v.endsWith('=') ? 1 : 0;
    return Math.floor(((v.length / 4) * 3 - pad) / 4);
  }
  return null;
}

function vectorsOf(list: unknown[], pick: (item: unknown) => unknown): Vectors {
  return { count: list.length, dimensions: list.length === 0 ? null : dimensionOf(pick(list[0])) };
}

/** Cohere `embeddings`: an array of vectors (v1 floats) or an object by type (float first). */
function cohereVectors(e: unknown): Vectors {
  if (Array.isArray(e)) return vectorsOf(e, (x) => x);
  const o = obj(e);
  if (o === null) return { count: 0, dimensions: null };
  const list = arr(o['float'] ?? Object.values(o)[0]);
  return vectorsOf(list, (x) => x);
}

interface Read {
  vectors: Vectors;
  /** Provider usage fields as sent (kept in usage.raw). */
  raw: Record<string, unknown>;
  input: number | null;
  model: string | null;
  id: string | null;
}

/** Bedrock bodies: Titan `embedding`, Nova `embeddings[].embedding`, Cohere `embeddings`. */
function bedrockVectors(body: JsonObject): Vectors {
  if (Array.isArray(body['embedding'])) return vectorsOf([body['embedding']], (x) => x);
  const list = body['embeddings'];
  if (Array.isArray(list)) return vectorsOf(list, (x) => obj(x)?.['embedding'] ?? x);
  return cohereVectors(list);
}

function readResponse(family: Family, body: JsonObject, res: HttpResponse): Read {
  const out: Read = { vectors: { count: 0, dimensions: null }, raw: {}, input: null, model: null, id: null };
  switch (family) {
    case 'openai': {
      out.vectors = vectorsOf(arr(body['data']), (d) => obj(d)?.['embedding']);
      const u = obj(body['usage']);
      if (u !== null) Object.assign(out.raw, u);
      out.input = num(u?.['prompt_tokens']) ?? num(u?.['total_tokens']);
      out.model = str(body['model']);
      out.id = str(body['id']);
      break;
    }
    case 'gemini': {
      const single = obj(body['embedding']);
      out.vectors = single !== null ? vectorsOf([single], (e) => obj(e)?.['values']) : vectorsOf(arr(body['embeddings']), (e) => obj(e)?.['values']);
      const u = obj(body['usageMetadata']);
      if (u !== null) Object.assign(out.raw, u);
      out.input = num(u?.['promptTokenCount']);
      break;
    }
    case 'vertex_predict': {
      const preds = arr(body['predictions']);
      out.vectors = vectorsOf(preds, (p) => obj(obj(p)?.['embeddings'])?.['values']);
      let tokens: number | null = null;
      for (const p of preds) {
        const n = num(obj(obj(obj(p)?.['embeddings'])?.['statistics'])?.['token_count']);
        if (n !== null) tokens = (tokens ?? 0) + n;
      }
      if (tokens !== null) out.raw['token_count'] = tokens;
      const chars = num(obj(body['metadata'])?.['billableCharacterCount']);
      if (chars !== null) out.raw['billableCharacterCount'] = chars;
      out.input = tokens;
      break;
    }
    case 'cohere': {
      out.vectors = cohereVectors(body['embeddings']);
      const billed = obj(obj(body['meta'])?.['billed_units']);
      if (billed !== null) out.raw['billed_units'] = billed;
      out.input = num(billed?.['input_tokens']);
      out.id = str(body['id']);
      break;
    }
    case 'ollama_embed': {
      out.vectors = vectorsOf(arr(body['embeddings']), (x) => x);
      const u = ollamaUsage({ ...body, done: true });
      if (u !== null) Object.assign(out.raw, u.raw);
      out.input = u?.input_tokens ?? null;
      out.model = str(body['model']);
      break;
    }
    case 'ollama_legacy':
      out.vectors = Array.isArray(body['embedding']) ? vectorsOf([body['embedding']], (x) => x) : { count: 0, dimensions: null };
      break;
    case 'bedrock': {
      out.vectors = bedrockVectors(body);
      const titan = num(body['inputTextTokenCount']);
      if (titan !== null) out.raw['inputTextTokenCount'] = titan;
      const header = invocationHeaderUsage(res);
      if (header !== null) Object.assign(out.raw, header.raw);
      out.input = titan ?? header?.input_tokens ?? null;
      out.id = str(body['id']);
      break;
    }
  }
  return out;
}

/** The text that was embedded, for estimating input tokens when the wire has no count. */
function requestText(family: Family, body: JsonObjectReader | null): string {
  if (body === null) return '';
  const out: string[] = [];
  const strings = (v: unknown): void => {
    if (typeof v === 'string') out.push(v);
    else for (const x of arr(v)) if (typeof x === 'string') out.push(x);
  };
  const parts = (content: unknown): void => {
    for (const p of arr(obj(content)?.['parts'])) strings(obj(p)?.['text']);
  };
  switch (family) {
    case 'openai':
    case 'ollama_embed':
      strings(body.get('input'));
      break;
    case 'ollama_legacy':
      strings(body.get('prompt'));
      break;
    case 'cohere':
      strings(body.get('texts'));
      for (const i of arr(body.get('inputs'))) for (const c of arr(obj(i)?.['content'])) strings(obj(c)?.['text']);
      break;
    case 'gemini':
      parts(body.get('content'));
      for (const r of arr(body.get('requests'))) parts(obj(r)?.['content']);
      break;
    case 'vertex_predict':
      for (const i of arr(body.get('instances'))) strings(obj(i)?.['content']);
      break;
    case 'bedrock':
      strings(body.get('inputText')); // Titan
      strings(body.get('texts')); // Cohere
      strings(obj(body.object('singleEmbeddingParams')?.get('text'))?.['value']); // Nova
      break;
  }
  return out.join('\n');
}

function applyResponse(call: DecodedCall, res: HttpResponse, family: Family, anomalies: AnomalyList): void {
  const json = parseJsonBody(res.body);
  const body = obj(json);
  if (family === 'bedrock' && res.status >= 400) {
    call.error = bedrockHttpError(res, json);
    return;
  }
  if (res.status >= 400 || (body !== null && body['error'] !== undefined && body['data'] === undefined && body['embeddings'] === undefined)) {
    call.error = errorFromJson(json);
    return;
  }
  if (body === null) {
    if (!isBlankText(res.body)) anomalies.add(res.body.truncated ? 'embeddings_response_truncated' : 'embeddings_response_invalid_json');
    return;
  }
  const r = readResponse(family, body, res);
  const usage: Usage = emptyUsage();
  usage.input_tokens = r.input;
  usage.output_tokens = 0;
  usage.raw = { ...r.raw, embedding_count: r.vectors.count, embedding_dimensions: r.vectors.dimensions };
  call.usage = usage;
  call.response_model = r.model;
  call.response_id = r.id;
}

function decode(ex: HttpExchange): DecodedCall | null {
  const req = ex.request;
  const route = routeOf(req.path);
  if (route === null) return null;
  const anomalies = new AnomalyList();
  const call = blankCall(providerOf(route.family, req), EMBEDDINGS_API, 'embeddings');
  const body = isBlankText(req.body) ? null : parseRequestObject(req, anomalies, 'embeddings');
  call.request_model =
    str(body?.get('model'))?.replace(/^models\//, '') ?? route.pathModel ?? (body === null ? requestModelFallback(req) : null);
  const res = ex.response;
  if (res === null) {
    anomalies.add('embeddings_no_response');
    call.anomalies = anomalies.names;
    return call;
  }
  applyResponse(call, res, route.family, anomalies);
  finishCall(call, res, () => requestText(route.family, body));
  call.anomalies = anomalies.names;
  return call;
}

export const embeddingsDecoder: WireDecoder = wireDecoder({
  api: EMBEDDINGS_API,
  provider: 'openai',
  operation: 'embeddings',
  failedAnomaly: 'embeddings_decoder_failed',
  matchRoute: (req: HttpRequest) => req.method === 'POST' && routeOf(req.path) !== null,
  // Behind a gateway's own path an embeddings body is `{model, input}` plus an option only
  // embeddings take; the Responses decoder declines exactly these (openai-responses.ts).
  matchBody(_req: HttpRequest, body: unknown): boolean {
    const b = obj(body);
    if (b === null || b['messages'] !== undefined || typeof b['model'] !== 'string') return false;
    return b['input'] !== undefined && (b['encoding_format'] !== undefined || b['dimensions'] !== undefined);
  },
  decode: (ex) => {
    // A gateway path (pass 2) has no route: it is the OpenAI shape, the only one pass 2 takes.
    const r = routeOf(ex.request.path);
    if (r !== null) return decode(ex);
    return decode({ ...ex, request: { ...ex.request, path: '/v1/embeddings' } });
  },
});
