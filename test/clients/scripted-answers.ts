/**
 * What the scripted agent server answers: one user prompt → a shell tool call → a final text, in
 * the Anthropic Messages and OpenAI Responses wire formats, streamed as Server-Sent Events the way
 * the real APIs stream them. The decision is a pure function of the request, so the same client
 * behaviour gives the same exchange on every run.
 *
 * Shapes: Anthropic "Streaming messages" (message_start, content_block_start/_delta/_stop, ping,
 * message_delta with stop_reason, message_stop); OpenAI Responses streaming events
 * (response.created, response.in_progress, response.output_item.added, *.delta/*.done,
 * response.output_item.done, response.completed with usage), each with its sequence_number.
 */

/** The command both agents are told to run: harmless, and its output is recognisable in the
 * tool result the agent sends back, which proves the CLI really ran it. */
export const TOOL_COMMAND = 'echo llmtap-clients-ok';
export const TOOL_OUTPUT = 'llmtap-clients-ok';
/** The final answer's text (the turn's final preview should start with it). */
export const FINAL_TEXT = 'The command printed llmtap-clients-ok.';
/** What an auxiliary call (no shell tool offered: title generation, quota probe…) gets. */
export const AUX_TEXT = 'Shell check';

export type AnswerKind = 'tool_call' | 'text' | 'aux_text';

export interface ScriptedUsage {
  input_tokens: number;
  output_tokens: number;
}

