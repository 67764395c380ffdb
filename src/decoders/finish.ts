/**
 * Finish-reason normalisation for every wire API (DESIGN §3: `finish_reason` is one of
 * stop|length|tool_call|content_filter|error|cancelled|other, the OpenTelemetry GenAI
 * `gen_ai.response.finish_reasons` vocabulary plus `cancelled`/`other`; the raw value is kept
 * beside it as `finish_reason_raw`).
 *
 * Usage: `normalizeFinishReason(api, raw, { hasToolCalls })`. `api` is the record's `api` string
 * (e.g. 'anthropic.messages'); an unknown api falls back to a table that merges all of them.
 */
import type { FinishReason } from './types.js';

export interface FinishContext {
  /** The response carries tool calls. Some servers (Gemini always; vLLM/Ollama's OpenAI
   * compatibility layers often) say `stop` when the model called a tool: we report `tool_call`,
   * which is what the caller has to act on. */
  hasToolCalls?: boolean;
}

type Table = Readonly<Record<string, FinishReason>>;

/** OpenAI Chat Completions `choices[].finish_reason`
 * (https://platform.openai.com/docs/api-reference/chat/object). `function_call` is the
 * deprecated pre-tools name. `eos`/`error`/`abort` come from vLLM/TGI-style servers behind the
 * same wire format. */
const OPENAI_CHAT: Table = {
  stop: 'stop',
  eos: 'stop',
  eos_token: 'stop',
  stop_sequence: 'stop',
  length: 'length',
  max_tokens: 'length',
  tool_calls: 'tool_call',
  function_call: 'tool_call',
  tool_call: 'tool_call',
  content_filter: 'content_filter',
  error: 'error',
  abort: 'cancelled',
  cancelled: 'cancelled',
};

/** OpenAI Responses: `response.status` (completed|incomplete|failed|cancelled|in_progress|queued)
 * and, for `incomplete`, `incomplete_details.reason` (max_output_tokens|content_filter)
 * (https://platform.openai.com/docs/api-reference/responses/object). Decoders pass the reason
 * when the status is `incomplete`, else the status. */
const OPENAI_RESPONSES: Table = {
  completed: 'stop',
  max_output_tokens: 'length',
  content_filter: 'content_filter',
  incomplete: 'other',
  failed: 'error',
  cancelled: 'cancelled',
  // A stream that ended while the response was still running: the wire never said it finished.
  in_progress: 'cancelled',
  queued: 'cancelled',
};

/** Anthropic Messages `stop_reason`
 * (https://docs.anthropic.com/en/api/handling-stop-reasons). `pause_turn`: a server tool's long
 * turn was paused for the client to resume, neither a stop nor a tool call of the client's.
 * `refusal`: the streaming classifiers intervened. `model_context_window_exceeded`: output
 * stopped at the context window, a length limit. */
const ANTHROPIC: Table = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_call',
  pause_turn: 'other',
  refusal: 'content_filter',
};

/** Gemini `candidates[].finishReason`
 * (https://ai.google.dev/api/generate-content#FinishReason). Gemini says STOP when the model
 * emitted functionCall parts: the hasToolCalls context turns that into tool_call. The safety
 * family (SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII, IMAGE_*) is content_filter;
 * a malformed or unexpected tool call is the model failing the request, so error. */
const GEMINI: Table = {
  STOP: 'stop',
  MAX_TOKENS: 'length',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  BLOCKLIST: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
  SPII: 'content_filter',
  IMAGE_SAFETY: 'content_filter',
  IMAGE_PROHIBITED_CONTENT: 'content_filter',
  IMAGE_RECITATION: 'content_filter',
  MALFORMED_FUNCTION_CALL: 'error',
  UNEXPECTED_TOOL_CALL: 'error',
  MISSING_THOUGHT_SIGNATURE: 'error',
  TOO_MANY_TOOL_CALLS: 'other',
  LANGUAGE: 'other',
  IMAGE_OTHER: 'other',
  NO_IMAGE: 'other',
  OTHER: 'other',
  FINISH_REASON_UNSPECIFIED: 'other',
};

/** Bedrock Converse `stopReason`
 * (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html). */
const BEDROCK: Table = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_call',
  guardrail_intervened: 'content_filter',
  content_filtered: 'content_filter',
};

/** Ollama `done_reason` (stop|length|load|unload; api/types.go). */
const OLLAMA: Table = {
  stop: 'stop',
  length: 'length',
  load: 'other',
  unload: 'cancelled',
};

/** Cohere v2 chat `finish_reason` (https://docs.cohere.com/reference/chat). v1 used the same
 * upper-case names plus ERROR_TOXIC/ERROR_LIMIT/USER_CANCEL. */
const COHERE: Table = {
  COMPLETE: 'stop',
  STOP_SEQUENCE: 'stop',
  MAX_TOKENS: 'length',
  TOOL_CALL: 'tool_call',
  ERROR: 'error',
  ERROR_TOXIC: 'content_filter',
  ERROR_LIMIT: 'length',
  USER_CANCEL: 'cancelled',
  TIMEOUT: 'error',
};

const BY_API: Readonly<Record<string, Table>> = {
  'openai.chat_completions': OPENAI_CHAT,
  'openai.responses': OPENAI_RESPONSES,
  'anthropic.messages': ANTHROPIC,
  'gemini.generate_content': GEMINI,
  'bedrock.converse': BEDROCK,
  'bedrock.invoke_model': { ...BEDROCK, ...ANTHROPIC },
  'ollama.chat': OLLAMA,
  'ollama.generate': OLLAMA,
  'cohere.chat': COHERE,
};

/** Every table merged, for an api we have no table for (first table wins on a clash). */
const ANY: Table = Object.assign(
  {},
  COHERE,
  OLLAMA,
  BEDROCK,
  GEMINI,
  ANTHROPIC,
  OPENAI_RESPONSES,
  OPENAI_CHAT,
);

function lookup(table: Table, raw: string): FinishReason | undefined {
  if (Object.hasOwn(table, raw)) return table[raw];
  // Providers differ in case (Gemini/Cohere upper, the rest lower); proxies re-case them.
  const upper = raw.toUpperCase();
  if (Object.hasOwn(table, upper)) return table[upper];
  const lower = raw.toLowerCase();
  if (Object.hasOwn(table, lower)) return table[lower];
  return undefined;
}

/**
 * Map a provider's raw finish reason to the normalised vocabulary. null/empty raw → null (the
 * wire did not say; e.g. an interrupted stream). An unknown non-empty value → 'other'.
 */
export function normalizeFinishReason(
  api: string,
  raw: string | null | undefined,
  ctx: FinishContext = {},
): FinishReason | null {
  if (typeof raw !== 'string') return null;
  const r = raw.trim();
  if (r === '') return null;
  const table = Object.hasOwn(BY_API, api) ? BY_API[api]! : ANY;
  const mapped = lookup(table, r) ?? (table === ANY ? undefined : lookup(ANY, r)) ?? 'other';
  if (mapped === 'stop' && ctx.hasToolCalls === true) return 'tool_call';
  return mapped;
}
