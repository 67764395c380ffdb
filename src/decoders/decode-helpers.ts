/**
 * Small pieces shared by the Anthropic and Gemini decoders (and the registry): body sniffing
 * without building a string, an anomaly collector that is also an AnomalySink, the blank call,
 * token estimates, error-message trimming.
 */
import type { AnomalySink } from '../core/anomalies.js';
import type { HttpBody } from '../http/types.js';
import type { SseOptions } from '../http/sse.js';
import { bodyText } from '../http/types.js';
import { tryParseJson } from './json.js';
import { estimateTokens } from './estimate.js';
import type { CallError, DecodedCall } from './types.js';

/** Decoder-level anomaly names in first-seen order, each once (DecodedCall.anomalies). Passed
 * to the SSE / JSON-array parsers as their sink, so their names land on the call too. */
export class AnomalyList implements AnomalySink {
  readonly names: string[] = [];
  add(name: string): void {
    if (!this.names.includes(name)) this.names.push(name);
  }
}

/** The first byte of the body that is not JSON/SSE whitespace (or a UTF-8 BOM byte), or -1.
 * Looks at the chunks in place: deciding "SSE or JSON?" must not copy a large body. */
export function firstSignificantByte(body: HttpBody): number {
  for (const c of body.chunks) {
    const d = c.data;
    for (let i = 0; i < d.length; i++) {
      const b = d[i]!;
      // space, \t, \n, \r and the three BOM bytes EF BB BF
      if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0xef || b === 0xbb || b === 0xbf) continue;
      return b;
    }
  }
  return -1;
}

export const BYTE_LBRACE = 0x7b; // {
export const BYTE_LBRACKET = 0x5b; // [

/** True when a response body is an SSE stream: by Content-Type, or (a gateway that labels it
 * otherwise) by its first byte being the start of an SSE field line (`data:`, `event:`, `id:`,
 * `retry:`) or comment (`:`). A body starting with `{` / `[` is JSON: no SSE line starts so. */
export function looksLikeSse(contentType: string | undefined, body: HttpBody): boolean {
  const b = firstSignificantByte(body);
  // JSON whatever the label: Google answers a failed `alt=sse` request with a JSON error body
  // under `text/event-stream` (recorded in js-genai's replay files).
  if (b === BYTE_LBRACE || b === BYTE_LBRACKET) return false;
  if (contentType !== undefined && contentType.toLowerCase().includes('text/event-stream')) return true;
  return b === 0x64 /* d */ || b === 0x65 /* e */ || b === 0x69 /* i */ || b === 0x72 /* r */ || b === 0x3a /* : */;
}

/** Parse a whole body as JSON; undefined when empty or not JSON (e.g. cut by a cap). */
export function parseJsonBody(body: HttpBody): unknown {
  if (body.size === 0) return undefined;
  return tryParseJson(bodyText(body));
}

/** Error messages are one sentence from the provider; a non-JSON error page (a proxy's HTML)
 * is kept only as a hint. 500 characters keeps one readable line in a log or the console. */
export const ERROR_MESSAGE_CAP = 500;

export function clipMessage(s: string): string {
  const t = s.trim();
  return t.length <= ERROR_MESSAGE_CAP ? t : `${t.slice(0, ERROR_MESSAGE_CAP)}…`;
}

/** The model name from a request body whose JSON did not parse (cut by the body cap, which
 * Claude Code's ~100 KB+ prompts can hit): the first `"model": "…"` pair. 256 characters is
 * far above any provider's model id. */
const MODEL_FIELD = /"model"\s*:\s*"([^"\\]{1,256})"/;

export function salvageModel(text: string): string | null {
  const m = MODEL_FIELD.exec(text);
  return m ? m[1]! : null;
}

/** A DecodedCall with nothing known yet; decoders fill it in. */
export function blankCall(provider: string, api: string, operation: string): DecodedCall {
  return {
    provider,
    api,
    operation,
    stream: false,
    request_model: null,
    response_model: null,
    response_id: null,
    error: null,
    finish_reason: null,
    finish_reason_raw: null,
    usage: {
      input_tokens: null,
      output_tokens: null,
      cache_read_tokens: null,
      cache_write_tokens: null,
      reasoning_tokens: null,
      estimated: false,
      raw: null,
    },
    tool_calls: [],
    tools_offered: [],
    first_token: null,
    last_token: null,
    output_text: '',
    reasoning_text: '',
    anomalies: [],
  };
}

/** DESIGN §3: when the wire carries no count, count with the tokenizer and flag it (only the
 * null counts are filled). Output from what was generated (text, reasoning, tool names and
 * arguments); input from the prompt text the request carried (`promptText` is called only when
 * needed: it walks the request). */
export function fillEstimates(call: DecodedCall, promptText: () => string): void {
  const u = call.usage;
  if (u.output_tokens === null) {
    const parts = [call.output_text, call.reasoning_text];
    for (const t of call.tool_calls) parts.push(t.name, t.arguments ?? '');
    u.output_tokens = estimateTokens(parts.join(''));
    u.estimated = true;
  }
  if (u.input_tokens === null) {
    const p = promptText();
    if (p !== '') {
      u.input_tokens = estimateTokens(p);
      u.estimated = true;
    }
  }
}

/** The error of an HTTP status ≥ 400 whose body is not the provider's error object (a proxy's
 * page, an empty body). */
export function httpError(status: number, text: string): CallError {
  return { type: `http_${status}`, message: clipMessage(text) };
}

/** Options for parseSse shared by these decoders (see the call sites). */
export const SSE_OPTIONS: SseOptions = { flushAtEnd: true };
