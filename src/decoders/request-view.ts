/**
 * What the turn tracker (DESIGN §5) needs to know of a request's conversation, read from the
 * parsed request JSON of each wire API: Anthropic `messages`, OpenAI Chat `messages`, OpenAI
 * Responses `input`, Gemini `contents`. Cheap by design: the first messages and the last one are
 * read, the rest is only counted and scanned for its first tool call; texts are hashed and
 * previewed up to caps. Pure, never throws: a body of the wrong shape gives an empty view.
 */
import { createHash, type Hash } from 'node:crypto';
import { arr, num, obj, str, type JsonObject } from './json.js';

export interface RequestView {
  /** Messages (or Responses input items, or Gemini contents) in the request. */
  messageCount: number;
  /** The last message is a real user message: typed text (or an image), not only tool results
   * or client-injected context such as Claude Code's `<system-reminder>` blocks. */
  lastIsUserPrompt: boolean;
  /** That user text with injected context removed and whitespace collapsed, capped; else null. */
  userPreview: string | null;
  /** Hash of the first user message: a conversation's identity before its first answer (tells a
   * sub-agent's conversation from its parent's). */
  openingUserHash: string | null;
  /** Hash of the opening (first user message + first assistant message), null before the first
   * answer: stable for the whole conversation afterwards. See openingHashOf. */
  openingHash: string | null;
  /** First tool-call id of the first assistant message, when that message called a tool: the
   * conversation's anchor (ids are unique, unlike opening texts). */
  anchorToolCallId: string | null;
  /** The history (any assistant message) holds a tool call or the last message a tool result. */
  historyHasTools: boolean;
  /** Tool-result ids in the last message, in order (capped); for APIs with one message per
   * result (Chat `tool` messages, Responses `*_call_output` items), the trailing run of them. */
  toolResultIds: string[];
  /** Claude Code background sub-agents launched by the tool results of the last message: the
   * `agentId: a…` of an `Async agent launched successfully` result of the `Agent` tool. */
  launchedAgentIds: string[];
  /** `<task-id>` of the `<task-notification>`s in the trailing user messages: Claude Code's
   * notice that a background sub-agent (or task) finished, sent as a user message that the user
   * did not type (`[SYSTEM NOTIFICATION - NOT USER INPUT]`). */
  taskNotificationIds: string[];
  /** Anthropic `metadata.user_id` (Claude Code carries its session id in it). */
  metadataUserId: string | null;
  /** Start of the system prompt (Anthropic `system`, the first system/developer message, Responses
   * `instructions`, Gemini `systemInstruction`), whitespace collapsed, capped. */
  systemPreview: string | null;
  systemHash: string | null;
  /** `max_tokens` / `max_output_tokens` / `max_completion_tokens` / `generationConfig.maxOutputTokens`. */
  maxTokens: number | null;
  /** OpenAI Responses `previous_response_id` (a conversation chained on the server). */
  previousResponseId: string | null;
}

/** 300 characters: a line in a table or a log stays readable; the full text is in the calls. */
export const PREVIEW_CHARS = 300;
/** Hashing reads at most 64 KiB per message, and of a long text piece only its head (4 KiB),
 * its length and its tail (8 KiB): Claude Code's first user message opens with tens of KB of
 * reminders that every conversation of a project shares, and the typed prompt comes last. */
const HASH_CHARS = 64 * 1024;
const PIECE_HEAD = 4 * 1024;
const PIECE_TAIL = 8 * 1024;
/** Claude Code answers with at most a few dozen parallel tool calls; 64 ids is plenty. */
const TOOL_RESULT_IDS_CAP = 64;
/** 16 hex digits (64 bits) of SHA-256: collisions need ~4e9 conversations. */
const HASH_HEX = 16;

