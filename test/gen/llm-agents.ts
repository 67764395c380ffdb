/**
 * Agent traffic for the turn tracker's whole-scenario tests (issue 4): scripted conversations of
 * Claude Code (Anthropic Messages, `X-Claude-Code-Session-Id`) and Codex (Responses,
 * `X-Codex-Turn-Metadata`) with tool round-trips, as keep-alive connections in a capture. Bodies
 * are non-streamed JSON (the decoders' streaming is tested elsewhere); what matters here is which
 * call belongs to which turn and session. Deterministic: no clock, no randomness.
 */
import type { Micros } from '../../src/core/time.js';
import { type Header, requestPiece, responsePieces, utf8 } from './http-wire.js';
import { pcapBytes } from './pcap-writer.js';
import { buildConnection, type ConnectionResult, type ExchangeWire, mergeConnections } from './tcp-conversation.js';

/** 2026-03-02T09:00:00Z in µs. */
export const AGENT_T0: Micros = Date.UTC(2026, 2, 2, 9, 0, 0) * 1000;

export interface ScriptedCall {
  /** Request start, seconds after AGENT_T0. */
  at: number;
  /** Seconds until the response is complete. */
  seconds: number;
  target: string;
  headers: Header[];
  body: object;
  response: object;
}

export interface ExpectedTurn {
  agent: string;
  session: string;
  callCount: number;
  status: 'complete' | 'incomplete';
  userPreview: string;
  finalPreview: string | null;
  tools: string[];
}

const CLAUDE_TOOLS = ['Agent', 'Bash', 'Read', 'Edit'].map((name) => ({ name, description: name, input_schema: { type: 'object' } }));

function claudeHeaders(session: string): Header[] {
  return [
    ['Host', 'api.anthropic.com'],
    ['User-Agent', 'claude-cli/2.1.104 (external, cli)'],
    ['Content-Type', 'application/json'],
    ['anthropic-version', '2023-06-01'],
    ['x-api-key', 'sk-ant-api03-agentdemo-000000000000000000000000'],
    ['X-Claude-Code-Session-Id', session],
  ];
}

function claudeBody(messages: object[], tools: object[] = CLAUDE_TOOLS, maxTokens = 32000): object {
  return { model: 'claude-sonnet-4-5', max_tokens: maxTokens, system: [{ type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude." }], messages, tools };
}

let msgN = 0;
function claudeReply(o: { text?: string; tool?: { id: string; name: string; input: object } }): object {
  const content: object[] = [];
  if (o.text !== undefined) content.push({ type: 'text', text: o.text });
  if (o.tool) content.push({ type: 'tool_use', ...o.tool });
  return {
    id: `msg_agent${++msgN}`,
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5',
    content,
    stop_reason: o.tool ? 'tool_use' : 'end_turn',
    usage: { input_tokens: 1000, output_tokens: 40, cache_read_input_tokens: 500, cache_creation_input_tokens: 0 },
  };
}

/** A Claude Code turn: prompt → Bash → Read → answer (3 calls), and a title call (auxiliary). */
function claudeTurn(session: string, start: number, prompt: string, answer: string, idp: string): { calls: ScriptedCall[]; expected: ExpectedTurn } {
  const h = claudeHeaders(session);
  const target = '/v1/messages?beta=true';
  const user = { role: 'user', content: [{ type: 'text', text: '<system-reminder>\nContext.\n</system-reminder>' }, { type: 'text', text: prompt }] };
  const bash = { id: `toolu_${idp}1`, name: 'Bash', input: { command: 'ls' } };
  const read = { id: `toolu_${idp}2`, name: 'Read', input: { file_path: 'README.md' } };
  const m1 = [user, { role: 'assistant', content: [{ type: 'tool_use', ...bash }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: bash.id, content: 'README.md' }] }];
  const m2 = [...m1, { role: 'assistant', content: [{ type: 'tool_use', ...read }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: read.id, content: '# Demo' }] }];
  return {
    calls: [
      { at: start, seconds: 1.5, target, headers: h, body: claudeBody([user]), response: claudeReply({ text: 'Let me look.', tool: bash }) },
      { at: start + 0.2, seconds: 0.5, target, headers: h, body: claudeBody([user], []), response: claudeReply({ text: '{"title":"Readme"}' }) },
      { at: start + 4, seconds: 1.5, target, headers: h, body: claudeBody(m1), response: claudeReply({ tool: read }) },
      { at: start + 8, seconds: 1.5, target, headers: h, body: claudeBody(m2), response: claudeReply({ text: answer }) },
    ],
    expected: { agent: 'claude-code', session, callCount: 3, status: 'complete', userPreview: prompt, finalPreview: answer, tools: ['Bash', 'Read'] },
  };
}

/** A Codex turn over the Responses API: prompt → shell → answer. */
function codexTurn(session: string, start: number): { calls: ScriptedCall[]; expected: ExpectedTurn } {
  const turn = '019ca000-0000-7000-8000-000000000001';
  const h: Header[] = [
    ['Host', 'api.openai.com'],
    ['User-Agent', 'codex_exec/0.118.0 (Ubuntu 24.4.0; x86_64)'],
    ['Content-Type', 'application/json'],
    ['Authorization', 'Bearer sk-proj-agentdemo0000000000000000'],
    ['originator', 'codex_exec'],
    ['session_id', session],
    ['X-Codex-Turn-Metadata', JSON.stringify({ session_id: session, turn_id: turn })],
  ];
  const tools = [{ type: 'function', name: 'shell', parameters: { type: 'object' } }];
  const input = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Run the tests' }] }];
  const usage = { input_tokens: 900, output_tokens: 30, total_tokens: 930, input_tokens_details: { cached_tokens: 100 }, output_tokens_details: { reasoning_tokens: 0 } };
  const fc = { type: 'function_call', id: 'fc_1', call_id: 'call_codex1', name: 'shell', arguments: '{"command":["npm","test"]}', status: 'completed' };
  return {
    calls: [
      { at: start, seconds: 2, target: '/v1/responses', headers: h, body: { model: 'gpt-5', instructions: 'You are Codex.', input, tools }, response: { id: 'resp_c1', object: 'response', status: 'completed', model: 'gpt-5', output: [fc], usage } },
      {
        at: start + 4,
        seconds: 2,
        target: '/v1/responses',
        headers: h,
        body: { model: 'gpt-5', instructions: 'You are Codex.', input: [...input, fc, { type: 'function_call_output', call_id: 'call_codex1', output: 'ok' }], tools },
        response: {
          id: 'resp_c2',
          object: 'response',
          status: 'completed',
          model: 'gpt-5',
          output: [{ type: 'message', id: 'msg_c2', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'All tests pass.', annotations: [] }] }],
          usage,
        },
      },
    ],
    expected: { agent: 'codex', session, callCount: 2, status: 'complete', userPreview: 'Run the tests', finalPreview: 'All tests pass.', tools: ['shell'] },
  };
}

