/**
 * OpenAI Chat Completions (https://platform.openai.com/docs/api-reference/chat), the wire format
 * most OpenAI-compatible servers speak (Azure, Groq, Mistral, DeepSeek, xAI, vLLM, LiteLLM, …).
 *
 * Streaming (`stream: true`) answers with SSE `chat.completion.chunk` objects and `data: [DONE]`;
 * usage arrives only with `stream_options.include_usage`, in a final chunk with `choices: []`
 * (https://platform.openai.com/docs/api-reference/chat-streaming). Tool calls stream as deltas
 * keyed by `index`: id and name in the first, `function.arguments` appended after.
 */
import type { Micros } from '../core/time.js';
import type { HttpRequest, HttpResponse } from '../http/types.js';
import { parseSse } from '../http/sse.js';
import { normalizeFinishReason } from './finish.js';
import { arr, num, obj, str, tryParseJson, type JsonObject } from './json.js';
import { sseOptions, decodePathSegment, type AnomalyList } from './decode-helpers.js';
import { collectContentText, errorFromJson, nonEmpty, normalizeOpenAiUsage, openAiDecoder } from './openai-common.js';
import type { JsonObjectReader } from './json-reader.js';
import { jsonStringText, matchChatChunkPiece, type ChatChunkPiece } from './compact-events.js';
import type { DecodedCall, ToolCall, WireDecoder } from './types.js';

const API = 'openai.chat_completions';

/** Azure OpenAI: `/openai/deployments/{deployment}/chat/completions?api-version=…`
 * (https://learn.microsoft.com/azure/ai-services/openai/reference). The deployment stands in for
 * the model when the body names none. */
const AZURE_DEPLOYMENT = /\/openai\/deployments\/([^/]+)\//;

function azureDeployment(path: string): string | null {
  const m = AZURE_DEPLOYMENT.exec(path);
  return m === null ? null : decodePathSegment(m[1]!);
}

/** Anthropic Messages bodies also have `model` + `messages`; these fields are Anthropic-only
 * (https://docs.anthropic.com/en/api/messages): `anthropic_version` (Bedrock/Vertex), a top-level
 * `system` together with the required `max_tokens`, or content blocks of Anthropic-only types. */
const ANTHROPIC_BLOCK_TYPES = new Set(['tool_use', 'tool_result', 'thinking', 'redacted_thinking', 'document']);

export function looksAnthropicBody(body: JsonObject): boolean {
  if (body['anthropic_version'] !== undefined) return true;
  if (typeof body['max_tokens'] === 'number' && body['system'] !== undefined) return true;
  for (const m of arr(body['messages'])) {
    const content = obj(m)?.['content'];
    for (const block of arr(content)) {
      const t = str(obj(block)?.['type']);
      if (t !== null && ANTHROPIC_BLOCK_TYPES.has(t)) return true;
      // Anthropic images are {type:'image', source:{…}}; OpenAI's are {type:'image_url'}.
      if (t === 'image' && obj(block)?.['source'] !== undefined) return true;
    }
  }
  return false;
}

function toolsOffered(body: JsonObjectReader | null): string[] {
  if (body === null) return [];
  const names: string[] = [];
  // Tool definitions are read for their names only: their schemas are most of their bytes.
  const tools = body.array('tools');
  for (let i = 0; i < (tools?.length ?? 0); i++) {
    const to = tools!.objectAt(i);
    const name = str(to?.object('function')?.get('name')) ?? str(to?.get('name'));
    if (name !== null) names.push(name);
    else if (str(to?.get('type')) !== null) names.push(str(to?.get('type'))!);
  }
  // Legacy `functions` (https://platform.openai.com/docs/api-reference/chat/create#functions).
  for (const f of arr(body.get('functions'))) {
    const name = str(obj(f)?.['name']);
    if (name !== null) names.push(name);
  }
  return names;
}

/** The request's text as the model reads it, for estimating input tokens: message contents,
 * earlier tool-call arguments, and the tool definitions (providers count those as input too). */
