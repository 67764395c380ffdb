/**
 * Bedrock InvokeModel and InvokeModelWithResponseStream (DESIGN §3, api `bedrock.invoke_model`):
 * the body is the model family's own format
 * (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters.html):
 * - Anthropic Messages with `anthropic_version: "bedrock-2023-05-31"`: read by the Anthropic
 *   decoder's own message and SSE-event handling (anthropic-messages.ts);
 * - Amazon Nova: Converse's message shape, streamed as Converse events wrapped one per chunk
 *   (`{"contentBlockDelta": {…}}`), read by ConverseStreamState;
 * - everything else (Meta Llama `generation`, Titan `outputText`/`results`, Mistral `outputs`,
 *   Cohere `generations`/`text`, DeepSeek and OpenAI-style `choices`) by the generic reader below.
 * The stream's `chunk` events carry `{"bytes": base64}` of the family's streaming JSON; the last
 * one adds `amazon-bedrock-invocationMetrics` {inputTokenCount, outputTokenCount, …}, Bedrock's
 * own count whatever the family, as the non-streaming answer's `X-Amzn-Bedrock-*-Token-Count`
 * headers are.
 */
import type { Micros } from '../core/time.js';
import type { HttpExchange, HttpRequest, HttpResponse } from '../http/types.js';
import { StreamState as AnthropicStreamState, promptText as anthropicPromptText, readMessage as readAnthropicMessage } from './anthropic-messages.js';
import { normalizeFinishReason } from './finish.js';
import { arr, isObject, num, obj, str, tryParseJson, type JsonObject } from './json.js';
import type { JsonObjectReader } from './json-reader.js';
import { AnomalyList, blankCall, finishCall, parseJsonBody, parseRequestObject, wireDecoder } from './decode-helpers.js';
import {
  BEDROCK_PROVIDER,
  bedrockHttpError,
  bedrockRoute,
  converseUsage,
  invocationHeaderUsage,
  isAwsEventStream,
  readBedrockStream,
} from './bedrock-common.js';
import { ConverseStreamState, conversePromptText, readConverseContent } from './bedrock-converse.js';
import type { DecodedCall, FinishReason, ToolCall, Usage, WireDecoder } from './types.js';

export const INVOKE_API = 'bedrock.invoke_model';

/** Converse event names, as Nova's invoke stream wraps them. */
const CONVERSE_EVENTS = new Set(['messageStart', 'contentBlockStart', 'contentBlockDelta', 'contentBlockStop', 'messageStop', 'metadata']);

/** What a call generated, whatever the family. */
interface Output {
  text: string;
  reasoning: string;
  toolCalls: ToolCall[];
  finishRaw: string | null;
  usage: Usage | null;
  responseId: string | null;
  responseModel: string | null;
  firstToken: Micros | null;
  lastToken: Micros | null;
  /** The stream ended without the family's end marker. */
  interrupted: boolean;
}

/** Families that are not Anthropic or Nova: text pieces, the finish reason and counts from the
 * keys each uses, per chunk (streamed) or once (a whole body). */
class GenericState {
  readonly text: string[] = [];
  finishRaw: string | null = null;
  input: number | null = null;
  output: number | null = null;
  raw: JsonObject = {};
  firstToken: Micros | null = null;
  lastToken: Micros | null = null;
  id: string | null = null;

  /** `amazon-bedrock-guardrailAction: INTERVENED`: a guardrail masked or blocked content. */
  guardrail = false;