function wire(c: ScriptedCall, t0: Micros): ExchangeWire {
  const at = t0 + Math.round(c.at * 1_000_000);
  const end = at + Math.round(c.seconds * 1_000_000);
  const res = responsePieces({
    status: 200,
    reason: 'OK',
    headers: [['Content-Type', 'application/json']],
    body: [{ at: end, data: utf8(JSON.stringify(c.response)) }],
    framing: 'content-length',
  });
  return { request: [requestPiece(at, 'POST', c.target, c.headers, utf8(JSON.stringify(c.body)))], response: res.pieces };
}

function connection(port: number, server: string, calls: ScriptedCall[], t0: Micros): ConnectionResult {
  const sorted = [...calls].sort((a, b) => a.at - b.at);
  const first = sorted[0]!;
  return buildConnection({
    client: { ip: '10.0.0.7', port },
    server: { ip: server, port: 80 },
    start: t0 + Math.round(first.at * 1_000_000) - 50_000,
    seed: port,
    exchanges: sorted.map((c) => wire(c, t0)),
  });
}

/**
 * The agent scenario: two Claude Code sessions whose calls alternate on ONE keep-alive connection
 * (a local proxy multiplexing them), each with an auxiliary title call; and a Codex session on
 * its own connection. Every turn completes. `t0` moves the whole scenario in time.
 */
export function agentConnections(t0: Micros = AGENT_T0): { connections: ConnectionResult[]; expected: ExpectedTurn[]; auxiliaryCalls: number } {
  msgN = 0; // message ids restart, so the same scenario gives the same bytes every time
  // Calls on one HTTP/1.1 connection run one at a time: A's calls at 0, 4, 8 s and B's at 2, 6,
  // 10 s (1.5 s each) alternate on it.
  const a = claudeTurn('5f0c6d7e-aaaa-4222-8333-944445555666', 0, 'What is in the README?', 'It is a demo.', 'A');
  const b = claudeTurn('7b1d2e3f-bbbb-4222-8333-944445555777', 2, 'List the files', 'One file: README.md.', 'B');
  // Title calls go out on their own connection in Claude Code (they run beside the main call).
  const mainA = a.calls.filter((_, i) => i !== 1);
  const mainB = b.calls.filter((_, i) => i !== 1);
  const codex = codexTurn('019c9fff-1111-7222-8333-944445555888', 1);
  const connections = [
    connection(50_100, '160.79.104.10', [...mainA, ...mainB], t0),
    connection(50_101, '160.79.104.10', [a.calls[1]!], t0),
    connection(50_102, '160.79.104.10', [b.calls[1]!], t0),
    connection(50_200, '162.159.140.245', codex.calls, t0),
  ];
  return { connections, expected: [a.expected, b.expected, codex.expected], auxiliaryCalls: 2 };
}

/** The agent scenario as a capture. */
export function agentScenario(): { pcap: Uint8Array; expected: ExpectedTurn[]; auxiliaryCalls: number } {
  const { connections, expected, auxiliaryCalls } = agentConnections();
  return { pcap: pcapBytes(mergeConnections(connections), { kind: 'pcap' }), expected, auxiliaryCalls };
}
