/**
 * What the turn tracker (DESIGN §5) needs to know of a request's conversation, read from the
 * parsed request JSON of each wire API: Anthropic `messages` (also inside Bedrock InvokeModel),
 * OpenAI Chat `messages`, OpenAI Responses `input`, Gemini `contents`, Bedrock Converse `messages`. Cheap by design: the first messages and the last one are
 * read, the rest is only counted and scanned for its first tool call; texts are hashed and
 * previewed up to caps. Pure, never throws: a body of the wrong shape gives an empty view.
 */
import { createHash, hash } from 'node:crypto';
import { arr, num, obj, str } from './json.js';
import { jsonObjectReader, type JsonObjectReader } from './json-reader.js';
import { AGENT_IDS_CAP, conversationOf, msg, TOOL_RESULT_IDS_CAP, type Conversation, type Msg } from './request-messages.js';

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
/** Trailing context-only messages skipped to find the last real one: Claude Code adds one or two
 * (`role: "system"` environment blocks, a notification); 32 keeps a hostile body from making the
 * view read every message. */
const TRAILING_CONTEXT_CAP = 32;

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
  return b === null ? null : requestViewOfReader(api, jsonObjectReader(b));
}

/** The view of a request body read member by member (json-reader.ts); null for other APIs. */
export function requestViewOfReader(api: string, b: JsonObjectReader): RequestView | null {
  try {
    const c = conversationOf(viewApi(api, b), b) ?? (api === BEDROCK_CONVERSE_API ? converseView(b) : null);
    return c === null ? null : viewFrom(c.count, c.at, c.system, b);
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
  // One-shot: the same digest as a Hash object fed the string, without the object (creating one
  // per message cost more than hashing the message's capped text).
  return hash('sha256', s, 'hex').slice(0, HASH_HEX);
}

/** JavaScript's `\s` (and String#trim's set): ECMA-262 WhiteSpace and LineTerminator. */
function isJsSpace(c: number): boolean {
  if (c < 0x80) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * Whitespace collapsed and capped at PREVIEW_CHARS: the same text as
 * `s.slice(0, 4 * PREVIEW_CHARS).replace(/\s+/g, ' ').trim()` capped with `…`, read only as far
 * as the cap needs (the view previews several texts per call, each up to 1,200 characters, and a
 * regex replace over all of them cost more than the rest of the view's string work).
 */
export function preview(s: string): string | null {
  const n = Math.min(s.length, PREVIEW_CHARS * 4);
  let t = '';
  let i = 0;
  for (;;) {
    while (i < n && isJsSpace(s.charCodeAt(i))) i++;
    if (i >= n) break;
    let j = i + 1;
    while (j < n && !isJsSpace(s.charCodeAt(j))) j++;
    // A word: joined to what came before by one space (inner runs collapse, ends are trimmed).
    t = t === '' ? s.slice(i, j) : `${t} ${s.slice(i, j)}`;
    i = j;
    if (t.length > PREVIEW_CHARS) break;
  }
  if (t === '') return null;
  return t.length > PREVIEW_CHARS ? `${t.slice(0, PREVIEW_CHARS)}…` : t;
}

/**
 * Hash of one message's text pieces, capped: the SHA-256 of their UTF-8 in order, reading at most
 * HASH_CHARS, and of a long piece only its head, `\0<length>\0` and its tail. The capped parts
 * are joined and hashed at once; the joined text has the same UTF-8 as the parts in a row except
 * where one part ends in a lone high surrogate and the next starts with a lone low one (joined,
 * they are one character), and only then are the parts fed one by one.
 */
export function textsHashHex(pieces: readonly string[]): string {
  const parts: string[] = [];
  let left = HASH_CHARS;
  for (const s of pieces) {
    if (left <= 0) break;
    if (s.length > PIECE_HEAD + PIECE_TAIL) {
      parts.push(s.slice(0, PIECE_HEAD), `\u0000${s.length}\u0000`, s.slice(s.length - PIECE_TAIL));
      left -= PIECE_HEAD + PIECE_TAIL;
    } else {
      if (s !== '') parts.push(s);
      left -= s.length;
    }
  }
  if (parts.length === 1) return hashHex(parts[0]!);
  if (!surrogatePairAcross(parts)) return hashHex(parts.join(''));
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, HASH_HEX);
}

/** Some part ends in a high surrogate and the next (non-empty) starts with a low surrogate. */
function surrogatePairAcross(parts: readonly string[]): boolean {
  for (let i = 1; i < parts.length; i++) {
    const a = parts[i - 1]!.charCodeAt(parts[i - 1]!.length - 1);
    const b = parts[i]!.charCodeAt(0);
    if (a >= 0xd800 && a <= 0xdbff && b >= 0xdc00 && b <= 0xdfff) return true;
  }
  return false;
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

/** Builds the view from messages read lazily: `at(i)` reduces message i. */
function viewFrom(count: number, at: (i: number) => Msg, system: readonly string[], b: JsonObjectReader): RequestView {
  const v = emptyView();
  v.messageCount = count;
  if (system.length > 0) {
    // Pieces are read in place: joining a 30 KB system prompt only to preview and hash it costs
    // more than the rest of the view.
    let head = '';
    for (const part of system) {
      if (head.length < PREVIEW_CHARS * 4) head += (head === '' ? '' : '\n') + part.slice(0, PREVIEW_CHARS * 4);
    }
    v.systemPreview = preview(head);
    v.systemHash = textsHashHex(system);
  }
  v.maxTokens =
    num(b.get('max_tokens')) ??
    num(b.get('max_output_tokens')) ??
    num(b.get('max_completion_tokens')) ??
    num(b.object('generationConfig')?.get('maxOutputTokens')) ??
    num(b.object('inferenceConfig')?.get('maxTokens')); // Bedrock Converse
  v.previousResponseId = str(b.get('previous_response_id'));
  v.metadataUserId = str(b.object('metadata')?.get('user_id'));
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
  if (firstUser !== null) v.openingUserHash = textsHashHex(firstUser.texts);
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


// --- Bedrock ---------------------------------------------------------------------------------

/** The api names of the Bedrock decoders (bedrock-invoke.ts, bedrock-converse.ts); spelled here
 * so the view does not import the decoders. */
const BEDROCK_INVOKE_API = 'bedrock.invoke_model';
const BEDROCK_CONVERSE_API = 'bedrock.converse';

/**
 * The api whose conversation reader fits the body. An InvokeModel body with `anthropic_version`
 * (`"bedrock-2023-05-31"`) is Anthropic Messages without `model` and `stream`
 * (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages-request-response.html):
 * Claude Code on Bedrock (`CLAUDE_CODE_USE_BEDROCK`, via Anthropic's bedrock-sdk) sends it.
 * Other InvokeModel families (Llama prompts, Titan `inputText`) carry no conversation to read.
 */
function viewApi(api: string, b: JsonObjectReader): string {
  return api === BEDROCK_INVOKE_API && typeof b.get('anthropic_version') === 'string' ? 'anthropic.messages' : api;
}

/**
 * Bedrock Converse: `messages[]` of `{role: "user"|"assistant", content: [block]}` where a block
 * is one of `{text}`, `{image}`, `{document}`, `{video}`, `{toolUse: {toolUseId, name, input}}`,
 * `{toolResult: {toolUseId, content: [{text}|{json}|…], status}}`, `{reasoningContent}`,
 * `{cachePoint}`; `system` is an array of `{text}` (or `{cachePoint}`, `{guardContent}`) blocks.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Message.html and
 * API_runtime_ContentBlock.html.
 */
function converseView(b: JsonObjectReader): Conversation {
  const items = b.array('messages');
  const system: string[] = [];
  for (const blk of arr(b.get('system'))) {
    const t = str(obj(blk)?.['text']);
    if (t !== null) system.push(t);
  }
  const memo = new Map<number, Msg>();
  const at = (i: number): Msg => {
    let m = memo.get(i);
    if (m === undefined) {
      m = converseMsg(items?.at(i));
      memo.set(i, m);
    }
    return m;
  };
  return { count: items?.length ?? 0, at, system };
}

function converseMsg(x: unknown): Msg {
  const o = obj(x);
  const role = o?.['role'];
  const m = msg(role === 'user' ? 'user' : role === 'assistant' ? 'assistant' : 'other');
  for (const blk of arr(o?.['content'])) {
    const c = obj(blk);
    if (c === null) continue;
    const t = str(c['text']);
    if (t !== null) m.texts.push(t);
    if (c['image'] !== undefined || c['document'] !== undefined || c['video'] !== undefined) m.media = true;
    const use = obj(c['toolUse']);
    if (use !== null) {
      m.toolCallIds.push(str(use['toolUseId']));
      m.toolNames.push(str(use['name']) ?? '');
    }
    const result = obj(c['toolResult']);
    if (result !== null) {
      m.toolResults = true;
      const id = str(result['toolUseId']);
      if (id !== null && m.toolResultIds.length < TOOL_RESULT_IDS_CAP) m.toolResultIds.push(id);
    }
  }
  return m;
}
