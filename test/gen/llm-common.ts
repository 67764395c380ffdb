/**
 * Shared shapes of the LLM traffic generators: the options of one exchange, the facts a test can
 * expect the pipeline to report for it, and the scheduling of response events into timed pieces.
 */
import type { Micros } from '../../src/core/time.js';
import { type Framing, type Header, httpDate, requestPiece, responsePieces, utf8 } from './http-wire.js';
import { type Conversation, conversation, outputTokens } from './llm-text.js';
import type { Rng } from './rng.js';
import type { ExchangeWire, TimedPiece } from './tcp-conversation.js';

export type ApiName = 'openai.chat_completions' | 'openai.responses' | 'anthropic.messages' | 'gemini.generate_content';

export interface ExchangeOptions {
  api: ApiName;
  /** Time of the first request byte. */
  at: Micros;
  /** Default true. */
  stream?: boolean;
  /** OpenAI Chat Completions: `stream_options.include_usage` (default true). */
  includeUsage?: boolean;
  /** Gemini streaming form: `?alt=sse` (default) or the bare JSON array. */
  geminiStream?: 'sse' | 'json-array';
  /** Number of (parallel) tool calls in the answer; 0 = a text answer (default). */
  toolCalls?: number;
  /** Reasoning output (Anthropic thinking, OpenAI reasoning, Gemini thoughts). */
  thinking?: boolean;
  /** Prompt-cache reads (and Anthropic cache writes) in the usage. */
  cache?: boolean;
  /** Approximate request body size in bytes (default 60 000). */
  requestBytes?: number;
  /** Text tokens generated (default 30–400). */
  outputTokens?: number;
  /** The answer stops at max tokens (finish "length"). */
  maxTokens?: boolean;
  gzip?: boolean;
  /** Response framing; default chunked for streams, Content-Length otherwise. */
  framing?: Framing;
  /** Answer with this HTTP error (429, 500, 529…) instead of a completion. */
  errorStatus?: number;
  /** Anthropic: an in-stream `overloaded_error` event after part of the answer. */
  inStreamError?: boolean;
  /** Cut the response after this fraction (0–1) of its events: the connection breaks. */
  interruptAfter?: number;
  /** OpenAI Responses: leave `response.completed.output` empty, as Codex's backend does. */
  emptyCompletedOutput?: boolean;
  host?: string;
  model?: string;
  /** Median time to the response head, µs (default 450 ms streaming, whole answer otherwise). */
  ttfbUs?: number;
  /** Median gap between tokens, µs (default 25 ms). */
  tokenGapUs?: number;
  /** Placeholder secret used in auth headers (default derived from the RNG). */
  apiKey?: string;
}

/** The wire usage numbers, before per-API naming. */
export interface UsageCounts {
  /** Total input including cache reads and writes. */
  input: number;
  cacheRead: number;
  cacheWrite: number;
  /** Output including reasoning. */
  output: number;
  reasoning: number;
}

/** Normalised usage per DESIGN §3 (null where the wire does not state a count). */
export interface ExpectedUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number | null;
  cache_write_tokens: number | null;
  reasoning_tokens: number | null;
}

/** What the pipeline should report for one generated exchange. */
export interface ExpectedFacts {
  api: ApiName;
  provider: 'openai' | 'anthropic' | 'google';
  stream: boolean;
  method: string;
  host: string;
  /** Request target as sent (path + query) and the path alone. */
  target: string;
  path: string;
  statusCode: number | null;
  userAgent: string;
  requestModel: string | null;
  responseModel: string | null;
  responseId: string | null;
  /** Usage object(s) as the wire states them (Anthropic streams: message_start's usage with
   * message_delta's merged over it); null when the wire carries none. */
  usageWire: Record<string, unknown> | null;
  usage: ExpectedUsage | null;
  /** Finish reason exactly as on the wire (chat `finish_reason`, Responses `status` or
   * `incomplete_details.reason`, Anthropic `stop_reason`, Gemini `finishReason`). */
  finishReasonRaw: string | null;
  toolCalls: { id: string | null; name: string }[];
  toolsOffered: string[];
  error: { type: string; code: string | null; message: string } | null;
  interrupted: boolean;
  /** Text the model produced that reached the client whole (no reasoning). */
  outputText: string;
  reasoningText: string;
  requestStart: Micros;
  /** Capture time of the packet completing the first / last event that carries generated content
   * (text, reasoning, or a tool call's name or arguments); null when not streamed. */
  firstEventAt: Micros | null;
  lastEventAt: Micros | null;
  responseStart: Micros | null;
  responseEnd: Micros | null;
  requestBodyBytes: number;
  responseBodyWireBytes: number;
  contentEncoding: string | null;
  framing: Framing;
  /** The secret placed in the request headers (tests check it never reaches output). */
  apiKey: string;
}

export interface GeneratedExchange {
  wire: ExchangeWire;
  expected: ExpectedFacts;
  /** Indexes into wire.response of the pieces holding the first / last content event. */
  firstContentPiece: number | null;
  lastContentPiece: number | null;
  /** Time of the last response piece. */
  end: Micros;
}

