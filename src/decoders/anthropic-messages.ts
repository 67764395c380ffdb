/**
 * Anthropic Messages API decoder (DESIGN §3): `POST …/v1/messages` on api.anthropic.com and any
 * gateway that forwards it, and the same wire format on Vertex AI
 * (`…/publishers/anthropic/models/{m}:rawPredict|:streamRawPredict`).
 * Wire reference: https://docs.anthropic.com/en/api/messages and
 * https://docs.anthropic.com/en/docs/build-with-claude/streaming.
 */
import type { Micros } from '../core/time.js';
import type { HttpExchange, HttpRequest, HttpResponse } from '../http/types.js';
import { headerValue } from '../http/types.js';
import type { CallError, DecodedCall, ToolCall, Usage, WireDecoder } from './types.js';
import type { JsonObject } from './json.js';
import type { JsonObjectReader } from './json-reader.js';
import { arr, isObject, num, obj, str } from './json.js';
import { normalizeFinishReason } from './finish.js';
import { matchBlockDelta } from './compact-events.js';
import {
  AnomalyList,
  blankCall,
  clipMessage,
  decodePathSegment,
  finishCall,
  forEachSseObject,
  isEventStream,
  parseJsonBody,
  parseRequestObject,
  requestModelFallback,
  wireDecoder,
} from './decode-helpers.js';

const API = 'anthropic.messages';
const PROVIDER = 'anthropic';

/** `/v1/messages`, also behind a gateway prefix (`/anthropic/v1/messages`). Matching uses the
 * path without the query: Claude Code posts `/v1/messages?beta=true` (DESIGN §2, HTTP/1.1). */
const MESSAGES_PATH = /\/v1\/messages\/?$/;
/** Same family, not LLM calls: token counting and the batch API (DESIGN §3). */
const NOT_A_CALL_PATH = /\/v1\/messages\/(?:count_tokens|batches)(?:\/|$)/;
/** Vertex AI's Anthropic endpoints
 * (https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude): the model is
 * in the path, the body carries `anthropic_version` instead of `model`. Vertex counts tokens
 * with the pseudo-model `count-tokens`. */
const VERTEX_PATH = /\/publishers\/anthropic\/models\/([^/:]+):(rawPredict|streamRawPredict)$/;

/** Anthropic's own host (`api.anthropic.com`; HTTP/2 carries it as `:authority`). */
const ANTHROPIC_HOST = /(?:^|\.)anthropic\.com(?::\d+)?$/i;

/** Every Anthropic SDK sends `anthropic-version`; a raw client at least sends its `sk-ant-` key,
 * or talks to Anthropic's host. */
function hasAnthropicHeaders(req: HttpRequest): boolean {
  if (headerValue(req.headers, 'anthropic-version') !== undefined) return true;
  const key = headerValue(req.headers, 'x-api-key');
  if (key !== undefined && key.startsWith('sk-ant-')) return true;
  const host = headerValue(req.headers, 'host') ?? headerValue(req.headers, ':authority');
  return host !== undefined && ANTHROPIC_HOST.test(host);
}

/** Pass 1. Claims the whole `/v1/messages…` family, count_tokens included, so that the
 * registry does not hand those to a body-shape match: decode() then says null for them. */
function matchRoute(req: HttpRequest): boolean {
  if (req.method !== 'POST') return false;
  if (VERTEX_PATH.test(req.path)) return true;
  return (MESSAGES_PATH.test(req.path) || NOT_A_CALL_PATH.test(req.path)) && hasAnthropicHeaders(req);
}

/** Content-block types that exist only in Anthropic's message format (OpenAI uses
 * `tool_calls` on the message and role `tool`). */
const ANTHROPIC_BLOCK_TYPES = new Set(['tool_use', 'tool_result', 'thinking', 'redacted_thinking', 'server_tool_use']);

/** Pass 2 (the registry asks this decoder before OpenAI Chat): `model`/`anthropic_version` +
 * `messages` plus a field only Anthropic's API has. Deliberately not `top_k` (vLLM's OpenAI
 * server accepts it) nor a bare `thinking: {type:'enabled'}` (GLM's OpenAI-compatible API uses
 * it): only Anthropic's `budget_tokens` / `adaptive` forms count. */