  onObject(o: JsonObject, ts: Micros | null): void {
    if (o['amazon-bedrock-guardrailAction'] === 'INTERVENED') this.guardrail = true;
    const pieces: (string | null)[] = [];
    // Cohere's stream-end repeats the whole answer under `response`: only text-generation
    // events (or bodies without event_type) carry new text.
    const eventType = str(o['event_type']);
    if (eventType === null || eventType === 'text-generation') pieces.push(str(o['text']));
    pieces.push(str(o['generation']), str(o['outputText']), str(o['completion']));
    for (const x of arr(o['outputs'])) pieces.push(str(obj(x)?.['text']));
    for (const x of arr(o['generations'])) pieces.push(str(obj(x)?.['text']));
    for (const x of arr(o['results'])) pieces.push(str(obj(x)?.['outputText']));
    for (const c of arr(o['choices'])) {
      const co = obj(c);
      pieces.push(str(co?.['text']), str(obj(co?.['message'])?.['content']), str(obj(co?.['delta'])?.['content']));
      this.finish(co?.['finish_reason'] ?? co?.['stop_reason']);
    }
    let any = false;
    for (const p of pieces) {
      if (p) {
        this.text.push(p);
        any = true;
      }
    }
    if (any && ts !== null) {
      this.firstToken ??= ts;
      this.lastToken = ts;
    }
    this.finish(o['stop_reason'] ?? o['completionReason'] ?? o['finish_reason']);
    for (const x of [...arr(o['outputs']), ...arr(o['generations']), ...arr(o['results'])]) {
      const xo = obj(x);
      this.finish(xo?.['stop_reason'] ?? xo?.['finish_reason'] ?? xo?.['completionReason']);
    }
    this.id = str(o['id']) || str(o['generation_id']) || this.id;
    // Counts: Llama prompt_token_count / generation_token_count (cumulative in a stream), Titan
    // inputTextTokenCount / totalOutputTextTokenCount (results[].tokenCount when whole),
    // OpenAI-style usage.prompt_tokens / completion_tokens.
    const usage = obj(o['usage']);
    const input = num(o['prompt_token_count']) ?? num(o['inputTextTokenCount']) ?? num(usage?.['prompt_tokens']) ?? num(usage?.['input_tokens']);
    let output = num(o['generation_token_count']) ?? num(o['totalOutputTextTokenCount']) ?? num(usage?.['completion_tokens']) ?? num(usage?.['output_tokens']);
    const results = arr(o['results']);
    if (output === null && results.length > 0) {
      let sum = 0;
      for (const r of results) sum += num(obj(r)?.['tokenCount']) ?? 0;
      output = sum;
    }
    if (input !== null) {
      this.input = input;
      this.raw['input_tokens'] = input;
    }
    if (output !== null) {
      this.output = output;
      this.raw['output_tokens'] = output;
    }
  }

  /** The family's stop reason; when it gave none and a guardrail intervened (Titan answers a
   * blocked prompt with the guardrail's message and no completionReason, openllmetry's
   * test_guardrail_invoke_stream), Converse's name for that, `guardrail_intervened`. */
  stopReason(): string | null {
    return this.finishRaw ?? (this.guardrail ? 'guardrail_intervened' : null);
  }

  private finish(v: unknown): void {
    const s = str(v);
    if (s) this.finishRaw = s;
  }

  usage(): Usage | null {
    if (this.input === null && this.output === null) return null;
    return {
      input_tokens: this.input,
      output_tokens: this.output,
      cache_read_tokens: null,
      cache_write_tokens: null,
      reasoning_tokens: null,
      estimated: false,
      raw: this.raw,
    };
  }
}

function looksAnthropic(route: string, body: JsonObjectReader | null): boolean {
  if (typeof body?.get('anthropic_version') === 'string') return true;
  // Bedrock ids name the vendor first: `anthropic.claude-…`, `us.anthropic.claude-…`, ARNs ending so.
  return /(?:^|[./])anthropic\.claude/.test(route);
}

function emptyOutput(): Output {
  return {
    text: '',
    reasoning: '',
    toolCalls: [],
    finishRaw: null,
    usage: null,
    responseId: null,
    responseModel: null,
    firstToken: null,
    lastToken: null,
    interrupted: false,
  };
}

/** A whole (non-streamed) answer. */
function readWhole(b: JsonObject): Output {
  const out = emptyOutput();
  if (b['type'] === 'message' || (Array.isArray(b['content']) && b['stop_reason'] !== undefined)) {
    const g = readAnthropicMessage(b);
    return { ...out, text: g.text, reasoning: g.reasoning, toolCalls: g.toolCalls, finishRaw: g.stopReason, usage: g.usage, responseId: g.id, responseModel: g.model };
  }
  const message = obj(obj(b['output'])?.['message']);
  if (message) {
    const c = readConverseContent(message['content']);
    return { ...out, text: c.text, reasoning: c.reasoning, toolCalls: c.toolCalls, finishRaw: str(b['stopReason']), usage: converseUsage(obj(b['usage'])) };
  }
  const g = new GenericState();
  g.onObject(b, null);
  return { ...out, text: g.text.join(''), finishRaw: g.stopReason(), usage: g.usage(), responseId: g.id, responseModel: str(b['model']) };
}

