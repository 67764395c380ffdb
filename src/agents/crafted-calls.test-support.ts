/**
 * Crafted agent calls for the agent tests: request and response bodies of each wire API, run
 * through the real registry and record builder, so the tracker sees what the pipeline gives it.
 */
import type { Micros } from '../core/time.js';
import { decodeExchange } from '../decoders/registry.js';
import { makeExchange, T0 } from '../decoders/test-helpers.test-support.js';
import { buildCallRecord } from '../pipeline/call-record.js';
import { agentCallInput, type AgentCallInput } from './profiles.js';

export type CraftApi = 'anthropic' | 'chat' | 'responses' | 'bedrock-invoke' | 'bedrock-converse';

export interface CraftSpec {
  api?: CraftApi;
  headers?: Record<string, string>;
  /** The request body (JSON). */
  body: object;
  /** The non-streamed response body (JSON). */
  response: object;
  /** Request start, seconds after T0. */
  at: number;
  /** Response end − request start, seconds (default 1). */
  seconds?: number;
  /** Connection position (distinct ids for calls at the same time); default from `at`. */
  seq?: number;
  clientPort?: number;
}

const TARGET: Record<CraftApi, string> = {
  anthropic: '/v1/messages?beta=true',
  chat: '/v1/chat/completions',
  responses: '/v1/responses',
  // Bedrock runtime paths (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html,
  // API_runtime_Converse.html): the model id is in the path, percent-encoded.
  'bedrock-invoke': `/model/${encodeURIComponent('us.anthropic.claude-sonnet-4-5-20250929-v1:0')}/invoke`,
  'bedrock-converse': `/model/${encodeURIComponent('us.anthropic.claude-sonnet-4-5-20250929-v1:0')}/converse`,
};

export function us(seconds: number): Micros {
  return T0 + Math.round(seconds * 1_000_000);
}

export function craft(spec: CraftSpec): AgentCallInput {
  const api = spec.api ?? 'anthropic';
  const reqStart = us(spec.at);
  const resStart = reqStart + Math.round((spec.seconds ?? 1) * 1_000_000);
  const base: Record<string, string> =
    api === 'anthropic'
      ? { 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }
      : api.startsWith('bedrock')
        ? { host: 'bedrock-runtime.us-east-1.amazonaws.com', 'content-type': 'application/json', authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=00' }
        : { 'content-type': 'application/json' };
  const ex = makeExchange({ target: TARGET[api], reqHeaders: { ...base, ...spec.headers }, reqBody: spec.body, resBody: spec.response, reqStart, resStart });
  ex.seq = spec.seq ?? Math.round(spec.at * 1000);
  if (spec.clientPort !== undefined) ex.connection.client.port = spec.clientPort;
  const r = decodeExchange(ex);
  if (!('call' in r)) throw new Error(`crafted call not decoded: ${r.notLlm}`);
  const record = buildCallRecord(ex, r.call, { source: 'test', fingerprintSalt: 's' });
  return agentCallInput(record, ex, r.call);
}

// --- Anthropic, shaped like Claude Code ------------------------------------------------------

export const CLAUDE_TOOLS = ['Agent', 'Bash', 'Read', 'Edit'];
export const SUBAGENT_TOOLS = ['Bash', 'Read', 'Grep'];

/** Tools of Claude Code 2.1.331 (test/clients/OBSERVED.md): main calls, and sub-agent calls
 * (which still offer `Agent`). */
export const CLAUDE_2_1_331_TOOLS = ['Agent', 'Bash', 'Edit', 'ListAgents', 'Read', 'ReportFindings', 'ScheduleWakeup', 'Skill', 'ToolSearch', 'Workflow', 'DeferredToolPlaceholder', 'Write'];
export const CLAUDE_2_1_331_SUBAGENT_TOOLS = ['Agent', 'Bash', 'Edit', 'Read', 'Skill', 'ToolSearch', 'DeferredToolPlaceholder', 'Write'];
/** Claude Code 2.1.331's first system block, main and sub-agent. */
export const BILLING_MAIN = 'x-anthropic-billing-header: cc_version=2.1.331.d8e; cc_entrypoint=sdk-cli;';
export const BILLING_SUB = 'x-anthropic-billing-header: cc_version=2.1.331.43d; cc_entrypoint=sdk-cli; cc_is_subagent=true;';
/** Headers of Claude Code 2.1.331 (`-p`); a sub-agent's add its id, a nested one its parent's. */
export function claude2Headers(session: string, agentId?: string, parentAgentId?: string): Record<string, string> {
  return {
    'user-agent': 'claude-cli/2.1.331 (external, sdk-cli)',
    'x-claude-code-session-id': session,
    'x-app': 'cli',
    ...(agentId !== undefined ? { 'x-claude-code-agent-id': agentId } : {}),
    ...(parentAgentId !== undefined ? { 'x-claude-code-parent-agent-id': parentAgentId } : {}),
  };
}

/** A request body shaped like Claude Code 2.1.331's (main or sub-agent); `messages` may hold
 * `role: "system"` messages, as the real ones do. */
export function claude2Body(messages: object[], o: { subagent?: boolean; session?: string } = {}): object {
  const sub = o.subagent === true;
  return {
    model: 'claude-opus-5-5',
    max_tokens: 128000,
    system: [
      { type: 'text', text: sub ? BILLING_SUB : BILLING_MAIN },
      { type: 'text', text: "You are a Claude agent, built on Anthropic's Claude Agent SDK." },
    ],
    messages,
    tools: (sub ? CLAUDE_2_1_331_SUBAGENT_TOOLS : CLAUDE_2_1_331_TOOLS).map((name) => ({ name, description: name, input_schema: { type: 'object' } })),
    metadata: { user_id: JSON.stringify({ device_id: 'd'.repeat(64), account_uuid: '', session_id: o.session ?? 'sess' }) },
    stream: false,
  };
}

export function claudeHeaders(session: string): Record<string, string> {
  return { 'user-agent': 'claude-cli/2.1.104 (external, cli)', 'x-claude-code-session-id': session, 'x-app': 'cli' };
}

export type Block = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: object } | { type: 'tool_result'; tool_use_id: string; content: string };