function matchBody(_req: HttpRequest, body: unknown): boolean {
  const b = obj(body);
  if (!b || !Array.isArray(b['messages'])) return false;
  if (typeof b['anthropic_version'] === 'string') return true;
  if (typeof b['model'] !== 'string') return false;
  // OpenAI Chat has no top-level `system` (a system message instead) and says `stop`.
  if (b['system'] !== undefined || b['stop_sequences'] !== undefined) return true;
  const thinking = obj(b['thinking']);
  if (thinking && (thinking['budget_tokens'] !== undefined || thinking['type'] === 'adaptive')) return true;
  // OpenAI tools are {type:'function', function:{parameters}}; Anthropic's carry input_schema.
  for (const t of arr(b['tools'])) if (isObject(t) && t['input_schema'] !== undefined) return true;
  for (const m of b['messages']) {
    for (const c of arr(obj(m)?.['content'])) {
      const block = obj(c);
      const type = str(block?.['type']);
      if (type !== null && ANTHROPIC_BLOCK_TYPES.has(type)) return true;
      // Anthropic images are {type:'image', source:{…}}; OpenAI's are {type:'image_url'}.
      if (type === 'image' && block?.['source'] !== undefined) return true;
    }
  }
  return false;
}

/** What the request says about the call. */
interface RequestFacts {
  model: string | null;
  stream: boolean;
  tools: string[];
  /** The request body, kept for estimating input tokens when the wire has no count. */
  body: JsonObjectReader | null;
}

function readRequest(req: HttpRequest, anomalies: AnomalyList): RequestFacts {
  const vertex = VERTEX_PATH.exec(req.path);
  const facts: RequestFacts = {
    model: vertex ? decodePathSegment(vertex[1]!) : null,
    stream: vertex?.[2] === 'streamRawPredict',
    tools: [],
    body: null,
  };
  if (req.body.size === 0) return facts;
  // Counts anthropic_request_truncated / anthropic_request_invalid_json when not an object.
  const b = parseRequestObject(req, anomalies, 'anthropic');
  if (!b) {
    facts.model ??= requestModelFallback(req);
    return facts;
  }
  facts.body = b;
  facts.model = str(b.get('model')) ?? facts.model;
  if (b.get('stream') === true) facts.stream = true;
  // Tool definitions are read for their names only: their schemas are most of their bytes.
  const tools = b.array('tools');
  for (let i = 0; i < (tools?.length ?? 0); i++) {
    const o = tools!.objectAt(i);
    // Client tools have a name; server tools (web_search_20250305, bash_20250124, …) have both
    // a name and a versioned type: the name is what the model calls.
    const name = o ? (str(o.get('name')) ?? str(o.get('type'))) : null;
    if (name !== null) facts.tools.push(name);
  }
  return facts;
}

/** Text of `system` and `messages` (text blocks, tool inputs and results), for estimating input
 * tokens when the wire carries no count. */
export function promptText(body: JsonObjectReader | null): string {
  if (!body) return '';
  const out: string[] = [];
  const blocks = (content: unknown): void => {
    if (typeof content === 'string') {
      out.push(content);
      return;
    }
    for (const c of arr(content)) {
      const b = obj(c);
      if (!b) continue;
      const t = str(b['text']) ?? str(b['thinking']);
      if (t !== null) out.push(t);
      if (b['input'] !== undefined) out.push(JSON.stringify(b['input']));
      if (b['content'] !== undefined) blocks(b['content']);
    }
  };
  blocks(body.get('system'));
  for (const m of arr(body.get('messages'))) blocks(obj(m)?.['content']);
  return out.join('\n');
}

/** Content-block types that are tool calls: the client's own tools, Anthropic-run server tools
 * (web search, code execution…) and connector MCP tools. */
const TOOL_BLOCK_TYPES = new Set(['tool_use', 'server_tool_use', 'mcp_tool_use']);