/** One response event (an SSE event, a JSON-array element, or a whole body). */
export interface WireEvent {
  text: string;
  /** Carries generated content (text, reasoning, tool call). */
  content: boolean;
  /** Gap after the previous event, µs. */
  gapUs: number;
  /** Text / reasoning this event adds when it arrives whole. */
  outText?: string;
  reasoning?: string;
  /** The tool call this event announces. */
  toolCall?: { id: string | null; name: string };
}

/** The per-call material every API serialises its own way. */
export interface Plan {
  rng: Rng;
  o: ExchangeOptions;
  stream: boolean;
  conv: Conversation;
  text: string[];
  reasoning: string[];
  /** Tool calls with their argument JSON. */
  calls: { name: string; args: string }[];
  finish: 'stop' | 'tool' | 'length';
}

export function makePlan(rng: Rng, o: ExchangeOptions, toolNames: string[], idPrefix: string): Plan {
  const conv = conversation(rng, o.requestBytes ?? 60_000, toolNames, idPrefix);
  const nTools = o.toolCalls ?? 0;
  const text = outputTokens(rng, nTools > 0 ? rng.int(0, 1) * rng.int(5, 25) : (o.outputTokens ?? rng.int(30, 400)));
  const reasoning = o.thinking ? outputTokens(rng, rng.int(20, 120)) : [];
  const calls = Array.from({ length: nTools }, (_, i) => ({
    name: conv.tools[(i * 3 + rng.int(0, conv.tools.length - 1)) % conv.tools.length]!.name,
    args: JSON.stringify({ path: `src/${rng.pick(['core', 'http', 'cli', 'store'])}/file${rng.int(1, 99)}.ts`, command: `rg -n "${rng.alnum(6)}" src` }),
  }));
  const finish = o.maxTokens ? 'length' : nTools > 0 ? 'tool' : 'stop';
  return { rng, o, stream: o.stream ?? true, conv, text, reasoning, calls, finish };
}

/** Usage counts consistent with the body size: ~3.7 bytes per token for English/JSON text (the
 * ratio cl100k/o200k tokenizers show on agent requests). */
export function usageCounts(p: Plan, requestBody: string): UsageCounts {
  const input = Math.round(utf8(requestBody).length / 3.7);
  const cacheRead = p.o.cache ? Math.floor(input * 0.85) : 0;
  // A warm cache: most of the prompt is read, the new tail written, a few tokens uncached
  // (the shape of a Claude Code follow-up call).
  const cacheWrite = p.o.cache ? Math.min(Math.floor((input - cacheRead) * 0.9), p.rng.int(200, 3000)) : 0;
  const argTokens = p.calls.reduce((n, c) => n + Math.ceil(c.args.length / 3.5) + 5, 0);
  const reasoning = p.reasoning.length;
  return { input, cacheRead, cacheWrite, output: p.text.length + reasoning + argTokens, reasoning };
}

/** Splits `s` into `n` roughly equal fragments (tool-call argument deltas). */
export function fragments(s: string, n: number): string[] {
  const out: string[] = [];
  const step = Math.max(1, Math.ceil(s.length / n));
  for (let i = 0; i < s.length; i += step) out.push(s.slice(i, i + step));
  return out;
}

export interface Finish {
  method?: string;
  host: string;
  target: string;
  headers: Header[];
  body: string;
  status: number;
  reason: string;
  responseHeaders: Header[];
  events: WireEvent[];
  contentType: string;
  /** Facts known before scheduling. */
  facts: Omit<
    ExpectedFacts,
    'method' | 'host' | 'target' | 'path' | 'statusCode' | 'userAgent' | 'interrupted' | 'outputText' | 'reasoningText' | 'requestStart' | 'firstEventAt' | 'lastEventAt' | 'responseStart' | 'responseEnd' | 'requestBodyBytes' | 'responseBodyWireBytes' | 'contentEncoding' | 'framing' | 'apiKey' | 'stream'
  >;
  /** Facts that apply instead when the stream is cut (e.g. no final usage). */
  interruptedFacts?: Partial<ExpectedFacts>;
  apiKey: string;
}

/**
 * Schedules events after the response head, groups them into pieces (control events written
 * together with the previous one, each content event flushed on its own, as streaming servers do),
 * cuts the stream if asked, frames the HTTP messages and fills in the expected facts.
 */
