/**
 * A small local LLM server for end-to-end tests: it answers OpenAI Chat Completions and Anthropic
 * Messages in their real wire formats, so that the official SDKs accept its answers and llmtap
 * sees on the wire what it would see from the real APIs.
 *
 * Shapes follow real recordings in the shared corpus (openai-python/*.sse,
 * anthropic-sdk-python/*.sse, openllmetry cassettes for the headers):
 * - OpenAI: `chat.completion` JSON; SSE `chat.completion.chunk` events ending in `data: [DONE]`;
 *   with `stream_options.include_usage`, every chunk carries `"usage":null` and a last chunk has
 *   `choices: []` and the usage (OpenAI API reference, "stream_options"); tool calls as deltas keyed
 *   by `index`.
 * - Anthropic: `message` JSON; SSE `message_start`, `content_block_start`/`_delta`/`_stop`
 *   (`text_delta`, `input_json_delta`), `ping`, `message_delta`, `message_stop`; usage split between
 *   `message_start` and `message_delta`, with cache reads and writes; gzip-encoded like
 *   api.anthropic.com when the client accepts it.
 *
 * Everything in an answer (ids, text, usage, delays) is a function of the request (method, path,
 * body), so the same request gives the same record on every run. Streamed events are sent with
 * small real delays between them so that latencies on the wire are real.
 *
 * Only node built-ins are imported: the network-namespace test transpiles this one file and runs
 * it with plain `node` inside the namespace (see `main` at the bottom).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { constants as zlibConstants, createGzip, type Gzip } from 'node:zlib';

/** Request bodies above this are refused with 413: the tests send ~100 KB; 8 MiB leaves room and
 * still bounds memory. */
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;
/** Longest answer a request may ask for ("Reply with N words."): bounds the response size. */
const MAX_WORDS = 50_000;
/** Words in an answer when the request does not say. */
const DEFAULT_WORDS = 24;
/** Streamed answers are grouped into at most this many content events, so a long answer still
 * streams in well under a second with the per-event delays below. */
const MAX_CONTENT_EVENTS = 40;
/** Delay between streamed events, ms (inclusive range): "small real delays" of a live model. */
const EVENT_DELAY_MS: readonly [number, number] = [5, 20];
/** Delay before the response head, ms: a real time to first byte. */
const HEAD_DELAY_MS: readonly [number, number] = [15, 40];

export interface LlmServerOptions {
  host: string;
  /** 0 = an ephemeral port. */
  port: number;
}

export interface LlmServer {
  readonly host: string;
  readonly port: number;
  /** Number of requests answered so far (any status). */
  readonly requests: () => number;
  close(): Promise<void>;
}

/** A request as node:http or node:http2's compatibility API hands it over: the handlers use only
 * what both have, so one handler serves HTTP/1.1, h2c and HTTPS (h2 or HTTP/1.1 by ALPN). */
export type LlmRequest = IncomingMessage | Http2ServerRequest;
export type LlmResponse = ServerResponse | Http2ServerResponse;

/** Answers one request (any status); never rejects. */
export function handleLlmRequest(req: LlmRequest, res: LlmResponse): void {
  handle(req, res).catch((err: unknown) => {
    // A client that went away mid-stream ends up here: nothing to answer any more.
    if (!res.headersSent) sendJson(res, 500, { error: { message: String(err), type: 'server_error' } });
    else res.destroy();
  });
}

