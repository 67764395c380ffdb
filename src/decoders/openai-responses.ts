/**
 * OpenAI Responses API (https://platform.openai.com/docs/api-reference/responses): the API of
 * Codex and of OpenAI's newer SDK helpers; also served by Azure (`/openai/v1/responses`),
 * OpenRouter and LM Studio ("Open Responses").
 *
 * A response is a list of output items (`message`, `reasoning`, `function_call`, built-in tool
 * `*_call` items) with `status` and `usage`. Streaming sends typed `response.*` SSE events
 * (https://platform.openai.com/docs/api-reference/responses-streaming); the final
 * `response.completed` / `response.incomplete` / `response.failed` carries the whole response
 * with usage. Codex's backend leaves `response.completed.response.output` empty, so the output is
 * rebuilt from `response.output_item.done` events.
 */
import type { Micros } from '../core/time.js';
import type { HttpRequest, HttpResponse } from '../http/types.js';
import { parseSse } from '../http/sse.js';
import { normalizeFinishReason } from './finish.js';
import { arr, num, obj, str, tryParseJson, type JsonObject } from './json.js';
import { jsonStringText, matchOutputTextDelta, matchReasoningSummaryDelta } from './compact-events.js';
import { sseOptions, type AnomalyList } from './decode-helpers.js';
import { collectContentText, nonEmpty, normalizeOpenAiUsage, openAiDecoder } from './openai-common.js';
import type { JsonObjectReader } from './json-reader.js';
import type { CallError, DecodedCall, ToolCall, WireDecoder } from './types.js';

const API = 'openai.responses';

/** Output item types that hand work back to the client: the caller must run them and send the
 * result (function/custom tools, local shell, computer use, apply_patch, client tool search,
 * MCP approval). Hosted tools (web_search, file_search, code_interpreter, image_generation,
 * mcp_call) ran on OpenAI's side within the same response. */
const CLIENT_ACTION_ITEMS = new Set([
  'function_call',
  'custom_tool_call',
  'local_shell_call',
  'computer_call',
  'shell_call',
  'apply_patch_call',
  'tool_search_call',
  'mcp_approval_request',
]);

/** Events whose payload is model-generated content (DESIGN §4 first_token/last_token): text,
 * refusal, reasoning, tool-call arguments, and code/commands/patches the model writes for a tool. */
const CONTENT_EVENTS = new Set([
  'response.output_text.delta',
  'response.refusal.delta',
  'response.reasoning_summary_text.delta',
  'response.reasoning_text.delta',
  'response.function_call_arguments.delta',
  'response.custom_tool_call_input.delta',
  'response.mcp_call_arguments.delta',
  'response.code_interpreter_call_code.delta',
  'response.shell_call_command.delta',
  'response.apply_patch_call_operation_diff.delta',
  'response.output_audio.delta',
  'response.output_audio_transcript.delta',
  'response.audio.delta',
  'response.audio.transcript.delta',
]);

const TERMINAL_EVENTS = new Set([
  'response.completed',
  'response.incomplete',
  'response.failed',
  'response.cancelled',
]);

/** Reasoning comes in parts (summary paragraphs, content pieces); they are separate paragraphs
 * for a reader, streamed or not. */
const REASONING_PART_SEPARATOR = '\n\n';

function isCallItem(type: string): boolean {
  return type.endsWith('_call') || type === 'mcp_approval_request';
}

function toolsOffered(body: JsonObjectReader | null): string[] {
  if (body === null) return [];
  const names: string[] = [];
  // Tool definitions are read for their names only: their schemas are most of their bytes.
  const tools = body.array('tools');
  for (let i = 0; i < (tools?.length ?? 0); i++) {
    const to = tools!.objectAt(i);
    if (to === null) continue;
    const type = str(to.get('type'));
    // function/custom tools by name; hosted tools (web_search, file_search, code_interpreter,
    // mcp, …) by type, MCP with its server label so two servers stay apart.
    const name = str(to.get('name')) ?? str(to.object('function')?.get('name'));
    if ((type === 'function' || type === 'custom' || type === null) && name !== null) names.push(name);
    else if (type === 'mcp') names.push(`mcp:${str(to.get('server_label')) ?? ''}`);
    else if (type === 'namespace' && name !== null) names.push(name);
    else if (type !== null) names.push(type);
  }
  return names;
}

