/**
 * MCP over HTTP (DESIGN §3, provider `mcp`, api `mcp`): the Streamable HTTP transport of the
 * Model Context Protocol (https://modelcontextprotocol.io/specification/2025-06-18/basic/transports,
 * also 2025-03-26). The client POSTs one JSON-RPC 2.0 message (https://www.jsonrpc.org/specification)
 * per request with `Accept: application/json, text/event-stream`; the server answers
 * - a request (`id` + `method`) with `application/json` (the JSON-RPC response) or an SSE stream
 *   that may carry server→client requests and notifications before the response to this id;
 * - a notification (no `id`) or a client's response to a server request with 202 Accepted and
 *   no body.
 * After `initialize` the server may assign `Mcp-Session-Id` (a response header) which the client
 * echoes on every later request; 2025-06-18 clients also send `MCP-Protocol-Version`.
 *
 * One record per POST: `operation` is the method (`initialize`, `tools/list`, `tools/call`,
 * `notifications/initialized`, …; a client's response to a server request is `response`),
 * `response_id` the JSON-RPC id, `tool_calls` the tool of a `tools/call`, `error` a JSON-RPC error
 * or a tool result with `isError: true`; `output_text` is a tool result's text, or the tool names
 * a `tools/list` returned (one a line).
 * No tokens: usage stays empty and is never estimated.
 *
 * JSON-RPC batches (a JSON array, allowed by 2025-03-26, removed in 2025-06-18): one record for
 * the POST, described by its first request (method, id), with the tools of every `tools/call` in
 * it and the first error of any of its responses; counted as `mcp_batch`.
 */
import type { HttpExchange, HttpRequest, HttpResponse } from '../http/types.js';
import { headerValue } from '../http/types.js';
import {
  AnomalyList,
  BYTE_LBRACE,
  BYTE_LBRACKET,
  blankCall,
  clipMessage,
  firstSignificantByte,
  forEachSseObject,
  httpError,
  isEventStream,
  parseJsonBody,
  textOf,
  wireDecoder,
} from './decode-helpers.js';
import { arr, isObject, obj, str, type JsonObject } from './json.js';
import type { CallError, DecodedCall, ToolCall, WireDecoder } from './types.js';

export const MCP_API = 'mcp';
export const MCP_PROVIDER = 'mcp';

/** A decoded MCP call: the DecodedCall plus the session the transport names. */
export interface McpDecodedCall extends DecodedCall {
  /** `Mcp-Session-Id` (request header, else the response's: `initialize` is answered with it). */
  session_id: string | null;
}

/** Tool result text kept as output: a tool can return a whole file; 16,000 characters is the
 * head a person reads in the console, the rest is in the stored exchange. */
export const MCP_OUTPUT_TEXT_CAP = 16_000;

/** Server→client messages looked at in one SSE reply before its response: progress and log
 * notifications can be many; the response comes after them. 10,000 bounds a runaway stream. */
export const MCP_SSE_MESSAGE_CAP = 10_000;

/** JSON-RPC 2.0 §5.1 reserved error codes, by name. */
const JSONRPC_ERRORS: ReadonlyMap<number, string> = new Map([
  [-32700, 'parse_error'],
  [-32600, 'invalid_request'],
  [-32601, 'method_not_found'],
  [-32602, 'invalid_params'],
  [-32603, 'internal_error'],
  // MCP: "Resource not found" (server/resources, 2025-06-18).
  [-32002, 'resource_not_found'],
]);

function isJsonRpc(m: unknown): m is JsonObject {
  return isObject(m) && m['jsonrpc'] === '2.0';
}

/** A JSON-RPC id as text (numbers and strings are both allowed; `null` only in error replies). */
function idText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

/** True when the body looks like JSON-RPC 2.0 (`"jsonrpc"` near its start): a cheap check for
 * pass 1, on bytes, before anything is parsed. */
function bodyMentionsJsonRpc(req: HttpRequest): boolean {
  const b = firstSignificantByte(req.body);
  if (b !== BYTE_LBRACE && b !== BYTE_LBRACKET) return false;
  const first = req.body.chunks[0]?.data;
  if (first === undefined) return false;
  // The member can come anywhere in the object; 4 KiB covers the envelope of every SDK's
  // messages (they put `jsonrpc` first or after `method`/`id`), not a large `params`.
  const head = Buffer.from(first.buffer, first.byteOffset, Math.min(first.length, 4096)).toString('latin1');
  return /"jsonrpc"\s*:\s*"2\.0"/.test(head);
}

/** Pass 1: MCP's own headers, or a JSON-RPC body sent with MCP's Accept pair. */
function matchRoute(req: HttpRequest): boolean {
  if (req.method !== 'POST') return false;
  if (headerValue(req.headers, 'mcp-protocol-version') !== undefined || headerValue(req.headers, 'mcp-session-id') !== undefined) {
    return bodyMentionsJsonRpc(req);
  }
  const accept = headerValue(req.headers, 'accept')?.toLowerCase() ?? '';
  return accept.includes('application/json') && accept.includes('text/event-stream') && bodyMentionsJsonRpc(req);
}

/** Pass 2: a JSON-RPC 2.0 message with a method, or a batch of them. */
function matchBody(_req: HttpRequest, body: unknown): boolean {
  if (Array.isArray(body)) return body.length > 0 && body.every(isJsonRpc) && body.some((m) => typeof m['method'] === 'string');
  return isJsonRpc(body) && typeof body['method'] === 'string';
}

