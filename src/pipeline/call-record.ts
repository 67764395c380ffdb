/**
 * From an HTTP exchange and what its decoder found to the call record (DESIGN §3–4): ids, timing
 * and derived latencies, endpoints, redaction and key fingerprint. Everything that leaves the
 * pipeline is built here, so this is where secrets are taken out.
 */
import { uuidV7 } from '../core/ids.js';
import { hash } from 'node:crypto';
import { isoMicros, msBetween, type Micros } from '../core/time.js';
import type { HttpExchangeRecord, LlmCallRecord } from '../core/record.js';
import type { DecodedCall } from '../decoders/types.js';
import { headerValue, type HeaderList, type HttpExchange } from '../http/types.js';
import { findApiKey, fingerprintKey, redactHeaders, redactTarget, redactText } from '../redact/secrets.js';
import { attributeValue } from '../redact/attribute-value.js';
import { priceCall, type CallPricer } from '../cost/call-pricer.js';
import type { AttributeRule } from '../config/types.js';

export interface RecordOptions {
  /** Source id carried on every record (DESIGN §1), e.g. the capture file name. */
  source: string;
  /** Salt of `api_key_fingerprint` (configuration, flag or LLMTAP_FINGERPRINT_SALT). */
  fingerprintSalt: string;
  /** Request header → attribute rules of the configuration (none: `attributes` stays empty). */
  attributes?: readonly AttributeRule[];
  /** Pricer with the configured prices (src/cost/call-pricer.ts configurePricing); default:
   * the maintained table alone. */
  pricer?: CallPricer;
}

/**
 * A UUIDv7 whose time is the request's capture time and whose random bits are a hash of what
 * identifies the exchange on the wire (endpoints, request time, position on the connection): the
 * same capture replayed twice yields the same ids, so a store can ignore a second replay.
 */
export function exchangeId(ex: HttpExchange, source: string): string {
  const c = ex.connection;
  // One-shot hash: the same digest as a Hash object fed the same string, without the object.
  const h = hash('sha256', `${source}|${c.client.ip}|${c.client.port}|${c.server.ip}|${c.server.port}|${ex.request.start}|${ex.seq}`, 'buffer');
  return uuidV7(Math.floor(ex.request.start / 1000), h);
}