function requestText(body: JsonObjectReader | null): string {
  if (body === null) return '';
  const out: string[] = [];
  for (const m of arr(body.get('messages'))) {
    const mo = obj(m);
    if (mo === null) continue;
    collectContentText(mo['content'], out);
    for (const tc of arr(mo['tool_calls'])) {
      const f = obj(obj(tc)?.['function']);
      const name = str(f?.['name']);
      const args = str(f?.['arguments']);
      if (name !== null) out.push(name);
      if (args !== null) out.push(args);
    }
  }
  const tools = body.get('tools') ?? body.get('functions');
  if (tools !== undefined) out.push(JSON.stringify(tools));
  return out.join('\n');
}

/** Text and reasoning from a message/delta `content`: a string, or Mistral's typed chunks
 * (`[{type:'text',text}, {type:'thinking', thinking:[{type:'text',text}]}]`, magistral models). */
function contentPieces(content: unknown, text: string[], reasoning: string[]): boolean {
  if (typeof content === 'string') {
    if (content === '') return false;
    text.push(content);
    return true;
  }
  let any = false;
  for (const part of arr(content)) {
    const p = obj(part);
    if (p === null) continue;
    const type = str(p['type']);
    if (type === 'thinking') {
      const th = p['thinking'];
      const pieces = typeof th === 'string' ? [th] : arr(th).map((t) => str(obj(t)?.['text']));
      for (const s of pieces) {
        if (s === null || s === '') continue;
        reasoning.push(s);
        any = true;
      }
    } else {
      const s = str(p['text']);
      if (s !== null && s !== '') {
        text.push(s);
        any = true;
      }
    }
  }
  return any;
}

/** Reasoning text on a message or delta: `reasoning_content` (DeepSeek, vLLM, Qwen), `reasoning`
 * (Groq, OpenRouter, Ollama's OpenAI layer). */
function reasoningOf(m: JsonObject): string | null {
  return str(m['reasoning_content']) ?? str(m['reasoning']);
}

/** A non-streaming response: the first choice's message. */
function applyBody(call: DecodedCall, body: JsonObject): void {
  call.response_id = nonEmpty(str(body['id']));
  call.response_model = nonEmpty(str(body['model']));
  const choice = obj(arr(body['choices'])[0]);
  const message = obj(choice?.['message']);
  const text: string[] = [];
  const reasoning: string[] = [];
  if (message !== null) {
    contentPieces(message['content'], text, reasoning);
    const refusal = str(message['refusal']);
    if (refusal !== null && refusal !== '') text.push(refusal);
    const r = reasoningOf(message);
    if (r !== null && r !== '') reasoning.unshift(r);
    for (const tc of arr(message['tool_calls'])) {
      const t = obj(tc);
      const f = obj(t?.['function']);
      const name = str(f?.['name']) ?? str(t?.['type']) ?? '';
      const args = str(f?.['arguments']) ?? (f?.['arguments'] !== undefined ? JSON.stringify(f['arguments']) : undefined);
      const call_: ToolCall = { id: nonEmpty(str(t?.['id'])), name };
      if (args !== undefined) call_.arguments = args;
      call.tool_calls.push(call_);
    }
    const fc = obj(message['function_call']);
    if (fc !== null) {
      const args = str(fc['arguments']);
      call.tool_calls.push(args === null ? { id: null, name: str(fc['name']) ?? '' } : { id: null, name: str(fc['name']) ?? '', arguments: args });
    }
  }
  call.output_text = text.join('');
  call.reasoning_text = reasoning.join('');
  const raw = str(choice?.['finish_reason']);
  call.finish_reason_raw = raw;
  call.finish_reason = normalizeFinishReason(API, raw, { hasToolCalls: call.tool_calls.length > 0 });
  const usage = normalizeOpenAiUsage(body['usage']);
  if (usage !== null) call.usage = usage;
}

interface ToolAcc {
  id: string | null;
  name: string;
  args: string;
}

/** What a chat stream has delivered so far. The per-piece methods are also the entries of the
 * compact fast path (decodeStream), so both paths accumulate the same way; the rare shapes (tool
 * calls, legacy function calls, typed content) stay out of the hot loop. */