export async function startLlmServer(opts: LlmServerOptions): Promise<LlmServer> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    handleLlmRequest(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    host: opts.host,
    port: addr.port,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Request handling

async function handle(req: LlmRequest, res: LlmResponse): Promise<void> {
  const body = await readBody(req);
  if (body === null) {
    sendJson(res, 413, { error: { message: 'request too large', type: 'invalid_request_error' } });
    return;
  }
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const rng = new Rng(createHash('sha256').update(`${req.method ?? ''} ${path}\n`).update(body).digest());
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    json = null;
  }
  if (req.method === 'POST' && path === '/v1/chat/completions') {
    if (!/^Bearer \S+/.test(req.headers.authorization ?? '')) {
      sendJson(res, 401, { error: { message: 'missing API key', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
      return;
    }
    if (!isObject(json)) {
      sendJson(res, 400, { error: { message: 'body is not a JSON object', type: 'invalid_request_error', param: null, code: null } });
      return;
    }
    await answerOpenAi(res, json, body.toString('utf8'), rng);
    return;
  }
  if (req.method === 'POST' && path === '/v1/messages') {
    // The TypeScript SDK 1.x sends `authorization: Bearer`, older SDKs `x-api-key`: accept either.
    const hasKey = typeof req.headers['x-api-key'] === 'string' || /^Bearer \S+/.test(req.headers.authorization ?? '');
    if (!hasKey || typeof req.headers['anthropic-version'] !== 'string') {
      sendJson(res, 401, { type: 'error', error: { type: 'authentication_error', message: 'an API key and anthropic-version are required' } });
      return;
    }
    if (!isObject(json)) {
      sendJson(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'body is not a JSON object' } });
      return;
    }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    await answerAnthropic(res, json, body.toString('utf8'), rng, gzip);
    return;
  }
  sendJson(res, 404, { error: { message: `no route ${req.method ?? ''} ${path}`, type: 'invalid_request_error' } });
}

function readBody(req: LlmRequest): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) over = true;
      else parts.push(chunk);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function sendJson(res: LlmResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(value);
  // Over HTTP/2 the DATA frames delimit the body and content-length is optional (RFC 9113
  // §8.1.1). Without it, the client reads to END_STREAM: node:http2 sends that flag in an empty
  // DATA frame after the body, and curl 7.88, having read content-length bytes, closes the
  // connection before it arrives, leaving the captured stream unfinished.
  const length: Record<string, string> = 'stream' in res ? {} : { 'content-length': String(Buffer.byteLength(text)) };
  res.writeHead(status, { 'content-type': 'application/json', ...length, ...headers });
  res.end(text);
}

// ---------------------------------------------------------------------------------------------
// What to answer: a plan shared by both wire formats

interface ToolPlan {
  id: string;
  name: string;
  /** JSON text of the arguments, sent in fragments when streamed. */
  args: string;
}

interface AnswerPlan {
  words: string[];
  /** True when max tokens cut the answer short. */
  truncated: boolean;
  tools: ToolPlan[];
}

const VOCABULARY = (
  'the wire carries every call and a passive tap reads the bytes as they pass so each request ' +
  'and response becomes one record with model tokens latency and the reason the model stopped'
).split(' ');

function planAnswer(
  rng: Rng,
  bodyText: string,
  maxTokens: number | null,
  toolNames: string[],
  toolIdPrefix: string,
): AnswerPlan {
  const asked = /reply with (\d{1,6}) words/i.exec(bodyText);
  let count = asked ? Math.min(Number(asked[1]), MAX_WORDS) : DEFAULT_WORDS;
  let truncated = false;
  if (maxTokens !== null && maxTokens < count) {
    count = Math.max(1, maxTokens);
    truncated = true;
  }
  const tools: ToolPlan[] = [];
  if (!truncated) {
    // Call at most two of the offered tools: two exercise parallel tool calls keyed by index.
    for (const name of toolNames.slice(0, 2)) {
      const args = JSON.stringify({ query: `${name} ${rng.word(VOCABULARY)} ${rng.word(VOCABULARY)}`, limit: rng.int(1, 9) });
      tools.push({ id: `${toolIdPrefix}${rng.token(toolIdPrefix === 'call_' ? 24 : 22)}`, name, args });
    }
    // A turn that calls tools says little before it.
    if (tools.length > 0) count = Math.min(count, 8);
  }
  const words: string[] = [];
  for (let i = 0; i < count; i++) words.push(rng.word(VOCABULARY));
  return { words, truncated, tools };
}

/** Splits `words` into at most MAX_CONTENT_EVENTS pieces, each with the leading spaces a model's
 * tokens carry. */
function textPieces(words: string[]): string[] {
  const per = Math.max(1, Math.ceil(words.length / MAX_CONTENT_EVENTS));
  const pieces: string[] = [];
  for (let i = 0; i < words.length; i += per) {
    const group = words.slice(i, i + per).join(' ');
    pieces.push(i === 0 ? group : ` ${group}`);
  }
  return pieces;
}