export interface AnthropicMsg {
  role: 'user' | 'assistant';
  content: string | Block[];
}

export function claudeBody(messages: AnthropicMsg[], o: { tools?: string[]; system?: string; maxTokens?: number } = {}): object {
  return {
    model: 'claude-sonnet-4-5',
    max_tokens: o.maxTokens ?? 32000,
    system: [{ type: 'text', text: o.system ?? "You are Claude Code, Anthropic's official CLI for Claude." }],
    messages,
    tools: (o.tools ?? CLAUDE_TOOLS).map((name) => ({ name, description: name, input_schema: { type: 'object' } })),
    stream: false,
  };
}

let replyN = 0;

/** An Anthropic response: text and/or tool_use blocks; stop_reason follows from them. */
export function anthropicReply(o: { text?: string; tools?: { id: string; name: string; input?: object }[]; input?: number; output?: number; cacheRead?: number }): object {
  const content: unknown[] = [];
  if (o.text !== undefined) content.push({ type: 'text', text: o.text });
  for (const t of o.tools ?? []) content.push({ type: 'tool_use', id: t.id, name: t.name, input: t.input ?? {} });
  return {
    id: `msg_${++replyN}`,
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5',
    content,
    stop_reason: (o.tools ?? []).length > 0 ? 'tool_use' : 'end_turn',
    usage: { input_tokens: o.input ?? 100, output_tokens: o.output ?? 20, cache_read_input_tokens: o.cacheRead ?? 0, cache_creation_input_tokens: 0 },
  };
}

export function toolUse(id: string, name: string, input: object = {}): Block {
  return { type: 'tool_use', id, name, input };
}

export function toolResult(id: string, content = 'ok'): Block {
  return { type: 'tool_result', tool_use_id: id, content };
}

// --- OpenAI Chat -----------------------------------------------------------------------------

export function chatBody(messages: object[], tools: string[] = ['read_file']): object {
  return {
    model: 'gpt-4o',
    messages,
    ...(tools.length > 0 ? { tools: tools.map((name) => ({ type: 'function', function: { name, parameters: { type: 'object' } } })) } : {}),
  };
}