/** The JSON object inside a `chunk` event: `{"bytes": base64}`. */
function chunkObject(payload: JsonObject): JsonObject | null {
  const bytes = str(payload['bytes']);
  if (bytes === null) return null;
  return obj(tryParseJson(Buffer.from(bytes, 'base64').toString('utf8')));
}

function readStream(res: HttpResponse, anomalies: AnomalyList): { out: Output; error: DecodedCall['error'] } {
  const s = readBedrockStream(res, anomalies);
  let anthropic: AnthropicStreamState | null = null;
  let converse: ConverseStreamState | null = null;
  const generic = new GenericState();
  let metrics: Usage | null = null;
  let sawMetrics = false;
  for (const e of s.events) {
    if (e.type !== 'chunk') continue;
    const o = chunkObject(e.payload);
    if (o === null) {
      anomalies.add('bedrock_chunk_invalid');
      continue;
    }
    const m = obj(o['amazon-bedrock-invocationMetrics']);
    if (m) {
      sawMetrics = true;
      metrics = converseUsage(m) ?? metrics;
    }
    if (typeof o['type'] === 'string') {
      anthropic ??= new AnthropicStreamState(anomalies);
      anthropic.onEvent(o, e.ts);
      continue;
    }
    const key = Object.keys(o).find((k) => CONVERSE_EVENTS.has(k));
    if (key !== undefined && isObject(o[key])) {
      converse ??= new ConverseStreamState();
      converse.onEvent(key, o[key], e.ts);
      continue;
    }
    generic.onObject(o, e.ts);
  }
  const out = emptyOutput();
  if (anthropic) {
    const g = anthropic.result(s.broken);
    Object.assign(out, { text: g.text, reasoning: g.reasoning, toolCalls: g.toolCalls, finishRaw: g.stopReason, responseId: g.id, responseModel: g.model });
    out.firstToken = g.firstToken;
    out.lastToken = g.lastToken;
    out.usage = g.usage.output_tokens !== null ? g.usage : null;
    out.interrupted = g.interrupted;
  } else if (converse) {
    const c = converse.result();
    Object.assign(out, { text: c.text, reasoning: c.reasoning, toolCalls: c.toolCalls, finishRaw: converse.stopReason });
    out.firstToken = converse.firstToken;
    out.lastToken = converse.lastToken;
    out.usage = converse.usage;
    out.interrupted = s.broken || !converse.sawStop;
  } else {
    out.text = generic.text.join('');
    out.finishRaw = generic.stopReason();
    out.firstToken = generic.firstToken;
    out.lastToken = generic.lastToken;
    out.usage = generic.usage();
    out.responseId = generic.id;
    out.interrupted = s.broken || (generic.stopReason() === null && !sawMetrics);
  }
  // Bedrock's own counts: the family's may lack cache counts or be missing (a stripped stream).
  if (metrics) out.usage = mergeCounts(out.usage, metrics);
  return { out, error: s.error };
}

/** The family's usage (kept as raw) with Bedrock's counts where the family has none. */
function mergeCounts(family: Usage | null, bedrock: Usage): Usage {
  if (family === null || family.input_tokens === null || family.output_tokens === null) return bedrock;
  return family;
}

/** Titan says FINISH for a natural stop (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-text.html);
 * the other families' words are in finish.ts's tables. */
function invokeFinish(raw: string | null, hasToolCalls: boolean): FinishReason | null {
  if (raw === 'FINISH') return hasToolCalls ? 'tool_call' : 'stop';
  return normalizeFinishReason(INVOKE_API, raw, { hasToolCalls });
}

