/**
 * MCP calls exported over OTLP as MCP client spans (semantic-conventions-genai model/mcp): MCP
 * exchanges go through the real decoder and record builder, the exporter sends them to the test
 * receiver (test/otlp/otlp-receiver.ts), which decodes the protobuf with its own definitions.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OtlpReceiver, type ReceivedSpan } from '../../../test/otlp/otlp-receiver.js';
import type { OtlpConfig } from '../../config/types.js';
import type { LlmCallRecord } from '../../core/record.js';
import { decodeExchange } from '../../decoders/registry.js';
import { makeExchange, type ExchangeSpec } from '../../decoders/test-helpers.test-support.js';
import { buildCallRecord } from '../../pipeline/call-record.js';
import { jsonRpcErrorCode, mcpSpanName } from './mcp-semconv.js';
import { OtlpSpanExporter } from './span-exporter.js';

const MCP_HEADERS = { host: 'localhost:3000', 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18', 'mcp-session-id': 'sess-7f3a' };
const sse = (m: object): string => `event: message\ndata: ${JSON.stringify(m)}\n\n`;
const SSE = { 'content-type': 'text/event-stream' };

let seq = 0;
function record(spec: ExchangeSpec): LlmCallRecord {
  const ex = makeExchange(spec);
  ex.seq = ++seq;
  const r = decodeExchange(ex);
  if (!('call' in r)) throw new Error(`not decoded: ${r.notLlm}`);
  return buildCallRecord(ex, r.call, { source: 'test', fingerprintSalt: 's' });
}

const rpc = (id: number | null, method: string, params: object = {}): object => (id === null ? { jsonrpc: '2.0', method, params } : { jsonrpc: '2.0', id, method, params });

function mcpCalls() {
  return {
    list: record({ target: '/mcp', reqHeaders: MCP_HEADERS, reqBody: rpc(1, 'tools/list'), resHeaders: SSE, resBody: sse({ jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'add' }, { name: 'fail' }] } }) }),
    add: record({
      target: '/mcp',
      reqHeaders: MCP_HEADERS,
      reqBody: rpc(2, 'tools/call', { name: 'add', arguments: { a: 2, b: 3 } }),
      resHeaders: SSE,
      resBody: sse({ jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text: '5' }] } }),
    }),
    toolError: record({
      target: '/mcp',
      reqHeaders: MCP_HEADERS,
      reqBody: rpc(3, 'tools/call', { name: 'fail', arguments: {} }),
      resHeaders: SSE,
      resBody: sse({ jsonrpc: '2.0', id: 3, result: { isError: true, content: [{ type: 'text', text: 'secret-ish tool output: disk /home/alice full' }] } }),
    }),
    unknownTool: record({
      target: '/mcp',
      reqHeaders: MCP_HEADERS,
      reqBody: rpc(4, 'tools/call', { name: 'nope', arguments: {} }),
      resHeaders: { 'content-type': 'application/json' },
      resBody: { jsonrpc: '2.0', id: 4, error: { code: -32602, message: 'Tool nope not found' } },
    }),
    serverError: record({
      target: '/mcp',
      reqHeaders: MCP_HEADERS,
      reqBody: rpc(5, 'resources/read', { uri: 'file:///etc/hosts' }),
      resHeaders: { 'content-type': 'application/json' },
      resBody: { jsonrpc: '2.0', id: 5, error: { code: -32001, message: 'Backend unavailable' } },
    }),
    notification: record({ target: '/mcp', reqHeaders: MCP_HEADERS, reqBody: rpc(null, 'notifications/initialized'), status: 202, resBody: '' }),
  };
}

function config(endpoint: string): OtlpConfig {
  return { endpoint, headers: {}, traces: true, metrics: false, export_interval_ms: 60_000, max_queue: 256, max_batch: 64, batch_delay_ms: 5, timeout_ms: 5_000, service_name: 'llmtap-test' };
}

let receiver: OtlpReceiver;
beforeEach(async () => {
  receiver = new OtlpReceiver();
  await receiver.start();
});
afterEach(async () => {
  await receiver.stop();
});

async function exported(calls: LlmCallRecord[]): Promise<Map<string, ReceivedSpan>> {
  const errors: string[] = [];
  const exporter = new OtlpSpanExporter(config(receiver.url), { onError: (m) => errors.push(m) });
  for (const c of calls) exporter.onCall(c);
  await exporter.close();
  expect(errors).toEqual([]);
  const byId = new Map<string, ReceivedSpan>();
  for (const s of receiver.spans()) byId.set(String(s.attributes['llmtap.call.id']), s);
  return byId;
}

describe('MCP calls in OTLP', () => {
  it('are MCP client spans named {mcp.method.name} {target}, with the MCP and JSON-RPC attributes and no GenAI token attributes', async () => {
    const c = mcpCalls();
    const spans = await exported(Object.values(c));
    expect(spans.size).toBe(6);
    const span = (r: LlmCallRecord): ReceivedSpan => spans.get(r.id)!;

    expect([span(c.list).name, span(c.add).name, span(c.toolError).name, span(c.unknownTool).name, span(c.serverError).name, span(c.notification).name]).toEqual([
      'tools/list',
      'tools/call add',
      'tools/call fail',
      'tools/call nope',
      'resources/read',
      'notifications/initialized',
    ]);
    for (const s of spans.values()) {
      expect(s.kind).toBe('SPAN_KIND_CLIENT');
      expect(s.attributes).toMatchObject({ 'mcp.session.id': 'sess-7f3a', 'network.transport': 'tcp', 'network.protocol.name': 'http', 'llmtap.api': 'mcp' });
      // No tokens, no model: the GenAI inference attributes are not sent.
      for (const k of Object.keys(s.attributes)) expect(k).not.toMatch(/^gen_ai\.(usage|request|response|provider|system|conversation)/);
    }

    expect(span(c.add).attributes).toMatchObject({ 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'add', 'gen_ai.operation.name': 'execute_tool', 'jsonrpc.request.id': '2' });
    expect(span(c.add).attributes['error.type']).toBeUndefined();
    expect(span(c.add).status.code).toBe('STATUS_CODE_UNSET');

    // `execute_tool` only for a tool call ("SHOULD NOT be set otherwise").
    expect(span(c.list).attributes['gen_ai.operation.name']).toBeUndefined();
    expect(span(c.list).attributes['gen_ai.tool.name']).toBeUndefined();
    expect(span(c.list).attributes['jsonrpc.request.id']).toBe('1');

    // A CallToolResult with isError: error.type `tool_error`, no JSON-RPC code; the tool's text is
    // content and stays out of the span.
    expect(span(c.toolError).attributes).toMatchObject({ 'error.type': 'tool_error' });
    expect(span(c.toolError).attributes['rpc.response.status_code']).toBeUndefined();
    expect(span(c.toolError).status).toEqual({ code: 'STATUS_CODE_ERROR', message: 'tool_error' });
    expect(JSON.stringify(span(c.toolError))).not.toContain('alice');

    // JSON-RPC errors: the code as error.type and rpc.response.status_code (reserved and server-defined codes).
    expect(span(c.unknownTool).attributes).toMatchObject({ 'error.type': '-32602', 'rpc.response.status_code': '-32602' });
    expect(span(c.serverError).attributes).toMatchObject({ 'error.type': '-32001', 'rpc.response.status_code': '-32001' });
    expect(span(c.serverError).status.code).toBe('STATUS_CODE_ERROR');

    // A notification has no id.
    expect(span(c.notification).attributes['jsonrpc.request.id']).toBeUndefined();
    expect(span(c.notification).attributes['mcp.method.name']).toBe('notifications/initialized');
  });

  it('leaves model calls as GenAI spans', async () => {
    const chat = record({
      target: '/v1/chat/completions',
      reqHeaders: { host: 'api.openai.com', 'content-type': 'application/json' },
      reqBody: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] },
      resHeaders: { 'openai-version': '2020-10-01' },
      resBody: { id: 'chatcmpl-1', model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } },
    });
    const s = (await exported([chat])).get(chat.id)!;
    expect(s.name).toBe('chat gpt-4o');
    expect(s.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 5, 'gen_ai.usage.output_tokens': 1 });
    for (const k of Object.keys(s.attributes)) expect(k).not.toMatch(/^(mcp|jsonrpc|rpc)\./);
  });
});

describe('mcp-semconv helpers', () => {
  it('reads the JSON-RPC code back from the decoder’s error names, and nothing from others', () => {
    const e = (type: string) => ({ error: { type, message: '' } });
    expect(jsonRpcErrorCode(e('parse_error'))).toBe(-32700);
    expect(jsonRpcErrorCode(e('resource_not_found'))).toBe(-32002);
    expect(jsonRpcErrorCode(e('jsonrpc_error_-32099'))).toBe(-32099);
    expect(jsonRpcErrorCode(e('jsonrpc_error_7'))).toBe(7);
    expect(jsonRpcErrorCode(e('tool_error'))).toBeNull();
    expect(jsonRpcErrorCode(e('http_500'))).toBeNull();
    expect(jsonRpcErrorCode(e('jsonrpc_error_-99999999999999999999'))).toBeNull();
    expect(jsonRpcErrorCode({ error: null })).toBeNull();
  });

  it('names spans by method, with the tool only for tools/call', () => {
    expect(mcpSpanName({ operation: 'tools/call', tool_calls: [{ id: '1', name: 'add', arguments: '{}' }] })).toBe('tools/call add');
    expect(mcpSpanName({ operation: 'tools/call', tool_calls: [] })).toBe('tools/call');
    expect(mcpSpanName({ operation: 'prompts/get', tool_calls: [] })).toBe('prompts/get');
    expect(mcpSpanName({ operation: '', tool_calls: [] })).toBe('mcp');
  });
});