class ChatStream {
  readonly text: string[] = [];
  readonly reasoning: string[] = [];
  readonly tools: ToolAcc[] = [];
  private readonly byIndex = new Map<number, ToolAcc>();
  done = false;
  finishRaw: string | null = null;
  rawUsage: unknown = undefined;
  first: Micros | null = null;
  last: Micros | null = null;

  constructor(private readonly call: DecodedCall) {}

  /** The chunk's id and model, when the call has none yet (servers repeat them in every chunk). */
  ids(id: string | null, model: string | null): void {
    this.call.response_id ??= nonEmpty(id);
    this.call.response_model ??= nonEmpty(model);
  }

  /** As ids, from a compact chunk's raw (still escaped) string bodies: decoded only while the
   * call lacks one, not for every chunk. */
  rawIds(idBody: string, modelBody: string): void {
    if (this.call.response_id === null) this.call.response_id = nonEmpty(jsonStringText(idBody));
    if (this.call.response_model === null) this.call.response_model = nonEmpty(jsonStringText(modelBody));
  }

  /** Generated content arrived at `ts`. */
  carried(ts: Micros): void {
    this.first ??= ts;
    this.last = ts;
  }

  /** One tool-call delta; true when it carried anything. */
  toolDelta(idx: number | null, id: string | null, name: string | null, args: string): boolean {
    const tools = this.tools;
    let acc: ToolAcc | undefined;
    if (idx !== null) acc = this.byIndex.get(idx);
    else if (id === null) acc = tools[tools.length - 1]; // no index, no id: continues the last call
    else acc = tools.find((t) => t.id === id);
    if (acc === undefined || (id !== null && acc.id !== null && acc.id !== id)) {
      acc = { id, name: name ?? '', args: '' };
      tools.push(acc);
      if (idx !== null) this.byIndex.set(idx, acc);
    } else {
      acc.id ??= id;
      // Some servers repeat the name in every delta; it is set once, never appended.
      if (acc.name === '' && name !== null) acc.name = name;
    }
    acc.args += args;
    return id !== null || name !== null || args !== '';
  }

  /** A parsed chunk object (the general path). */
  chunk(chunk: JsonObject, ts: Micros): void {
    this.ids(str(chunk['id']), str(chunk['model']));
    // Usage: the include_usage chunk, or Groq's `x_groq.usage` on the last chunk.
    const u = chunk['usage'] ?? obj(chunk['x_groq'])?.['usage'];
    if (obj(u) !== null) this.rawUsage = u;
    let carried = false;
    for (const c of arr(chunk['choices'])) {
      const choice = obj(c);
      if (choice === null) continue;
      // n > 1 interleaves choices; the record describes the first, as the SDKs' helpers do.
      const index = num(choice['index']) ?? 0;
      if (index !== 0) continue;
      const fr = str(choice['finish_reason']);
      if (fr !== null && fr !== '') this.finishRaw = fr;
      const delta = obj(choice['delta']) ?? obj(choice['message']);
      if (delta !== null && this.delta(delta)) carried = true;
    }
    if (carried) this.carried(ts);
  }

  /** A choice's delta; true when it carried anything. */
  private delta(delta: JsonObject): boolean {
    let carried = contentPieces(delta['content'], this.text, this.reasoning);
    const refusal = str(delta['refusal']);
    if (refusal !== null && refusal !== '') {
      this.text.push(refusal);
      carried = true;
    }
    const r = reasoningOf(delta);
    if (r !== null && r !== '') {
      this.reasoning.push(r);
      carried = true;
    }
    const deltas = arr(delta['tool_calls']);
    for (let i = 0; i < deltas.length; i++) {
      const td = obj(deltas[i]);
      if (td === null) continue;
      const f = obj(td['function']);
      const argsPiece = f?.['arguments'];
      const args = typeof argsPiece === 'string' ? argsPiece : argsPiece !== undefined && argsPiece !== null ? JSON.stringify(argsPiece) : '';
      if (this.toolDelta(num(td['index']), nonEmpty(str(td['id'])), nonEmpty(str(f?.['name'])), args)) carried = true;
    }
    // Legacy `function_call` deltas (pre-tools API): one call per choice.
    const fc = obj(delta['function_call']);
    if (fc !== null) {
      let acc = this.byIndex.get(-1);
      if (acc === undefined) {
        acc = { id: null, name: '', args: '' };
        this.tools.push(acc);
        this.byIndex.set(-1, acc);
      }
      const name = nonEmpty(str(fc['name']));
      if (acc.name === '' && name !== null) acc.name = name;
      acc.args += str(fc['arguments']) ?? '';
      carried = true;
    }
    return carried;
  }
}

