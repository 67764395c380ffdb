/**
 * Cohere chat (DESIGN §3, provider `cohere`, api `cohere.chat`), both versions:
 * - v1 `POST /v1/chat` (https://docs.cohere.com/v1/reference/chat): `{message, chat_history,
 *   preamble}` → `{text, generation_id, finish_reason, tool_calls, meta}`; streamed as NDJSON
 *   (stream-start, text-generation, tool-calls-generation, stream-end with the whole `response`);
 * - v2 `POST /v2/chat` (https://docs.cohere.com/reference/chat-stream): `{model, messages}` →
 *   `{id, message{content[], tool_plan, tool_calls[]}, finish_reason, usage}`; streamed as SSE
 *   (message-start, content-start/delta/end, tool-plan-delta, tool-call-start/delta/end,
 *   message-end with `delta.finish_reason` and `delta.usage`).
 *
 * Usage: Cohere reports `billed_units` {input_tokens, output_tokens} and `tokens` (what the model
 * processed, Cohere's own prompt template included: 69 against 7 billed for a one-line v1 prompt,
 * openllmetry's test_cohere_chat_legacy_with_streaming). We report `billed_units`: it is what
 * Cohere charges and what a price per token applies to; `tokens` falls in when billed_units is
 * absent, and both stay in `usage.raw`. `cached_tokens` is not reported as cache reads: it is
 * counted against `tokens`, not billed_units (2928 cached against 2406 billed input in
 * pydantic-ai's test_request_usage_with_cached_tokens), so it cannot be a part of our input.
 */
import type { Micros } from '../core/time.js';
import { parseNdjson } from '../http/ndjson.js';
import { headerValue, type HttpExchange, type HttpRequest, type HttpResponse } from '../http/types.js';
import { normalizeFinishReason } from './finish.js';
import { arr, num, obj, str, type JsonObject } from './json.js';
import type { JsonObjectReader } from './json-reader.js';
import {
  AnomalyList,
  blankCall,
  clipMessage,
  finishCall,
  forEachSseObject,
  isEventStream,
  parseJsonBody,
  parseRequestObject,
  wireDecoder,
} from './decode-helpers.js';
import type { CallError, DecodedCall, ToolCall, Usage, WireDecoder } from './types.js';

const API = 'cohere.chat';
const PROVIDER = 'cohere';

/** `/v1/chat` and `/v2/chat`, also under a gateway prefix; not `/v1/chat/completions`. */
const CHAT_PATH = /\/(v1|v2)\/chat\/?$/;

function version(path: string): 'v1' | 'v2' | null {
  const m = CHAT_PATH.exec(path);
  return m ? (m[1] as 'v1' | 'v2') : null;
}

function matchRoute(req: HttpRequest): boolean {
  return req.method === 'POST' && CHAT_PATH.test(req.path);
}

/** Usage from a `meta` (v1) or `usage` (v2) object: see the file comment. */
export function cohereUsage(u: JsonObject | null): Usage | null {
  if (u === null) return null;
  const billed = obj(u['billed_units']);
  const tokens = obj(u['tokens']);
  const from = billed && (num(billed['input_tokens']) !== null || num(billed['output_tokens']) !== null) ? billed : tokens;
  if (!from) return null;
  const raw: JsonObject = {};
  if (billed) raw['billed_units'] = billed;
  if (tokens) raw['tokens'] = tokens;
  if (u['cached_tokens'] !== undefined) raw['cached_tokens'] = u['cached_tokens'];
  return {
    input_tokens: num(from['input_tokens']),
    output_tokens: num(from['output_tokens']),
    cache_read_tokens: null,
    cache_write_tokens: null,
    reasoning_tokens: null,
    estimated: false,
    raw,
  };
}

interface Generated {
  id: string | null;
  text: string[];
  reasoning: string[];
  toolCalls: ToolCall[];
  finishRaw: string | null;
  usage: Usage | null;
  firstToken: Micros | null;
  lastToken: Micros | null;
  /** The end event (v1 stream-end, v2 message-end) was seen. */
  ended: boolean;
}

function generated(): Generated {
  return { id: null, text: [], reasoning: [], toolCalls: [], finishRaw: null, usage: null, firstToken: null, lastToken: null, ended: false };
}

function content(g: Generated, ts: Micros): void {
  g.firstToken ??= ts;
  g.lastToken = ts;
}

/** v1 tool calls `{name, parameters}` (no id on the wire). */
function v1ToolCalls(v: unknown): ToolCall[] {
  return arr(v).flatMap((t) => {
    const o = obj(t);
    return o ? [{ id: null, name: str(o['name']) ?? '', arguments: JSON.stringify(o['parameters'] ?? {}) }] : [];
  });
}