/** Later non-null values win: newer APIs repeat input and cache counts in `message_delta`. */
function mergeUsage(into: JsonObject, from: unknown): void {
  const u = obj(from);
  if (!u) return;
  for (const [k, v] of Object.entries(u)) if (v !== null && v !== undefined) into[k] = v;
}

/** DESIGN §3 / OpenTelemetry GenAI: input = input_tokens + cache reads + cache writes
 * (Anthropic's `input_tokens` excludes both). `finalOutput` false: the object's output_tokens
 * is message_start's placeholder, not a count. */
function normalizeUsage(raw: JsonObject | null, finalOutput = true): Usage {
  const input = num(raw?.['input_tokens']);
  const cacheRead = num(raw?.['cache_read_input_tokens']);
  const cacheWrite = num(raw?.['cache_creation_input_tokens']);
  return {
    input_tokens: input === null ? null : input + (cacheRead ?? 0) + (cacheWrite ?? 0),
    output_tokens: finalOutput ? num(raw?.['output_tokens']) : null,
    cache_read_tokens: cacheRead,
    cache_write_tokens: cacheWrite,
    // Anthropic bills thinking as output and does not report it apart.
    reasoning_tokens: null,
    estimated: false,
    raw,
  };
}

/** `{type:'error', error:{type, message}}` (https://docs.anthropic.com/en/api/errors); also the
 * in-stream `error` event's payload. */
export function readError(v: unknown): CallError | null {
  const e = obj(obj(v)?.['error']);
  if (!e) return null;
  return { type: str(e['type']) ?? 'error', message: clipMessage(str(e['message']) ?? '') };
}

/** What the response says: from a message object or a whole stream. */
export interface Generated {
  id: string | null;
  model: string | null;
  stopReason: string | null;
  usage: Usage;
  toolCalls: ToolCall[];
  text: string;
  reasoning: string;
  error: CallError | null;
  firstToken: Micros | null;
  lastToken: Micros | null;
  interrupted: boolean;
}

/** A non-streaming `message` object. */
export function readMessage(m: JsonObject): Generated {
  const text: string[] = [];
  const reasoning: string[] = [];
  const toolCalls: ToolCall[] = [];
  for (const c of arr(m['content'])) {
    const b = obj(c);
    if (!b) continue;
    const type = str(b['type']);
    if (type === 'text') text.push(str(b['text']) ?? '');
    else if (type === 'thinking') reasoning.push(str(b['thinking']) ?? '');
    else if (type !== null && TOOL_BLOCK_TYPES.has(type)) {
      toolCalls.push({ id: str(b['id']), name: str(b['name']) ?? '', arguments: JSON.stringify(b['input'] ?? {}) });
    }
  }
  return {
    id: str(m['id']),
    model: str(m['model']),
    stopReason: str(m['stop_reason']),
    usage: normalizeUsage(obj(m['usage'])),
    toolCalls,
    text: text.join(''),
    reasoning: reasoning.join(''),
    error: null,
    firstToken: null,
    lastToken: null,
    interrupted: false,
  };
}

/** One content block of a stream, keyed by its `index`. */
interface StreamBlock {
  kind: 'text' | 'thinking' | 'tool' | 'other';
  parts: string[];
  tool: ToolCall | null;
  /** `input` on content_block_start: the arguments when no input_json_delta follows. */
  startInput: unknown;
}

/** Accumulates an SSE stream: message_start, content_block_start/delta/stop per index,
 * message_delta, message_stop; ping and unknown events are skipped. */
export class StreamState {
  id: string | null = null;
  model: string | null = null;
  stopReason: string | null = null;
  usage: JsonObject | null = null;
  /** message_delta carried usage: its output_tokens is final, message_start's is a placeholder. */
  deltaUsage = false;
  sawStop = false;
  error: CallError | null = null;
  firstToken: Micros | null = null;
  lastToken: Micros | null = null;
  blocks = new Map<number, StreamBlock>();

  constructor(private readonly anomalies: AnomalyList) {}

  private content(ts: Micros): void {
    if (this.firstToken === null) this.firstToken = ts;
    this.lastToken = ts;
  }

