import { describe, expect, it } from 'vitest';
import { agentCallInput, identifyAgent } from '../agents/profiles.js';
import { isTokenBilled } from '../cost/provider-ids.js';
import { buildCallRecord } from '../pipeline/call-record.js';
import { mcpSessionId } from './mcp.js';
import { decodeExchange } from './registry.js';
import { makeExchange, type ExchangeSpec } from './test-helpers.test-support.js';
import type { DecodedCall } from './types.js';

const ACCEPT = { host: 'localhost:3000', 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const SESSION = { ...ACCEPT, 'mcp-session-id': 'sess-123', 'mcp-protocol-version': '2025-06-18' };

function decode(spec: ExchangeSpec): DecodedCall {
  const r = decodeExchange(makeExchange(spec));
  if (!('call' in r)) throw new Error(`not decoded: ${r.notLlm}`);
  return r.call;
}

const sseMessages = (...msgs: object[]): string => msgs.map((m) => `event: message\ndata: ${JSON.stringify(m)}\n\n`).join('');

describe('MCP over Streamable HTTP', () => {
  it('initialize: method, id, session id from the response header, no usage, not estimated', () => {
    const call = decode({
      target: '/mcp',
      reqHeaders: ACCEPT,
      reqBody: { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'c', version: '1' } } },
      resHeaders: { 'content-type': 'text/event-stream', 'mcp-session-id': 'sess-123' },
      resBody: sseMessages({ jsonrpc: '2.0', id: 0, result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 's', version: '1' } } }),
    });
    expect(call).toMatchObject({ provider: 'mcp', api: 'mcp', operation: 'initialize', response_id: '0', stream: true, error: null, finish_reason: null, anomalies: [] });
    expect(call.usage).toMatchObject({ input_tokens: null, output_tokens: null, estimated: false });
    expect(mcpSessionId(call)).toBe('sess-123');
    // Not billed by tokens: its cost is not_applicable, not unpriced (once call-pricer asks).
    expect(isTokenBilled(call.provider)).toBe(false);
    expect(isTokenBilled('openai')).toBe(true);
  });

  it('a notification answered 202 with no body', () => {
    const call = decode({ target: '/mcp', reqHeaders: SESSION, reqBody: { jsonrpc: '2.0', method: 'notifications/initialized' }, status: 202 });
    expect(call).toMatchObject({ operation: 'notifications/initialized', response_id: null, error: null, anomalies: [] });
    expect(mcpSessionId(call)).toBe('sess-123');
  });

  it('tools/list outputs the tool names; tools/call names its tool and keeps the result text', () => {
    const list = decode({
      target: '/mcp',
      reqHeaders: SESSION,
      reqBody: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      resBody: { jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'add', inputSchema: {} }, { name: 'echo', inputSchema: {} }] } },
    });
    expect(list).toMatchObject({ operation: 'tools/list', stream: false, tools_offered: [], output_text: 'add\necho' });

    const call = decode({
      target: '/anything/here',
      reqHeaders: SESSION,
      reqBody: { jsonrpc: '2.0', id: 'req-7', method: 'tools/call', params: { name: 'add', arguments: { a: 1, b: 2 } } },
      resHeaders: { 'content-type': 'text/event-stream' },
      // A progress notification and a server→client request before the response.
      resBody: sseMessages(
        { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 50 } },
        { jsonrpc: '2.0', id: 99, method: 'sampling/createMessage', params: {} },
        { jsonrpc: '2.0', id: 'req-7', result: { content: [{ type: 'text', text: '3' }] } },
      ),
    });
    expect(call).toMatchObject({ operation: 'tools/call', response_id: 'req-7', error: null, output_text: '3' });
    expect(call.tool_calls).toEqual([{ id: 'req-7', name: 'add', arguments: '{"a":1,"b":2}' }]);
  });

  it('errors: a tool result with isError, a JSON-RPC error, an HTTP error', () => {
    const toolErr = decode({
      target: '/mcp',
      reqHeaders: SESSION,
      reqBody: { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'fail' } },
      resBody: { jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text: 'boom' }], isError: true } },
    });
    expect(toolErr.error).toEqual({ type: 'tool_error', message: 'boom' });
    expect(toolErr.finish_reason).toBe('error');

    const rpcErr = decode({
      target: '/mcp',
      reqHeaders: SESSION,
      reqBody: { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'nope' } },
      resBody: { jsonrpc: '2.0', id: 3, error: { code: -32602, message: 'Tool nope not found' } },
    });
    expect(rpcErr.error).toEqual({ type: 'invalid_params', message: 'Tool nope not found' });
    expect(rpcErr.tool_calls.map((t) => t.name)).toEqual(['nope']);

    const http = decode({
      target: '/mcp',
      reqHeaders: SESSION,
      reqBody: { jsonrpc: '2.0', id: 4, method: 'tools/list' },
      status: 404,
      resBody: { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } },
    });
    expect(http.error).toEqual({ type: 'jsonrpc_error_-32001', message: 'Session not found' });
  });

  it('a cut SSE reply is counted, not thrown', () => {
    const call = decode({
      target: '/mcp',
      reqHeaders: SESSION,
      reqBody: { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'slow' } },
      resHeaders: { 'content-type': 'text/event-stream' },
      resBody: sseMessages({ jsonrpc: '2.0', method: 'notifications/progress', params: {} }),
      resBodyOptions: { incomplete: true },
    });
    expect(call.anomalies).toContain('mcp_stream_interrupted');
    expect(call.error).toBeNull();
  });

  it('a batch is one record, counted mcp_batch, with every tool of it', () => {
    const call = decode({
      target: '/mcp',
      reqHeaders: SESSION,
      reqBody: [
        { jsonrpc: '2.0', id: 10, method: 'tools/call', params: { name: 'a' } },
        { jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'b' } },
      ],
      resBody: [
        { jsonrpc: '2.0', id: 10, result: { content: [] } },
        { jsonrpc: '2.0', id: 11, error: { code: -32603, message: 'internal' } },
      ],
    });
    expect(call.anomalies).toContain('mcp_batch');
    expect(call.tool_calls.map((t) => t.name)).toEqual(['a', 'b']);
    expect(call.response_id).toBe('10');
    expect(call.error?.type).toBe('internal_error');
  });

  it('a client answering a server request, and bodies that are not MCP', () => {
    const answer = decode({ target: '/mcp', reqHeaders: SESSION, reqBody: { jsonrpc: '2.0', id: 99, result: { content: { type: 'text', text: 'x' } } }, status: 202 });
    expect(answer).toMatchObject({ operation: 'response', response_id: '99', error: null });
    // The OpenAI SDK's Accept is application/json only: a chat body stays a chat call.
    const r = decodeExchange(makeExchange({ target: '/mcp', reqHeaders: ACCEPT, reqBody: { model: 'gpt-4o', messages: [] }, resBody: {} }));
    expect('call' in r && r.call.api).toBe('openai.chat_completions');
    const junk = decodeExchange(makeExchange({ target: '/mcp', reqHeaders: SESSION, reqBody: '{"jsonrpc":"2.0", "method": ', resBody: '' }));
    expect('notLlm' in junk).toBe(true);
  });
});

describe('MCP calls and the agent layer', () => {
  it('no MCP call is an agent loop step: generic never matches, a Claude Code client is auxiliary', () => {
    const bodies = [
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'add', arguments: { a: 1 } } },
    ];
    for (const ua of ['node', 'claude-cli/2.1.0 (external, cli)']) {
      for (const body of bodies) {
        const ex = makeExchange({ target: '/mcp', reqHeaders: { ...SESSION, 'user-agent': ua }, reqBody: body, resBody: { jsonrpc: '2.0', id: body.id, result: { tools: [{ name: 'add' }], content: [] } } });
        const r = decodeExchange(ex);
        if (!('call' in r)) throw new Error('not decoded');
        const record = buildCallRecord(ex, r.call, { source: 't', fingerprintSalt: 's' });
        const id = identifyAgent(agentCallInput(record, ex, r.call));
        if (ua === 'node') expect(id).toBeNull();
        else expect(id?.auxiliary).toBe(true);
      }
    }
  });
});