function toolsOffered(body: JsonObjectReader | null): string[] {
  const names: string[] = [];
  const tools = [...arr(body?.get('tools')), ...arr(body?.object('toolConfig')?.get('tools'))];
  for (const t of tools) {
    const o = obj(t);
    const name = str(o?.['name']) ?? str(obj(o?.['function'])?.['name']) ?? str(obj(o?.['toolSpec'])?.['name']);
    if (name !== null) names.push(name);
  }
  return names;
}

function promptText(body: JsonObjectReader | null, anthropic: boolean): string {
  if (!body) return '';
  if (anthropic) return anthropicPromptText(body);
  const parts: string[] = [];
  for (const k of ['prompt', 'inputText', 'message']) {
    const s = str(body.get(k));
    if (s !== null) parts.push(s);
  }
  for (const m of arr(body.get('messages'))) {
    const c = obj(m)?.['content'];
    if (typeof c === 'string') parts.push(c);
  }
  const converse = conversePromptText(body);
  if (converse !== '') parts.push(converse);
  return parts.join('\n');
}

/** Embedding models share the invoke route (`amazon.titan-embed-text-v2:0`, `cohere.embed-v4:0`,
 * `amazon.nova-2-multimodal-embeddings-v1:0`): not chat calls, left to an embeddings decoder. */
const EMBEDDING_MODEL = /(?:^|[./-])(?:titan-)?embed/i;

function matchRoute(req: HttpRequest): boolean {
  const r = req.method === 'POST' ? bedrockRoute(req.path) : null;
  return r !== null && (r.operation === 'invoke' || r.operation === 'invoke-with-response-stream') && !EMBEDDING_MODEL.test(r.model);
}

function decode(ex: HttpExchange): DecodedCall {
  const req = ex.request;
  const route = bedrockRoute(req.path);
  const anomalies = new AnomalyList();
  const call = blankCall(BEDROCK_PROVIDER, INVOKE_API, 'chat');
  call.anomalies = anomalies.names;
  call.request_model = route?.model ?? null;
  call.stream = route?.operation === 'invoke-with-response-stream';
  const body = req.body.size === 0 ? null : parseRequestObject(req, anomalies, 'bedrock');
  const anthropic = looksAnthropic(call.request_model ?? '', body);
  call.tools_offered = toolsOffered(body);
  const res = ex.response;
  if (!res) {
    anomalies.add('bedrock_no_response');
    return call;
  }
  let out: Output | null = null;
  if (isAwsEventStream(res)) {
    call.stream = true;
    const r = readStream(res, anomalies);
    out = r.out;
    call.error = r.error;
    if (r.error === null && out.interrupted) anomalies.add('bedrock_stream_interrupted');
  } else {
    const parsed = parseJsonBody(res.body);
    const b = obj(parsed);
    if (res.status >= 400) call.error = bedrockHttpError(res, parsed);
    else if (b) {
      out = readWhole(b);
      call.stream = false;
      // Bedrock's headers count every family; the body's own counts are kept when complete.
      const headers = invocationHeaderUsage(res);
      if (headers) out.usage = mergeCounts(out.usage, headers);
    } else if (res.body.size > 0) anomalies.add('bedrock_response_invalid_json');
    if (res.body.incomplete || res.body.truncated) anomalies.add('bedrock_response_incomplete');
  }
  if (out) {
    call.output_text = out.text;
    call.reasoning_text = out.reasoning;
    call.tool_calls = out.toolCalls;
    call.response_id = out.responseId;
    call.response_model = out.responseModel;
    call.first_token = out.firstToken;
    call.last_token = out.lastToken;
    if (out.usage) call.usage = out.usage;
    call.finish_reason_raw = out.finishRaw;
    call.finish_reason = invokeFinish(out.finishRaw, !anthropic && out.toolCalls.length > 0);
  }
  finishCall(call, res, () => promptText(body, anthropic));
  return call;
}

export const bedrockInvokeDecoder: WireDecoder = wireDecoder({
  api: INVOKE_API,
  provider: BEDROCK_PROVIDER,
  operation: 'chat',
  failedAnomaly: 'bedrock_decoder_failed',
  matchRoute,
  matchBody: () => false,
  decode,
});