/** Tags of context clients inject as user text (Claude Code's `<system-reminder>` and
 * `<task-notification>`, Codex's `<environment_context>` and `<user_instructions>`): not something
 * the user typed. They nest (a Claude Code hook's reminder inside a reminder, seen in tokenscope's
 * keepalive capture; a task notification inside a reminder, Claude Code 2.1.331). */
const INJECTED_TAG = /<(\/?)(?:system-reminder|environment_context|user_instructions|task-notification)>/g;
/** Claude Code 2.1.331 opens the text of a background-task notification with this line (inside a
 * `<system-reminder>`); a piece that starts with it is the client's, even unwrapped. */
const NOTIFICATION_MARK = '[SYSTEM NOTIFICATION - NOT USER INPUT]';
/** `<task-id>` of a `<task-notification>` (test/clients/OBSERVED.md); read only from texts that
 * hold a notification. */
const TASK_ID = /<task-id>([^<\s]{1,64})<\/task-id>/g;
/** The `Agent` tool's result for a background launch: "Async agent launched successfully. (…)
 * \nagentId: a2c9216c4a1967215 (…)" (Claude Code 2.1.331). */
const AGENT_LAUNCHED = /^\s*Async agent launched successfully[\s\S]{0,600}?\bagentId: ([A-Za-z0-9_-]{1,64})/;
/** Tool-result text read for a launch notice: the notice is in its first few hundred characters. */
const LAUNCH_SCAN_CHARS = 1024;
/** Trailing context-only messages skipped to find the last real one: Claude Code adds one or two
 * (`role: "system"` environment blocks, a notification); 32 keeps a hostile body from making the
 * view read every message. */
const TRAILING_CONTEXT_CAP = 32;
/** Agent ids per view: Claude Code launches a handful of sub-agents at once. */
const AGENT_IDS_CAP = 64;

/** The text outside injected blocks (nesting counted; an unclosed block runs to the end). */
export function stripInjected(text: string): string {
  let out = '';
  let depth = 0;
  let from = 0;
  INJECTED_TAG.lastIndex = 0;
  for (let m = INJECTED_TAG.exec(text); m !== null; m = INJECTED_TAG.exec(text)) {
    if (depth === 0) out += text.slice(from, m.index);
    depth = m[1] === '/' ? Math.max(0, depth - 1) : depth + 1;
    from = m.index + m[0].length;
  }
  if (depth === 0) out += text.slice(from);
  return out;
}

export function emptyView(): RequestView {
  return {
    messageCount: 0,
    lastIsUserPrompt: false,
    userPreview: null,
    openingUserHash: null,
    openingHash: null,
    anchorToolCallId: null,
    historyHasTools: false,
    toolResultIds: [],
    launchedAgentIds: [],
    taskNotificationIds: [],
    metadataUserId: null,
    systemPreview: null,
    systemHash: null,
    maxTokens: null,
    previousResponseId: null,
  };
}

/** The view of a request body for `api` (the DecodedCall api names); null for other APIs or a
 * body that is not a JSON object. */
export function requestViewOf(api: string, body: unknown): RequestView | null {
  const b = obj(body);
  if (b === null) return null;
  try {
    switch (api) {
      case 'anthropic.messages':
        return anthropicView(b);
      case 'openai.chat_completions':
        return chatView(b);
      case 'openai.responses':
        return responsesView(b);
      case 'gemini.generate_content':
        return geminiView(b);
      default:
        return null;
    }
  } catch {
    // Every read is narrowed; this only guards against the unforeseen (DESIGN §1: never throw).
    return null;
  }
}

/** The opening hash of a conversation whose first user message hashes to `userHash` and whose
 * first assistant message says `assistantText` and calls `toolNames`. The tracker computes it
 * from a first call's response to recognise that call's conversation in the next request. */
export function openingHashOf(userHash: string, assistantText: string, toolNames: readonly string[]): string {
  return hashHex(`${userHash}\u0000${assistantText.trim()}\u0000${toolNames.join(',')}`);
}