/** A compact chunk (compact-events.ts) applied as ChatStream.chunk would apply its object. */
function applyCompactChunk(s: ChatStream, c: ChatChunkPiece, ts: Micros): void {
  s.rawIds(c.idBody, c.modelBody);
  // An empty piece carries nothing, but an empty arguments delta still opens its tool call.
  if (c.kind === 'tool_arguments') s.toolDelta(c.toolIndex, null, null, c.piece);
  if (c.piece === '') return;
  if (c.kind === 'content') s.text.push(c.piece);
  else if (c.kind === 'reasoning') s.reasoning.push(c.piece);
  s.carried(ts);
}

function decodeStream(call: DecodedCall, res: HttpResponse, body: JsonObjectReader | null, anomalies: AnomalyList): void {
  const includeUsage = obj(body?.get('stream_options'))?.['include_usage'] === true;
  const events = parseSse(res.body.chunks, anomalies, sseOptions(res.body));
  const s = new ChatStream(call);
  for (const ev of events) {
    const data = ev.data;
    if (data === '') continue;
    if (data.trim() === '[DONE]') {
      s.done = true;
      continue;
    }
    // Most chunks carry one piece in OpenAI's compact form: read without JSON.parse.
    const piece = ev.event === 'error' ? null : matchChatChunkPiece(data);
    if (piece !== null) {
      applyCompactChunk(s, piece, ev.ts);
      continue;
    }
    const chunk = obj(tryParseJson(data));
    if (chunk === null) {
      anomalies.add('sse_invalid_json');
      continue;
    }
    // In-stream errors: Groq sends `event: error` + `{"error":{…}}` after a 200; others put
    // `error` in a chunk (https://console.groq.com/docs/errors).
    if (chunk['error'] !== undefined || ev.event === 'error') {
      call.error = errorFromJson(chunk) ?? { type: 'stream_error', message: data.slice(0, 500) };
      continue;
    }
    s.chunk(chunk, ev.ts);
  }

  const { finishRaw, tools } = s;
  call.output_text = s.text.join('');
  call.reasoning_text = s.reasoning.join('');
  call.tool_calls = tools.map((t) => ({ id: t.id, name: t.name, arguments: t.args }));
  call.first_token = s.first;
  call.last_token = s.last;
  const usage = normalizeOpenAiUsage(s.rawUsage);
  if (usage !== null) call.usage = usage;
  if (call.error !== null) {
    call.finish_reason = 'error';
    call.finish_reason_raw = finishRaw;
  } else {
    call.finish_reason_raw = finishRaw;
    call.finish_reason = normalizeFinishReason(API, finishRaw, { hasToolCalls: tools.length > 0 });
    const interrupted = res.body.incomplete || (!s.done && finishRaw === null);
    if (interrupted) anomalies.add('openai_stream_interrupted');
    else if (usage === null && includeUsage) anomalies.add('openai_stream_usage_missing');
  }
}

export const openaiChatDecoder: WireDecoder = openAiDecoder({
  api: API,
  modelFromPath: azureDeployment,
  toolsOffered,
  requestText,
  isErrorBody: (body) => body['error'] !== undefined && body['choices'] === undefined,
  applyBody,
  decodeStream,
  matchRoute(req: HttpRequest): boolean {
    return req.method === 'POST' && req.path.endsWith('/chat/completions');
  },
  matchBody(_req: HttpRequest, body: unknown): boolean {
    const b = obj(body);
    if (b === null || !Array.isArray(b['messages'])) return false;
    return typeof b['model'] === 'string' && !looksAnthropicBody(b);
  },
});
