/**
 * Turns a stored request body into the conversation as a person reads it, for the four wire APIs
 * (DESIGN §3). Pure and defensive: the body is captured traffic, possibly truncated (head + tail)
 * or not JSON at all; whatever does not parse becomes `null` and the page shows the raw body.
 *
 * Shapes followed:
 * - OpenAI Chat Completions: `messages[]` {role, content: string | parts[], tool_calls[], tool_call_id}
 * - OpenAI Responses: `instructions`, `input`: string | items[] (message, function_call,
 *   function_call_output, reasoning, custom_tool_call…)
 * - Anthropic Messages: `system`: string | text blocks; `messages[]` with content blocks (text,
 *   thinking, redacted_thinking, tool_use, tool_result, image, document)
 * - Gemini generateContent: `systemInstruction.parts[]`, `contents[]` {role: user|model, parts[]:
 *   text (thought: true = reasoning), functionCall, functionResponse, inlineData, fileData}
 */

export type Part =
  | { kind: 'text'; text: string }
  | { kind: 'reasoning'; text: string }
  | { kind: 'tool_call'; name: string; id: string | null; args: string }
  | { kind: 'tool_result'; id: string | null; name: string | null; text: string; isError: boolean }
  | { kind: 'media'; text: string };

export interface Message {
  /** system, developer, user, assistant, tool. */
  role: string;
  parts: Part[];
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** A value shown as text: strings as they are, anything else as indented JSON. */
function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  return JSON.stringify(v, null, 2);
}

function push(out: Message[], role: string, parts: Part[]): void {
  if (parts.length > 0) out.push({ role, parts });
}

// ───────────────────────────── OpenAI Chat Completions ─────────────────────────────

function chatParts(content: unknown): Part[] {
  if (typeof content === 'string') return content === '' ? [] : [{ kind: 'text', text: content }];
  if (!Array.isArray(content)) return [];
  const parts: Part[] = [];
  for (const p of content) {
    if (!isObj(p)) continue;
    const t = str(p['type']);
    if ((t === 'text' || t === 'input_text' || t === 'output_text') && typeof p['text'] === 'string') parts.push({ kind: 'text', text: p['text'] });
    else if (t === 'refusal' && typeof p['refusal'] === 'string') parts.push({ kind: 'text', text: p['refusal'] });
    else if (t !== null) parts.push({ kind: 'media', text: `[${t}]` });
  }
  return parts;
}

function chatCompletions(body: Obj): Message[] | null {
  const msgs = body['messages'];
  if (!Array.isArray(msgs)) return null;
  const out: Message[] = [];
  for (const m of msgs) {
    if (!isObj(m)) continue;
    const role = str(m['role']) ?? 'unknown';
    const parts: Part[] = [];
    const reasoning = str(m['reasoning_content']) ?? str(m['reasoning']);
    if (reasoning) parts.push({ kind: 'reasoning', text: reasoning });
    if (role === 'tool' || role === 'function') {
      out.push({
        role: 'tool',
        parts: [{ kind: 'tool_result', id: str(m['tool_call_id']), name: str(m['name']), text: chatParts(m['content']).map(partText).join('\n') || asText(m['content']), isError: false }],
      });
      continue;
    }
    parts.push(...chatParts(m['content']));
    const calls = m['tool_calls'];
    if (Array.isArray(calls)) {
      for (const c of calls) {
        if (!isObj(c)) continue;
        const fn = isObj(c['function']) ? c['function'] : isObj(c['custom']) ? c['custom'] : {};
        parts.push({ kind: 'tool_call', name: str(fn['name']) ?? '?', id: str(c['id']), args: asText(fn['arguments'] ?? fn['input']) });
      }
    }
    push(out, role, parts);
  }
  return out;
}

// ───────────────────────────── OpenAI Responses ─────────────────────────────

function responses(body: Obj): Message[] | null {
  const out: Message[] = [];
  const instructions = str(body['instructions']);
  if (instructions) out.push({ role: 'system', parts: [{ kind: 'text', text: instructions }] });
  const input = body['input'];
  if (typeof input === 'string') {
    out.push({ role: 'user', parts: [{ kind: 'text', text: input }] });
    return out;
  }
  if (!Array.isArray(input)) return instructions ? out : null;
  for (const item of input) {
    if (!isObj(item)) continue;
    const type = str(item['type']) ?? (item['role'] !== undefined ? 'message' : null);
    switch (type) {
      case 'message':
        push(out, str(item['role']) ?? 'user', chatParts(item['content']));
        break;
      case 'function_call':
      case 'custom_tool_call':
        push(out, 'assistant', [{ kind: 'tool_call', name: str(item['name']) ?? '?', id: str(item['call_id']), args: asText(item['arguments'] ?? item['input']) }]);
        break;
      case 'function_call_output':
      case 'custom_tool_call_output':
        push(out, 'tool', [{ kind: 'tool_result', id: str(item['call_id']), name: null, text: asText(item['output']), isError: false }]);
        break;
      case 'reasoning': {
        const summary = item['summary'];
        const text = Array.isArray(summary) ? summary.map((s) => (isObj(s) ? (str(s['text']) ?? '') : '')).join('\n') : '';
        push(out, 'assistant', [{ kind: 'reasoning', text: text || '[encrypted reasoning]' }]);
        break;
      }
      default:
        if (type !== null) push(out, 'assistant', [{ kind: 'media', text: `[${type}]` }]);
    }
  }
  return out;
}

// ───────────────────────────── Anthropic Messages ─────────────────────────────

