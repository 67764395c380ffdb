/**
 * Small pieces shared by all the wire-API decoders (and the registry): body sniffing without
 * building a string, each body's text and JSON parse computed once per exchange, an anomaly
 * collector that is also an AnomalySink, the blank call, the never-throwing decoder wrapper,
 * token estimates, error-message trimming.
 */
import type { AnomalySink } from '../core/anomalies.js';
import type { HttpBody, HttpExchange, HttpRequest, HttpResponse } from '../http/types.js';
import { parseSse, type SseEvent, type SseOptions } from '../http/sse.js';
import { bodyBytes, bodyText, headerValue } from '../http/types.js';
import { isObject, obj, tryParseJson, type JsonObject } from './json.js';
import { jsonObjectReader, readJsonObject, type JsonObjectReader } from './json-reader.js';
import { estimateTokens } from './estimate.js';
import type { CallError, DecodedCall, Usage, WireDecoder } from './types.js';

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

/** True when the response body is an event stream (by Content-Type, or sniffed: see
 * looksLikeSse), decided on the bytes without decoding the body. */
export function isEventStream(res: HttpResponse): boolean {
  return looksLikeSse(headerValue(res.headers, 'content-type'), res.body);
}

/**
 * The last body whose text or JSON was asked for, with what has been computed of it. Decoding
 * and parsing an agent-sized (100 KB+) request body is the costliest step of a call, and the
 * registry (pass 2), the decoder and its salvage and error paths all want it: they share one
 * result. One slot is enough because each body's uses come one after another (request, then
 * response); a WeakMap keyed by body was measured slower (its entries add garbage-collector
 * work on every exchange). Keyed by identity: bodies are complete when an exchange is emitted
 * and never change afterwards. decodeExchange() empties it, so that a body (up to the 64 MiB
 * body cap, src/http/h1/limits.ts) is not kept alive past its exchange.
 */
let memoBody: HttpBody | null = null;
let memoText: string | undefined;
let memoJson: unknown;
let memoParsed = false;
/** The body's object reader: undefined when not asked for yet, null when not a JSON object. */
let memoReader: JsonObjectReader | null | undefined;

function useMemo(body: HttpBody): void {
  if (memoBody === body) return;
  memoBody = body;
  memoText = undefined;
  memoJson = undefined;
  memoParsed = false;
  memoReader = undefined;
}

/** Let go of the memoised body (end of an exchange). */
export function forgetParsedBody(): void {
  memoBody = null;
  memoText = undefined;
  memoJson = undefined;
  memoParsed = false;
  memoReader = undefined;
}

/** A body's text ('' when empty), decoded once per exchange. */
export function textOf(body: HttpBody): string {
  if (body.size === 0) return '';
  useMemo(body);
  memoText ??= bodyText(body);
  return memoText;
}

/** A whole body parsed as JSON, once per exchange; undefined when empty or not JSON (e.g. cut by
 * a cap). The value is shared by every caller: read it, never change it. */
export function parseJsonBody(body: HttpBody): unknown {
  if (body.size === 0) return undefined;
  useMemo(body);
  if (!memoParsed) {
    memoJson = tryParseJson(textOf(body));
    memoParsed = true;
  }
  return memoJson;
}

/** True when the body's text is '' (textOf), decided on the bytes: empty, or only a UTF-8 BOM
 * (which bodyText drops). */
export function isBlankText(body: HttpBody): boolean {
  if (body.size === 0) return true;
  if (body.size !== 3) return false;
  const b = bodyBytes(body);
  return b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
}

/**
 * A body that is a JSON object, read member by member (json-reader.ts), once per exchange; null
 * when empty or not a JSON object. Same answers as `obj(parseJsonBody(body))`, without decoding
 * and parsing a large request whole: the bytes are scanned for structure, and only the members
 * read are parsed. A body the scanner does not take (cut short, invalid, nested too deep) is
 * parsed whole as before; one already parsed whole (the registry's pass 2) is read from its value.
 */
export function jsonObjectOf(body: HttpBody): JsonObjectReader | null {
  if (body.size === 0) return null;
  useMemo(body);
  if (memoReader !== undefined) return memoReader;
  let reader: JsonObjectReader | null = null;
  if (!memoParsed) {
    const b = bodyBytes(body);
    // bodyText drops a UTF-8 BOM before parsing: so does the scan.
    const start = b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
    reader = readJsonObject(b, start, b.length);
  }
  if (reader === null) {
    const v = parseJsonBody(body);
    reader = isObject(v) ? jsonObjectReader(v) : null;
  }
  memoReader = reader;
  return reader;
}

/** The request body as a JSON object reader, or null; a body that is not one counts
 * `<prefix>_request_truncated` (cut by the body cap) or `<prefix>_request_invalid_json`. Callers
 * return early on an empty body (each decoder's own rule for "empty"). */
