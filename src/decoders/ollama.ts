/**
 * Ollama's native API (https://github.com/ollama/ollama/blob/main/docs/api.md): `POST /api/chat`
 * (api `ollama.chat`) and `POST /api/generate` (api `ollama.generate`).
 *
 * Responses stream as NDJSON by default (`application/x-ndjson`, one JSON object per line); with
 * `"stream": false` the answer is one JSON object. The last object has `done: true`,
 * `done_reason` (stop|length|load|unload), the token counts `prompt_eval_count` (input) and
 * `eval_count` (output), and the server's own durations in nanoseconds (`total_duration`,
 * `load_duration`, `prompt_eval_duration`, `eval_duration`). The record has no field for server
 * timing, so the counts and durations are kept together in `usage.raw` (as sent, in ns).
 *
 * Chat: `message.content`, `message.thinking` (thinking models, `"think": true`) and
 * `message.tool_calls` (`[{function:{name, arguments: {…}}}]`, arguments an object, not JSON text;
 * newer servers add `id` and `function.index`). Generate: `response` and `thinking`.
 * Errors: an HTTP error with `{"error":"…"}`, or an `{"error":"…"}` line in a 200 stream.
 * Ollama's OpenAI-compatible `/v1/chat/completions` is the OpenAI chat decoder's (the server is
 * recognised in compatible-servers.ts).
 */
import type { Micros } from '../core/time.js';
import { parseNdjson } from '../http/ndjson.js';
import { headerValue, type HttpExchange, type HttpRequest, type HttpResponse } from '../http/types.js';
import {
  AnomalyList,
  blankCall,
  clipMessage,
  emptyUsage,
  finishCall,
  isBlankText,
  parseJsonBody,
  parseRequestObject,
  requestModelFallback,
  textOf,
  wireDecoder,
} from './decode-helpers.js';
import { normalizeFinishReason } from './finish.js';
import { arr, num, obj, str, type JsonObject } from './json.js';
import type { JsonObjectReader } from './json-reader.js';
import type { CallError, DecodedCall, ToolCall, Usage, WireDecoder } from './types.js';

export const OLLAMA_PROVIDER = 'ollama';

/** The keys of the final object that are usage: counts and server-side durations (ns). */
const USAGE_KEYS = ['prompt_eval_count', 'eval_count', 'total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration'] as const;

/** `usage` from Ollama's final object: `prompt_eval_count` is the input (Ollama omits it when
 * the whole prompt came from its KV cache, so absent means 0 only on a `done` object that has
 * `eval_count`), `eval_count` the output. null when the object carries neither. */
export function ollamaUsage(final: JsonObject): Usage | null {
  const raw: Record<string, number> = {};
  for (const k of USAGE_KEYS) {
    const v = num(final[k]);
    if (v !== null) raw[k] = v;
  }
  const input = num(final['prompt_eval_count']);
  const output = num(final['eval_count']);
  if (input === null && output === null) return null;
  const u = emptyUsage();
  // A cached prompt: Ollama leaves prompt_eval_count out (api/types.go `omitempty`).
  u.input_tokens = input ?? (final['done'] === true ? 0 : null);
  u.output_tokens = output;
  u.raw = raw;
  return u;
}

/** An Ollama error object (`{"error":"…"}`), or null. */
function ollamaError(o: JsonObject | null): CallError | null {
  if (o === null) return null;
  const e = o['error'];
  if (typeof e === 'string') return { type: 'ollama_error', message: clipMessage(e) };
  const eo = obj(e);
  if (eo !== null) return { type: str(eo['type']) ?? 'ollama_error', message: clipMessage(str(eo['message']) ?? '') };
  return null;
}

function toolCallsOf(message: JsonObject | null, out: ToolCall[]): boolean {
  let any = false;
  for (const tc of arr(message?.['tool_calls'])) {
    const t = obj(tc);
    const f = obj(t?.['function']);
    if (f === null) continue;
    const args = f['arguments'];
    const call: ToolCall = { id: str(t?.['id']), name: str(f['name']) ?? '' };
    if (args !== undefined) call.arguments = typeof args === 'string' ? args : JSON.stringify(args);
    out.push(call);
    any = true;
  }
  return any;
}

interface Accumulated {
  text: string[];
  reasoning: string[];
  tools: ToolCall[];
  first: Micros | null;
  last: Micros | null;
  final: JsonObject | null;
  model: string | null;
}

/** One response object (a stream line or the whole answer) into the accumulator. */
function applyObject(acc: Accumulated, o: JsonObject, ts: Micros | null, chat: boolean): void {
  acc.model ??= str(o['model']);
  let carried = false;
  const message = chat ? obj(o['message']) : o;
  const text = str(chat ? message?.['content'] : o['response']);
  if (text !== null && text !== '') {
    acc.text.push(text);
    carried = true;
  }
  const thinking = str(message?.['thinking']);
  if (thinking !== null && thinking !== '') {
    acc.reasoning.push(thinking);
    carried = true;
  }
  if (toolCallsOf(message, acc.tools)) carried = true;
  if (carried && ts !== null) {
    acc.first ??= ts;
    acc.last = ts;
  }
  if (o['done'] === true) acc.final = o;
}

function isNdjson(res: HttpResponse): boolean {
  const ct = headerValue(res.headers, 'content-type')?.toLowerCase() ?? '';
  return ct.includes('ndjson') || ct.includes('jsonl');
}

/** The request text as the model reads it, for estimating input tokens when no count came. */
function requestText(body: JsonObjectReader | null, chat: boolean): string {
  if (body === null) return '';
  if (!chat) return [str(body.get('system')), str(body.get('prompt'))].filter((s): s is string => s !== null).join('\n');
  const out: string[] = [];
  for (const m of arr(body.get('messages'))) {
    const c = str(obj(m)?.['content']);
    if (c !== null) out.push(c);
  }
  const tools = body.get('tools');
  if (Array.isArray(tools) && tools.length > 0) out.push(JSON.stringify(tools));
  return out.join('\n');
}

