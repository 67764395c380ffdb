/**
 * Bedrock Converse and ConverseStream (DESIGN §3, api `bedrock.converse`): one request and
 * response format for every model family on Bedrock.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html and
 * API_runtime_ConverseStream.html. The stream is an AWS event stream of messageStart,
 * contentBlockStart/Delta/Stop (keyed by contentBlockIndex), messageStop {stopReason} and
 * metadata {usage, metrics}. Nova's InvokeModel speaks the same events wrapped one per chunk
 * (bedrock-invoke.ts reuses ConverseStreamState).
 */
import type { Micros } from '../core/time.js';
import type { HttpExchange, HttpRequest } from '../http/types.js';
import { normalizeFinishReason } from './finish.js';
import { arr, num, obj, str, type JsonObject } from './json.js';
import type { JsonObjectReader } from './json-reader.js';
import {
  AnomalyList,
  blankCall,
  finishCall,
  parseJsonBody,
  parseRequestObject,
  wireDecoder,
} from './decode-helpers.js';
import {
  BEDROCK_PROVIDER,
  bedrockHttpError,
  bedrockRoute,
  converseUsage,
  isAwsEventStream,
  readBedrockStream,
} from './bedrock-common.js';
import type { DecodedCall, ToolCall, Usage, WireDecoder } from './types.js';

export const CONVERSE_API = 'bedrock.converse';

/** Content blocks of a Converse message: text, toolUse {toolUseId, name, input}, reasoningContent
 * {reasoningText {text}} (redactedContent carries no readable text). */
export interface ConverseContent {
  text: string;
  reasoning: string;
  toolCalls: ToolCall[];
}

export function readConverseContent(content: unknown): ConverseContent {
  const out: ConverseContent = { text: '', reasoning: '', toolCalls: [] };
  const text: string[] = [];
  const reasoning: string[] = [];
  for (const c of arr(content)) {
    const b = obj(c);
    if (!b) continue;
    const t = str(b['text']);
    if (t !== null) text.push(t);
    const r = str(obj(obj(b['reasoningContent'])?.['reasoningText'])?.['text']);
    if (r !== null) reasoning.push(r);
    const tu = obj(b['toolUse']);
    if (tu) out.toolCalls.push({ id: str(tu['toolUseId']), name: str(tu['name']) ?? '', arguments: JSON.stringify(tu['input'] ?? {}) });
  }
  out.text = text.join('');
  out.reasoning = reasoning.join('');
  return out;
}

interface Block {
  text: string[];
  reasoning: string[];
  tool: ToolCall | null;
  input: string[];
}

/** Accumulates ConverseStream events (given as event type + payload). */
export class ConverseStreamState {
  stopReason: string | null = null;
  usage: Usage | null = null;
  sawStop = false;
  sawStart = false;
  firstToken: Micros | null = null;
  lastToken: Micros | null = null;
  private readonly blocks = new Map<number, Block>();

  private block(index: number): Block {
    let b = this.blocks.get(index);
    if (!b) {
      b = { text: [], reasoning: [], tool: null, input: [] };
      this.blocks.set(index, b);
    }
    return b;
  }

  private content(ts: Micros): void {
    this.firstToken ??= ts;
    this.lastToken = ts;
  }

  onEvent(type: string, d: JsonObject, ts: Micros): void {
    switch (type) {
      case 'messageStart':
        this.sawStart = true;
        return;
      case 'contentBlockStart': {
        const tu = obj(obj(d['start'])?.['toolUse']);
        const index = num(d['contentBlockIndex']);
        if (tu && index !== null) {
          this.block(index).tool = { id: str(tu['toolUseId']), name: str(tu['name']) ?? '' };
          this.content(ts);
        }
        return;
      }
      case 'contentBlockDelta': {
        const index = num(d['contentBlockIndex']);
        const delta = obj(d['delta']);
        if (index === null || !delta) return;
        const b = this.block(index);
        const text = str(delta['text']);
        const reasoning = str(obj(delta['reasoningContent'])?.['text']);
        const input = str(obj(delta['toolUse'])?.['input']);
        if (text) b.text.push(text);
        if (reasoning) b.reasoning.push(reasoning);
        if (input) b.input.push(input);
        if (text || reasoning || input) this.content(ts);
        return;
      }
      case 'messageStop':
        this.sawStop = true;
        this.stopReason = str(d['stopReason']) ?? this.stopReason;
        return;
      case 'metadata':
        this.usage = converseUsage(obj(d['usage'])) ?? this.usage;
        return;
      default:
        // contentBlockStop and event types added later carry nothing we take.
        return;
    }
  }

  result(): ConverseContent {
    const text: string[] = [];
    const reasoning: string[] = [];
    const toolCalls: ToolCall[] = [];
    for (const [, b] of [...this.blocks.entries()].sort((x, y) => x[0] - y[0])) {
      text.push(b.text.join(''));
      reasoning.push(b.reasoning.join(''));
      if (b.tool) toolCalls.push({ ...b.tool, arguments: b.input.length > 0 ? b.input.join('') : '{}' });
    }
    return { text: text.join(''), reasoning: reasoning.join(''), toolCalls };
  }
}