export function hashHex(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, HASH_HEX);
}

/** Whitespace collapsed and capped at PREVIEW_CHARS. */
export function preview(s: string): string | null {
  const t = s.slice(0, PREVIEW_CHARS * 4).replace(/\s+/g, ' ').trim();
  if (t === '') return null;
  return t.length > PREVIEW_CHARS ? `${t.slice(0, PREVIEW_CHARS)}…` : t;
}

/** Collects the text pieces of one message for hashing (capped) without joining them. */
class TextHash {
  private readonly h: Hash = createHash('sha256');
  private left = HASH_CHARS;
  add(s: string): void {
    if (this.left <= 0) return;
    if (s.length > PIECE_HEAD + PIECE_TAIL) {
      this.h.update(s.slice(0, PIECE_HEAD));
      this.h.update(`\u0000${s.length}\u0000`);
      this.h.update(s.slice(s.length - PIECE_TAIL));
      this.left -= PIECE_HEAD + PIECE_TAIL;
    } else {
      this.h.update(s);
      this.left -= s.length;
    }
  }
  hex(): string {
    return this.h.digest('hex').slice(0, HASH_HEX);
  }
}

/** One message reduced to what the view needs. */
interface Msg {
  role: 'user' | 'assistant' | 'tool' | 'system' | 'other';
  /** Text pieces (user or assistant text; not tool results). */
  texts: string[];
  /** The user attached an image or a file. */
  media: boolean;
  toolCallIds: (string | null)[];
  toolNames: string[];
  toolResultIds: string[];
  toolResults: boolean;
  /** Sub-agent ids from background-launch notices among the tool results. */
  launchedAgentIds: string[];
}

function msg(role: Msg['role']): Msg {
  return { role, texts: [], media: false, toolCallIds: [], toolNames: [], toolResultIds: [], toolResults: false, launchedAgentIds: [] };
}

/** What the user typed in a message: its text outside injected blocks and client notices. */
function typedText(m: Msg): string {
  const out: string[] = [];
  for (const t of m.texts) {
    const typed = stripInjected(t);
    if (!typed.trimStart().startsWith(NOTIFICATION_MARK)) out.push(typed);
  }
  return out.join('\n');
}

/** A message that is only context the client added after the real last message: a system or
 * developer message (Claude Code 2.1.331 puts its environment block after the prompt, and other
 * `role: "system"` messages after tool results), or a user message without typed text, media or
 * tool results (reminders, background-task notifications). */
function contextOnly(m: Msg): boolean {
  if (m.role === 'system') return true;
  return m.role === 'user' && !m.toolResults && !m.media && preview(typedText(m)) === null;
}

/** Task ids of the `<task-notification>`s in a message's texts. */
function pushTaskIds(into: string[], m: Msg): void {
  for (const t of m.texts) {
    if (!t.includes('<task-notification>')) continue;
    TASK_ID.lastIndex = 0;
    for (let x = TASK_ID.exec(t); x !== null && into.length < AGENT_IDS_CAP; x = TASK_ID.exec(t)) {
      if (!into.includes(x[1]!)) into.push(x[1]!);
    }
  }
}

/** Notes the agent id when a tool result's text is a background-launch notice. */
function noteLaunch(m: Msg, text: string | null): void {
  if (text === null || m.launchedAgentIds.length >= AGENT_IDS_CAP) return;
  const x = AGENT_LAUNCHED.exec(text.slice(0, LAUNCH_SCAN_CHARS));
  if (x !== null && !m.launchedAgentIds.includes(x[1]!)) m.launchedAgentIds.push(x[1]!);
}

/** The text of a tool result's content (a string, or text blocks/parts): only its head. */
function resultText(content: unknown): string | null {
  if (typeof content === 'string') return content;
  for (const p of arr(content)) {
    const t = str(obj(p)?.['text']);
    if (t !== null) return t;
  }
  return null;
}