/** Request text for input-token estimation: instructions, input items, tool definitions. */
function requestText(body: JsonObjectReader | null): string {
  if (body === null) return '';
  const out: string[] = [];
  const instructions = str(body.get('instructions'));
  if (instructions !== null) out.push(instructions);
  const input = body.get('input');
  if (typeof input === 'string') out.push(input);
  for (const item of arr(input)) {
    const it = obj(item);
    if (it === null) continue;
    collectContentText(it['content'], out);
    for (const k of ['arguments', 'input', 'output', 'name']) {
      const v = str(it[k]);
      if (v !== null) out.push(v);
    }
    for (const s of arr(it['summary'])) {
      const t = str(obj(s)?.['text']);
      if (t !== null) out.push(t);
    }
  }
  const tools = body.get('tools');
  if (tools !== undefined) out.push(JSON.stringify(tools));
  return out.join('\n');
}

interface Extracted {
  text: string;
  reasoning: string;
  toolCalls: ToolCall[];
  clientActions: number;
}

function toolCallOf(item: JsonObject, type: string, args: string | null): ToolCall {
  const id = nonEmpty(str(item['call_id'])) ?? nonEmpty(str(item['id']));
  const name = nonEmpty(str(item['name'])) ?? type.replace(/_call$/, '');
  const a = args ?? str(item['arguments']) ?? str(item['input']);
  return a === null ? { id, name } : { id, name, arguments: a };
}

/** Text, reasoning and tool calls of a list of output items. `argsByIndex` supplies streamed
 * arguments for items that never got their `done` event (interrupted streams). */
function extractOutput(items: readonly JsonObject[], argsOf: (i: number) => string | null): Extracted {
  const text: string[] = [];
  const reasoning: string[] = [];
  const toolCalls: ToolCall[] = [];
  // A client-side call answered within the same output (e.g. a hosted `shell_call` followed by its
  // `shell_call_output`) was executed by the server: it asks nothing of the client.
  const answered = new Set<string>();
  for (const it of items) {
    const t = str(it['type']) ?? '';
    const cid = str(it['call_id']);
    if (t.endsWith('_output') && cid !== null) answered.add(cid);
  }
  let clientActions = 0;
  items.forEach((it, i) => {
    const type = str(it['type']) ?? '';
    if (type === 'message') {
      for (const part of arr(it['content'])) {
        const p = obj(part);
        const s = str(p?.['text']) ?? str(p?.['refusal']);
        if (s !== null) text.push(s);
      }
    } else if (type === 'reasoning') {
      for (const s of arr(it['summary'])) {
        const v = str(obj(s)?.['text']);
        if (v !== null) reasoning.push(v);
      }
      for (const c of arr(it['content'])) {
        const v = str(obj(c)?.['text']);
        if (v !== null) reasoning.push(v);
      }
    } else if (isCallItem(type)) {
      toolCalls.push(toolCallOf(it, type, argsOf(i)));
      const cid = str(it['call_id']);
      if (CLIENT_ACTION_ITEMS.has(type) && (cid === null || !answered.has(cid))) clientActions++;
    }
  });
  return { text: text.join(''), reasoning: reasoning.join(REASONING_PART_SEPARATOR), toolCalls, clientActions };
}

function objItems(v: unknown): JsonObject[] {
  const out: JsonObject[] = [];
  for (const x of arr(v)) {
    const o = obj(x);
    if (o !== null) out.push(o);
  }
  return out;
}

function errorOfResponse(resp: JsonObject): CallError | null {
  const e = obj(resp['error']);
  if (e === null) return null;
  return { type: str(e['code']) ?? str(e['type']) ?? 'error', message: str(e['message']) ?? '' };
}

/** finish_reason_raw for a response: the incomplete reason when there is one, else the status. */
function rawFinish(resp: JsonObject): string | null {
  const status = str(resp['status']);
  if (status === 'incomplete') return str(obj(resp['incomplete_details'])?.['reason']) ?? status;
  return status;
}

/** Fill the call from a whole response object (non-streaming body, or a terminal event). */
function applyResponse(call: DecodedCall, resp: JsonObject, items: readonly JsonObject[], argsOf: (i: number) => string | null): Extracted {
  call.response_id = nonEmpty(str(resp['id'])) ?? call.response_id;
  call.response_model = nonEmpty(str(resp['model'])) ?? call.response_model;
  const ex = extractOutput(items, argsOf);
  call.tool_calls = ex.toolCalls;
  const err = errorOfResponse(resp);
  if (err !== null) call.error = err;
  const raw = rawFinish(resp);
  call.finish_reason_raw = raw;
  call.finish_reason = call.error !== null ? 'error' : normalizeFinishReason(API, raw, { hasToolCalls: ex.clientActions > 0 });
  const usage = normalizeOpenAiUsage(resp['usage']);
  if (usage !== null) call.usage = usage;
  return ex;
}

