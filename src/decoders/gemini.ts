/**
 * Gemini generateContent decoder (DESIGN §3): the Gemini Developer API
 * (`/v1beta/models/{m}:generateContent|:streamGenerateContent`, also `/v1/…`) and Vertex AI
 * (`/v1/projects/{p}/locations/{l}/publishers/google/models/{m}:…`).
 * Wire reference: https://ai.google.dev/api/generate-content. Streaming is SSE with `?alt=sse`,
 * otherwise one JSON array whose elements arrive as they are generated.
 */
import type { Micros } from '../core/time.js';
import type { HttpExchange, HttpRequest, HttpResponse } from '../http/types.js';
import { parseJsonArrayStream } from '../http/json-array.js';
import type { CallError, DecodedCall, ToolCall, Usage, WireDecoder } from './types.js';
import type { JsonObject } from './json.js';
import type { JsonObjectReader } from './json-reader.js';
import { arr, isObject, num, obj, str } from './json.js';
import { normalizeFinishReason } from './finish.js';
import {
  AnomalyList,
  BYTE_LBRACKET,
  blankCall,
  clipMessage,
  decodePathSegment,
  emptyUsage,
  finishCall,
  firstSignificantByte,
  forEachSseObject,
  isEventStream,
  parseJsonBody,
  parseRequestObject,
  requestModelFallback,
  wireDecoder,
} from './decode-helpers.js';
import { applyPartialArg } from './gemini-partial-args.js';

const API = 'gemini.generate_content';
const PROVIDER = 'google';

/** `…/models/{m}:{method}`, `…/tunedModels/{m}:{method}` and Vertex `…/endpoints/{e}:{method}`,
 * under any prefix (API version, Vertex project/location, a gateway's own path). */
const MODEL_METHOD_PATH = /\/(models|tunedModels|endpoints)\/([^/:]+):([A-Za-z]+)$/;
/** Vertex hosts other publishers' models under the same tree (`publishers/anthropic/…` is the
 * Anthropic decoder's; Llama, Mistral… speak other formats). */
const OTHER_PUBLISHER = /\/publishers\/(?!google\/)[^/]+\//;

const CHAT_METHODS = new Set(['generateContent', 'streamGenerateContent']);
/** Methods of the same API that are not chat calls: recognised here so that they are not taken
 * for something else, and decode() says null. Embeddings get their own decoder later. */
const OTHER_METHODS = new Set(['countTokens', 'computeTokens', 'embedContent', 'batchEmbedContents']);

interface Route {
  model: string;
  method: string;
}

function route(path: string): Route | null {
  const m = MODEL_METHOD_PATH.exec(path);
  if (!m || OTHER_PUBLISHER.test(path)) return null;
  const model = decodePathSegment(m[2]!);
  return { model: m[1] === 'tunedModels' ? `tunedModels/${model}` : model, method: m[3]! };
}

function matchRoute(req: HttpRequest): boolean {
  if (req.method !== 'POST') return false;
  const r = route(req.path);
  return r !== null && (CHAT_METHODS.has(r.method) || OTHER_METHODS.has(r.method));
}

/** Pass 2: Gemini bodies carry `contents` (role/parts), never OpenAI's `messages`. */
function matchBody(_req: HttpRequest, body: unknown): boolean {
  const b = obj(body);
  if (!b || !Array.isArray(b['contents']) || b['messages'] !== undefined) return false;
  const first = obj(b['contents'][0]);
  return first === null ? b['contents'].length === 0 : Array.isArray(first['parts']);
}

/** Offered tools: declared functions by name; built-in tools (googleSearch, codeExecution,
 * urlContext, …) by their key. Both camelCase and snake_case keys are accepted by the API. */
function offeredTools(body: JsonObjectReader): string[] {
  const names: string[] = [];
  const tools = body.array('tools');
  for (let i = 0; i < (tools?.length ?? 0); i++) {
    // Parsed whole: every key of a tool names something (Object.entries keeps JSON.parse's order).
    const o = obj(tools!.at(i));
    if (!o) continue;
    for (const [k, v] of Object.entries(o)) {
      if (k === 'functionDeclarations' || k === 'function_declarations') {
        for (const f of arr(v)) {
          const n = str(obj(f)?.['name']);
          if (n !== null) names.push(n);
        }
      } else names.push(k);
    }
  }
  return names;
}

/** One tool call being assembled; streamed arguments arrive as partialArgs pieces. */
interface PendingCall {
  call: ToolCall;
  args: unknown;
  partial: Record<string, unknown> | null;
}

/** Accumulates response objects: one for generateContent, many for a stream. */
class ResponseState {
  responseId: string | null = null;
  modelVersion: string | null = null;
  finishReason: string | null = null;
  blockReason: string | null = null;
  usage: JsonObject | null = null;
  error: CallError | null = null;
  text: string[] = [];
  reasoning: string[] = [];
  calls: PendingCall[] = [];
  /** The last call is still receiving partialArgs (`willContinue`). */
  open = false;
  firstToken: Micros | null = null;
  lastToken: Micros | null = null;

