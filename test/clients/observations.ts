/**
 * Reading the server's request log: which calls belong to the agent's turn, which session id the
 * client itself used (from its headers and its body), and a redacted summary of each request for
 * OBSERVED.md.
 */
import type { ObservedRequest } from './agent-server.js';

/** Characters of the last user input kept in a summary. */
const PREVIEW_CHARS = 120;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJsonObject(text: string | undefined): Record<string, unknown> | null {
  if (text === undefined) return null;
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) ? v : null;
  } catch {
    return null;
  }
}

/** A call of the agent's loop: an LLM call that offered the shell tool (auxiliary calls —
 * titles, quota probes, token counts — offer none or are not LLM calls). */
export function isAgentCall(r: ObservedRequest): boolean {
  return r.answer === 'tool_call' || r.answer === 'text';
}

/** A call of the main agent's own loop (not a sub-agent's). */
export function isMainCall(r: ObservedRequest): boolean {
  return isAgentCall(r) && r.agentId === null;
}

/** A call of a Claude Code sub-agent's loop. */
export function isSubagentCall(r: ObservedRequest): boolean {
  return isAgentCall(r) && r.agentId !== null;
}

/** A main call whose last user message is Claude Code's notification that a background task
 * (sub-agent) finished. */
export function isTaskNotificationCall(r: ObservedRequest): boolean {
  if (!isMainCall(r) || !isObject(r.body) || !Array.isArray(r.body['messages'])) return false;
  const users = r.body['messages'].filter((m: unknown) => isObject(m) && m['role'] === 'user');
  return JSON.stringify(users[users.length - 1] ?? null).includes('<task-notification>');
}

/** `metadata.user_id` of an Anthropic request: a JSON string (`{"device_id","account_uuid",
 * "session_id"}`) since Claude Code 2.x, `user_<hash>_account_…_session_<uuid>` before. */
export function claudeUserIdSession(r: ObservedRequest): string | null {
  if (!isObject(r.body) || !isObject(r.body['metadata'])) return null;
  const userId = r.body['metadata']['user_id'];
  if (typeof userId !== 'string') return null;
  const asJson = parseJsonObject(userId);
  if (asJson && typeof asJson['session_id'] === 'string') return asJson['session_id'];
  return /_session_([0-9a-f-]{36})$/.exec(userId)?.[1] ?? null;
}

/** Codex's `X-Codex-Turn-Metadata` header (JSON): session_id, turn_id, request_kind… */
export function codexTurnMetadata(r: ObservedRequest): Record<string, unknown> | null {
  return parseJsonObject(r.headers['x-codex-turn-metadata']);
}

/** Every session id the client put on its main calls, by where it put it. */
export function clientSessionIds(client: 'claude' | 'codex', requests: readonly ObservedRequest[]): Record<string, string[]> {
  const found: Record<string, Set<string>> = {};
  const add = (where: string, id: unknown): void => {
    if (typeof id !== 'string' || id === '') return;
    (found[where] ??= new Set()).add(id);
  };
  for (const r of requests.filter(isAgentCall)) {
    if (client === 'claude') {
      add('header x-claude-code-session-id', r.headers['x-claude-code-session-id']);
      add('body metadata.user_id', claudeUserIdSession(r));
    } else {
      add('header session-id', r.headers['session-id'] ?? r.headers['session_id']);
      add('header x-codex-turn-metadata .session_id', codexTurnMetadata(r)?.['session_id']);
      const cm = isObject(r.body) && isObject(r.body['client_metadata']) ? r.body['client_metadata'] : null;
      add('body client_metadata.session_id', cm?.['session_id']);
    }
  }
  return Object.fromEntries(Object.entries(found).map(([k, v]) => [k, [...v]]));
}

/** True when the request's JSON body contains `text` anywhere (the tool output the agent
 * reports back, for instance). */
export function bodyContains(r: ObservedRequest, text: string): boolean {
  return JSON.stringify(r.body ?? null).includes(text);
}

/** Roles/types of the conversation items, in order: "user", "assistant", "tool_result"… */
function conversationShape(body: Record<string, unknown>): string[] {
  const items = Array.isArray(body['messages']) ? body['messages'] : Array.isArray(body['input']) ? body['input'] : [];
  return items.map((m: unknown) => {
    if (!isObject(m)) return typeof m;
    const role = typeof m['role'] === 'string' ? m['role'] : null;
    const type = typeof m['type'] === 'string' ? m['type'] : null;
    const content = m['content'];
    const blocks = Array.isArray(content) ? content.flatMap((b) => (isObject(b) && typeof b['type'] === 'string' ? [b['type']] : [])) : [];
    return [type, role].filter((x) => x !== null).join(':') + (blocks.length > 0 ? `[${blocks.join(',')}]` : '');
  });
}

/** Ids that identify a machine or an install (not secrets, but nobody else's business) are
 * shortened in what is written out. */
function shortenIds(text: string): string {
  return text.replace(/\b[0-9a-f]{64}\b/g, (h) => `${h.slice(0, 6)}…(64 hex)`);
}

/** A redacted view of one request, for `.scratch/observed/*.json` and OBSERVED.md. */
export function summariseRequest(r: ObservedRequest): Record<string, unknown> {
  const body = isObject(r.body) ? r.body : null;
  const summary: Record<string, unknown> = {
    seq: r.seq,
    label: r.label,
    method: r.method,
    path: r.path,
    query: r.query,
    headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, shortenIds(v)])),
    body_bytes: r.bodyBytes,
    kind: r.kind,
    answer: r.answer,
    tool_called: r.toolCalled,
    model: r.model,
    stream: r.stream,
    max_tokens: r.maxTokens,
    tools_offered: r.toolsOffered,
    system_head: r.systemHead,
  };
  if (body) {
    summary['body_keys'] = Object.keys(body);
    const { messages: _m, input: _i, tools: _t, system: _s, instructions: _n, ...scalars } = body;
    summary['body_other_fields'] = JSON.parse(shortenIds(JSON.stringify(scalars))) as unknown;
    const shape = conversationShape(body);
    summary['conversation'] = shape;
    const items = Array.isArray(body['messages']) ? body['messages'] : Array.isArray(body['input']) ? body['input'] : [];
    const last: unknown = items[items.length - 1];
    summary['last_item_preview'] = JSON.stringify(last ?? null).slice(0, PREVIEW_CHARS);
  }
  return summary;
}
