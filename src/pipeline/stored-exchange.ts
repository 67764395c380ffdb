/**
 * The raw side of an exchange as the store keeps it (issue 3): redacted headers, bodies capped
 * head and tail, and each streamed event with its capture time, so the console can show the
 * request and response down to the byte and the event.
 */
import { isUtf8 } from 'node:buffer';
import type { HttpExchangeRecord, LlmCallRecord } from '../core/record.js';
import { isoMicros } from '../core/time.js';
import { headerString, parseEventStream } from '../http/eventstream.js';
import { parseJsonArrayStream } from '../http/json-array.js';
import { parseNdjson } from '../http/ndjson.js';
import { parseSse } from '../http/sse.js';
import { bodyBytes, bodyText, headerValue, type HttpBody, type HttpExchange } from '../http/types.js';
import { mayHoldKeyBytes, redactHeaders, redactText } from '../redact/secrets.js';
import { capBodyBytes, capBodyText, capEvents } from '../store/caps.js';
import type { StoredEvent, StoredExchange, StoredExchangeInput } from '../store/types.js';

interface StoredBody<B> {
  text: B | null;
  truncated: boolean;
  size: number;
  /** No key was found in the whole decoded body (so none is in a line cut out of it either). */
  keyFree: boolean;
}

function cappedBody(body: HttpBody): StoredBody<string> {
  if (body.size === 0) return { text: null, truncated: body.truncated, size: 0, keyFree: true };
  const text = bodyText(body);
  const redacted = redactText(text);
  const capped = capBodyText(redacted);
  // redactText returns its input itself when nothing matched (a replacement always differs).
  return { text: capped.text, truncated: capped.truncated || body.truncated, size: body.size, keyFree: redacted === text };
}

/**
 * cappedBody without the string: the body's UTF-8 bytes, capped as capBodyText caps its text, when
 * they hold no key marker (mayHoldKeyBytes), which is nearly every body; the text path otherwise,
 * and for bytes that are not valid UTF-8 (decoding replaces what is invalid). The store writes
 * the bytes as they are (BLOB), so a body never becomes a JS string on its way in (issue 6:
 * decoding 183 MB of bodies, encoding them back for DuckDB and collecting the strings).
 */
function cappedBodyBytes(body: HttpBody): StoredBody<string | Uint8Array> {
  if (body.size === 0) return { text: null, truncated: body.truncated, size: 0, keyFree: true };
  const all = bodyBytes(body);
  // bodyText drops a leading byte order mark.
  const b = all.length >= 3 && all[0] === 0xef && all[1] === 0xbb && all[2] === 0xbf ? all.subarray(3) : all;
  if (!isUtf8(b) || mayHoldKeyBytes(b)) return cappedBody(body);
  const capped = capBodyBytes(b);
  return { text: capped.truncated ? capped.bytes : ownBytes(b), truncated: capped.truncated || body.truncated, size: body.size, keyFree: true };
}

/** `b` in a buffer of its own: a view would keep its whole (larger) buffer alive while the
 * exchange waits for its batch, and a structured clone of a view copies that whole buffer. */
function ownBytes(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b);
}