function roleOf(r: unknown): Msg['role'] {
  switch (r) {
    case 'user':
      return 'user';
    case 'assistant':
    case 'model': // Gemini
      return 'assistant';
    case 'tool':
    case 'function':
      return 'tool';
    case 'system':
    case 'developer':
      return 'system';
    default:
      return 'other';
  }
}

/** Builds the view from messages read lazily: `at(i)` reduces message i. */
function viewFrom(count: number, at: (i: number) => Msg, system: readonly string[], b: JsonObject): RequestView {
  const v = emptyView();
  v.messageCount = count;
  if (system.length > 0) {
    // Pieces are read in place: joining a 30 KB system prompt only to preview and hash it costs
    // more than the rest of the view.
    let head = '';
    const th = new TextHash();
    for (const part of system) {
      if (head.length < PREVIEW_CHARS * 4) head += (head === '' ? '' : '\n') + part.slice(0, PREVIEW_CHARS * 4);
      th.add(part);
    }
    v.systemPreview = preview(head);
    v.systemHash = th.hex();
  }
  v.maxTokens =
    num(b['max_tokens']) ?? num(b['max_output_tokens']) ?? num(b['max_completion_tokens']) ?? num(obj(b['generationConfig'])?.['maxOutputTokens']);
  v.previousResponseId = str(b['previous_response_id']);
  v.metadataUserId = str(obj(b['metadata'])?.['user_id']);
  if (count === 0) return v;

  // Opening: the first user message and the first assistant message after it.
  let firstUser: Msg | null = null;
  let i = 0;
  for (; i < count; i++) {
    const m = at(i);
    if (m.role === 'user') {
      firstUser = m;
      break;
    }
  }
  if (firstUser !== null) {
    const th = new TextHash();
    for (const t of firstUser.texts) th.add(t);
    v.openingUserHash = th.hex();
  }
  for (i = i + 1; i < count; i++) {
    const m = at(i);
    if (m.role !== 'assistant') continue;
    if (v.openingUserHash !== null) v.openingHash = openingHashOf(v.openingUserHash, m.texts.join(''), m.toolNames);
    const id = m.toolCallIds[0];
    if (id !== undefined && id !== null) v.anchorToolCallId = id;
    break;
  }
  // Tool calls anywhere in the history: scanning stops at the first one found.
  for (let k = 0; k < count && !v.historyHasTools; k++) {
    const m = at(k);
    if (m.toolCallIds.length > 0 || m.toolResults) v.historyHasTools = true;
  }

  // The real last message: trailing context the client appended after it is skipped.
  let lastIdx = count - 1;
  while (lastIdx > 0 && count - 1 - lastIdx < TRAILING_CONTEXT_CAP && contextOnly(at(lastIdx))) lastIdx--;
  for (let k = lastIdx; k < count; k++) if (at(k).role === 'user') pushTaskIds(v.taskNotificationIds, at(k));
  const last = at(lastIdx);
  v.launchedAgentIds = last.launchedAgentIds.slice(0, AGENT_IDS_CAP);
  if (last.role === 'tool') {
    // One message per result (Chat `tool` messages, Responses `*_call_output` items): the
    // trailing run of them is "the last message" (parallel tool calls).
    for (let k = lastIdx; k >= 0 && v.toolResultIds.length < TOOL_RESULT_IDS_CAP && at(k).role === 'tool'; k--) {
      v.toolResultIds.unshift(...at(k).toolResultIds);
      for (const a of at(k).launchedAgentIds) if (v.launchedAgentIds.length < AGENT_IDS_CAP) v.launchedAgentIds.push(a);
    }
    v.toolResultIds = v.toolResultIds.slice(0, TOOL_RESULT_IDS_CAP);
  } else {
    v.toolResultIds = last.toolResultIds.slice(0, TOOL_RESULT_IDS_CAP);
  }
  // User text right after tool results belongs to that tool round-trip (Anthropic would carry it
  // in the same message as the results): e.g. a slash command's expansion in the Claude Agent
  // SDK over Chat Completions (tokenscope's keepalive capture).
  const afterResults = lastIdx >= 1 && at(lastIdx - 1).toolResults;
  if (last.role === 'user' && !last.toolResults && !afterResults) {
    const p = preview(typedText(last));
    if (p !== null || last.media) {
      v.lastIsUserPrompt = true;
      v.userPreview = p;
    }
  }
  return v;
}

