/**
 * Agent traffic for the console's turn and session pages: Claude Code talking to the Anthropic
 * Messages API as it does on the wire (User-Agent `claude-cli/…`, header
 * `X-Claude-Code-Session-Id`, tool round trips, a sub-agent started through the `Task` tool whose
 * requests do not offer `Task`), with a long tool gap (a stall) and the same tool call repeated
 * (a loop). Each turn's expected facts come from the script that builds it, not from llmtap.
 */
import type { Micros } from '../../src/core/time.js';
import { requestPiece, responsePieces, utf8, type Header } from '../gen/http-wire.js';
import { pcapBytes } from '../gen/pcap-writer.js';
import { buildConnection, mergeConnections, type ExchangeWire } from '../gen/tcp-conversation.js';

export const CLAUDE_UA = 'claude-cli/2.1.0 (external, cli)';
const SONNET = 'claude-sonnet-4-5-20250929';
const HAIKU = 'claude-haiku-4-5-20251001';
const ANTHROPIC = { ip: '160.79.104.10', port: 80 };

/** The tools Claude Code offers; sub-agents get them without `Task` (DESIGN §5). */
const MAIN_TOOLS = ['Bash', 'Read', 'Glob', 'Task'];
const SUB_TOOLS = ['Bash', 'Read', 'Glob'];

type Block = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> } | { type: 'tool_result'; tool_use_id: string; content: string };
interface Message {
  role: 'user' | 'assistant';
  content: string | Block[];
}

/** One call: what the model answers (a tool use, or text that ends the turn), its timing. */
interface Step {
  /** Request start, seconds after the capture's start. */
  at: number;
  /** Response time, seconds. */
  takes: number;
  tool?: { name: string; input: Record<string, unknown>; result: string };
  text?: string;
  lane: 'main' | 'sub';
}

export interface ExpectedTurn {
  user: string;
  final: string;
  /** Calls of the turn: main agent and sub-agent. */
  calls: number;
  subagentCalls: number;
  tools: string[];
}

export interface AgentCapture {
  pcap: Uint8Array;
  sessionId: string;
  turns: ExpectedTurn[];
}

function toolSpec(name: string): Record<string, unknown> {
  return { name, description: `The ${name} tool.`, input_schema: { type: 'object', properties: {} } };
}

class Conversation {
  readonly messages: Message[] = [];
  constructor(
    readonly model: string,
    readonly system: string,
    readonly tools: string[],
  ) {}
}

/**
 * Builds the capture: main-agent calls on one keep-alive connection, sub-agent calls on another
 * (Claude Code opens several), every request with the session header.
 */
function buildCapture(o: { start: Micros; sessionId: string; clientPort: number; turns: { user: string; steps: Step[] }[] }): AgentCapture {
  const main = new Conversation(SONNET, 'You are Claude Code, Anthropic\'s official CLI for Claude.', MAIN_TOOLS);
  let sub: Conversation | null = null;
  const wires: Record<'main' | 'sub', ExchangeWire[]> = { main: [], sub: [] };
  const expected: ExpectedTurn[] = [];
  let n = 0;
  const at = (s: number): Micros => o.start + Math.round(s * 1_000_000);
  for (const turn of o.turns) {
    main.messages.push({ role: 'user', content: turn.user });
    let final = '';
    const tools: string[] = [];
    for (const step of turn.steps) {
      n++;
      if (step.lane === 'sub' && sub === null) {
        // The sub-agent's conversation opens with the prompt the main agent gave the Task tool.
        const task = [...main.messages].reverse().flatMap((m) => (Array.isArray(m.content) ? m.content : [])).find((b): b is Extract<Block, { type: 'tool_use' }> => b.type === 'tool_use' && b.name === 'Task');
        sub = new Conversation(HAIKU, 'You are an agent for Claude Code. Given the user\'s prompt, use the tools available to you.', SUB_TOOLS);
        sub.messages.push({ role: 'user', content: String(task?.input['prompt'] ?? 'help') });
      }
      const conv = step.lane === 'sub' ? sub! : main;
      const body = JSON.stringify({
        model: conv.model,
        max_tokens: 32_000,
        system: [{ type: 'text', text: conv.system }],
        tools: conv.tools.map(toolSpec),
        messages: conv.messages,
        metadata: { user_id: `user_4f2a_account__session_${o.sessionId}` },
      });
      const headers: Header[] = [
        ['Host', 'api.anthropic.com'],
        ['User-Agent', CLAUDE_UA],
        ['X-Claude-Code-Session-Id', o.sessionId],
        ['anthropic-version', '2023-06-01'],
        ['x-api-key', 'sk-ant-api03-console-test-key-not-real-0000000000'],
        ['Content-Type', 'application/json'],
      ];
      const toolId = `toolu_${String(n).padStart(4, '0')}_${o.clientPort}`;
      const content: Block[] = step.tool ? [{ type: 'tool_use', id: toolId, name: step.tool.name, input: step.tool.input }] : [{ type: 'text', text: step.text ?? '' }];
      const response = JSON.stringify({
        id: `msg_${o.clientPort}_${n}`,
        type: 'message',
        role: 'assistant',
        model: conv.model,
        content,
        stop_reason: step.tool ? 'tool_use' : 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: 1_000 + 150 * conv.messages.length, output_tokens: 40 + n, cache_read_input_tokens: 800, cache_creation_input_tokens: 0 },
      });
      wires[step.lane].push({
        request: [requestPiece(at(step.at), 'POST', '/v1/messages?beta=true', headers, utf8(body))],
        response: responsePieces({
          status: 200,
          reason: 'OK',
          headers: [['Content-Type', 'application/json']],
          body: [{ at: at(step.at + step.takes), data: utf8(response) }],
          framing: 'content-length',
        }).pieces,
      });
      conv.messages.push({ role: 'assistant', content });
      if (step.tool) {
        tools.push(step.tool.name);
        conv.messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: toolId, content: step.tool.result }] });
      } else if (step.lane === 'sub') {
        // The sub-agent's answer is the Task tool's result in the main conversation.
        const last = main.messages[main.messages.length - 1];
        if (last && Array.isArray(last.content)) last.content = last.content.map((b) => (b.type === 'tool_result' ? { ...b, content: step.text ?? '' } : b));
        sub = null;
      } else {
        final = step.text ?? '';
      }
    }
    expected.push({ user: turn.user, final, calls: turn.steps.length, subagentCalls: turn.steps.filter((s) => s.lane === 'sub').length, tools });
  }
  const conns = (['main', 'sub'] as const)
    .filter((lane) => wires[lane].length > 0)
    .map((lane, i) =>
      buildConnection({
        client: { ip: '192.168.1.70', port: o.clientPort + i },
        server: ANTHROPIC,
        // The SYN a little before the lane's first request.
        start: (wires[lane][0]!.request[0]!.at as Micros) - 50_000,
        seed: o.clientPort + i,
        exchanges: wires[lane],
      }),
    );
  return { pcap: pcapBytes(mergeConnections(conns), { kind: 'pcap' }), sessionId: o.sessionId, turns: expected };
}

