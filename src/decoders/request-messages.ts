/**
 * Each wire API's conversation, read message by message into one shape (`Msg`) for the request
 * view (request-view.ts): Anthropic `messages` + `system`, OpenAI Chat `messages`, OpenAI
 * Responses `input` + `instructions`, Gemini `contents` + `systemInstruction`. Messages are
 * reduced lazily, so a 200-message history costs only the few the view reads.
 */
import { arr, obj, str } from './json.js';
import type { JsonArrayReader, JsonObjectReader } from './json-reader.js';

/** Agent ids per message and per view: Claude Code launches a handful of sub-agents at once. */
export const AGENT_IDS_CAP = 64;
/** Claude Code answers with at most a few dozen parallel tool calls; 64 ids is plenty. */
export const TOOL_RESULT_IDS_CAP = 64;

/** A request's conversation: how many messages, message i on demand, and the system text. */
export interface Conversation {
  count: number;
  at: (i: number) => Msg;
  system: string[];
}

/** The conversation of a request body of `api` (the DecodedCall api names); null for others.
 * Messages are read from the body one by one (json-reader.ts): most are never parsed. */
export function conversationOf(api: string, b: JsonObjectReader): Conversation | null {
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
}

/** The `Agent` tool's result for a background launch: "Async agent launched successfully. (…)
 * \nagentId: a2c9216c4a1967215 (…)" (Claude Code 2.1.331). */
const AGENT_LAUNCHED = /^\s*Async agent launched successfully[\s\S]{0,600}?\bagentId: ([A-Za-z0-9_-]{1,64})/;

/** Tool-result text read for a launch notice: the notice is in its first few hundred characters. */
const LAUNCH_SCAN_CHARS = 1024;

/** One message reduced to what the view needs. */
export interface Msg {
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

export function msg(role: Msg['role']): Msg {
  return { role, texts: [], media: false, toolCallIds: [], toolNames: [], toolResultIds: [], toolResults: false, launchedAgentIds: [] };
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

/** Messages are reduced on demand and remembered: the first, opening and last are read twice. */
function lazy(items: JsonArrayReader | null, reduce: (x: unknown) => Msg): (i: number) => Msg {
  const memo = new Map<number, Msg>();
  return (i) => {
    let m = memo.get(i);
    if (m === undefined) {
      m = reduce(items?.at(i));
      memo.set(i, m);
    }
    return m;
  };
}

// --- Anthropic Messages (https://docs.anthropic.com/en/api/messages) -------------------------

function anthropicView(b: JsonObjectReader): Conversation {
  const items = b.array('messages');
  return { count: items?.length ?? 0, at: lazy(items, anthropicMsg), system: anthropicSystem(b.get('system')) };
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

function chatView(b: JsonObjectReader): Conversation {
  const items = b.array('messages');
  const system: string[] = [];
  const first = obj(items?.at(0));
  if (first !== null && (first['role'] === 'system' || first['role'] === 'developer')) chatText(first['content'], system);
  return { count: items?.length ?? 0, at: lazy(items, chatMsg), system };
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

function responsesView(b: JsonObjectReader): Conversation {
  const items = b.array('input');
  const instructions = str(b.get('instructions'));
  let system: string[] = instructions === null ? [] : [instructions];
  if (items === null) {
    const input = b.get('input');
    if (typeof input === 'string') return { count: 1, at: () => ({ ...msg('user'), texts: [input] }), system };
  }
  const count = items?.length ?? 0;
  // Responses tool outputs are items of their own: the view takes consecutive outputs at the end
  // as "the last message" (Codex sends every result of a parallel call as one trailing run).
  const reduce = lazy(items, responsesItem);
  if (instructions === null && count > 0 && reduce(0).role === 'system') system = reduce(0).texts;
  return { count, at: reduce, system };
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

function geminiView(b: JsonObjectReader): Conversation {
  const items = b.array('contents');
  const si = obj(b.get('systemInstruction') ?? b.get('system_instruction'));
  const sys: string[] = [];
  for (const p of arr(si?.['parts'])) {
    const t = str(obj(p)?.['text']);
    if (t !== null) sys.push(t);
  }
  return { count: items?.length ?? 0, at: lazy(items, geminiContent), system: sys };
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