  onEvent(d: JsonObject, ts: Micros): void {
    switch (str(d['type'])) {
      case 'message_start':
        return this.onMessageStart(obj(d['message']));
      case 'content_block_start':
        return this.onBlockStart(num(d['index']), obj(d['content_block']), ts);
      case 'content_block_delta':
        return this.onBlockDelta(num(d['index']), obj(d['delta']), ts);
      case 'message_delta': {
        const sr = str(obj(d['delta'])?.['stop_reason']);
        if (sr !== null) this.stopReason = sr;
        if (isObject(d['usage'])) {
          this.usage ??= {};
          mergeUsage(this.usage, d['usage']);
          this.deltaUsage = true;
        }
        return;
      }
      case 'message_stop':
        this.sawStop = true;
        return;
      case 'error':
        // e.g. {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}
        this.error = readError(d) ?? { type: 'error', message: '' };
        return;
      default:
        // ping, content_block_stop, and event types added later: nothing to take.
        return;
    }
  }

  private onMessageStart(m: JsonObject | null): void {
    if (!m) return;
    const id = str(m['id']);
    if (this.id !== null) {
      // A second message_start: a proxy replayed or spliced a retry into the stream. A new id
      // means a new message replaced the first, so what came before it is dropped.
      this.anomalies.add('anthropic_duplicate_message_start');
      if (id === this.id) return;
      this.blocks.clear();
      this.stopReason = null;
      this.deltaUsage = false;
      this.usage = null;
    }
    this.id = id;
    this.model = str(m['model']) ?? this.model;
    this.usage ??= {};
    mergeUsage(this.usage, m['usage']);
  }

  private onBlockStart(index: number | null, cb: JsonObject | null, ts: Micros): void {
    if (index === null || !cb) return;
    const type = str(cb['type']);
    const block: StreamBlock = { kind: 'other', parts: [], tool: null, startInput: undefined };
    if (type === 'text' || type === 'thinking') {
      block.kind = type;
      const t = str(cb[type]);
      if (t) {
        block.parts.push(t);
        this.content(ts);
      }
    } else if (type !== null && TOOL_BLOCK_TYPES.has(type)) {
      block.kind = 'tool';
      block.tool = { id: str(cb['id']), name: str(cb['name']) ?? '' };
      block.startInput = cb['input'];
      // The model has started a tool call: that is generated content (DESIGN §4).
      this.content(ts);
    }
    if (this.blocks.has(index)) this.anomalies.add('anthropic_duplicate_block_index');
    this.blocks.set(index, block);
  }

  private onBlockDelta(index: number | null, delta: JsonObject | null, ts: Micros): void {
    if (index === null || !delta) return;
    const type = str(delta['type']);
    const piece =
      type === 'text_delta'
        ? str(delta['text'])
        : type === 'thinking_delta'
          ? str(delta['thinking'])
          : type === 'input_json_delta'
            ? str(delta['partial_json'])
            : null;
    this.onBlockPiece(index, type, piece, ts);
  }

  /** A content_block_delta of `type` carrying `piece` (the delta's field for that type, or null)
   * for block `index`: also the entry for compact deltas read without JSON.parse (readStream). */
  onBlockPiece(index: number, type: string | null, piece: string | null, ts: Micros): void {
    const block = this.blocks.get(index);
    if (!block) {
      this.anomalies.add('anthropic_delta_without_block');
      return;
    }
    // signature_delta and citations_delta are not generated text.
    const kind = type === 'text_delta' ? 'text' : type === 'thinking_delta' ? 'thinking' : type === 'input_json_delta' ? 'tool' : null;
    if (piece && block.kind === kind) {
      block.parts.push(piece);
      this.content(ts);
    }
  }