/** Tool names of `toolConfig.tools[].toolSpec.name`. */
function toolsOffered(body: JsonObjectReader | null): string[] {
  const names: string[] = [];
  for (const t of arr(body?.object('toolConfig')?.get('tools'))) {
    const name = str(obj(obj(t)?.['toolSpec'])?.['name']);
    if (name !== null) names.push(name);
  }
  return names;
}

/** The prompt's text (system and message text blocks, tool inputs and results) for estimates. */
export function conversePromptText(body: JsonObjectReader | null): string {
  if (!body) return '';
  const out: string[] = [];
  const blocks = (content: unknown): void => {
    for (const c of arr(content)) {
      const b = obj(c);
      if (!b) continue;
      const t = str(b['text']);
      if (t !== null) out.push(t);
      const tu = obj(b['toolUse']);
      if (tu) out.push(JSON.stringify(tu['input'] ?? {}));
      const tr = obj(b['toolResult']);
      if (tr) blocks(tr['content']);
    }
  };
  blocks(body.get('system'));
  for (const m of arr(body.get('messages'))) blocks(obj(m)?.['content']);
  return out.join('\n');
}

function matchRoute(req: HttpRequest): boolean {
  const r = req.method === 'POST' ? bedrockRoute(req.path) : null;
  return r !== null && (r.operation === 'converse' || r.operation === 'converse-stream');
}

function decode(ex: HttpExchange): DecodedCall {
  const req = ex.request;
  const route = bedrockRoute(req.path);
  const anomalies = new AnomalyList();
  const call = blankCall(BEDROCK_PROVIDER, CONVERSE_API, 'chat');
  call.anomalies = anomalies.names;
  call.request_model = route?.model ?? null;
  call.stream = route?.operation === 'converse-stream';
  const body = req.body.size === 0 ? null : parseRequestObject(req, anomalies, 'bedrock');
  call.tools_offered = toolsOffered(body);
  const res = ex.response;
  if (!res) {
    anomalies.add('bedrock_no_response');
    return call;
  }
  let content: ConverseContent | null = null;
  if (isAwsEventStream(res)) {
    call.stream = true;
    const s = readBedrockStream(res, anomalies);
    const state = new ConverseStreamState();
    for (const e of s.events) state.onEvent(e.type, e.payload, e.ts);
    content = state.result();
    call.error = s.error;
    call.first_token = state.firstToken;
    call.last_token = state.lastToken;
    if (state.usage) call.usage = state.usage;
    call.finish_reason_raw = state.stopReason;
    call.finish_reason = normalizeFinishReason(CONVERSE_API, state.stopReason, { hasToolCalls: false });
    if (s.error === null && (s.broken || !state.sawStop)) anomalies.add('bedrock_stream_interrupted');
  } else {
    const parsed = parseJsonBody(res.body);
    const b = obj(parsed);
    if (res.status >= 400) call.error = bedrockHttpError(res, parsed);
    else if (b) {
      content = readConverseContent(obj(obj(b['output'])?.['message'])?.['content']);
      call.stream = false;
      const usage = converseUsage(obj(b['usage']));
      if (usage) call.usage = usage;
      call.finish_reason_raw = str(b['stopReason']);
      call.finish_reason = normalizeFinishReason(CONVERSE_API, call.finish_reason_raw);
    } else if (res.body.size > 0) anomalies.add('bedrock_response_invalid_json');
    if (res.body.incomplete || res.body.truncated) anomalies.add('bedrock_response_incomplete');
  }
  if (content) {
    call.output_text = content.text;
    call.reasoning_text = content.reasoning;
    call.tool_calls = content.toolCalls;
  }
  finishCall(call, res, () => conversePromptText(body));
  return call;
}

/** Pass 2 (a gateway that puts Converse under its own path): `messages` without `model` (the
 * model is in Bedrock's path) and a member only Converse has: `inferenceConfig`, `toolConfig`
 * with `toolSpec` tools, or `additionalModelRequestFields`. */
function matchBody(_req: HttpRequest, body: unknown): boolean {
  const b = obj(body);
  if (!b || !Array.isArray(b['messages']) || b['model'] !== undefined) return false;
  if (obj(b['inferenceConfig']) || obj(b['additionalModelRequestFields'])) return true;
  return arr(obj(b['toolConfig'])?.['tools']).some((t) => obj(obj(t)?.['toolSpec']) !== null);
}

export const bedrockConverseDecoder: WireDecoder = wireDecoder({
  api: CONVERSE_API,
  provider: BEDROCK_PROVIDER,
  operation: 'chat',
  failedAnomaly: 'bedrock_decoder_failed',
  matchRoute,
  matchBody,
  decode,
});