export function finish(p: Plan, f: Finish): GeneratedExchange {
  const o = p.o;
  const rng = p.rng;
  const at = o.at;
  const reqBody = utf8(f.body);
  const ua = f.headers.find(([k]) => k.toLowerCase() === 'user-agent')?.[1] ?? '';
  const request = requestPiece(at, f.method ?? 'POST', f.target, [['Host', f.host], ...f.headers], reqBody);
  const isError = f.status >= 400;
  const streamed = p.stream && !isError;
  const gap = o.tokenGapUs ?? 25_000;
  // Streaming: headers after TTFB; non-streaming: the whole answer after generation.
  const genTime = streamed ? 0 : f.events.reduce((n, e) => n + (e.content ? e.gapUs : 0), 0);
  const ttfb = Math.round(rng.around(o.ttfbUs ?? (isError ? 120_000 : 450_000), 0.3)) + genTime;
  const headAt = at + ttfb;
  // Events → pieces.
  let events = f.events;
  const interrupted = o.interruptAfter !== undefined && streamed;
  let cutTail = '';
  if (interrupted) {
    const keep = Math.max(1, Math.floor(events.length * o.interruptAfter!));
    const next = events[keep];
    // Half of the next event reaches the client before the connection breaks.
    if (next) cutTail = next.text.slice(0, Math.floor(next.text.length / 2));
    events = events.slice(0, keep);
  }
  const body: { at: Micros; text: string; content: boolean }[] = [];
  let t = headAt + (streamed ? Math.round(rng.around(3_000, 0.5)) : 0);
  let outText = '';
  let reasoningText = '';
  const seenCalls: { id: string | null; name: string }[] = [];
  let firstContent: number | null = null;
  let lastContent: number | null = null;
  for (const e of events) {
    if (streamed) t += Math.round(e.gapUs);
    const last = body[body.length - 1];
    if (!streamed && last) last.text += e.text;
    else if (last && !e.content && e.gapUs < 1_000) last.text += e.text;
    else body.push({ at: t, text: e.text, content: e.content });
    if (e.content) {
      firstContent ??= body.length - 1;
      lastContent = body.length - 1;
    }
    outText += e.outText ?? '';
    reasoningText += e.reasoning ?? '';
    if (e.toolCall) seenCalls.push(e.toolCall);
  }
  if (cutTail) body.push({ at: t + Math.round(gap / 2), text: cutTail, content: false });
  const framing: Framing = o.framing ?? (streamed ? 'chunked' : 'content-length');
  const gzip = (o.gzip ?? false) && !isError;
  const headers: Header[] = [['Date', httpDate(headAt)], ['Content-Type', f.contentType], ...f.responseHeaders];
  const { pieces, bodyIndex, bodyWireBytes } = responsePieces({
    status: f.status,
    reason: f.reason,
    headers,
    body: body.map((b) => ({ at: b.at, data: utf8(b.text) })),
    headAt,
    framing,
    gzip,
    complete: !interrupted,
  });
  const idx = (i: number | null): number | null => (i === null ? null : bodyIndex[i]!);
  const piecesAt = (i: number | null): Micros | null => (i === null ? null : pieces[i]!.at);
  const firstPiece = streamed ? idx(firstContent) : null;
  const lastPiece = streamed ? idx(lastContent) : null;
  const qi = f.target.indexOf('?');
  const expected: ExpectedFacts = {
    ...f.facts,
    stream: p.stream,
    method: f.method ?? 'POST',
    host: f.host,
    target: f.target,
    path: qi < 0 ? f.target : f.target.slice(0, qi),
    statusCode: f.status,
    userAgent: ua,
    interrupted,
    outputText: outText,
    reasoningText,
    requestStart: at,
    firstEventAt: piecesAt(firstPiece),
    lastEventAt: piecesAt(lastPiece),
    responseStart: pieces[0]?.at ?? null,
    responseEnd: pieces[pieces.length - 1]?.at ?? null,
    requestBodyBytes: reqBody.length,
    responseBodyWireBytes: bodyWireBytes,
    contentEncoding: gzip ? 'gzip' : null,
    framing,
    apiKey: f.apiKey,
    ...(interrupted ? { toolCalls: seenCalls, ...f.interruptedFacts } : {}),
  };
  return {
    wire: { request: [request], response: pieces },
    expected,
    firstContentPiece: firstPiece,
    lastContentPiece: lastPiece,
    end: pieces[pieces.length - 1]?.at ?? headAt,
  };
}

/** Token events: one event per 1–3 tokens, gaps drawn around the median inter-token time. */
export function tokenGroups(rng: Rng, tokens: string[], gapUs: number): { text: string; gapUs: number }[] {
  const out: { text: string; gapUs: number }[] = [];
  for (let i = 0; i < tokens.length; ) {
    const n = rng.chance(0.8) ? 1 : rng.int(2, 3);
    const text = tokens.slice(i, i + n).join('');
    out.push({ text, gapUs: Math.round(rng.around(gapUs * n, 0.45)) });
    i += n;
  }
  return out;
}

/** A placeholder secret: shaped like the real key (so redaction patterns fire) but marked demo. */
export function demoKey(rng: Rng, prefix: string, len: number): string {
  return `${prefix}demo-${rng.alnum(len)}`;
}

export function sseEvent(name: string | null, data: unknown, eol = '\n'): string {
  const json = typeof data === 'string' ? data : JSON.stringify(data);
  return (name !== null ? `event: ${name}${eol}` : '') + `data: ${json}${eol}${eol}`;
}

/** Time a non-streamed answer takes to generate: its output tokens at the token rate. */
export function generationUs(rng: Rng, u: UsageCounts, gapUs: number): number {
  return Math.round(rng.around(u.output * gapUs, 0.2));
}

/** A UUIDv4-shaped id from the Rng (session ids, cache keys). */
export function uuidish(rng: Rng): string {
  const h = rng.hex(32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export type { TimedPiece };
