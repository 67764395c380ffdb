/**
 * Issue 8 acceptance: the official MCP TypeScript SDK's client and server
 * (`@modelcontextprotocol/sdk`, Streamable HTTP transport) talk over loopback while tcpdump
 * captures; `llmtap replay` of the capture must show every request with its method, tool name
 * and outcome: initialize, notifications/initialized, tools/list, a tools/call that succeeds, a
 * tools/call whose result has `isError`, and a call to an unknown tool (a JSON-RPC error).
 * Run twice: the server answering with SSE streams (the SDK's default) and with JSON bodies
 * (`enableJsonResponse`).
 *
 * Needs root and tcpdump; skipped with the reason otherwise, except under CI (CI=true), where a
 * missing prerequisite fails instead of hiding the test.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LlmCallRecord } from '../../src/core/record.js';
import { ensureBuilt, replayCapture } from './replay-cli.js';
import { commandExists, startTcpdump, type TcpdumpCapture } from './tcpdump.js';

/** The SDK exchange takes well under a second; tcpdump start/stop and the replay a few more. */
const TEST_TIMEOUT_MS = 120_000;

const inCi = process.env['CI'] === 'true';
const skip = process.getuid?.() !== 0 ? 'needs root (packet capture)' : !commandExists('tcpdump') ? 'missing tcpdump (apt-get install tcpdump)' : null;
if (skip !== null && !inCi) process.stderr.write(`mcp-sdk e2e skipped: ${skip}\n`);

interface McpLab {
  http: HttpServer;
  port: number;
  close(): Promise<void>;
}

/** A stateful MCP server (one session) with two tools: `add` and `fail` (result with isError). */
async function startMcpServer(enableJsonResponse: boolean): Promise<McpLab> {
  const mcp = new Server({ name: 'llmtap-e2e', version: '1.0.0' }, { capabilities: { tools: {} } });
  mcp.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [
      { name: 'add', description: 'Adds two numbers', inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] } },
      { name: 'fail', description: 'Always fails', inputSchema: { type: 'object', properties: {} } },
    ],
  }));
  mcp.setRequestHandler(CallToolRequestSchema, (req) => {
    const args = req.params.arguments ?? {};
    if (req.params.name === 'add') return { content: [{ type: 'text', text: String(Number(args['a']) + Number(args['b'])) }] };
    if (req.params.name === 'fail') return { content: [{ type: 'text', text: 'the tool failed on purpose' }], isError: true };
    throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${req.params.name}`);
  });
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), enableJsonResponse });
  await mcp.connect(transport);
  const http = createServer((req, res) => {
    void transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    http,
    port: (http.address() as AddressInfo).port,
    close: async () => {
      await mcp.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** What the client saw, to compare with the records. */
interface Outcomes {
  sum: string;
  failed: boolean;
  unknownError: string;
}

async function runClient(port: number): Promise<Outcomes> {
  const client = new Client({ name: 'llmtap-e2e-client', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`));
  await client.connect(transport);
  const tools = await client.listTools();
  expect(tools.tools.map((t) => t.name)).toEqual(['add', 'fail']);
  const sum = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
  const failed = await client.callTool({ name: 'fail', arguments: {} });
  let unknownError = '';
  try {
    await client.callTool({ name: 'no_such_tool', arguments: {} });
  } catch (e) {
    unknownError = e instanceof Error ? e.message : String(e);
  }
  await client.close();
  const text = (r: typeof sum): string => (Array.isArray(r.content) ? r.content.map((c: { text?: string }) => c.text ?? '').join('') : '');
  return { sum: text(sum), failed: failed.isError === true, unknownError };
}

function mcpSummary(calls: LlmCallRecord[]): { operation: string; tool: string | null; error: string | null; status: number | null }[] {
  return calls
    .filter((c) => c.api === 'mcp')
    .sort((a, b) => a.timing.request_start.localeCompare(b.timing.request_start))
    .map((c) => ({ operation: c.operation, tool: c.tool_calls[0]?.name ?? null, error: c.error?.type ?? null, status: c.status_code }));
}

describe.skipIf(skip !== null && !inCi)(`MCP SDK client and server over loopback${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let dir = '';
  let capture: TcpdumpCapture | null = null;
  let lab: McpLab | null = null;

  beforeAll(() => {
    if (skip !== null) throw new Error(`CI must provide the e2e prerequisites: ${skip}`);
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'llmtap-mcp-'));
  });

  afterAll(async () => {
    capture?.kill();
    await lab?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const mode of ['sse', 'json'] as const) {
    test(
      `every request appears with its method, tool and outcome (${mode} replies)`,
      async () => {
        lab = await startMcpServer(mode === 'json');
        const pcap = join(dir, `mcp-${mode}.pcap`);
        capture = await startTcpdump('lo', `tcp port ${lab.port}`, pcap);
        const seen = await runClient(lab.port);
        const captured = await capture.stop();
        capture = null;
        await lab.close();
        lab = null;
        expect(captured.droppedByKernel, `the capture is whole: ${captured.stderr}`).toBe(0);
        expect(seen.sum).toBe('5');
        expect(seen.failed).toBe(true);
        expect(seen.unknownError).toContain('no_such_tool');

        const out = replayCapture(pcap, join(dir, `mcp-${mode}.jsonl`));
        expect(mcpSummary(out.calls)).toEqual([
          { operation: 'initialize', tool: null, error: null, status: 200 },
          { operation: 'notifications/initialized', tool: null, error: null, status: 202 },
          { operation: 'tools/list', tool: null, error: null, status: 200 },
          { operation: 'tools/call', tool: 'add', error: null, status: 200 },
          { operation: 'tools/call', tool: 'fail', error: 'tool_error', status: 200 },
          { operation: 'tools/call', tool: 'no_such_tool', error: 'invalid_params', status: 200 },
        ]);
        const mcp = out.calls.filter((c) => c.api === 'mcp');
        for (const c of mcp) {
          expect(c.provider).toBe('mcp');
          expect(c.e2e_ms, 'duration from the timing fields').not.toBeNull();
          expect(c.usage.estimated).toBe(false);
          expect(c.agent, 'MCP calls make no agent turns').toBeNull();
          expect(c.turn_id).toBeNull();
        }
        const list = mcp.find((c) => c.operation === 'tools/list')!;
        expect(list.content.output_text).toBe('add\nfail');
        const add = mcp.find((c) => c.tool_calls[0]?.name === 'add')!;
        expect(add.content.output_text).toBe('5');
        expect(mcp.find((c) => c.tool_calls[0]?.name === 'fail')!.error?.message).toBe('the tool failed on purpose');
        expect(mcp.find((c) => c.tool_calls[0]?.name === 'no_such_tool')!.error?.message).toContain('no_such_tool');
        // Only MCP traffic was captured: nothing else became a call.
        expect(out.calls.length).toBe(mcp.length);
      },
      TEST_TIMEOUT_MS,
    );
  }
});
