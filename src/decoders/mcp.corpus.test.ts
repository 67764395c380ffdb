/**
 * MCP over the recorded corpus (MANIFEST-real.md, group "MCP (JSON-RPC 2.0)"):
 * - mcp-go-sdk-conformance/*.txtar: real client/server sessions (`-- client --` messages, then
 *   `-- server --` replies), rebuilt as one Streamable HTTP POST per client message, each
 *   request paired with its reply by JSON-RPC id (in order, ids repeat in some sessions);
 * - mcp-typescript-sdk-corpus: single messages of every schema type (2025-11-25); requests and
 *   notifications are POSTed, results and errors answered to a request of the same id;
 *   `rejection/` holds invalid messages, which must be decoded or declined, never thrown on;
 * - mcp-typescript-sdk-docs: a Streamable HTTP tools/list request and its SSE reply.
 * Expectations (method, tool, error) are read from the messages here, not from the decoder.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../../test/corpus.js';
import type { HttpExchange } from '../http/types.js';
import { decodeExchange } from './registry.js';
import { makeExchange } from './test-helpers.test-support.js';
import type { DecodedCall } from './types.js';

type Msg = Record<string, unknown>;

const HEADERS = { host: 'localhost:8080', 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': 'corpus' };

/** Concatenated JSON values (pretty-printed or one a line), split by bracket depth. */
function jsonValues(text: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if (ch === '}' || ch === ']') {
      depth--;
      if (depth === 0) out.push(JSON.parse(text.slice(start, i + 1)) as unknown);
    }
  }
  return out;
}

function section(text: string, name: string): string {
  const m = new RegExp(`^-- ${name} --\\n([\\s\\S]*?)(?=^-- [a-z]+ --$|(?![\\s\\S]))`, 'm').exec(text);
  return m ? m[1]! : '';
}

const isObj = (v: unknown): v is Msg => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Expect {
  operation: string;
  tool: string | null;
  /** The error type family: 'tool_error', 'jsonrpc' (any JSON-RPC error), or null. */
  error: 'tool_error' | 'jsonrpc' | null;
}

function expected(request: Msg, reply: Msg | null): Expect {
  const method = typeof request['method'] === 'string' ? request['method'] : 'response';
  const params = isObj(request['params']) ? request['params'] : null;
  const tool = method === 'tools/call' && typeof params?.['name'] === 'string' ? params['name'] : method === 'tools/call' ? '' : null;
  let error: Expect['error'] = null;
  if (reply !== null && reply['error'] !== undefined) error = 'jsonrpc';
  else if (reply !== null && isObj(reply['result']) && reply['result']['isError'] === true) error = 'tool_error';
  return { operation: method, tool, error };
}

function actual(call: DecodedCall): Expect {
  const e = call.error?.type ?? null;
  return {
    operation: call.operation,
    tool: call.operation === 'tools/call' ? (call.tool_calls[0]?.name ?? null) : null,
    error: e === null ? null : e === 'tool_error' ? 'tool_error' : 'jsonrpc',
  };
}

interface Case {
  name: string;
  ex: HttpExchange;
  want: Expect;
}

function post(request: Msg, reply: Msg | null, sse = false): HttpExchange {
  if (reply === null) return makeExchange({ target: '/mcp', reqHeaders: HEADERS, reqBody: request, status: 202, resHeaders: { 'content-length': '0' } });
  return makeExchange({
    target: '/mcp',
    reqHeaders: HEADERS,
    reqBody: request,
    resHeaders: { 'content-type': sse ? 'text/event-stream' : 'application/json' },
    resBody: sse ? `event: message\ndata: ${JSON.stringify(reply)}\n\n` : JSON.stringify(reply),
  });
}

function idKey(v: unknown): string {
  return JSON.stringify(v ?? null);
}

function txtarCases(root: string): Case[] {
  const dir = join(root, 'mcp-go-sdk-conformance');
  const cases: Case[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.txtar')).sort()) {
    const text = readFileSync(join(dir, f), 'utf8');
    const client = jsonValues(section(text, 'client')).filter(isObj);
    // Replies only: the server's own requests and notifications carry a method.
    const replies = jsonValues(section(text, 'server')).filter((m): m is Msg => isObj(m) && m['method'] === undefined);
    const used = new Set<number>();
    client.forEach((m, i) => {
      let reply: Msg | null = null;
      if (typeof m['method'] === 'string' && m['id'] !== undefined) {
        const k = replies.findIndex((r, j) => !used.has(j) && idKey(r['id']) === idKey(m['id']));
        if (k >= 0) {
          used.add(k);
          reply = replies[k]!;
        }
      }
      // Alternate the reply framing: both are Streamable HTTP.
      cases.push({ name: `${f}#${i} ${String(m['method'] ?? 'response')}`, ex: post(m, reply, i % 2 === 1), want: expected(m, reply) });
    });
  }
  return cases;
}

/** The request a result type answers (folder name → method). */
const RESULT_METHOD: Readonly<Record<string, string>> = {
  CallToolResult: 'tools/call',
  CompleteResult: 'completion/complete',
  CreateMessageResult: 'sampling/createMessage',
  CreateTaskResult: 'tools/call',
  ElicitResult: 'elicitation/create',
  EmptyResult: 'ping',
  GetPromptResult: 'prompts/get',
  InitializeResult: 'initialize',
  JSONRPCErrorResponse: 'tools/call',
  JSONRPCResultResponse: 'ping',
  ListPromptsResult: 'prompts/list',
  ListResourceTemplatesResult: 'resources/templates/list',
  ListResourcesResult: 'resources/list',
  ListRootsResult: 'roots/list',
  ListToolsResult: 'tools/list',
  ReadResourceResult: 'resources/read',
};