/** 2026-01-15T12:00:00Z. */
const T0: Micros = Date.UTC(2026, 0, 15, 12, 0, 0) * 1000;

/** Two turns of one session: the first with a sub-agent and a 65-second tool run; the second
 * running the same command three times. */
export function claudeCodeCapture(): AgentCapture {
  const bash = (command: string, result: string) => ({ name: 'Bash', input: { command }, result });
  return buildCapture({
    start: T0,
    sessionId: '3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
    clientPort: 54000,
    turns: [
      {
        user: 'Run the test suite and tell me whether it passes <img src=x onerror="window.__pwned=1">',
        steps: [
          { lane: 'main', at: 0.1, takes: 1.9, tool: bash('ls', 'package.json\nsrc\ntest') },
          { lane: 'main', at: 3.2, takes: 1.8, tool: { name: 'Task', input: { description: 'Find tests', prompt: 'List every test file in this repository.' }, result: '' } },
          { lane: 'sub', at: 5.5, takes: 1.3, tool: { name: 'Glob', input: { pattern: '**/*.test.ts' }, result: 'test/a.test.ts\ntest/b.test.ts' } },
          { lane: 'sub', at: 7.3, takes: 1.6, text: 'Found 2 test files: test/a.test.ts and test/b.test.ts.' },
          { lane: 'main', at: 9.4, takes: 0.8, tool: bash('npm test', 'Tests: 12 passed') },
          // The test run took 65 s: a stall.
          { lane: 'main', at: 75.2, takes: 2.8, text: 'All 12 tests pass. <script>window.__pwned=1</script>' },
        ],
      },
      {
        user: 'Count the lines of the sources.',
        steps: [
          { lane: 'main', at: 200.1, takes: 1.4, tool: bash('wc -l src/*.ts', 'wc: src/*.ts: No such file') },
          { lane: 'main', at: 202.0, takes: 1.2, tool: bash('wc -l src/*.ts', 'wc: src/*.ts: No such file') },
          { lane: 'main', at: 203.8, takes: 1.1, tool: bash('wc -l src/*.ts', 'wc: src/*.ts: No such file') },
          { lane: 'main', at: 205.5, takes: 1.5, text: 'I could not count them: there is no src directory.' },
        ],
      },
    ],
  });
}

/** One turn of another session, an hour later: replayed while the console is open. */
export function liveCapture(): AgentCapture {
  return buildCapture({
    start: T0 + 3_600_000_000,
    sessionId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
    clientPort: 55000,
    turns: [
      {
        user: 'What is in the README?',
        steps: [
          { lane: 'main', at: 0.1, takes: 1.5, tool: { name: 'Read', input: { file_path: 'README.md' }, result: '# demo' } },
          { lane: 'main', at: 2.4, takes: 1.1, tool: { name: 'Read', input: { file_path: 'docs/index.md' }, result: 'docs' } },
          { lane: 'main', at: 4.0, takes: 2.0, text: 'The README is a one-line title: "demo".' },
        ],
      },
    ],
  });
}
