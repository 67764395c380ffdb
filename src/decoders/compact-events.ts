/**
 * Exact fast paths for the most frequent streamed event payloads: one text piece per SSE event,
 * sent by the servers in one fixed compact form (OpenAI Chat `chat.completion.chunk` content,
 * reasoning and tool-argument deltas; Responses `response.output_text.delta` and
 * `response.reasoning_summary_text.delta`; Anthropic `content_block_delta`). JSON.parse
 * builds a whole object per event (13 keys and 6 strings for a chat chunk) that the decoders read
 * two or three fields of; an anchored regex over the same text costs a fraction of that.
 *
 * Exactness: a matcher accepts only text that is valid JSON of exactly its shape (fixed keys in
 * a fixed order, each at most once, every value checked against the JSON grammar, whitespace
 * only where the servers put it), and returns what JSON.parse would have given for the fields
 * the decoders read. Anything else returns null and the caller parses the text as before. The
 * patterns are unambiguous (no two ways to match the same text), so matching is linear.
 * compact-events.test.ts checks agreement with JSON.parse on arbitrary and mutated events.
 */

/**
 * Longest text a matcher looks at. The events they are for are a few hundred characters; and
 * irregexp keeps a backtrack entry per escape sequence, so a multi-megabyte string of escapes
 * (an event may be up to 16 MiB, sse.ts) overflows its stack and throws a RangeError. Longer
 * texts go to JSON.parse.
 */
export const MAX_COMPACT_EVENT_CHARS = 64 * 1024;

/** A JSON string's body (between the quotes): no raw `"`, `\` or control character, valid
 * escapes. Unrolled (`a*(?:\\e a*)*`) so that a body without escapes is one character-class run. */
const STRING_BODY = '[^"\\\\\\x00-\\x1f]*(?:\\\\(?:["\\\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\\\\x00-\\x1f]*)*';
/** Any JSON string, not captured. */
const STR = `"${STRING_BODY}"`;
/** A JSON string, its body captured. */
const CAP_STR = `"(${STRING_BODY})"`;
/** Any JSON number, not captured. */
const NUM = '-?(?:0|[1-9]\\d*)(?:\\.\\d+)?(?:[eE][+-]?\\d+)?';
/** A small non-negative integer (its decimal value is exactly JSON.parse's), and captured. */
const INDEX = '(?:0|[1-9]\\d{0,8})';
const CAP_INDEX = `(${INDEX})`;
/** JSON whitespace (Anthropic pads some deltas with spaces before the last closing brace). */
const WS = '[ \\t\\n\\r]*';