/** A non-streaming response object. */
function applyBody(call: DecodedCall, resp: JsonObject): void {
  const ex = applyResponse(call, resp, objItems(resp['output']), () => null);
  call.output_text = ex.text;
  call.reasoning_text = ex.reasoning;
}

interface StreamItem {
  item: JsonObject;
  done: boolean;
  args: string;
}

function decodeStream(call: DecodedCall, res: HttpResponse, _body: JsonObjectReader | null, anomalies: AnomalyList): void {
  const events = parseSse(res.body.chunks, anomalies, sseOptions(res.body));
  const text: string[] = [];
  const reasoning: string[] = [];
  let sawTextDelta = false;
  let sawReasoningDelta = false;
  // The current reasoning part: compared field by field, not as a joined key string (building
  // and comparing a fresh string per delta cost more than the rest of the delta's handling).
  let partItem = '';
  let partType = '';
  let partIndex = 0;
  // Output items by output_index, and item id → output_index for events that name only the item.
  const items = new Map<number, StreamItem>();
  const indexById = new Map<string, number>();
  let terminal: JsonObject | null = null;
  let lastResponse: JsonObject | null = null;
  let first: Micros | null = null;
  let last: Micros | null = null;
  let nextIndex = 0;

  /** A reasoning piece of part (item, event type, summary/content index): a new part starts a
   * new paragraph. */
  const reasoningDelta = (itemId: string, type: string, index: number, delta: string): void => {
    if (sawReasoningDelta && (itemId !== partItem || type !== partType || index !== partIndex)) reasoning.push(REASONING_PART_SEPARATOR);
    partItem = itemId;
    partType = type;
    partIndex = index;
    reasoning.push(delta);
    sawReasoningDelta = true;
  };

  const slot = (e: JsonObject): StreamItem | undefined => {
    const oi = num(e['output_index']);
    if (oi !== null) return items.get(oi);
    const id = str(e['item_id']);
    const i = id === null ? undefined : indexById.get(id);
    return i === undefined ? undefined : items.get(i);
  };

  for (const ev of events) {
    if (ev.data === '' || ev.data.trim() === '[DONE]') continue;
    // The most frequent events, in their compact form: read without JSON.parse (as the text and
    // reasoning delta cases below read them).
    const textDelta = matchOutputTextDelta(ev.data);
    if (textDelta !== null) {
      first ??= ev.ts;
      last = ev.ts;
      text.push(textDelta);
      sawTextDelta = true;
      continue;
    }
    const summaryDelta = matchReasoningSummaryDelta(ev.data);
    if (summaryDelta !== null) {
      first ??= ev.ts;
      last = ev.ts;
      reasoningDelta(jsonStringText(summaryDelta.itemIdBody), 'response.reasoning_summary_text.delta', summaryDelta.summaryIndex, summaryDelta.delta);
      continue;
    }
    const e = obj(tryParseJson(ev.data));
    if (e === null) {
      anomalies.add('sse_invalid_json');
      continue;
    }
    const type = str(e['type']) ?? ev.event;
    if (CONTENT_EVENTS.has(type)) {
      first ??= ev.ts;
      last = ev.ts;
    }
    const delta = str(e['delta']);
    switch (type) {
      case 'response.created':
      case 'response.in_progress':
      case 'response.queued': {
        const r = obj(e['response']);
        if (r !== null) {
          lastResponse = r;
          call.response_id ??= nonEmpty(str(r['id']));
          call.response_model ??= nonEmpty(str(r['model']));
        }
        break;
      }
      case 'response.output_text.delta':
      case 'response.refusal.delta':
        if (delta !== null) {
          text.push(delta);
          sawTextDelta = true;
        }
        break;
      case 'response.reasoning_summary_text.delta':
      case 'response.reasoning_text.delta':
        if (delta !== null) reasoningDelta(str(e['item_id']) ?? '', type, num(e['summary_index']) ?? num(e['content_index']) ?? 0, delta);
        break;
      case 'response.function_call_arguments.delta':
      case 'response.custom_tool_call_input.delta':
      case 'response.mcp_call_arguments.delta': {
        const s = slot(e);
        if (s !== undefined && delta !== null) s.args += delta;
        break;
      }
      case 'response.output_item.added':
      case 'response.output_item.done': {
        const item = obj(e['item']);
        if (item === null) break;
        const oi = num(e['output_index']) ?? nextIndex;
        nextIndex = Math.max(nextIndex, oi + 1);
        const prev = items.get(oi);
        const isDone = type === 'response.output_item.done';
        items.set(oi, { item, done: isDone, args: prev?.args ?? '' });
        const id = str(item['id']);
        if (id !== null) indexById.set(id, oi);
        // The call's name arrives with `added`: the model has started generating the call.
        if (!isDone && isCallItem(str(item['type']) ?? '') && CLIENT_ACTION_ITEMS.has(str(item['type']) ?? '')) {
          first ??= ev.ts;
          last = ev.ts;
        }
        break;
      }
      case 'error': {
        // `{type:'error', code, message, param}`; newer servers nest `{error:{type,code,message}}`.
        const nested = obj(e['error']);
        const src = nested ?? e;
        call.error = {
          type: str(src['code']) ?? (nested !== null ? str(nested['type']) : null) ?? 'error',
          message: str(src['message']) ?? '',
        };
        break;
      }
      default:
        if (TERMINAL_EVENTS.has(type) || type === 'response.done') {
          const r = obj(e['response']);
          if (r !== null) terminal = r;
        }
    }
  }

  // Output: the terminal response's own list when it has one; otherwise (Codex, interrupted
  // streams) the items the stream delivered, in output order.
  const ordered = [...items.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s);
  const termItems = terminal === null ? [] : objItems(terminal['output']);
  const useTerm = termItems.length > 0;
  const list = useTerm ? termItems : ordered.map((s) => s.item);
  const argsOf = (i: number): string | null => {
    if (useTerm) return null;
    const s = ordered[i];
    // A `done` item carries its final arguments; an unfinished one only what streamed.
    return s === undefined || s.done ? null : s.args;
  };
  let extracted: Extracted;
  if (terminal !== null) {
    const keepError = call.error;
    extracted = applyResponse(call, terminal, list, argsOf);
    if (keepError !== null && call.error === null) call.error = keepError;
  } else {
    extracted = extractOutput(list, argsOf);
    call.tool_calls = extracted.toolCalls;
    if (lastResponse !== null) {
      const u = normalizeOpenAiUsage(lastResponse['usage']);
      if (u !== null) call.usage = u;
    }
  }
  call.output_text = sawTextDelta ? text.join('') : extracted.text;
  call.reasoning_text = sawReasoningDelta ? reasoning.join('') : extracted.reasoning;
  call.first_token = first;
  call.last_token = last;
  if (call.error !== null) {
    call.finish_reason = 'error';
  } else if (terminal === null || res.body.incomplete) {
    anomalies.add('openai_stream_interrupted');
  }
}