export function chatReply(o: { text?: string; calls?: { id: string; name: string; args?: string }[] }): object {
  const calls = o.calls ?? [];
  return {
    id: `chatcmpl-${++replyN}`,
    object: 'chat.completion',
    model: 'gpt-4o',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: o.text ?? null,
          ...(calls.length > 0 ? { tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.args ?? '{}' } })) } : {}),
        },
        finish_reason: calls.length > 0 ? 'tool_calls' : 'stop',
      },
    ],
    usage: { prompt_tokens: 50, completion_tokens: 10, total_tokens: 60 },
  };
}

// --- OpenAI Responses, shaped like Codex -----------------------------------------------------

export function codexHeaders(session: string, turn: string): Record<string, string> {
  return {
    'user-agent': 'codex_exec/0.118.0 (Linux; x86_64)',
    originator: 'codex_exec',
    session_id: session,
    'x-codex-turn-metadata': JSON.stringify({ session_id: session, turn_id: turn }),
  };
}

export function responsesBody(input: object[], o: { tools?: string[]; previous?: string } = {}): object {
  return {
    model: 'gpt-5',
    instructions: 'You are Codex, a coding agent.',
    input,
    tools: (o.tools ?? ['shell']).map((name) => ({ type: 'function', name, parameters: { type: 'object' } })),
    ...(o.previous !== undefined ? { previous_response_id: o.previous } : {}),
  };
}

export function responsesReply(o: { id?: string; text?: string; calls?: { id: string; name: string; args?: string }[] }): object {
  const output: unknown[] = [];
  for (const c of o.calls ?? []) output.push({ type: 'function_call', id: `fc_${c.id}`, call_id: c.id, name: c.name, arguments: c.args ?? '{}', status: 'completed' });
  if (o.text !== undefined) output.push({ type: 'message', id: `msg_${++replyN}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: o.text, annotations: [] }] });
  return {
    id: o.id ?? `resp_${++replyN}`,
    object: 'response',
    status: 'completed',
    model: 'gpt-5',
    output,
    usage: { input_tokens: 80, output_tokens: 12, total_tokens: 92, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } },
  };
}

// --- Bedrock ---------------------------------------------------------------------------------

/** An Anthropic request body as Anthropic's bedrock-sdk sends it to InvokeModel: `model` moves
 * to the path, `anthropic_version: "bedrock-2023-05-31"` into the body, the `anthropic-beta`
 * header into `anthropic_beta`, and `stream` is dropped (the path says it). */
export function bedrockAnthropicBody(anthropicBody: object): object {
  const rest = Object.fromEntries(Object.entries(anthropicBody).filter(([k]) => k !== 'model' && k !== 'stream'));
  return { anthropic_version: 'bedrock-2023-05-31', anthropic_beta: ['claude-code-20250219'], ...rest };
}

export type ConverseBlock = { text: string } | { toolUse: { toolUseId: string; name: string; input: object } } | { toolResult: { toolUseId: string; content: { text: string }[]; status?: string } };

export function converseBody(messages: { role: 'user' | 'assistant'; content: ConverseBlock[] }[], tools: string[] = ['get_weather']): object {
  return {
    system: [{ text: 'You are a helpful agent.' }],
    messages,
    inferenceConfig: { maxTokens: 1024 },
    toolConfig: { tools: tools.map((name) => ({ toolSpec: { name, description: name, inputSchema: { json: { type: 'object' } } } })) },
  };
}

/** A Converse response: text and/or toolUse blocks; stopReason follows from them. */
export function converseReply(o: { text?: string; tools?: { id: string; name: string; input?: object }[] }): object {
  const content: unknown[] = [];
  if (o.text !== undefined) content.push({ text: o.text });
  for (const t of o.tools ?? []) content.push({ toolUse: { toolUseId: t.id, name: t.name, input: t.input ?? {} } });
  return {
    output: { message: { role: 'assistant', content } },
    stopReason: (o.tools ?? []).length > 0 ? 'tool_use' : 'end_turn',
    usage: { inputTokens: 120, outputTokens: 25, totalTokens: 145 },
    metrics: { latencyMs: 900 },
  };
}