  result(bodyIncomplete: boolean): Generated {
    const text: string[] = [];
    const reasoning: string[] = [];
    const toolCalls: ToolCall[] = [];
    for (const [, b] of [...this.blocks.entries()].sort((x, y) => x[0] - y[0])) {
      if (b.kind === 'text') text.push(b.parts.join(''));
      else if (b.kind === 'thinking') reasoning.push(b.parts.join(''));
      else if (b.tool) {
        const args = b.parts.join('');
        toolCalls.push({ ...b.tool, arguments: args !== '' ? args : JSON.stringify(b.startInput ?? {}) });
      }
    }
    return {
      id: this.id,
      model: this.model,
      stopReason: this.stopReason,
      // Without message_delta usage the output count never came (interrupted, error event, a
      // proxy that strips it): left null here, estimated by the caller.
      usage: normalizeUsage(this.usage, this.deltaUsage),
      toolCalls,
      text: text.join(''),
      reasoning: reasoning.join(''),
      error: this.error,
      firstToken: this.firstToken,
      lastToken: this.lastToken,
      interrupted: this.error === null && (!this.sawStop || bodyIncomplete),
    };
  }
}

function readStream(res: HttpResponse, anomalies: AnomalyList): Generated {
  const state = new StreamState(anomalies);
  forEachSseObject(
    res.body,
    anomalies,
    (d, ev) => {
      // The payload's own `type` is authoritative; the SSE `event:` line repeats it, and some
      // recorders and proxies drop one or the other.
      if (d['type'] === undefined && ev.event !== '' && ev.event !== 'message') d['type'] = ev.event;
      state.onEvent(d, ev.ts);
    },
    (ev) => {
      // Most events are text/thinking/tool-input deltas in the compact form: no JSON.parse.
      const d = matchBlockDelta(ev.data);
      if (d === null) return false;
      state.onBlockPiece(d.index, d.type, d.piece, ev.ts);
      return true;
    },
  );
  return state.result(res.body.incomplete || res.body.truncated);
}

function decode(ex: HttpExchange): DecodedCall | null {
  const req = ex.request;
  if (NOT_A_CALL_PATH.test(req.path)) return null;
  if (VERTEX_PATH.exec(req.path)?.[1] === 'count-tokens') return null;

  const anomalies = new AnomalyList();
  const call = blankCall(PROVIDER, API, 'chat');
  call.anomalies = anomalies.names;
  const facts = readRequest(req, anomalies);
  call.stream = facts.stream;
  call.request_model = facts.model;
  call.tools_offered = facts.tools;
  const res = ex.response;
  if (!res) {
    anomalies.add('anthropic_no_response');
    return call;
  }

  let g: Generated | null = null;
  if (isEventStream(res)) {
    call.stream = true;
    g = readStream(res, anomalies);
    if (g.interrupted) anomalies.add('anthropic_stream_interrupted');
  } else {
    const body = parseJsonBody(res.body);
    const m = obj(body);
    if (m?.['type'] === 'error' || res.status >= 400) call.error = readError(body);
    else if (m) {
      g = readMessage(m);
      // A whole message came back as JSON: not streamed, whatever the request asked for (a
      // proxy that ignores `stream`).
      call.stream = false;
    }
    else if (res.body.size > 0) anomalies.add('anthropic_response_invalid_json');
    if (res.body.incomplete || res.body.truncated) anomalies.add('anthropic_response_incomplete');
  }

  if (g) {
    call.response_id = g.id;
    call.response_model = g.model;
    call.usage = g.usage;
    call.tool_calls = g.toolCalls;
    call.output_text = g.text;
    call.reasoning_text = g.reasoning;
    call.first_token = g.firstToken;
    call.last_token = g.lastToken;
    call.error = g.error;
    call.finish_reason_raw = g.stopReason;
    // No hasToolCalls context: Anthropic says `tool_use` itself when the client must run a tool,
    // and server_tool_use blocks in an `end_turn` message were already run by Anthropic. An
    // interrupted stream keeps null (the wire did not say); the anomaly says why.
    call.finish_reason = normalizeFinishReason(API, g.stopReason);
  }
  finishCall(call, res, () => promptText(facts.body));
  return call;
}

export const anthropicMessagesDecoder: WireDecoder = wireDecoder({
  api: API,
  provider: PROVIDER,
  operation: 'chat',
  failedAnomaly: 'anthropic_decoder_failed',
  matchRoute,
  matchBody,
  decode,
});