/** Splits JSON text into 2..5 fragments at arbitrary offsets, like real argument deltas. */
function argFragments(rng: Rng, args: string): string[] {
  const n = rng.int(2, 5);
  const cuts = new Set<number>();
  while (cuts.size < n - 1 && cuts.size < args.length - 1) cuts.add(rng.int(1, args.length - 1));
  const sorted = [...cuts].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const c of sorted) {
    out.push(args.slice(prev, c));
    prev = c;
  }
  out.push(args.slice(prev));
  return out;
}

function estimateTokens(text: string): number {
  // ~4 bytes per token is the providers' own rule of thumb; exact values do not matter, only
  // that they are deterministic.
  return Math.max(1, Math.ceil(Buffer.byteLength(text) / 4));
}

function outputTokens(plan: AnswerPlan): number {
  return plan.words.length + plan.tools.reduce((n, t) => n + estimateTokens(t.args) + 3, 0);
}

// ---------------------------------------------------------------------------------------------
// OpenAI Chat Completions

async function answerOpenAi(res: LlmResponse, req: Record<string, unknown>, bodyText: string, rng: Rng): Promise<void> {
  const model = typeof req['model'] === 'string' ? req['model'] : 'gpt-4o-mini';
  const maxTokens = numberOr(req['max_completion_tokens'], numberOr(req['max_tokens'], null));
  const toolChoiceNone = req['tool_choice'] === 'none';
  const toolNames = toolChoiceNone ? [] : openAiToolNames(req['tools']);
  const plan = planAnswer(rng, bodyText, maxTokens, toolNames, 'call_');
  const id = `chatcmpl-${rng.token(29)}`;
  const created = 1_727_000_000 + rng.int(0, 999_999);
  const responseModel = datedModel(model);
  const fingerprint = `fp_${rng.hex(10)}`;
  const promptTokens = estimateTokens(bodyText);
  const completionTokens = outputTokens(plan);
  const finish = plan.truncated ? 'length' : plan.tools.length > 0 ? 'tool_calls' : 'stop';
  const usage = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
  const headers = {
    'x-request-id': `req_${rng.hex(32)}`,
    'openai-organization': 'user-llmtap-e2e',
    'openai-processing-ms': String(rng.int(100, 900)),
    'openai-version': '2020-10-01',
    'x-ratelimit-limit-requests': '5000',
    'x-ratelimit-remaining-requests': '4999',
  };
  await sleep(rng.int(...HEAD_DELAY_MS));

  if (req['stream'] !== true) {
    const message =
      plan.tools.length > 0
        ? {
            role: 'assistant',
            content: null,
            tool_calls: plan.tools.map((t) => ({ id: t.id, type: 'function', function: { name: t.name, arguments: t.args } })),
            refusal: null,
            annotations: [],
          }
        : { role: 'assistant', content: plan.words.join(' '), refusal: null, annotations: [] };
    sendJson(
      res,
      200,
      {
        id,
        object: 'chat.completion',
        created,
        model: responseModel,
        choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
        usage,
        service_tier: 'default',
        system_fingerprint: fingerprint,
      },
      headers,
    );
    return;
  }

  const streamOptions = req['stream_options'];
  const includeUsage = isObject(streamOptions) && streamOptions['include_usage'] === true;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', ...headers });
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): string => {
    const c: Record<string, unknown> = {
      id,
      object: 'chat.completion.chunk',
      created,
      model: responseModel,
      service_tier: 'default',
      system_fingerprint: fingerprint,
      choices,
    };
    if (includeUsage) c['usage'] = null;
    // Since 2025 the API pads chunks with a random `obfuscation` field (stream_options
    // .include_obfuscation, on by default); decoders must ignore it.
    c['obfuscation'] = rng.token(rng.int(2, 12));
    return `data: ${JSON.stringify({ ...c, ...extra })}\n\n`;
  };
  const choice = (delta: Record<string, unknown>, finishReason: string | null = null): unknown => ({
    index: 0,
    delta,
    logprobs: null,
    finish_reason: finishReason,
  });
  const events: string[] = [];
  if (plan.tools.length > 0) {
    events.push(chunk([choice({ role: 'assistant', content: null })]));
    plan.tools.forEach((t, index) => {
      events.push(chunk([choice({ tool_calls: [{ index, id: t.id, type: 'function', function: { name: t.name, arguments: '' } }] })]));
      for (const frag of argFragments(rng, t.args)) {
        events.push(chunk([choice({ tool_calls: [{ index, function: { arguments: frag } }] })]));
      }
    });
  } else {
    events.push(chunk([choice({ role: 'assistant', content: '', refusal: null })]));
    for (const piece of textPieces(plan.words)) events.push(chunk([choice({ content: piece })]));
  }
  events.push(chunk([choice({}, finish)]));
  if (includeUsage) events.push(chunk([], { usage }));
  events.push('data: [DONE]\n\n');
  await streamEvents(res, events, rng, null);
}

