/**
 * A local stand-in for api.anthropic.com and api.openai.com that the real agent CLIs talk to:
 * it answers with the script of scripted-answers.ts and keeps a log of every request it gets
 * (method, path, headers without secrets, body size, tools offered, system prompt head, and the
 * parsed body for the test to read session ids from). Anything it does not know gets a 404 and
 * is logged too, so an auxiliary call of a new CLI version shows up in the log, not as a hang.
 *
 * test/e2e/llm-server.ts answers with pseudo-random plans from the request digest (it calls
 * whichever tools are offered, with made-up arguments); an agent needs a fixed script instead
 * (call the shell tool once, then answer), hence this server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicToolNames, answerAnthropic, answerResponses, responsesTools, type AnswerKind, type Script, type ScriptedAnswer, type ScriptedUsage } from './scripted-answers.js';

/** Request bodies above this get 413: Claude Code's first call is ~50 KB, Codex's ~40 KB, and
 * both grow with the conversation; 16 MiB is far above a two-prompt session and bounds memory. */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
/** Requests kept in the log: a run makes a handful; a runaway client must not grow it forever. */
const MAX_LOGGED_REQUESTS = 1_000;
/** Delay between streamed events, ms: a real stream arrives in pieces, so the capture holds a
 * response spread over several segments, as it would from the real API. */
const EVENT_DELAY_MS = 4;
/** Characters of the system prompt kept in the log. */
const SYSTEM_HEAD_CHARS = 160;

/** Headers whose values are credentials (DESIGN §7): never logged. */
const SECRET_HEADERS = new Set(['authorization', 'x-api-key', 'api-key', 'cookie', 'proxy-authorization', 'x-goog-api-key']);

export type RequestKind = 'anthropic.messages' | 'anthropic.count_tokens' | 'openai.responses' | 'other';

export interface ObservedRequest {
  seq: number;
  /** Label the test set before the run that made this request ("prompt 1"…). */
  label: string;
  method: string;
  path: string;
  /** Query string without the `?`, '' when none. */
  query: string;
  /** Request headers, secrets replaced by "[redacted]". */
  headers: Record<string, string>;
  /** Claude Code's sub-agent id (`x-claude-code-agent-id`), null on the main agent's calls. */
  agentId: string | null;
  bodyBytes: number;
  kind: RequestKind;
  model: string | null;
  stream: boolean | null;
  maxTokens: number | null;
  /** Names of the tools offered (Responses namespaces by their namespace name), [] when none. */
  toolsOffered: string[];
  systemHead: string | null;
  answer: AnswerKind | 'count' | 'empty' | 'not_found' | 'too_large';
  /** The id the answer carried (the record's response_id), null for non-LLM answers. */
  responseId: string | null;
  usage: ScriptedUsage | null;
  /** Tool the answer asked for. */
  toolCalled: string | null;
  /** The parsed JSON body (null when not JSON): in memory only, never written out whole. */
  body: unknown;
}

export interface AgentServer {
  readonly port: number;
  readonly log: readonly ObservedRequest[];
  /** Labels the requests that arrive from now on. */
  setLabel(label: string): void;
  close(): Promise<void>;
}