  constructor(private readonly anomalies: AnomalyList) {}

  onObject(o: JsonObject, ts: Micros | null): void {
    const err = obj(o['error']);
    if (err) {
      this.error = readError(err);
      return;
    }
    this.responseId = str(o['responseId']) ?? this.responseId;
    // `model`: what some Gemini-compatible proxies send instead (tokenscope's gemini-aistudio capture).
    this.modelVersion = str(o['modelVersion']) ?? str(o['model']) ?? this.modelVersion;
    const block = str(obj(o['promptFeedback'])?.['blockReason']);
    if (block !== null) this.blockReason = block;
    const u = obj(o['usageMetadata']);
    // Streamed chunks repeat usageMetadata cumulatively; early ones may hold only
    // `trafficType`. The last one with counts is the total.
    if (u && (u['promptTokenCount'] !== undefined || u['totalTokenCount'] !== undefined || u['candidatesTokenCount'] !== undefined))
      this.usage = u;
    // Text and tool calls come from the first candidate only (candidateCount > 1 is rare);
    // usageMetadata already counts every candidate.
    const cand = arr(o['candidates']).map(obj).find((c) => c !== null && (num(c['index']) ?? 0) === 0);
    if (!cand) return;
    const fr = str(cand['finishReason']);
    if (fr !== null) this.finishReason = fr;
    let content = false;
    for (const p of arr(obj(cand['content'])?.['parts'])) {
      const part = obj(p);
      if (!part) continue;
      const t = str(part['text']);
      if (t !== null) {
        if (part['thought'] === true) this.reasoning.push(t);
        else this.text.push(t);
        if (t !== '') content = true;
      }
      const fc = obj(part['functionCall']);
      if (fc) {
        this.onFunctionCall(fc);
        content = true;
      }
    }
    if (content && ts !== null) {
      if (this.firstToken === null) this.firstToken = ts;
      this.lastToken = ts;
    }
  }

  private onFunctionCall(fc: JsonObject): void {
    const name = str(fc['name']);
    const partialArgs = fc['partialArgs'];
    if (name !== null) {
      const pending: PendingCall = { call: { id: str(fc['id']), name }, args: fc['args'], partial: null };
      this.calls.push(pending);
      this.open = fc['willContinue'] === true;
      if (Array.isArray(partialArgs)) this.addPartial(pending, partialArgs);
      return;
    }
    const last = this.open ? this.calls[this.calls.length - 1] : undefined;
    if (Array.isArray(partialArgs)) {
      if (last) this.addPartial(last, partialArgs);
      else this.anomalies.add('gemini_orphan_partial_args');
    }
    // `functionCall {}` or a piece without willContinue closes the streamed call.
    this.open = this.open && fc['willContinue'] === true;
  }

  private addPartial(p: PendingCall, entries: unknown[]): void {
    p.partial ??= Object.create(null) as Record<string, unknown>;
    for (const e of entries) applyPartialArg(p.partial, e, this.anomalies);
  }

  toolCalls(): ToolCall[] {
    return this.calls.map((p) => ({
      ...p.call,
      arguments: JSON.stringify(p.partial ?? (isObject(p.args) || Array.isArray(p.args) ? p.args : {})),
    }));
  }
}

/** `{error:{code, message, status}}` (https://ai.google.dev/gemini-api/docs/troubleshooting). */
function readError(e: JsonObject): CallError {
  const code = num(e['code']);
  return {
    type: str(e['status']) ?? (code !== null ? `http_${code}` : 'error'),
    message: clipMessage(str(e['message']) ?? ''),
  };
}

/** usageMetadata (https://ai.google.dev/api/generate-content#UsageMetadata), DESIGN §3:
 * promptTokenCount already includes cachedContentTokenCount; tool-use prompt tokens (the
 * results of built-in tools fed back to the model) are input too; thoughtsTokenCount is on top
 * of candidatesTokenCount and output includes reasoning. Counts are proto3 JSON, where a zero is
 * omitted: once a usageMetadata with counts is present, a missing count is 0. */
function normalizeUsage(u: JsonObject | null): Usage {
  if (!u) return emptyUsage();
  const prompt = num(u['promptTokenCount']) ?? 0;
  const toolUse = num(u['toolUsePromptTokenCount']) ?? 0;
  const candidates = num(u['candidatesTokenCount']) ?? 0;
  const thoughts = num(u['thoughtsTokenCount']) ?? 0;
  return {
    input_tokens: prompt + toolUse,
    output_tokens: candidates + thoughts,
    cache_read_tokens: num(u['cachedContentTokenCount']) ?? 0,
    // Explicit caches are written by their own API (cachedContents.create) and implicit
    // caching has no write charge: a generateContent call reports no cache write.
    cache_write_tokens: null,
    reasoning_tokens: thoughts,
    estimated: false,
    raw: u,
  };
}