function openAiToolNames(tools: unknown): string[] {
  if (!Array.isArray(tools)) return [];
  const names: string[] = [];
  for (const t of tools) {
    if (isObject(t) && isObject(t['function']) && typeof t['function']['name'] === 'string') names.push(t['function']['name']);
  }
  return names;
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages

async function answerAnthropic(
  res: LlmResponse,
  req: Record<string, unknown>,
  bodyText: string,
  rng: Rng,
  gzip: boolean,
): Promise<void> {
  const model = typeof req['model'] === 'string' ? req['model'] : 'claude-sonnet-4-5';
  const maxTokens = numberOr(req['max_tokens'], null);
  const toolChoice = req['tool_choice'];
  const toolChoiceNone = isObject(toolChoice) && toolChoice['type'] === 'none';
  const toolNames = toolChoiceNone ? [] : anthropicToolNames(req['tools']);
  const plan = planAnswer(rng, bodyText, maxTokens, toolNames, 'toolu_01');
  const id = `msg_01${rng.token(22)}`;
  const responseModel = datedModel(model);
  // Anthropic's input_tokens excludes cache reads and writes (Messages API, "usage"); make all
  // three non-zero so that a consumer that forgets to add them is caught.
  const total = estimateTokens(bodyText);
  const cacheRead = Math.floor(total * 0.6);
  const cacheWrite = Math.min(Math.floor(total * 0.3), 50 + rng.int(0, 200));
  const inputTokens = Math.max(1, total - cacheRead - cacheWrite);
  const outTokens = outputTokens(plan);
  const stopReason = plan.truncated ? 'max_tokens' : plan.tools.length > 0 ? 'tool_use' : 'end_turn';
  const usage = {
    input_tokens: inputTokens,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
    cache_creation: { ephemeral_5m_input_tokens: cacheWrite, ephemeral_1h_input_tokens: 0 },
    output_tokens: outTokens,
    service_tier: 'standard',
  };
  const headers: Record<string, string> = {
    'request-id': `req_011C${rng.token(20)}`,
    'anthropic-organization-id': uuidFrom(rng),
    'anthropic-ratelimit-requests-limit': '50',
    'anthropic-ratelimit-requests-remaining': '49',
    'x-robots-tag': 'none',
  };
  if (gzip) headers['content-encoding'] = 'gzip';
  await sleep(rng.int(...HEAD_DELAY_MS));

  const text = plan.tools.length > 0 ? "I'll look that up for you." : plan.words.join(' ');
  if (req['stream'] !== true) {
    const content: unknown[] = [{ type: 'text', text }];
    for (const t of plan.tools) content.push({ type: 'tool_use', id: t.id, name: t.name, input: JSON.parse(t.args) as unknown });
    const value = { id, type: 'message', role: 'assistant', model: responseModel, content, stop_reason: stopReason, stop_sequence: null, usage };
    if (!gzip) {
      sendJson(res, 200, value, headers);
      return;
    }
    // Like api.anthropic.com: gzip, chunked.
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    const z = createGzip();
    z.pipe(res);
    z.end(JSON.stringify(value));
    return;
  }

  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers });
  const ev = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
  const events: string[] = [];
  events.push(
    ev('message_start', {
      type: 'message_start',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model: responseModel,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 1 },
      },
    }),
  );
  events.push(ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
  events.push('event: ping\ndata: {"type": "ping"}\n\n');
  const pieces = plan.tools.length > 0 ? [text.slice(0, 4), text.slice(4)] : textPieces(plan.words);
  for (const piece of pieces) {
    events.push(ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } }));
  }
  events.push(ev('content_block_stop', { type: 'content_block_stop', index: 0 }));
  plan.tools.forEach((t, i) => {
    const index = i + 1;
    events.push(
      ev('content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { type: 'tool_use', id: t.id, name: t.name, input: {} },
      }),
    );
    events.push(ev('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: '' } }));
    for (const frag of argFragments(rng, t.args)) {
      events.push(ev('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: frag } }));
    }
    events.push(ev('content_block_stop', { type: 'content_block_stop', index }));
  });
  // The API has sent message_delta usage both ways: only output_tokens (older recordings), and
  // the whole usage again (2025 recordings). Tool turns use the newer form, text turns the older.
  const deltaUsage =
    plan.tools.length > 0
      ? { input_tokens: inputTokens, cache_creation_input_tokens: cacheWrite, cache_read_input_tokens: cacheRead, output_tokens: outTokens }
      : { output_tokens: outTokens };
  events.push(ev('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: deltaUsage }));
  events.push(ev('message_stop', { type: 'message_stop' }));
  await streamEvents(res, events, rng, gzip ? createGzip({ flush: zlibConstants.Z_SYNC_FLUSH }) : null);
}

function anthropicToolNames(tools: unknown): string[] {
  if (!Array.isArray(tools)) return [];
  const names: string[] = [];
  for (const t of tools) if (isObject(t) && typeof t['name'] === 'string') names.push(t['name']);
  return names;
}

// ---------------------------------------------------------------------------------------------
// Streaming, helpers

/** Writes SSE events one by one with a short delay before each, through gzip (flushed after each
 * event, as a streaming gzip server must) when given. Stops early if the client goes away. */
async function streamEvents(res: LlmResponse, events: string[], rng: Rng, gzip: Gzip | null): Promise<void> {
  // Both kinds of response are Writables; their own write()/end() overloads differ too much to
  // call on the union.
  const out: Writable = res;
  let gone = false;
  res.once('close', () => {
    gone = true;
  });
  if (gzip) gzip.pipe(out);
  for (const e of events) {
    await sleep(rng.int(...EVENT_DELAY_MS));
    if (gone) return;
    if (gzip) gzip.write(e);
    else out.write(e);
  }
  if (gzip) gzip.end();
  else out.end();
}

/** Real APIs answer an alias with a dated snapshot name (gpt-4o → gpt-4o-2024-08-06). */
function datedModel(model: string): string {
  return /-\d{4}-?\d{2}-?\d{2}$/.test(model) ? model : `${model}-2025-01-01`;
}

function uuidFrom(rng: Rng): string {
  const h = rng.hex(32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function numberOr<T>(v: unknown, fallback: T): number | T {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Deterministic generator seeded from a request digest (xorshift32: fast, good enough for ids
 * and delays; not for anything secret). */
class Rng {
  private s: number;
  constructor(seed: Uint8Array) {
    this.s = ((seed[0] ?? 1) | ((seed[1] ?? 0) << 8) | ((seed[2] ?? 0) << 16) | ((seed[3] ?? 0) << 24)) >>> 0 || 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + (this.next() % (hi - lo + 1));
  }
  token(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += ALNUM[this.next() % ALNUM.length];
    return s;
  }
  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += (this.next() % 16).toString(16);
    return s;
  }
  word(list: readonly string[]): string {
    return list[this.next() % list.length] ?? 'token';
  }
}

// ---------------------------------------------------------------------------------------------
// Entry point for `node llm-server.mjs --host H --port P` (the namespace test runs it this way).
// Prints one JSON line `{"listening":{"host":…,"port":…}}` when ready; SIGTERM/SIGINT close it.

async function main(argv: string[]): Promise<void> {
  const arg = (name: string, fallback: string): string => {
    const i = argv.indexOf(name);
    return i >= 0 ? (argv[i + 1] ?? fallback) : fallback;
  };
  const server = await startLlmServer({ host: arg('--host', '127.0.0.1'), port: Number(arg('--port', '0')) });
  process.stdout.write(`${JSON.stringify({ listening: { host: server.host, port: server.port } })}\n`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`llm-server: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
