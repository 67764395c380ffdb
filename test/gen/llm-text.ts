/**
 * Text and conversation material for generated LLM traffic: agent-sized requests (a long system
 * prompt, a dozen tools with JSON schemas, a history of user turns, tool calls and tool results)
 * and model output as a list of tokens. Deterministic from the Rng.
 */
import type { Rng } from './rng.js';

const WORDS = (
  'the a to of and in is that for it with as on this be are by file function should return value ' +
  'error test use when if not you can will from code which we user agent tool call request response ' +
  'model token stream event server client data type string number list object field name path line ' +
  'change update fix add remove check run build config option default module import export class ' +
  'method parameter result output input message system prompt context cache session turn buffer ' +
  'packet capture header body chunk parse decode encode timeout retry limit cost budget metric ' +
  'latency first last time window queue worker thread process memory size bytes index offset then ' +
  'because before after while each every all some any other new old same different small large'
).split(' ');

const CODE_LINES = [
  'export function parseHeader(buf: Uint8Array, off: number): Header | null {',
  '  const end = buf.indexOf(0x0a, off);',
  '  if (end < 0) return null;',
  '  for (const [name, value] of headers) out.push(`${name}: ${value}`);',
  '  return { status: Number(line.slice(9, 12)), reason: line.slice(13) };',
  '}',
  'def handle_request(self, request: Request) -> Response:',
  '    body = json.loads(request.body or b"{}")',
  '    if not body.get("model"):',
  '        raise ValueError("model is required")',
  'import { describe, expect, it } from "vitest";',
  '  it("keeps the order of events", () => {',
  '    expect(result.events.map((e) => e.type)).toEqual(["start", "delta", "stop"]);',
  '  });',
  'SELECT model, count(*) AS calls, sum(cost_usd) FROM calls GROUP BY model ORDER BY calls DESC;',
  '    let mut reader = BufReader::new(File::open(&path)?);',
  '    while reader.read_line(&mut line)? > 0 {',
];

/** `n` words of prose with sentence punctuation. */
export function prose(rng: Rng, n: number): string {
  const out: string[] = [];
  let sentence = 0;
  for (let i = 0; i < n; i++) {
    let w = rng.pick(WORDS);
    if (sentence === 0) w = w[0]!.toUpperCase() + w.slice(1);
    sentence++;
    if (sentence > 6 && rng.chance(0.15)) {
      w += rng.chance(0.8) ? '.' : ',';
      if (w.endsWith('.')) sentence = 0;
    }
    out.push(w);
  }
  return out.join(' ') + '.';
}

/** Source-file-like text of about `bytes` bytes (tool results are mostly file contents). */
export function codeText(rng: Rng, bytes: number): string {
  const lines: string[] = [];
  let size = 0;
  let n = 1;
  while (size < bytes) {
    const l = `${String(n++).padStart(5, ' ')}\t${rng.pick(CODE_LINES)}`;
    lines.push(l);
    size += l.length + 1;
  }
  return lines.join('\n');
}

/** Model output as tokens: each begins with its separator, so `tokens.join('')` is the text. */
export function outputTokens(rng: Rng, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    if (i > 0 && r < 0.06) out.push('.');
    else if (i > 0 && r < 0.09) out.push(',');
    else if (r < 0.11) out.push('\n\n');
    else out.push((i === 0 ? '' : ' ') + rng.pick(WORDS));
  }
  return out;
}

export interface ToolDef {
  name: string;
  description: string;
  /** JSON Schema of the arguments. */
  parameters: Record<string, unknown>;
}

export const TOOL_SETS: Record<'claude' | 'codex' | 'gemini' | 'generic', string[]> = {
  // Claude Code's built-in tools (as seen in its requests' tools[]).
  claude: ['Task', 'Bash', 'Glob', 'Grep', 'Read', 'Edit', 'Write', 'NotebookEdit', 'WebFetch', 'TodoWrite', 'WebSearch', 'BashOutput', 'KillShell', 'mcp__github__create_issue'],
  // Codex CLI's tools.
  codex: ['shell', 'apply_patch', 'update_plan', 'view_image', 'web_search', 'read_file', 'list_dir'],
  // Gemini CLI's tools.
  gemini: ['read_file', 'write_file', 'list_directory', 'glob', 'search_file_content', 'replace', 'run_shell_command', 'web_fetch', 'save_memory', 'google_web_search'],
  generic: ['get_weather', 'search_docs', 'run_sql', 'send_email', 'lookup_customer', 'create_ticket'],
};

/** Tool definitions whose descriptions take about a quarter of `targetBytes` (~7 bytes a word),
 * at most 260 words each (Claude Code's longest built-in tool descriptions run to a few hundred). */
export function toolDefs(rng: Rng, names: string[], targetBytes = 150_000): ToolDef[] {
  const words = Math.max(10, Math.min(260, Math.floor((targetBytes * 0.25) / names.length / 7)));
  return names.map((name) => ({
    name,
    description: prose(rng, rng.int(Math.ceil(words / 2), words)),
    parameters: {
      type: 'object',
      properties: {
        path: { type: 'string', description: prose(rng, 12) },
        command: { type: 'string', description: prose(rng, 10) },
        timeout: { type: 'number', description: prose(rng, 8) },
      },
      required: ['path'],
      additionalProperties: false,
    },
  }));
}

export type Turn =
  | { role: 'user'; text: string }
  | { role: 'assistant'; text: string; toolCalls: { id: string; name: string; args: Record<string, unknown> }[] }
  | { role: 'tool'; callId: string; name: string; result: string };

export interface Conversation {
  system: string;
  tools: ToolDef[];
  turns: Turn[];
}

/**
 * An agent conversation whose JSON is about `targetBytes` long: ~20% system prompt, the tools, then
 * user / assistant tool-call / tool-result rounds, ending with a user message (a new turn) or a
 * tool result (a follow-up call inside a turn).
 */
export function conversation(rng: Rng, targetBytes: number, toolNames: string[], idPrefix: string): Conversation {
  const system = prose(rng, Math.max(20, Math.floor((targetBytes * 0.2) / 6)));
  const tools = toolDefs(rng, toolNames, targetBytes);
  let size = system.length + JSON.stringify(tools).length;
  const turns: Turn[] = [];
  let call = 0;
  const push = (t: Turn) => {
    turns.push(t);
    size += JSON.stringify(t).length + 30;
  };
  push({ role: 'user', text: prose(rng, rng.int(8, 60)) });
  while (size < targetBytes) {
    const name = rng.pick(toolNames);
    const id = `${idPrefix}${rng.alnum(24)}`;
    call++;
    push({ role: 'assistant', text: rng.chance(0.5) ? prose(rng, rng.int(5, 30)) : '', toolCalls: [{ id, name, args: { path: `src/module${call}.ts`, command: 'npm test' } }] });
    const room = Math.max(200, targetBytes - size);
    push({ role: 'tool', callId: id, name, result: codeText(rng, Math.min(room, rng.int(800, 12_000))) });
    if (size < targetBytes && rng.chance(0.15)) {
      push({ role: 'assistant', text: prose(rng, rng.int(10, 60)), toolCalls: [] });
      push({ role: 'user', text: prose(rng, rng.int(8, 40)) });
    }
  }
  if (rng.chance(0.3)) push({ role: 'user', text: prose(rng, rng.int(5, 30)) });
  return { system, tools, turns };
}