/** v2 tool calls `{id, type:'function', function{name, arguments}}`. */
function v2ToolCall(t: unknown): ToolCall | null {
  const o = obj(t);
  if (!o) return null;
  const f = obj(o['function']);
  const args = f?.['arguments'];
  return { id: str(o['id']), name: str(f?.['name']) ?? '', arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) };
}

/** A whole v1 or v2 response object. */
function readWhole(b: JsonObject): Generated {
  const g = generated();
  g.ended = true;
  g.finishRaw = str(b['finish_reason']);
  const message = obj(b['message']);
  if (message) {
    g.id = str(b['id']);
    for (const c of arr(message['content'])) {
      const co = obj(c);
      const type = str(co?.['type']);
      if (type === 'text') g.text.push(str(co?.['text']) ?? '');
      else if (type === 'thinking') g.reasoning.push(str(co?.['thinking']) ?? '');
    }
    const plan = str(message['tool_plan']);
    if (plan) g.reasoning.push(plan);
    for (const t of arr(message['tool_calls'])) {
      const tc = v2ToolCall(t);
      if (tc) g.toolCalls.push(tc);
    }
    g.usage = cohereUsage(obj(b['usage']));
  } else {
    g.id = str(b['generation_id']) ?? str(b['response_id']);
    const text = str(b['text']);
    if (text) g.text.push(text);
    g.toolCalls = v1ToolCalls(b['tool_calls']);
    g.usage = cohereUsage(obj(b['meta']));
  }
  return g;
}

/** v1 NDJSON stream. */
function readV1Stream(res: HttpResponse, anomalies: AnomalyList): Generated {
  const g = generated();
  for (const item of parseNdjson(res.body.chunks, anomalies)) {
    const o = obj(item.value);
    if (!o) continue;
    switch (str(o['event_type'])) {
      case 'stream-start':
        g.id = str(o['generation_id']);
        break;
      case 'text-generation': {
        const t = str(o['text']);
        if (t) {
          g.text.push(t);
          content(g, item.ts);
        }
        break;
      }
      case 'tool-calls-generation':
        g.toolCalls = v1ToolCalls(o['tool_calls']);
        if (g.toolCalls.length > 0) content(g, item.ts);
        break;
      case 'stream-end': {
        g.ended = true;
        g.finishRaw = str(o['finish_reason']);
        const r = obj(o['response']);
        g.usage = cohereUsage(obj(r?.['meta']));
        if (g.toolCalls.length === 0 && r) g.toolCalls = v1ToolCalls(r['tool_calls']);
        break;
      }
      default:
        // search-queries-generation, search-results, citation-generation, tool-calls-chunk
        // (its calls come whole in tool-calls-generation).
        break;
    }
  }
  return g;
}

/** The `delta.message` of a v2 stream event. */
function deltaMessage(o: JsonObject): JsonObject | null {
  return obj(obj(o['delta'])?.['message']);
}

/** v2 SSE stream. */
function readV2Stream(res: HttpResponse, anomalies: AnomalyList): { g: Generated; error: CallError | null } {
  const g = generated();
  const tools = new Map<number, ToolCall & { parts: string[] }>();
  let error: CallError | null = null;
  forEachSseObject(res.body, anomalies, (o, ev) => {
    const type = str(o['type']) ?? ev.event;
    const ts = ev.ts;
    const m = deltaMessage(o);
    const index = num(o['index']) ?? 0;
    switch (type) {
      case 'message-start':
        g.id = str(o['id']);
        break;
      case 'content-start':
      case 'content-delta': {
        const c = obj(m?.['content']);
        const text = str(c?.['text']);
        const thinking = str(c?.['thinking']);
        if (text) g.text.push(text);
        if (thinking) g.reasoning.push(thinking);
        if (text || thinking) content(g, ts);
        break;
      }
      case 'tool-plan-delta': {
        const plan = str(m?.['tool_plan']);
        if (plan) {
          g.reasoning.push(plan);
          content(g, ts);
        }
        break;
      }
      case 'tool-call-start': {
        const tc = v2ToolCall(m?.['tool_calls']);
        if (tc) {
          if (tools.has(index)) anomalies.add('cohere_duplicate_tool_index');
          tools.set(index, { ...tc, parts: tc.arguments && tc.arguments !== '{}' ? [tc.arguments] : [] });
          content(g, ts);
        }
        break;
      }
      case 'tool-call-delta': {
        const piece = str(obj(obj(m?.['tool_calls'])?.['function'])?.['arguments']);
        const t = tools.get(index);
        if (!t) anomalies.add('cohere_delta_without_tool');
        else if (piece) {
          t.parts.push(piece);
          content(g, ts);
        }
        break;
      }
      case 'message-end': {
        g.ended = true;
        const d = obj(o['delta']);
        g.finishRaw = str(d?.['finish_reason']);
        g.usage = cohereUsage(obj(d?.['usage']));
        const e = str(d?.['error']);
        if (e) error = { type: 'error', message: clipMessage(e) };
        break;
      }
      default:
        // content-end, tool-call-end, citation-start/end, debug: nothing to take.
        break;
    }
  });
  for (const [, t] of [...tools.entries()].sort((a, b) => a[0] - b[0])) {
    g.toolCalls.push({ id: t.id, name: t.name, arguments: t.parts.length > 0 ? t.parts.join('') : '{}' });
  }
  return { g, error };
}