/** The schema examples are bare payloads (a request's `{method, params}`, a result object);
 * the JSON-RPC envelope types are whole. Each becomes the message it would be on the wire. */
function envelope(type: string, payload: Msg): { request: Msg; reply: Msg | null } | null {
  if (payload['jsonrpc'] === '2.0') {
    if (typeof payload['method'] === 'string') return { request: payload, reply: payload['id'] === undefined ? null : { jsonrpc: '2.0', id: payload['id'], result: {} } };
    const method = RESULT_METHOD[type];
    if (method === undefined) return null;
    return { request: { jsonrpc: '2.0', id: payload['id'], method, ...(method === 'tools/call' ? { params: { name: 't' } } : {}) }, reply: payload };
  }
  if (typeof payload['method'] === 'string') {
    // Notifications have no id; requests get one and an empty result.
    if (type.endsWith('Notification')) return { request: { jsonrpc: '2.0', ...payload }, reply: null };
    return { request: { jsonrpc: '2.0', id: 7, ...payload }, reply: { jsonrpc: '2.0', id: 7, result: {} } };
  }
  const method = RESULT_METHOD[type];
  if (method === undefined) return null;
  return { request: { jsonrpc: '2.0', id: 7, method, ...(method === 'tools/call' ? { params: { name: 't' } } : {}) }, reply: { jsonrpc: '2.0', id: 7, result: payload } };
}

function sdkCorpusCases(root: string): { cases: Case[]; rejections: [string, string, HttpExchange][]; skipped: string[] } {
  const base = join(root, 'mcp-typescript-sdk-corpus', '2025-11-25');
  const cases: Case[] = [];
  const skipped: string[] = [];
  for (const type of readdirSync(base).sort()) {
    for (const f of readdirSync(join(base, type)).sort()) {
      const name = `2025-11-25/${type}/${f}`;
      const msg = JSON.parse(readFileSync(join(base, type, f), 'utf8')) as unknown;
      const e = isObj(msg) ? envelope(type, msg) : null;
      if (e === null) {
        skipped.push(`${name}: a part of a message (${type}), not a message`);
        continue;
      }
      cases.push({ name, ex: post(e.request, e.reply, cases.length % 2 === 1), want: expected(e.request, e.reply) });
    }
  }
  const rej = join(root, 'mcp-typescript-sdk-corpus', 'rejection');
  const rejections = readdirSync(rej)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f): [string, string, HttpExchange] => {
      const doc = JSON.parse(readFileSync(join(rej, f), 'utf8')) as Msg;
      const body = JSON.stringify(doc['message']);
      return [f, String(doc['expect']), makeExchange({ target: '/mcp', reqHeaders: HEADERS, reqBody: body, status: 400, resBody: '' })];
    });
  return { cases, rejections, skipped };
}

describe.skipIf(!corpusDir)('MCP decoder over the recorded corpus', () => {
  const txtar = corpusDir ? txtarCases(corpusDir) : [];
  const sdk = corpusDir ? sdkCorpusCases(corpusDir) : { cases: [], rejections: [], skipped: [] };

  it('finds the recordings', () => {
    // As of the corpus snapshot: 10 sessions (54 client messages), 47 schema examples, 13
    // rejection cases.
    expect(txtar.length).toBeGreaterThanOrEqual(54);
    expect(sdk.cases.length).toBeGreaterThanOrEqual(40);
    expect(sdk.rejections.length).toBeGreaterThanOrEqual(13);
    console.info(`mcp corpus: ${txtar.length} session messages, ${sdk.cases.length} schema messages; not messages: ${sdk.skipped.join('; ')}`);
  });

  it.each([...txtar, ...sdk.cases].map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const r = decodeExchange(c.ex);
    expect(r, 'decoded as a call').toHaveProperty('call');
    const call = (r as { call: DecodedCall }).call;
    expect(call.api).toBe('mcp');
    expect(call.provider).toBe('mcp');
    expect(actual(call), JSON.stringify(call).slice(0, 600)).toEqual(c.want);
    expect(call.usage.estimated).toBe(false);
    expect(call.anomalies).not.toContain('mcp_decoder_failed');
  });

  it('rejection cases are decoded or declined, never thrown on', () => {
    for (const [f, , ex] of sdk.rejections) {
      const r = decodeExchange(ex);
      if ('call' in r) {
        expect(r.call.anomalies, f).not.toContain('mcp_decoder_failed');
        // A JSON-RPC batch (2025-03-26) is one record, counted.
        if (f === 'batch-array-body.json') expect(r.call.anomalies).toContain('mcp_batch');
      }
    }
    const wrongVersion = decodeExchange(sdk.rejections.find(([f]) => f === 'wrong-jsonrpc-version.json')![2]);
    expect('notLlm' in wrongVersion).toBe(true);
  });

  it('the docs example: a Streamable HTTP tools/list answered over SSE', () => {
    const dir = join(corpusDir!, 'mcp-typescript-sdk-docs');
    const ex = makeExchange({
      target: '/mcp',
      reqHeaders: { ...HEADERS, 'mcp-session-id': '' },
      reqBody: readFileSync(join(dir, 'streamable-http-tools-list.request.json'), 'utf8'),
      resHeaders: { 'content-type': 'text/event-stream' },
      resBody: readFileSync(join(dir, 'streamable-http-tools-list.response.sse'), 'utf8'),
    });
    const r = decodeExchange(ex);
    expect('call' in r && r.call).toMatchObject({ api: 'mcp', operation: 'tools/list', response_id: '1', stream: true, output_text: 'add-note', error: null });
  });
});