function anthropicBlocks(content: unknown): Part[] {
  if (typeof content === 'string') return content === '' ? [] : [{ kind: 'text', text: content }];
  if (!Array.isArray(content)) return [];
  const parts: Part[] = [];
  for (const b of content) {
    if (!isObj(b)) continue;
    const t = str(b['type']);
    if (t === 'text' && typeof b['text'] === 'string') parts.push({ kind: 'text', text: b['text'] });
    else if (t === 'thinking') parts.push({ kind: 'reasoning', text: str(b['thinking']) ?? '' });
    else if (t === 'redacted_thinking') parts.push({ kind: 'reasoning', text: '[redacted thinking]' });
    else if (t === 'tool_use' || t === 'server_tool_use') parts.push({ kind: 'tool_call', name: str(b['name']) ?? '?', id: str(b['id']), args: asText(b['input']) });
    else if (t === 'tool_result' || (t !== null && t.endsWith('_tool_result'))) {
      const inner = b['content'];
      const text = typeof inner === 'string' ? inner : anthropicBlocks(inner).map(partText).join('\n');
      parts.push({ kind: 'tool_result', id: str(b['tool_use_id']), name: null, text, isError: b['is_error'] === true });
    } else if (t !== null) parts.push({ kind: 'media', text: `[${t}]` });
  }
  return parts;
}

function anthropic(body: Obj): Message[] | null {
  const msgs = body['messages'];
  if (!Array.isArray(msgs)) return null;
  const out: Message[] = [];
  push(out, 'system', anthropicBlocks(body['system']));
  for (const m of msgs) {
    if (!isObj(m)) continue;
    const parts = anthropicBlocks(m['content']);
    const role = str(m['role']) ?? 'unknown';
    // A user turn made only of tool results reads best as the tool speaking.
    push(out, role === 'user' && parts.length > 0 && parts.every((p) => p.kind === 'tool_result') ? 'tool' : role, parts);
  }
  return out;
}

// ───────────────────────────── Gemini ─────────────────────────────

function geminiParts(parts: unknown): Part[] {
  if (!Array.isArray(parts)) return [];
  const out: Part[] = [];
  for (const p of parts) {
    if (!isObj(p)) continue;
    if (typeof p['text'] === 'string') out.push({ kind: p['thought'] === true ? 'reasoning' : 'text', text: p['text'] });
    else if (isObj(p['functionCall'])) {
      const fc = p['functionCall'];
      out.push({ kind: 'tool_call', name: str(fc['name']) ?? '?', id: str(fc['id']), args: asText(fc['args']) });
    } else if (isObj(p['functionResponse'])) {
      const fr = p['functionResponse'];
      out.push({ kind: 'tool_result', id: str(fr['id']), name: str(fr['name']), text: asText(fr['response']), isError: false });
    } else if (isObj(p['inlineData']) || isObj(p['fileData'])) {
      const d = (p['inlineData'] ?? p['fileData']) as Obj;
      out.push({ kind: 'media', text: `[${str(d['mimeType']) ?? 'data'}]` });
    }
  }
  return out;
}

function gemini(body: Obj): Message[] | null {
  const contents = body['contents'];
  if (!Array.isArray(contents)) return null;
  const out: Message[] = [];
  const sys = body['systemInstruction'] ?? body['system_instruction'];
  if (isObj(sys)) push(out, 'system', geminiParts(sys['parts']));
  else if (typeof sys === 'string') push(out, 'system', [{ kind: 'text', text: sys }]);
  for (const c of contents) {
    if (!isObj(c)) continue;
    const parts = geminiParts(c['parts']);
    const role = str(c['role']) === 'model' ? 'assistant' : 'user';
    push(out, role === 'user' && parts.length > 0 && parts.every((p) => p.kind === 'tool_result') ? 'tool' : role, parts);
  }
  return out;
}

function partText(p: Part): string {
  switch (p.kind) {
    case 'tool_call':
      return `${p.name}(${p.args})`;
    default:
      return p.text;
  }
}

/**
 * The request's conversation for a call of `api` (the record's `api` field), or null when the body
 * is absent, truncated, not JSON or not of the expected shape.
 */
export function parseConversation(api: string, requestBody: string | null): Message[] | null {
  if (requestBody === null || requestBody === '') return null;
  let body: unknown;
  try {
    body = JSON.parse(requestBody);
  } catch {
    return null;
  }
  if (!isObj(body)) return null;
  if (api.startsWith('openai.chat') || api.endsWith('chat_completions')) return chatCompletions(body);
  if (api.startsWith('openai.responses') || api.endsWith('.responses')) return responses(body);
  if (api.startsWith('anthropic')) return anthropic(body);
  if (api.startsWith('gemini') || api.startsWith('google')) return gemini(body);
  // Unknown API: try the shapes in turn.
  return chatCompletions(body) ?? anthropic(body) ?? gemini(body) ?? null;
}

/** The generated answer as one assistant message (from the record, not the response bytes). */
export function outputMessage(output: { output_text: string; reasoning_text: string }, toolCalls: { id: string | null; name: string; arguments?: string }[]): Message | null {
  const parts: Part[] = [];
  if (output.reasoning_text) parts.push({ kind: 'reasoning', text: output.reasoning_text });
  if (output.output_text) parts.push({ kind: 'text', text: output.output_text });
  for (const t of toolCalls) parts.push({ kind: 'tool_call', name: t.name, id: t.id, args: t.arguments ?? '' });
  return parts.length > 0 ? { role: 'assistant', parts } : null;
}
