/**
 * What the Bedrock decoders share (DESIGN §3 "Bedrock"): the runtime route
 * `POST /model/{modelId}/{converse|converse-stream|invoke|invoke-with-response-stream}`
 * (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_Operations_Amazon_Bedrock_Runtime.html),
 * the event stream body (src/http/eventstream.ts) split into events and exceptions, usage
 * normalisation and error bodies.
 */
import { crc32 } from 'node:zlib';
import type { Micros } from '../core/time.js';
import { headerString, parseEventStream } from '../http/eventstream.js';
import { headerValue, type HttpRequest, type HttpResponse } from '../http/types.js';
import type { AnomalyList } from './decode-helpers.js';
import { clipMessage, decodePathSegment, textOf } from './decode-helpers.js';
import { num, obj, str, tryParseJson, type JsonObject } from './json.js';
import type { CallError, Usage } from './types.js';

export const BEDROCK_PROVIDER = 'aws';

export type BedrockOperation = 'converse' | 'converse-stream' | 'invoke' | 'invoke-with-response-stream';

/** The model id may be a foundation model (`anthropic.claude-3-haiku-20240307-v1:0`), a
 * cross-region inference profile (`us.anthropic.claude-…`), or an ARN (provisioned throughput,
 * imported model, application inference profile) whose `/` SDKs percent-encode; greedy so that an
 * unencoded ARN's slashes stay in the id. */
const ROUTE = /\/model\/(.+)\/(converse|converse-stream|invoke|invoke-with-response-stream)\/?$/;

export interface BedrockRoute {
  model: string;
  operation: BedrockOperation;
}

export function bedrockRoute(path: string): BedrockRoute | null {
  const m = ROUTE.exec(path);
  if (m === null) return null;
  return { model: decodePathSegment(m[1]!), operation: m[2] as BedrockOperation };
}

export function isBedrockRoute(req: HttpRequest): boolean {
  return req.method === 'POST' && ROUTE.test(req.path);
}

/** An event of an event stream body: its `:event-type` and JSON payload. */
export interface BedrockEvent {
  type: string;
  payload: JsonObject;
  ts: Micros;
}

export interface BedrockStream {
  events: BedrockEvent[];
  /** An exception frame (`:message-type exception`, e.g. throttlingException mid-stream) or an
   * `error` frame (`:error-code` / `:error-message` headers), as the call's error. */
  error: CallError | null;
  /** The framing stopped (corrupt prelude) or the body was cut: what follows is lost. */
  broken: boolean;
}

/** `application/vnd.amazon.eventstream`, by Content-Type, or (a proxy that relabels it) by a
 * first prelude whose CRC holds: a JSON body starts with `{`, a frame with its u32 length, whose
 * first byte is 0 for any frame under the 16 MiB cap. */
export function isAwsEventStream(res: HttpResponse): boolean {
  if ((headerValue(res.headers, 'content-type') ?? '').toLowerCase().includes('vnd.amazon.eventstream')) return true;
  const first = res.body.chunks[0]?.data;
  if (first === undefined || first.length < 12 || first[0] !== 0) return false;
  return crc32(first.subarray(0, 8)) === Buffer.from(first.buffer, first.byteOffset, 12).readUInt32BE(8);
}

/** The body's frames as events (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html:
 * `:message-type event` with `:event-type`; `exception` with `:exception-type`). */
export function readBedrockStream(res: HttpResponse, anomalies: AnomalyList): BedrockStream {
  const { messages, stopped } = parseEventStream(res.body.chunks, anomalies);
  const out: BedrockStream = { events: [], error: null, broken: stopped !== null || res.body.incomplete || res.body.truncated };
  for (const m of messages) {
    const text = Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength).toString('utf8');
    const payload = text === '' ? {} : obj(tryParseJson(text));
    const kind = headerString(m, ':message-type') ?? 'event';
    if (kind === 'exception') {
      const type = headerString(m, ':exception-type') ?? 'exception';
      out.error = { type, message: clipMessage(str(payload?.['message']) ?? str(payload?.['Message']) ?? '') };
      continue;
    }
    if (kind === 'error') {
      out.error = { type: headerString(m, ':error-code') ?? 'error', message: clipMessage(headerString(m, ':error-message') ?? '') };
      continue;
    }
    if (payload === null) {
      anomalies.add('bedrock_event_invalid_json');
      continue;
    }
    out.events.push({ type: headerString(m, ':event-type') ?? '', payload, ts: m.ts });
  }
  return out;
}

/** An error answer: `{"message": "…"}` with the type in `x-amzn-ErrorType`
 * (`ValidationException:http://internal.amazon.com/…`), per the AWS JSON protocols. */
export function bedrockHttpError(res: HttpResponse, body: unknown): CallError {
  const b = obj(body);
  const header = headerValue(res.headers, 'x-amzn-errortype');
  const type = header?.split(':')[0] ?? str(b?.['__type'])?.split('#').pop() ?? `http_${res.status}`;
  const message = str(b?.['message']) ?? str(b?.['Message']) ?? (b === null ? textOf(res.body) : '');
  return { type, message: clipMessage(message) };
}

/** DESIGN §3: input is the total including cache reads and writes. Converse's `inputTokens`
 * excludes them (pydantic-ai's test_bedrock_cache_write_and_read: inputTokens 2,
 * cacheWriteInputTokens 1322, totalTokens 1329 = 2 + 1322 + 5). Nova's invoke body and the
 * invocation metrics spell the cache counts `…TokenCount`. */
export function converseUsage(raw: JsonObject | null): Usage | null {
  if (raw === null) return null;
  const input = num(raw['inputTokens']) ?? num(raw['inputTokenCount']);
  const output = num(raw['outputTokens']) ?? num(raw['outputTokenCount']);
  const cacheRead = num(raw['cacheReadInputTokens']) ?? num(raw['cacheReadInputTokenCount']);
  const cacheWrite = num(raw['cacheWriteInputTokens']) ?? num(raw['cacheWriteInputTokenCount']);
  if (input === null && output === null) return null;
  return {
    input_tokens: input === null ? null : input + (cacheRead ?? 0) + (cacheWrite ?? 0),
    output_tokens: output,
    cache_read_tokens: cacheRead,
    cache_write_tokens: cacheWrite,
    reasoning_tokens: null,
    estimated: false,
    raw,
  };
}

/** InvokeModel answers carry the counts in headers whatever the model family
 * (`X-Amzn-Bedrock-Input-Token-Count`, `…-Output-Token-Count`, `…-Cache-Read-Input-Token-Count`,
 * `…-Cache-Write-Input-Token-Count`; recorded in openllmetry's test_prompt_cache cassette). */
export function invocationHeaderUsage(res: HttpResponse): Usage | null {
  const n = (name: string): number | null => {
    const v = headerValue(res.headers, name);
    if (v === undefined || !/^\d+$/.test(v.trim())) return null;
    return Number(v);
  };
  const raw: JsonObject = {};
  const input = n('x-amzn-bedrock-input-token-count');
  const output = n('x-amzn-bedrock-output-token-count');
  const cacheRead = n('x-amzn-bedrock-cache-read-input-token-count');
  const cacheWrite = n('x-amzn-bedrock-cache-write-input-token-count');
  if (input === null && output === null) return null;
  if (input !== null) raw['inputTokenCount'] = input;
  if (output !== null) raw['outputTokenCount'] = output;
  if (cacheRead !== null) raw['cacheReadInputTokenCount'] = cacheRead;
  if (cacheWrite !== null) raw['cacheWriteInputTokenCount'] = cacheWrite;
  return converseUsage(raw);
}