export async function startAgentServer(script: Script = 'shell'): Promise<AgentServer> {
  const log: ObservedRequest[] = [];
  let label = '';
  let seq = 0;
  const server: Server = createServer((req, res) => {
    const mySeq = ++seq;
    handle(req, res, mySeq, label, log, script).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: String(err), type: 'server_error' } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    log,
    setLabel: (l) => {
      label = l;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, seq: number, label: string, log: ObservedRequest[], script: Script): Promise<void> {
  const body = await readBody(req);
  const [path = '/', query = ''] = (req.url ?? '/').split('?', 2);
  const method = req.method ?? '';
  const bodyText = body?.toString('utf8') ?? '';
  let json: unknown = null;
  try {
    json = bodyText === '' ? null : JSON.parse(bodyText);
  } catch {
    json = null;
  }
  const obj = isObject(json) ? json : null;
  const entry: ObservedRequest = {
    seq,
    label,
    method,
    path,
    query,
    headers: redactedHeaders(req),
    agentId: typeof req.headers['x-claude-code-agent-id'] === 'string' ? req.headers['x-claude-code-agent-id'] : null,
    bodyBytes: body?.length ?? -1,
    kind: 'other',
    model: obj && typeof obj['model'] === 'string' ? obj['model'] : null,
    stream: obj && typeof obj['stream'] === 'boolean' ? obj['stream'] : null,
    maxTokens: obj ? numberOrNull(obj['max_tokens'] ?? obj['max_output_tokens']) : null,
    toolsOffered: [],
    systemHead: obj ? systemHead(obj) : null,
    answer: 'not_found',
    responseId: null,
    usage: null,
    toolCalled: null,
    body: json,
  };
  if (log.length < MAX_LOGGED_REQUESTS) log.push(entry);

  if (body === null) {
    entry.answer = 'too_large';
    sendJson(res, 413, { error: { message: 'request too large', type: 'invalid_request_error' } });
    return;
  }
  if (method === 'POST' && path.endsWith('/v1/messages/count_tokens') && obj) {
    entry.kind = 'anthropic.count_tokens';
    entry.toolsOffered = anthropicToolNames(obj);
    entry.answer = 'count';
    sendJson(res, 200, { input_tokens: Math.max(1, Math.ceil(body.length / 4)) });
    return;
  }
  if (method === 'POST' && path.endsWith('/v1/messages') && obj) {
    entry.kind = 'anthropic.messages';
    entry.toolsOffered = anthropicToolNames(obj);
    await sendAnswer(res, entry, answerAnthropic(obj, seq, body.length, script, entry.agentId !== null));
    return;
  }
  if (method === 'POST' && path.endsWith('/responses') && obj) {
    entry.kind = 'openai.responses';
    entry.toolsOffered = responsesTools(obj).map((t) => t.name);
    await sendAnswer(res, entry, answerResponses(obj, seq, body.length));
    return;
  }
  if (method === 'HEAD') {
    // Claude Code's connection warm-up (`HEAD /api/hello`) when non-essential traffic is on.
    entry.answer = 'empty';
    res.writeHead(200, { 'content-length': '0' });
    res.end();
    return;
  }
  sendJson(res, 404, { error: { message: `no route ${method} ${path}`, type: 'invalid_request_error' } });
}

async function sendAnswer(res: ServerResponse, entry: ObservedRequest, a: ScriptedAnswer): Promise<void> {
  entry.answer = a.kind;
  entry.responseId = a.responseId;
  entry.usage = a.usage;
  entry.toolCalled = a.toolName;
  if (a.events === null) {
    sendJson(res, 200, a.json, { 'request-id': `req_${a.responseId}` });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': `req_${a.responseId}` });
  let gone = false;
  res.once('close', () => {
    gone = true;
  });
  for (const e of a.events) {
    await new Promise((resolve) => setTimeout(resolve, EVENT_DELAY_MS));
    if (gone) return;
    res.write(e);
  }
  res.end();
}

function redactedHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    out[name] = SECRET_HEADERS.has(name) ? '[redacted]' : Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** Head of the system prompt: Anthropic `system` (string or text blocks), Responses
 * `instructions`, else the first developer/system message of Responses `input`. */
function systemHead(body: Record<string, unknown>): string | null {
  const head = (s: string): string => s.slice(0, SYSTEM_HEAD_CHARS);
  const fromContent = (c: unknown): string | null => {
    if (typeof c === 'string') return c;
    if (!Array.isArray(c)) return null;
    const texts = c.flatMap((b) => (isObject(b) && typeof b['text'] === 'string' ? [b['text']] : []));
    return texts.length > 0 ? texts.join('\n') : null;
  };
  const system = fromContent(body['system']) ?? (typeof body['instructions'] === 'string' ? body['instructions'] : null);
  if (system !== null) return head(system);
  if (Array.isArray(body['input'])) {
    for (const item of body['input']) {
      if (isObject(item) && (item['role'] === 'developer' || item['role'] === 'system')) {
        const text = fromContent(item['content']);
        if (text !== null) return head(text);
      }
    }
  }
  return null;
}

function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BYTES) parts.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_REQUEST_BYTES ? null : Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function numberOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