/** Text of `systemInstruction` and `contents` (text parts, function calls and responses), for
 * estimating input tokens when the wire carries no count. */
function promptText(body: JsonObjectReader | null): string {
  if (!body) return '';
  const out: string[] = [];
  const parts = (content: unknown): void => {
    for (const p of arr(obj(content)?.['parts'])) {
      const part = obj(p);
      if (!part) continue;
      const t = str(part['text']);
      if (t !== null) out.push(t);
      if (part['functionCall'] !== undefined) out.push(JSON.stringify(part['functionCall']));
      if (part['functionResponse'] !== undefined) out.push(JSON.stringify(part['functionResponse']));
    }
  };
  parts(body.get('systemInstruction') ?? body.get('system_instruction'));
  for (const c of arr(body.get('contents'))) parts(c);
  return out.join('\n');
}

/** Feed the response body to `state`: SSE (`alt=sse`), a JSON array (streamed without
 * `alt=sse`), or one JSON object. Returns true when the body was a stream. */
function readResponse(res: HttpResponse, state: ResponseState, anomalies: AnomalyList): boolean {
  if (isEventStream(res)) {
    forEachSseObject(res.body, anomalies, (o, ev) => state.onObject(o, ev.ts));
    return true;
  }
  if (firstSignificantByte(res.body) === BYTE_LBRACKET) {
    for (const item of parseJsonArrayStream(res.body.chunks, anomalies)) {
      const o = obj(item.value);
      if (o) state.onObject(o, item.ts);
      else anomalies.add('gemini_unexpected_array_item');
    }
    return true;
  }
  if (res.body.size > 0) {
    const o = obj(parseJsonBody(res.body));
    if (o) state.onObject(o, null);
    else if (res.status < 400) anomalies.add('gemini_response_invalid_json');
    if (res.body.incomplete || res.body.truncated) anomalies.add('gemini_response_incomplete');
  }
  return false;
}

function decode(ex: HttpExchange): DecodedCall | null {
  const req = ex.request;
  const r = route(req.path);
  if (r !== null && !CHAT_METHODS.has(r.method)) return null;

  const anomalies = new AnomalyList();
  const call = blankCall(PROVIDER, API, 'generate_content');
  call.anomalies = anomalies.names;
  let requestModel = r?.model ?? null;
  let reqBody: JsonObjectReader | null = null;
  if (req.body.size > 0) {
    // Counts gemini_request_truncated / gemini_request_invalid_json when not an object.
    reqBody = parseRequestObject(req, anomalies, 'gemini');
    if (reqBody) {
      call.tools_offered = offeredTools(reqBody);
      // A gateway path without the model: some proxies put it in the body.
      requestModel ??= str(reqBody.get('model'));
    } else {
      requestModel ??= requestModelFallback(req);
    }
  }
  if (requestModel?.startsWith('models/')) requestModel = requestModel.slice('models/'.length);
  call.request_model = requestModel;
  call.stream = r?.method === 'streamGenerateContent';
  const res = ex.response;
  if (!res) {
    anomalies.add('gemini_no_response');
    return call;
  }

  const state = new ResponseState(anomalies);
  const streamed = readResponse(res, state, anomalies);
  call.stream ||= streamed;
  call.response_id = state.responseId;
  call.response_model = state.modelVersion;
  call.output_text = state.text.join('');
  call.reasoning_text = state.reasoning.join('');
  call.tool_calls = state.toolCalls();
  call.first_token = streamed ? state.firstToken : null;
  call.last_token = streamed ? state.lastToken : null;
  call.usage = normalizeUsage(state.usage);
  call.error = state.error;

  const raw = state.finishReason ?? state.blockReason;
  call.finish_reason_raw = raw;
  call.finish_reason = normalizeFinishReason(API, raw, { hasToolCalls: call.tool_calls.length > 0 });
  // A prompt blocked before generation (promptFeedback.blockReason, no candidates) is a filter
  // whatever the reason given (OTHER, BLOCK_REASON_UNSPECIFIED).
  if (state.finishReason === null && state.blockReason !== null) call.finish_reason = 'content_filter';

  // An interrupted stream keeps finish_reason null (the wire did not say); the anomaly says why.
  if (streamed && call.error === null && res.status < 400 && (res.body.incomplete || res.body.truncated || raw === null))
    anomalies.add('gemini_stream_interrupted');
  finishCall(call, res, () => promptText(reqBody));
  return call;
}

export const geminiDecoder: WireDecoder = wireDecoder({
  api: API,
  provider: PROVIDER,
  operation: 'generate_content',
  failedAnomaly: 'gemini_decoder_failed',
  matchRoute,
  matchBody,
  decode,
});
