/**
 * Builds examples/demo.pcap, the capture shipped with the package: a handful of calls across the
 * four wire APIs, one HTTP 429, one stream cut by a reset, three agent turns (Claude Code and
 * Codex, with tool round-trips and title calls), and placeholder secrets in the headers
 * (`Authorization: Bearer sk-demo-…`, `x-api-key: sk-ant-api03-demo-…`) so redaction is visible.
 *
 * Reproducible: `node dist/test/gen/make-example.js` rewrites the identical file (fixed seeds and
 * start time; no wall clock, no randomness from outside).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { agentConnections } from './llm-agents.js';
import { type Session, buildSession } from './llm-traffic.js';
import { pcapBytes } from './pcap-writer.js';
import { findRepoRoot } from './repo-root.js';
import { mergeConnections } from './tcp-conversation.js';

/** 2026-01-15T10:00:00Z in µs. */
const DEMO_START = Date.UTC(2026, 0, 15, 10, 0, 0) * 1000;
const CLIENT = '192.168.1.23';

export function demoSessions(): Session[] {
  const s = (n: number, seconds: number) => ({ seed: 1000 + n, client: { ip: CLIENT, port: 51000 + n }, start: DEMO_START + seconds * 1_000_000 });
  const small = { requestBytes: 8_000, outputTokens: 35 };
  return [
    // Claude Code: a tool-using turn (thinking, cache, parallel tool_use, gzipped SSE), then the answer.
    buildSession({
      ...s(1, 0),
      calls: [
        { api: 'anthropic.messages', ...small, thinking: true, cache: true, toolCalls: 2, gzip: true },
        { api: 'anthropic.messages', ...small, requestBytes: 9_500, cache: true, gzip: true },
      ],
    }),
    // An OpenAI SDK app: streamed with usage, then rate-limited, then a non-streamed tool call.
    buildSession({
      ...s(2, 1),
      calls: [
        { api: 'openai.chat_completions', ...small },
        { api: 'openai.chat_completions', ...small, errorStatus: 429 },
        { api: 'openai.chat_completions', ...small, stream: false, toolCalls: 1 },
      ],
    }),
    // Codex: Responses API, a function_call (completed output left empty, as Codex's backend does), then text.
    buildSession({
      ...s(3, 2),
      calls: [
        { api: 'openai.responses', ...small, thinking: true, toolCalls: 1, emptyCompletedOutput: true },
        { api: 'openai.responses', ...small, requestBytes: 9_000 },
      ],
    }),
    // Gemini: SSE stream, plain generateContent, and the JSON-array stream.
    buildSession({
      ...s(4, 3),
      calls: [
        { api: 'gemini.generate_content', ...small, thinking: true },
        { api: 'gemini.generate_content', ...small, stream: false, toolCalls: 1 },
        { api: 'gemini.generate_content', ...small, geminiStream: 'json-array' },
      ],
    }),
    // An Anthropic stream cut half-way by a reset.
    buildSession({ ...s(5, 5), calls: [{ api: 'anthropic.messages', ...small, outputTokens: 60, interruptAfter: 0.5 }] }),
  ];
}

/** The demo capture's bytes (classic pcap, µs, little-endian, Ethernet): the calls above, then
 * two Claude Code sessions and a Codex session whose tool round-trips make whole agent turns. */
export function demoPcap(): Uint8Array {
  const agents = agentConnections(DEMO_START + 20 * 1_000_000).connections;
  return pcapBytes(mergeConnections([...demoSessions().map((x) => x.connection), ...agents]), { kind: 'pcap' });
}

export { findRepoRoot };

export const DEMO_PATH = 'examples/demo.pcap';

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = join(findRepoRoot(), DEMO_PATH);
  const bytes = demoPcap();
  writeFileSync(out, bytes);
  process.stdout.write(`wrote ${out} (${bytes.length} bytes)\n`);
}