export const openaiResponsesDecoder: WireDecoder = openAiDecoder({
  api: API,
  modelFromPath: () => null,
  toolsOffered,
  requestText,
  // An error object, not a response object (which has `output` and `status`, and `error: null`).
  isErrorBody: (resp) => resp['output'] === undefined && resp['error'] !== undefined && resp['status'] === undefined,
  applyBody,
  decodeStream,
  matchRoute(req: HttpRequest): boolean {
    // `/v1/responses`, Azure `/openai/v1/responses`, OpenRouter `/api/v1/responses`, Codex's
    // ChatGPT backend `/backend-api/codex/responses`, and `/responses/compact` (Codex
    // compaction, a generating call). Not `/responses/{id}` (retrieve) or `/input_tokens`.
    if (req.method !== 'POST') return false;
    return req.path.endsWith('/responses') || req.path.endsWith('/responses/compact');
  },
  matchBody(_req: HttpRequest, body: unknown): boolean {
    const b = obj(body);
    if (b === null || b['input'] === undefined || b['messages'] !== undefined) return false;
    // Embeddings requests are also {model, input}: their options give them away.
    if (b['encoding_format'] !== undefined || b['dimensions'] !== undefined) return false;
    return typeof b['model'] === 'string' || b['previous_response_id'] !== undefined;
  },
});