export interface ScriptedAnswer {
  kind: AnswerKind;
  responseId: string;
  usage: ScriptedUsage;
  /** Tool name the answer calls, or null. */
  toolName: string | null;
  /** SSE events (already framed) when the request asked to stream, else the JSON body. */
  events: string[] | null;
  json: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sse(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** ~4 bytes per token, the providers' rule of thumb: only determinism matters here. */
function tokens(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 4));
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages

export function anthropicToolNames(body: Record<string, unknown>): string[] {
  const tools = body['tools'];
  if (!Array.isArray(tools)) return [];
  return tools.flatMap((t) => (isObject(t) && typeof t['name'] === 'string' ? [t['name']] : []));
}

/** The last user message (Claude Code interleaves `role: "system"` messages, so only user
 * messages count), or null. */
function anthropicLastUser(body: Record<string, unknown>): Record<string, unknown> | null {
  const messages = Array.isArray(body['messages']) ? body['messages'] : [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const m: unknown = messages[i];
    if (isObject(m) && m['role'] === 'user') return m;
  }
  return null;
}

/** True when the last user message carries a tool result: the agent is reporting back. */
function anthropicAfterToolResult(body: Record<string, unknown>): boolean {
  const content = anthropicLastUser(body)?.['content'];
  return Array.isArray(content) && content.some((b) => isObject(b) && b['type'] === 'tool_result');
}

/** True when the last user message is Claude Code's report of a finished background task. */
function anthropicTaskNotification(body: Record<string, unknown>): boolean {
  return JSON.stringify(anthropicLastUser(body)?.['content'] ?? null).includes('<task-notification>');
}

/** What the server answers with: `shell` (the default) has the agent run the shell command
 * itself; `subagent` has the main agent delegate it to a sub-agent with the `Agent` tool. */
export type Script = 'shell' | 'subagent';

/** The sub-agent scenario: the main agent's `Agent` call, the sub-agent's command (it sleeps
 * past the tracker's 5 s grace period, so the main agent's turn ends while the sub-agent still
 * works, as background sub-agents do), and the answers. */
export const SUBAGENT_PROMPT = 'Run the marker command with Bash and report what it printed.';
export const SUBAGENT_COMMAND = 'sleep 6; echo llmtap-subagent-ok';
export const SUBAGENT_OUTPUT = 'llmtap-subagent-ok';
export const SUBAGENT_TEXT = 'Sub-agent: the command printed llmtap-subagent-ok.';
/** The main agent's answer once the sub-agent is launched (background) or has reported
 * (foreground), and its answer to the notification of a background sub-agent. */
export const LAUNCHED_TEXT = 'The sub-agent is on it.';
export const NOTIFIED_TEXT = 'The sub-agent reports: the command printed llmtap-subagent-ok.';

interface AnthropicPlan {
  kind: AnswerKind;
  text: string;
  tool: { name: string; input: Record<string, unknown> } | null;
}

function anthropicPlan(body: Record<string, unknown>, script: Script, subagent: boolean): AnthropicPlan {
  if (!anthropicToolNames(body).includes('Bash')) return { kind: 'aux_text', text: AUX_TEXT, tool: null };
  const after = anthropicAfterToolResult(body);
  if (script === 'shell' || subagent) {
    const [command, output] = subagent ? [SUBAGENT_COMMAND, SUBAGENT_TEXT] : [TOOL_COMMAND, FINAL_TEXT];
    if (after) return { kind: 'text', text: output, tool: null };
    return { kind: 'tool_call', text: "I'll run it.", tool: { name: 'Bash', input: { command, description: 'Print a marker' } } };
  }
  if (anthropicTaskNotification(body)) return { kind: 'text', text: NOTIFIED_TEXT, tool: null };
  if (after) return { kind: 'text', text: LAUNCHED_TEXT, tool: null };
  return {
    kind: 'tool_call',
    text: 'I will delegate this.',
    tool: { name: 'Agent', input: { description: 'Run marker command', prompt: SUBAGENT_PROMPT, subagent_type: 'general-purpose' } },
  };
}

/** The answer to an Anthropic Messages request; `subagent`: the request is a Claude Code
 * sub-agent's (`x-claude-code-agent-id`). */
export function answerAnthropic(body: Record<string, unknown>, seq: number, bodyBytes: number, script: Script = 'shell', subagent = false): ScriptedAnswer {
  const model = typeof body['model'] === 'string' ? body['model'] : 'claude-unknown';
  const { kind, text, tool } = anthropicPlan(body, script, subagent);
  const responseId = `msg_01LlmtapClients${String(seq).padStart(6, '0')}`;
  const toolId = `toolu_01LlmtapClients${String(seq).padStart(6, '0')}`;
  const usage = { input_tokens: tokens(bodyBytes), output_tokens: tokens(text.length + (tool !== null ? 60 : 0)) };
  const stopReason = tool !== null ? 'tool_use' : 'end_turn';
  const content: unknown[] = [{ type: 'text', text }];
  if (tool !== null) content.push({ type: 'tool_use', id: toolId, name: tool.name, input: tool.input });
  const fullUsage = { ...usage, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, service_tier: 'standard' };
  const message = { id: responseId, type: 'message', role: 'assistant', model, content, stop_reason: stopReason, stop_sequence: null, usage: fullUsage };
  const toolName = tool?.name ?? null;
  if (body['stream'] !== true) return { kind, responseId, usage, toolName, events: null, json: message };

  const events = [
    sse('message_start', { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { ...fullUsage, output_tokens: 1 } } }),
    sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    'event: ping\ndata: {"type": "ping"}\n\n',
    sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: text.slice(0, 5) } }),
    sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: text.slice(5) } }),
    sse('content_block_stop', { type: 'content_block_stop', index: 0 }),
  ];
  if (tool !== null) {
    const args = JSON.stringify(tool.input);
    events.push(
      sse('content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: toolId, name: tool.name, input: {} } }),
      sse('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: args.slice(0, 12) } }),
      sse('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: args.slice(12) } }),
      sse('content_block_stop', { type: 'content_block_stop', index: 1 }),
    );
  }
  events.push(
    sse('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }),
    sse('message_stop', { type: 'message_stop' }),
  );
  return { kind, responseId, usage, toolName, events, json: null };
}

// ---------------------------------------------------------------------------------------------
// OpenAI Responses

/** Codex's shell tools over the versions: `shell` (argv array), `shell_command` (a string),
 * `exec_command` (unified exec, `cmd`). The first one offered is called. */
const SHELL_TOOLS = ['exec_command', 'shell_command', 'shell'];

interface FunctionTool {
  name: string;
  properties: Record<string, unknown>;
}

/** Top-level function tools (namespaced groups such as `multi_agent_v1` are listed by their
 * namespace name: they are not called here). */
export function responsesTools(body: Record<string, unknown>): FunctionTool[] {
  const tools = body['tools'];
  if (!Array.isArray(tools)) return [];
  return tools.flatMap((t) => {
    if (!isObject(t)) return [];
    const name = typeof t['name'] === 'string' ? t['name'] : typeof t['type'] === 'string' ? t['type'] : null;
    if (name === null) return [];
    const params = isObject(t['parameters']) && isObject(t['parameters']['properties']) ? t['parameters']['properties'] : {};
    return [{ name, properties: params }];
  });
}

function shellArguments(tool: FunctionTool): string {
  if ('cmd' in tool.properties) return JSON.stringify({ cmd: TOOL_COMMAND });
  const command = tool.properties['command'];
  if (isObject(command) && command['type'] === 'array') return JSON.stringify({ command: ['bash', '-lc', TOOL_COMMAND] });
  return JSON.stringify({ command: TOOL_COMMAND });
}

function responsesAfterToolOutput(body: Record<string, unknown>): boolean {
  const input = Array.isArray(body['input']) ? body['input'] : [];
  const last: unknown = input[input.length - 1];
  return isObject(last) && typeof last['type'] === 'string' && last['type'].endsWith('_call_output');
}

export function answerResponses(body: Record<string, unknown>, seq: number, bodyBytes: number): ScriptedAnswer {
  const model = typeof body['model'] === 'string' ? body['model'] : 'gpt-unknown';
  const shell = responsesTools(body).find((t) => SHELL_TOOLS.includes(t.name)) ?? null;
  const kind: AnswerKind = shell === null ? 'aux_text' : responsesAfterToolOutput(body) ? 'text' : 'tool_call';
  const n = String(seq).padStart(6, '0');
  const responseId = `resp_llmtapclients${n}`;
  const text = kind === 'text' ? FINAL_TEXT : AUX_TEXT;
  const item =
    kind === 'tool_call' && shell !== null
      ? { type: 'function_call', id: `fc_llmtapclients${n}`, call_id: `call_llmtapclients${n}`, name: shell.name, arguments: shellArguments(shell), status: 'completed' }
      : { type: 'message', id: `msg_llmtapclients${n}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] };
  const usage = { input_tokens: tokens(bodyBytes), output_tokens: tokens(JSON.stringify(item).length) };
  const wireUsage = {
    input_tokens: usage.input_tokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: usage.output_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.input_tokens + usage.output_tokens,
  };
  const base = { id: responseId, object: 'response', created_at: 1_767_225_600 + seq, model, status: 'in_progress', output: [] as unknown[], usage: null };
  const done = { ...base, status: 'completed', output: [item], usage: wireUsage };
  const toolName = item.type === 'function_call' ? shell!.name : null;
  if (body['stream'] !== true) return { kind, responseId, usage, toolName, events: null, json: done };

  const raw: Record<string, unknown>[] = [
    { type: 'response.created', response: base },
    { type: 'response.in_progress', response: base },
  ];
  if (item.type === 'function_call') {
    const args = String(item['arguments']);
    raw.push(
      { type: 'response.output_item.added', output_index: 0, item: { ...item, arguments: '', status: 'in_progress' } },
      { type: 'response.function_call_arguments.delta', item_id: item.id, output_index: 0, delta: args.slice(0, 8) },
      { type: 'response.function_call_arguments.delta', item_id: item.id, output_index: 0, delta: args.slice(8) },
      { type: 'response.function_call_arguments.done', item_id: item.id, output_index: 0, arguments: args },
    );
  } else {
    const part = { type: 'output_text', text: '', annotations: [] };
    raw.push(
      { type: 'response.output_item.added', output_index: 0, item: { ...item, status: 'in_progress', content: [] } },
      { type: 'response.content_part.added', item_id: item.id, output_index: 0, content_index: 0, part },
      { type: 'response.output_text.delta', item_id: item.id, output_index: 0, content_index: 0, delta: text.slice(0, 9) },
      { type: 'response.output_text.delta', item_id: item.id, output_index: 0, content_index: 0, delta: text.slice(9) },
      { type: 'response.output_text.done', item_id: item.id, output_index: 0, content_index: 0, text },
      { type: 'response.content_part.done', item_id: item.id, output_index: 0, content_index: 0, part: { ...part, text } },
    );
  }
  raw.push({ type: 'response.output_item.done', output_index: 0, item }, { type: 'response.completed', response: done });
  const events = raw.map((e, i) => sse(String(e['type']), { ...e, sequence_number: i }));
  return { kind, responseId, usage, toolName, events, json: null };
}