export function parseRequestObject(req: HttpRequest, anomalies: AnomalySink, prefix: string): JsonObjectReader | null {
  const b = jsonObjectOf(req.body);
  if (b === null) anomalies.add(req.body.truncated ? `${prefix}_request_truncated` : `${prefix}_request_invalid_json`);
  return b;
}

/** The JSON object of each SSE event of a body, with its event: empty data and OpenAI's `[DONE]`
 * end marker (which some gateways append to every stream they relay) are skipped, data that is
 * not a JSON object is counted `sse_invalid_json`. See sseOptions for the last, unterminated event.
 * `fastPath` (compact-events.ts) may take an event first, without JSON.parse: true when it did. */
export function forEachSseObject(
  body: HttpBody,
  anomalies: AnomalySink,
  onObject: (o: JsonObject, ev: SseEvent) => void,
  fastPath?: (ev: SseEvent) => boolean,
): void {
  for (const ev of parseSse(body.chunks, anomalies, sseOptions(body))) {
    if (ev.data === '' || ev.data === '[DONE]') continue;
    if (fastPath !== undefined && fastPath(ev)) continue;
    const o = obj(tryParseJson(ev.data));
    if (o !== null) onObject(o, ev);
    else anomalies.add('sse_invalid_json');
  }
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

/** The request model when the body did not parse: the first `"model"` of its text. */
export function requestModelFallback(req: HttpRequest): string | null {
  return req.body.size === 0 ? null : salvageModel(textOf(req.body));
}

/** A path segment percent-decoded, or as sent when it is not valid percent-encoding. */
export function decodePathSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Usage with no count known. */
export function emptyUsage(): Usage {
  return {
    input_tokens: null,
    output_tokens: null,
    cache_read_tokens: null,
    cache_write_tokens: null,
    reasoning_tokens: null,
    estimated: false,
    raw: null,
  };
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
    usage: emptyUsage(),
    tool_calls: [],
    tools_offered: [],
    first_token: null,
    last_token: null,
    output_text: '',
    reasoning_text: '',
    anomalies: [],
  };
}

/** The call generated something: text, reasoning or a tool call. */
export function generatedAnything(call: DecodedCall): boolean {
  return call.output_text !== '' || call.reasoning_text !== '' || call.tool_calls.length > 0;
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

/** The last steps of the Anthropic and Gemini decoders: an HTTP error status is an error even
 * when the body did not say which (its text is the message); an error's finish reason is
 * `error`; DESIGN §3: counts the wire did not carry are estimated, except for an error that
 * generated nothing (it used nothing worth estimating). */
export function finishCall(call: DecodedCall, res: HttpResponse, promptText: () => string): void {
  if (res.status >= 400 && call.error === null) call.error = httpError(res.status, textOf(res.body));
  if (call.error !== null) call.finish_reason = 'error';
  if (generatedAnything(call) || call.error === null) fillEstimates(call, promptText);
}

/** Options for parseSse shared by these decoders: flushAtEnd, so that a complete response that
 * ends without the final blank line (the server closed right after its last `data:` line) still
 * delivers that event; the SSE layer counts the anomaly. A body cut short (connection lost, gap)
 * does not flush: its last event is a fragment, and the interruption is already named. */
const SSE_FLUSH: SseOptions = { flushAtEnd: true };
const SSE_NO_FLUSH: SseOptions = {};
export function sseOptions(body: HttpBody): SseOptions {
  return body.incomplete ? SSE_NO_FLUSH : SSE_FLUSH;
}

/** What makes a WireDecoder: its identity, the registry's two matchers and its decode(). */
export interface DecoderParts {
  api: string;
  provider: string;
  /** The blank call's operation when decode() throws. */
  operation: string;
  /** The anomaly a throwing decode() reports, `<provider family>_decoder_failed`. */
  failedAnomaly: string;
  matchRoute(req: HttpRequest): boolean;
  matchBody(req: HttpRequest, body: unknown): boolean;
  decode(ex: HttpExchange): DecodedCall | null;
}

/** A WireDecoder whose decode() never throws (DESIGN §3). Every read in the decoders is
 * narrowed, so this is defensive only: a throw still reports the call, with what the route
 * says, marked with `failedAnomaly`. */
export function wireDecoder(parts: DecoderParts): WireDecoder {
  const { api, provider, operation, failedAnomaly, decode } = parts;
  return {
    api,
    provider,
    matchRoute: parts.matchRoute,
    matchBody: parts.matchBody,
    decode(ex: HttpExchange): DecodedCall | null {
      try {
        return decode(ex);
      } catch {
        const call = blankCall(provider, api, operation);
        call.anomalies = [failedAnomaly];
        return call;
      }
    },
  };
}