function toolsOffered(body: JsonObjectReader | null): string[] {
  const names: string[] = [];
  for (const t of arr(body?.get('tools'))) {
    const name = str(obj(obj(t)?.['function'])?.['name']);
    if (name !== null) names.push(name);
  }
  return names;
}

function decodeResponse(call: DecodedCall, res: HttpResponse, chat: boolean, anomalies: AnomalyList): void {
  const acc: Accumulated = { text: [], reasoning: [], tools: [], first: null, last: null, final: null, model: null };
  // One JSON object unless the server said NDJSON or the body is several lines: a non-streamed
  // answer is `application/json`, a stream `application/x-ndjson`.
  const whole = isNdjson(res) ? undefined : obj(parseJsonBody(res.body));
  if (whole !== undefined && whole !== null) {
    // The response tells: one JSON object is not a stream, whatever the request asked.
    call.stream = false;
    call.error = ollamaError(whole);
    if (call.error === null) applyObject(acc, whole, null, chat);
  } else {
    let lines = 0;
    for (const item of parseNdjson(res.body.chunks, anomalies, { onInvalid: () => undefined })) {
      const o = obj(item.value);
      if (o === null) continue;
      lines++;
      const err = ollamaError(o);
      if (err !== null) {
        call.error = err;
        continue;
      }
      applyObject(acc, o, item.ts, chat);
    }
    if (lines > 1 || isNdjson(res)) call.stream = true;
    if (lines === 0 && !isBlankText(res.body) && res.status < 400) anomalies.add('ollama_response_invalid_json');
  }
  call.response_model = acc.model;
  call.output_text = acc.text.join('');
  call.reasoning_text = acc.reasoning.join('');
  call.tool_calls = acc.tools;
  if (call.stream) {
    call.first_token = acc.first;
    call.last_token = acc.last;
  }
  const final = acc.final;
  if (final !== null) {
    const raw = str(final['done_reason']);
    call.finish_reason_raw = raw;
    // Servers before done_reason (≤ 0.1.x) say only done: true: a normal end.
    call.finish_reason = normalizeFinishReason(call.api, raw ?? 'stop', { hasToolCalls: acc.tools.length > 0 });
    const usage = ollamaUsage(final);
    if (usage !== null) call.usage = usage;
  } else if (call.error === null && res.status < 400) {
    anomalies.add(call.stream ? 'ollama_stream_interrupted' : 'ollama_response_incomplete');
  }
}

function decode(ex: HttpExchange, api: string, operation: string): DecodedCall {
  const chat = api === 'ollama.chat';
  const anomalies = new AnomalyList();
  const call = blankCall(OLLAMA_PROVIDER, api, operation);
  const req = ex.request;
  const body = isBlankText(req.body) ? null : parseRequestObject(req, anomalies, 'ollama');
  call.request_model = str(body?.get('model')) ?? (body === null ? requestModelFallback(req) : null);
  call.tools_offered = toolsOffered(body);
  // Streaming is Ollama's default: only `"stream": false` turns it off.
  call.stream = body === null ? false : body.get('stream') !== false;
  const res = ex.response;
  if (res === null) {
    anomalies.add('ollama_no_response');
    call.anomalies = anomalies.names;
    return call;
  }
  if (res.status >= 400) {
    call.error = ollamaError(obj(parseJsonBody(res.body)));
    if (call.error === null) call.error = { type: `http_${res.status}`, message: clipMessage(textOf(res.body)) };
  } else {
    decodeResponse(call, res, chat, anomalies);
    if (res.body.truncated) anomalies.add('ollama_response_incomplete');
  }
  finishCall(call, res, () => requestText(body, chat));
  call.anomalies = anomalies.names;
  return call;
}

/** Pass 2 (a gateway path): fields only Ollama's native bodies have. `keep_alive` and an
 * `options` object (model parameters) are Ollama's; OpenAI and Anthropic bodies have neither. */
function ollamaOnlyFields(b: JsonObject): boolean {
  return b['keep_alive'] !== undefined || obj(b['options']) !== null;
}

export const ollamaChatDecoder: WireDecoder = wireDecoder({
  api: 'ollama.chat',
  provider: OLLAMA_PROVIDER,
  operation: 'chat',
  failedAnomaly: 'ollama_decoder_failed',
  matchRoute: (req: HttpRequest) => req.method === 'POST' && /\/api\/chat\/?$/.test(req.path),
  matchBody(_req: HttpRequest, body: unknown): boolean {
    const b = obj(body);
    return b !== null && typeof b['model'] === 'string' && Array.isArray(b['messages']) && ollamaOnlyFields(b);
  },
  decode: (ex) => decode(ex, 'ollama.chat', 'chat'),
});

export const ollamaGenerateDecoder: WireDecoder = wireDecoder({
  api: 'ollama.generate',
  provider: OLLAMA_PROVIDER,
  // OpenTelemetry GenAI `gen_ai.operation.name`: a prompt completed without chat roles.
  operation: 'text_completion',
  failedAnomaly: 'ollama_decoder_failed',
  matchRoute: (req: HttpRequest) => req.method === 'POST' && /\/api\/generate\/?$/.test(req.path),
  matchBody(_req: HttpRequest, body: unknown): boolean {
    const b = obj(body);
    return b !== null && typeof b['model'] === 'string' && typeof b['prompt'] === 'string' && b['messages'] === undefined && ollamaOnlyFields(b);
  },
  decode: (ex) => decode(ex, 'ollama.generate', 'text_completion'),
});