/** Messages are reduced on demand and remembered: the first, opening and last are read twice. */
function lazy(items: unknown[], reduce: (x: unknown) => Msg): (i: number) => Msg {
  const memo = new Map<number, Msg>();
  return (i) => {
    let m = memo.get(i);
    if (m === undefined) {
      m = reduce(items[i]);
      memo.set(i, m);
    }
    return m;
  };
}

// --- Anthropic Messages (https://docs.anthropic.com/en/api/messages) -------------------------

function anthropicView(b: JsonObject): RequestView {
  const items = arr(b['messages']);
  return viewFrom(items.length, lazy(items, anthropicMsg), anthropicSystem(b['system']), b);
}

function anthropicSystem(s: unknown): string[] {
  if (typeof s === 'string') return [s];
  const parts: string[] = [];
  for (const blk of arr(s)) {
    const t = str(obj(blk)?.['text']);
    if (t !== null) parts.push(t);
  }
  return parts;
}

function anthropicMsg(x: unknown): Msg {
  const o = obj(x);
  const m = msg(roleOf(o?.['role']));
  const content = o?.['content'];
  if (typeof content === 'string') {
    m.texts.push(content);
    return m;
  }
  for (const blk of arr(content)) {
    const c = obj(blk);
    if (c === null) continue;
    switch (c['type']) {
      case 'text':
        m.texts.push(str(c['text']) ?? '');
        break;
      case 'image':
      case 'document':
        m.media = true;
        break;
      case 'tool_use':
      case 'server_tool_use':
        m.toolCallIds.push(str(c['id']));
        m.toolNames.push(str(c['name']) ?? '');
        break;
      case 'tool_result':
        m.toolResults = true;
        pushId(m.toolResultIds, str(c['tool_use_id']));
        noteLaunch(m, resultText(c['content']));
        break;
      default:
        break;
    }
  }
  return m;
}

// --- OpenAI Chat Completions (https://platform.openai.com/docs/api-reference/chat/create) ----

function chatView(b: JsonObject): RequestView {
  const items = arr(b['messages']);
  const system: string[] = [];
  const first = obj(items[0]);
  if (first !== null && (first['role'] === 'system' || first['role'] === 'developer')) chatText(first['content'], system);
  return viewFrom(items.length, lazy(items, chatMsg), system, b);
}

/** Pushes the texts of a Chat content (string or parts) to `into`. */
function chatText(content: unknown, into: string[]): void {
  if (typeof content === 'string') {
    into.push(content);
    return;
  }
  for (const p of arr(content)) {
    const t = str(obj(p)?.['text']);
    if (t !== null) into.push(t);
  }
}

function chatMsg(x: unknown): Msg {
  const o = obj(x);
  const m = msg(roleOf(o?.['role']));
  if (o === null) return m;
  chatText(o['content'], m.texts);
  for (const p of arr(o['content'])) {
    const t = obj(p)?.['type'];
    if (t === 'image_url' || t === 'input_audio' || t === 'file') m.media = true;
  }
  for (const tc of arr(o['tool_calls'])) {
    const c = obj(tc);
    m.toolCallIds.push(str(c?.['id']));
    m.toolNames.push(str(obj(c?.['function'])?.['name']) ?? '');
  }
  const fc = obj(o['function_call']);
  if (fc !== null) {
    m.toolCallIds.push(null);
    m.toolNames.push(str(fc['name']) ?? '');
  }
  if (m.role === 'tool') {
    m.toolResults = true;
    pushId(m.toolResultIds, str(o['tool_call_id']));
    noteLaunch(m, resultText(o['content']));
  }
  return m;
}