function literal(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Regex source from JSON text (escaped) interleaved with regex fragments (as is). */
function src(parts: TemplateStringsArray, ...fragments: string[]): string {
  let out = '';
  parts.forEach((p, i) => {
    out += literal(p);
    if (i < fragments.length) out += fragments[i]!;
  });
  return out;
}

/** The regex source made optional. */
function optional(source: string): string {
  return `(?:${source})?`;
}

/** An anchored regex, written as `src`. */
function shape(parts: TemplateStringsArray, ...fragments: string[]): RegExp {
  return new RegExp(`^${src(parts, ...fragments)}$`);
}

/** A matched string body as JSON.parse would decode it: most have no escape and are the text. */
export function jsonStringText(body: string): string {
  return body.indexOf('\\') === -1 ? body : (JSON.parse(`"${body}"`) as string);
}

/**
 * OpenAI's chunk for one piece of choice 0
 * (https://platform.openai.com/docs/api-reference/chat-streaming/streaming):
 * `{"id":…,"object":"chat.completion.chunk","created":…,"model":…,["service_tier":…,]
 * ["system_fingerprint":…|null,]"choices":[{"index":0,"delta":DELTA[,"logprobs":null],
 * "finish_reason":null}][,"usage":null][,"obfuscation":…]}` where DELTA is `{"content":…}`,
 * `{"reasoning_content":…}` (DeepSeek, vLLM) or `{"tool_calls":[{"index":N,"function":
 * {"arguments":…}}]}` (a tool call's arguments after its first delta).
 */
/** The delta, one of three: content, reasoning_content, or a tool call's arguments (captured:
 * 3 content, 4 reasoning, 5 tool index, 6 arguments). */
const CHAT_DELTA = `(?:${src`{"content":${CAP_STR}}`}|${src`{"reasoning_content":${CAP_STR}}`}|${src`{"tool_calls":[{"index":${CAP_INDEX},"function":{"arguments":${CAP_STR}}}]}`})`;
const CHAT_CHUNK_PIECE = shape`{"id":${CAP_STR},"object":"chat.completion.chunk","created":${NUM},"model":${CAP_STR}${optional(
  src`,"service_tier":${STR}`,
)}${optional(src`,"system_fingerprint":${`(?:${STR}|null)`}`)},"choices":[{"index":0,"delta":${CHAT_DELTA}${optional(src`,"logprobs":null`)},"finish_reason":null}]${optional(
  src`,"usage":null`,
)}${optional(src`,"obfuscation":${STR}`)}}`;

/** What the chat decoder reads of such a chunk: raw (still escaped) id and model bodies, decoded
 * with jsonStringText only when needed, and the piece. No error, usage, finish reason, other choice. */
export interface ChatChunkPiece {
  idBody: string;
  modelBody: string;
  kind: 'content' | 'reasoning' | 'tool_arguments';
  /** The tool call's `index` (tool_arguments only, else -1). */
  toolIndex: number;
  piece: string;
}

export function matchChatChunkPiece(data: string): ChatChunkPiece | null {
  if (data.length > MAX_COMPACT_EVENT_CHARS) return null;
  const m = CHAT_CHUNK_PIECE.exec(data);
  if (m === null) return null;
  const content = m[3];
  const reasoning = m[4];
  if (content !== undefined) return { idBody: m[1]!, modelBody: m[2]!, kind: 'content', toolIndex: -1, piece: jsonStringText(content) };
  if (reasoning !== undefined) return { idBody: m[1]!, modelBody: m[2]!, kind: 'reasoning', toolIndex: -1, piece: jsonStringText(reasoning) };
  return { idBody: m[1]!, modelBody: m[2]!, kind: 'tool_arguments', toolIndex: Number(m[5]), piece: jsonStringText(m[6]!) };
}

/**
 * Responses `response.output_text.delta`
 * (https://platform.openai.com/docs/api-reference/responses-streaming/response/output_text/delta):
 * `{"type":"response.output_text.delta","sequence_number":…,"item_id":…,"output_index":…,
 * "content_index":…,"delta":…[,"logprobs":[]][,"obfuscation":…]}`.
 */
const OUTPUT_TEXT_DELTA = shape`{"type":"response.output_text.delta","sequence_number":${NUM},"item_id":${STR},"output_index":${NUM},"content_index":${NUM},"delta":${CAP_STR}${optional(
  src`,"logprobs":[]`,
)}${optional(src`,"obfuscation":${STR}`)}}`;

/** The delta text of a compact `response.output_text.delta` event (the decoder reads nothing else
 * of it), or null. */
export function matchOutputTextDelta(data: string): string | null {
  if (data.length > MAX_COMPACT_EVENT_CHARS) return null;
  const m = OUTPUT_TEXT_DELTA.exec(data);
  return m === null ? null : jsonStringText(m[1]!);
}

/**
 * Responses `response.reasoning_summary_text.delta`
 * (https://platform.openai.com/docs/api-reference/responses-streaming/response/reasoning_summary_text/delta):
 * `{"type":"response.reasoning_summary_text.delta","sequence_number":…,"item_id":…,
 * "output_index":…,"summary_index":N,"delta":…[,"obfuscation":…]}`.
 */
const REASONING_SUMMARY_DELTA = shape`{"type":"response.reasoning_summary_text.delta","sequence_number":${NUM},"item_id":${CAP_STR},"output_index":${NUM},"summary_index":${CAP_INDEX},"delta":${CAP_STR}${optional(
  src`,"obfuscation":${STR}`,
)}}`;

/** What the Responses decoder reads of a reasoning summary delta (the item id raw, still escaped). */
export interface ReasoningSummaryDelta {
  itemIdBody: string;
  summaryIndex: number;
  delta: string;
}

export function matchReasoningSummaryDelta(data: string): ReasoningSummaryDelta | null {
  if (data.length > MAX_COMPACT_EVENT_CHARS) return null;
  const m = REASONING_SUMMARY_DELTA.exec(data);
  return m === null ? null : { itemIdBody: m[1]!, summaryIndex: Number(m[2]), delta: jsonStringText(m[3]!) };
}

/**
 * Anthropic `content_block_delta` with a text, thinking or tool-input piece
 * (https://docs.anthropic.com/en/docs/build-with-claude/streaming):
 * `{"type":"content_block_delta","index":N,"delta":{"type":"text_delta","text":…}}` and likewise
 * `thinking_delta`/`thinking`, `input_json_delta`/`partial_json`; api.anthropic.com pads some with
 * spaces before the last brace (seen in recorded streams).
 */
const BLOCK_DELTA = shape`{"type":"content_block_delta","index":${INDEX},"delta":{"type":"${'(?:text_delta","text|thinking_delta","thinking|input_json_delta","partial_json)'}":${STR}}${WS}}`;
const BLOCK_INDEX_START = '{"type":"content_block_delta","index":'.length;
const BLOCK_TYPE_AFTER_INDEX = ',"delta":{"type":"'.length;
/** From the start of the delta type to the start of the piece. */
const TEXT_PIECE_OFFSET = 'text_delta","text":"'.length;
const THINKING_PIECE_OFFSET = 'thinking_delta","thinking":"'.length;
const JSON_PIECE_OFFSET = 'input_json_delta","partial_json":"'.length;

export type BlockDeltaType = 'text_delta' | 'thinking_delta' | 'input_json_delta';

export interface BlockDelta {
  index: number;
  type: BlockDeltaType;
  piece: string;
}

/** Validated with RegExp#test and read at the shape's fixed offsets: for these short events, exec's
 * match array and capture strings cost twice the test itself. */
export function matchBlockDelta(data: string): BlockDelta | null {
  if (data.length > MAX_COMPACT_EVENT_CHARS || !BLOCK_DELTA.test(data)) return null;
  let index = 0;
  let i = BLOCK_INDEX_START;
  for (let c = data.charCodeAt(i); c !== COMMA; c = data.charCodeAt(++i)) index = index * 10 + (c - DIGIT_0);
  i += BLOCK_TYPE_AFTER_INDEX;
  let type: BlockDeltaType;
  if (data.charCodeAt(i) === LOWER_I) {
    type = 'input_json_delta';
    i += JSON_PIECE_OFFSET;
  } else if (data.charCodeAt(i + 1) === LOWER_E) {
    type = 'text_delta';
    i += TEXT_PIECE_OFFSET;
  } else {
    type = 'thinking_delta';
    i += THINKING_PIECE_OFFSET;
  }
  // The piece is the last string: only `}`, whitespace and `}` follow its closing quote.
  return { index, type, piece: jsonStringText(data.slice(i, data.lastIndexOf('"'))) };
}

const COMMA = 0x2c;
const DIGIT_0 = 0x30;
const LOWER_E = 0x65;
const LOWER_I = 0x69;