function toolsOffered(body: JsonObjectReader | null): string[] {
  const names: string[] = [];
  for (const t of arr(body?.get('tools'))) {
    const o = obj(t);
    const name = str(obj(o?.['function'])?.['name']) ?? str(o?.['name']);
    if (name !== null) names.push(name);
  }
  return names;
}

function promptText(body: JsonObjectReader | null): string {
  if (!body) return '';
  const out: string[] = [];
  for (const k of ['preamble', 'message']) {
    const s = str(body.get(k));
    if (s) out.push(s);
  }
  for (const h of arr(body.get('chat_history'))) {
    const s = str(obj(h)?.['message']);
    if (s) out.push(s);
  }
  for (const m of arr(body.get('messages'))) {
    const c = obj(m)?.['content'];
    if (typeof c === 'string') out.push(c);
    for (const part of arr(c)) {
      const t = str(obj(part)?.['text']);
      if (t) out.push(t);
    }
  }
  return out.join('\n');
}

/** `{"message": "…"}` (both versions' error body). */
function readError(res: HttpResponse, body: unknown): CallError | null {
  const b = obj(body);
  const message = str(b?.['message']);
  if (message === null) return null;
  return { type: str(b?.['type']) ?? `http_${res.status}`, message: clipMessage(message) };
}

function decode(ex: HttpExchange): DecodedCall {
  const req = ex.request;
  const v = version(req.path);
  const anomalies = new AnomalyList();
  const call = blankCall(PROVIDER, API, 'chat');
  call.anomalies = anomalies.names;
  const body = req.body.size === 0 ? null : parseRequestObject(req, anomalies, 'cohere');
  call.request_model = str(body?.get('model'));
  call.stream = body?.get('stream') === true;
  call.tools_offered = toolsOffered(body);
  const res = ex.response;
  if (!res) {
    anomalies.add('cohere_no_response');
    return call;
  }
  let g: Generated | null = null;
  const ct = (headerValue(res.headers, 'content-type') ?? '').toLowerCase();
  if (res.status < 400 && (ct.includes('ndjson') || ct.includes('stream+json') || (v === 'v1' && call.stream && !isEventStream(res)))) {
    call.stream = true;
    g = readV1Stream(res, anomalies);
  } else if (res.status < 400 && isEventStream(res)) {
    call.stream = true;
    const r = readV2Stream(res, anomalies);
    g = r.g;
    call.error = r.error;
  } else {
    const parsed = parseJsonBody(res.body);
    const b = obj(parsed);
    if (res.status >= 400) call.error = readError(res, parsed);
    else if (b) {
      g = readWhole(b);
      call.stream = false;
    } else if (res.body.size > 0) anomalies.add('cohere_response_invalid_json');
    if (res.body.incomplete || res.body.truncated) anomalies.add('cohere_response_incomplete');
  }
  if (g) {
    call.response_id = g.id;
    call.output_text = g.text.join('');
    call.reasoning_text = g.reasoning.join('');
    call.tool_calls = g.toolCalls;
    call.first_token = g.firstToken;
    call.last_token = g.lastToken;
    if (g.usage) call.usage = g.usage;
    call.finish_reason_raw = g.finishRaw;
    call.finish_reason = normalizeFinishReason(API, g.finishRaw, { hasToolCalls: g.toolCalls.length > 0 });
    if (call.stream && (!g.ended || res.body.incomplete)) anomalies.add('cohere_stream_interrupted');
  }
  finishCall(call, res, () => promptText(body));
  return call;
}

/** Pass 2: v1's shape (`message` text with Cohere-only `chat_history`, `preamble` or
 * `connectors`, no `messages`). v2's `{model, messages}` is OpenAI Chat's shape: by route only. */
function matchBody(_req: HttpRequest, body: unknown): boolean {
  const b = obj(body);
  if (!b || typeof b['message'] !== 'string' || b['messages'] !== undefined) return false;
  return Array.isArray(b['chat_history']) || typeof b['preamble'] === 'string' || Array.isArray(b['connectors']);
}

export const cohereChatDecoder: WireDecoder = wireDecoder({
  api: API,
  provider: PROVIDER,
  operation: 'chat',
  failedAnomaly: 'cohere_decoder_failed',
  matchRoute,
  matchBody,
  decode,
});