function iso(t: Micros | null | undefined): string | null {
  return t === null || t === undefined ? null : isoMicros(t);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export function buildCallRecord(ex: HttpExchange, call: DecodedCall, opts: RecordOptions): LlmCallRecord {
  const req = ex.request;
  const res = ex.response;
  const t0 = req.start;
  const out = call.usage.output_tokens;
  const first = call.first_token;
  const last = call.last_token;
  const genSpanMs = first !== null && last !== null ? msBetween(first, last) : null;
  const key = findApiKey(req.headers, req.target);
  const cost = priceCall(
    { provider: call.provider, response_model: call.response_model, request_model: call.request_model, usage: call.usage, atMs: t0 / 1000 },
    opts.pricer,
  );
  const anomalies = mergeAnomalies(ex.anomalies, call.anomalies);
  return {
    kind: 'llm_call',
    id: exchangeId(ex, opts.source),
    source: opts.source,
    provider: call.provider,
    api: call.api,
    operation: call.operation,
    stream: call.stream,
    request_model: call.request_model,
    response_model: call.response_model,
    response_id: call.response_id,
    status_code: res?.status ?? null,
    error: call.error ? { type: call.error.type, message: redactText(call.error.message) } : null,
    finish_reason: call.finish_reason,
    finish_reason_raw: call.finish_reason_raw,
    usage: call.usage,
    // src/cost/call-pricer.ts: a model without a price is unpriced with a null cost, never $0.
    cost_usd: cost.cost_usd,
    cost_status: cost.cost_status,
    timing: {
      request_start: isoMicros(t0),
      request_end: iso(req.end),
      response_start: iso(res?.start),
      first_token: iso(first),
      last_token: iso(last),
      response_end: iso(res?.end),
    },
    ttfb_ms: res ? round3(msBetween(t0, res.start)) : null,
    ttft_ms: first !== null ? round3(msBetween(t0, first)) : null,
    // DESIGN §4: (last − first) / (output − 1), streamed calls with at least two output tokens.
    tpot_ms: call.stream && genSpanMs !== null && out !== null && out >= 2 ? round3(genSpanMs / (out - 1)) : null,
    e2e_ms: res ? round3(msBetween(t0, res.end)) : null,
    output_tokens_per_second:
      genSpanMs !== null && genSpanMs > 0 && out !== null ? round3(out / (genSpanMs / 1000)) : null,
    tool_calls: call.tool_calls.map((t) =>
      t.arguments === undefined ? { id: t.id, name: t.name } : { id: t.id, name: t.name, arguments: redactText(t.arguments) },
    ),
    tools_offered: call.tools_offered,
    client: { ip: ex.connection.client.ip, port: ex.connection.client.port },
    server: { ip: ex.connection.server.ip, port: ex.connection.server.port, host: serverHost(ex) },
    http: {
      method: req.method,
      path: redactTarget(req.target),
      request_bytes: req.wireBytes,
      response_bytes: res?.wireBytes ?? 0,
      content_encoding: res?.body.contentEncoding ?? null,
    },
    user_agent: headerValue(req.headers, 'user-agent') ?? null,
    // Set by the turn tracker (src/agents/turn-tracker.ts) when an agent profile matches.
    agent: null,
    // The transport's own session (MCP); agent sessions are set by the turn tracker.
    session_id: call.session_id ?? null,
    turn_id: null,
    agent_role: null,
    api_key_fingerprint: key ? fingerprintKey(key, opts.fingerprintSalt) : null,
    attributes: opts.attributes === undefined || opts.attributes.length === 0 ? {} : readAttributes(req.headers, opts.attributes),
    content: { output_text: redactText(call.output_text), reasoning_text: redactText(call.reasoning_text) },
    anomalies: cost.anomaly === null ? anomalies : mergeAnomalies(anomalies, [cost.anomaly]),
    // Only sources that know the process set it; captured calls stay without the field.
    ...(ex.connection.process === undefined ? {} : { process: { ...ex.connection.process } }),
  };
}

/**
 * Attribution (issue 5 item 5): each rule's header (first value; cleaned, redacted and capped by
 * attributeValue), else its default; a rule with neither leaves the attribute absent.
 */
export function readAttributes(headers: HeaderList, rules: readonly AttributeRule[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rule of rules) {
    const raw = rule.header === null ? undefined : headerValue(headers, rule.header.toLowerCase());
    const value = (raw === undefined ? null : attributeValue(raw)) ?? rule.default;
    if (value !== null) out[rule.name] = value;
  }
  return out;
}

function serverHost(ex: HttpExchange): string | null {
  return headerValue(ex.request.headers, 'host') ?? headerValue(ex.request.headers, ':authority') ?? null;
}

function mergeAnomalies(a: string[], b: string[]): string[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  return [...new Set([...a, ...b])];
}

export function buildExchangeRecord(ex: HttpExchange, reason: string, opts: RecordOptions): HttpExchangeRecord {
  const req = ex.request;
  const res = ex.response;
  return {
    kind: 'http_exchange',
    id: exchangeId(ex, opts.source),
    source: opts.source,
    connection_id: ex.connection.id,
    client: { ip: ex.connection.client.ip, port: ex.connection.client.port },
    server: { ip: ex.connection.server.ip, port: ex.connection.server.port, host: serverHost(ex) },
    method: req.method,
    target: redactTarget(req.target),
    status_code: res?.status ?? null,
    request_headers: redactHeaders(req.headers),
    response_headers: res ? redactHeaders(res.headers) : [],
    request_bytes: req.wireBytes,
    response_bytes: res?.wireBytes ?? 0,
    request_start: isoMicros(req.start),
    response_end: iso(res?.end),
    reason,
    anomalies: ex.anomalies,
  };
}