/** A frame's payload as text; `{"bytes": base64}` (a Bedrock invoke-stream chunk) decoded. */
function eventStreamPayloadText(payload: Uint8Array): string {
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
  const m = /^\{"bytes":"([A-Za-z0-9+/=]*)"/.exec(text);
  return m ? Buffer.from(m[1]!, 'base64').toString('utf8') : text;
}

/**
 * An SSE event's data, redacted. Data from one `data:` line is a stretch of the body text with a
 * non-word character on each side (`:` or space before it, CR/LF or the end after it), and the
 * key pattern's only look-arounds are word boundaries: a key in that stretch would have been found
 * in the body too. So when the body held no key, single-line data (nearly every event: JSON on one
 * line) skips a second pass over the same characters (21.6 M of them in the 200 MB bench mix);
 * lines joined by LF are not a stretch of the body and are always redacted.
 */
function sseData(data: string, bodyKeyFree: boolean): string {
  return bodyKeyFree && !data.includes('\n') ? data : redactText(data);
}

/** The events of a streamed response body, by its framing; null for a plain body. */
function streamEvents(ex: HttpExchange, bodyKeyFree: boolean): StoredEvent[] | null {
  const res = ex.response;
  if (!res || res.body.size === 0) return null;
  const type = (headerValue(res.headers, 'content-type') ?? '').toLowerCase();
  if (type.startsWith('text/event-stream')) {
    return parseSse(res.body.chunks).map((e) => ({ ts: isoMicros(e.ts), event: e.event, data: sseData(e.data, bodyKeyFree) }));
  }
  // Bedrock's AWS event stream (DESIGN §2): each frame's JSON payload; an InvokeModel stream's
  // `chunk` carries the model's own JSON as base64 `bytes`, stored decoded so it can be read.
  if (type.includes('vnd.amazon.eventstream')) {
    return parseEventStream(res.body.chunks).messages.map((m) => ({
      ts: isoMicros(m.ts),
      event: headerString(m, ':event-type') ?? headerString(m, ':exception-type') ?? headerString(m, ':message-type') ?? 'message',
      data: redactText(eventStreamPayloadText(m.payload)),
    }));
  }
  // Cohere's v1 chat stream says `application/stream+json`.
  if (type.includes('ndjson') || type.includes('jsonl') || type.includes('stream+json')) {
    return parseNdjson(res.body.chunks).map((e) => ({ ts: isoMicros(e.ts), event: 'line', data: redactText(e.raw) }));
  }
  // Gemini streams one JSON array when `alt=sse` is not asked for (DESIGN §3).
  if (ex.request.path.endsWith(':streamGenerateContent')) {
    return parseJsonArrayStream(res.body.chunks).map((e) => ({ ts: isoMicros(e.ts), event: 'element', data: redactText(e.raw) }));
  }
  return null;
}

/** The exchange as the store keeps it, bodies as text (what crosses from a worker thread). */
export function buildStoredExchange(ex: HttpExchange, record: LlmCallRecord | HttpExchangeRecord): StoredExchange {
  return build(ex, record, cappedBody);
}

/** The same exchange with its bodies as UTF-8 bytes where they need no redaction: what the store
 * writes with no string round trip (the same text reads back). */
export function buildStoredExchangeInput(ex: HttpExchange, record: LlmCallRecord | HttpExchangeRecord): StoredExchangeInput {
  return build(ex, record, cappedBodyBytes);
}

function build<B extends string | Uint8Array>(
  ex: HttpExchange,
  record: LlmCallRecord | HttpExchangeRecord,
  cap: (body: HttpBody) => StoredBody<B>,
): Omit<StoredExchange, 'request_body' | 'response_body'> & { request_body: B | null; response_body: B | null } {
  const req = ex.request;
  const res = ex.response;
  const isCall = record.kind === 'llm_call';
  const reqBody = cap(req.body);
  const resBody = res ? cap(res.body) : { text: null, truncated: false, size: 0, keyFree: true };
  const events = streamEvents(ex, resBody.keyFree);
  const capped = events ? capEvents(events) : null;
  return {
    id: record.id,
    call_id: isCall ? record.id : null,
    kind: isCall ? 'llm_call' : 'other',
    reason: isCall ? null : record.reason,
    source: record.source,
    connection_id: ex.connection.id,
    client: record.client,
    server: record.server,
    method: req.method,
    target: isCall ? record.http.path : record.target,
    status_code: res?.status ?? null,
    // An exchange record already carries its headers redacted; a call record carries none.
    request_headers: isCall ? redactHeaders(req.headers) : record.request_headers,
    response_headers: isCall ? (res ? redactHeaders(res.headers) : []) : record.response_headers,
    request_bytes: req.wireBytes,
    response_bytes: res?.wireBytes ?? 0,
    request_body: reqBody.text,
    response_body: resBody.text,
    request_body_size: reqBody.size,
    response_body_size: resBody.size,
    request_body_truncated: reqBody.truncated,
    response_body_truncated: resBody.truncated,
    response_events: capped ? capped.events : null,
    response_events_total: capped ? capped.total : 0,
    response_events_truncated: capped ? capped.truncated : false,
    bodies_expired: false,
    request_start: isoMicros(req.start),
    request_end: isoMicros(req.end),
    response_start: res ? isoMicros(res.start) : null,
    response_end: res ? isoMicros(res.end) : null,
    anomalies: ex.anomalies,
  };
}