function errorOf(m: JsonObject): CallError | null {
  const e = obj(m['error']);
  if (e !== null) {
    const code = typeof e['code'] === 'number' ? e['code'] : null;
    const type = code === null ? 'jsonrpc_error' : (JSONRPC_ERRORS.get(code) ?? `jsonrpc_error_${code}`);
    return { type, message: clipMessage(str(e['message']) ?? '') };
  }
  const result = obj(m['result']);
  if (result?.['isError'] === true) return { type: 'tool_error', message: clipMessage(resultText(result)) };
  return null;
}

/** The text parts of a tool result's `content`, joined. */
function resultText(result: JsonObject): string {
  const out: string[] = [];
  for (const c of arr(result['content'])) {
    const t = str(obj(c)?.['text']);
    if (t !== null) out.push(t);
  }
  return out.join('\n');
}

function toolCallOf(m: JsonObject): ToolCall | null {
  if (m['method'] !== 'tools/call') return null;
  const params = obj(m['params']);
  const tc: ToolCall = { id: idText(m['id']), name: str(params?.['name']) ?? '' };
  if (params?.['arguments'] !== undefined) tc.arguments = JSON.stringify(params['arguments']);
  return tc;
}

/** The JSON-RPC messages of the reply: the JSON body (one message or a batch), or every SSE
 * event's data. */
function replyMessages(res: HttpResponse, anomalies: AnomalyList): { messages: JsonObject[]; sse: boolean } {
  if (isEventStream(res)) {
    const messages: JsonObject[] = [];
    forEachSseObject(res.body, anomalies, (o) => {
      if (messages.length < MCP_SSE_MESSAGE_CAP) messages.push(o);
      else anomalies.add('mcp_sse_messages_capped');
    });
    return { messages, sse: true };
  }
  const json = parseJsonBody(res.body);
  if (Array.isArray(json)) return { messages: json.filter(isJsonRpc), sse: false };
  if (isJsonRpc(json)) return { messages: [json], sse: false };
  if (res.body.size > 0 && res.status < 400) anomalies.add('mcp_response_invalid_json');
  return { messages: [], sse: false };
}

function decode(ex: HttpExchange): DecodedCall | null {
  const anomalies = new AnomalyList();
  const call: McpDecodedCall = { ...blankCall(MCP_PROVIDER, MCP_API, 'unknown'), session_id: null };
  const req = ex.request;
  const body = parseJsonBody(req.body);
  const batch = Array.isArray(body);
  const sent: JsonObject[] = batch ? body.filter(isJsonRpc) : isJsonRpc(body) ? [body] : [];
  if (sent.length === 0) return null;
  if (batch) anomalies.add('mcp_batch');
  const requests = sent.filter((m) => typeof m['method'] === 'string');
  const lead = requests[0] ?? sent[0]!;
  call.operation = str(lead['method']) ?? 'response';
  call.response_id = idText(lead['id']);
  for (const m of requests) {
    const tc = toolCallOf(m);
    if (tc !== null) call.tool_calls.push(tc);
  }
  call.session_id = headerValue(req.headers, 'mcp-session-id') ?? null;
  // Ids this POST expects answers to (requests only: notifications and responses get none).
  const awaited = new Set(requests.map((m) => idText(m['id'])).filter((i): i is string => i !== null));
  const res = ex.response;
  if (res === null) {
    anomalies.add('mcp_no_response');
    call.anomalies = anomalies.names;
    return call;
  }
  call.session_id ??= headerValue(res.headers, 'mcp-session-id') ?? null;
  const { messages, sse } = replyMessages(res, anomalies);
  call.stream = sse;
  const answers = messages.filter((m) => m['method'] === undefined && awaited.has(idText(m['id']) ?? '\u0000'));
  // An error reply whose id the server could not read (parse error, invalid request) is null.
  const orphanErrors = messages.filter((m) => m['method'] === undefined && m['id'] === null && m['error'] !== undefined);
  for (const a of [...answers, ...orphanErrors]) {
    call.error ??= errorOf(a);
    const result = obj(a['result']);
    if (result === null) continue;
    if (idText(a['id']) === call.response_id) applyResult(call, lead, result);
  }
  if (awaited.size > 0 && answers.length + orphanErrors.length === 0 && res.status < 400) {
    // An SSE reply cut before its response (the client may resume it with a GET and
    // Last-Event-ID), or a server that answered 202 to a request.
    anomalies.add(sse ? 'mcp_stream_interrupted' : 'mcp_response_missing');
  }
  if (res.status >= 400 && call.error === null) call.error = httpError(res.status, textOf(res.body));
  if (call.error !== null) call.finish_reason = 'error';
  call.anomalies = anomalies.names;
  return call;
}

function applyResult(call: DecodedCall, request: JsonObject, result: JsonObject): void {
  if (request['method'] === 'tools/list') {
    // The listed tools, one name a line, as the output: not `tools_offered`, which names tools a
    // request offers to a model (and makes the turn tracker take a call for an agent's).
    const names: string[] = [];
    for (const t of arr(result['tools'])) {
      const name = str(obj(t)?.['name']);
      if (name !== null) names.push(name);
    }
    call.output_text = names.join('\n');
  } else if (request['method'] === 'tools/call') {
    const text = resultText(result);
    call.output_text = text.length > MCP_OUTPUT_TEXT_CAP ? text.slice(0, MCP_OUTPUT_TEXT_CAP) : text;
  }
}

/** `Mcp-Session-Id` of a decoded call, when it is an MCP call. */
export function mcpSessionId(call: DecodedCall): string | null {
  return call.api === MCP_API && 'session_id' in call && typeof call.session_id === 'string' ? call.session_id : null;
}

export const mcpDecoder: WireDecoder = wireDecoder({
  api: MCP_API,
  provider: MCP_PROVIDER,
  operation: 'unknown',
  failedAnomaly: 'mcp_decoder_failed',
  matchRoute,
  matchBody,
  decode,
});