// --- OpenAI Responses (https://platform.openai.com/docs/api-reference/responses/create) ------

function responsesView(b: JsonObject): RequestView {
  const input = b['input'];
  const instructions = str(b['instructions']);
  let system: string[] = instructions === null ? [] : [instructions];
  if (typeof input === 'string') {
    return viewFrom(1, () => ({ ...msg('user'), texts: [input] }), system, b);
  }
  const items = arr(input);
  // Responses tool outputs are items of their own: viewFrom takes consecutive outputs at the end
  // as "the last message" (Codex sends every result of a parallel call as one trailing run).
  const reduce = lazy(items, responsesItem);
  if (instructions === null && items.length > 0 && reduce(0).role === 'system') system = reduce(0).texts;
  return viewFrom(items.length, reduce, system, b);
}

function responsesItem(x: unknown): Msg {
  const o = obj(x);
  if (o === null) return msg('other');
  const type = str(o['type']);
  if (type === null || type === 'message') {
    const m = msg(roleOf(o['role']));
    const content = o['content'];
    if (typeof content === 'string') m.texts.push(content);
    for (const p of arr(content)) {
      const c = obj(p);
      const t = str(c?.['text']);
      if (t !== null) m.texts.push(t);
      if (c?.['type'] === 'input_image' || c?.['type'] === 'input_file') m.media = true;
    }
    return m;
  }
  // `function_call`, `custom_tool_call`, `local_shell_call`, hosted `*_call`s: the model called a
  // tool. `*_call_output`: its result, keyed by `call_id`.
  if (type.endsWith('_call_output')) {
    const m = msg('tool');
    m.toolResults = true;
    pushId(m.toolResultIds, str(o['call_id']));
    return m;
  }
  if (type.endsWith('_call')) {
    const m = msg('assistant');
    m.toolCallIds.push(str(o['call_id']) ?? str(o['id']));
    m.toolNames.push(str(o['name']) ?? type);
    return m;
  }
  return msg('other'); // reasoning, item_reference, …
}

// --- Gemini (https://ai.google.dev/api/generate-content) -------------------------------------

function geminiView(b: JsonObject): RequestView {
  const items = arr(b['contents']);
  const si = obj(b['systemInstruction'] ?? b['system_instruction']);
  const sys: string[] = [];
  for (const p of arr(si?.['parts'])) {
    const t = str(obj(p)?.['text']);
    if (t !== null) sys.push(t);
  }
  return viewFrom(items.length, lazy(items, geminiContent), sys, b);
}

function geminiContent(x: unknown): Msg {
  const o = obj(x);
  // A content without a role is the user's (single-turn requests omit it).
  const m = msg(o?.['role'] === undefined ? 'user' : roleOf(o['role']));
  for (const p of arr(o?.['parts'])) {
    const part = obj(p);
    if (part === null) continue;
    const t = str(part['text']);
    if (t !== null && part['thought'] !== true) m.texts.push(t);
    if (part['inlineData'] !== undefined || part['fileData'] !== undefined) m.media = true;
    const fc = obj(part['functionCall']);
    if (fc !== null) {
      m.toolCallIds.push(str(fc['id']));
      m.toolNames.push(str(fc['name']) ?? '');
    }
    const fr = obj(part['functionResponse']);
    if (fr !== null) {
      m.toolResults = true;
      pushId(m.toolResultIds, str(fr['id']) ?? str(fr['name']));
    }
  }
  return m;
}

function pushId(into: string[], id: string | null): void {
  if (id !== null && into.length < TOOL_RESULT_IDS_CAP) into.push(id);
}
