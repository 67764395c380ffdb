/**
 * Records → OpenTelemetry spans (issue 5 item 3), built as the SDK's `ReadableSpan` so the
 * maintained OTLP serializer (@opentelemetry/otlp-transformer) encodes them.
 *
 * A call is a GenAI inference span (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/):
 * name `{gen_ai.operation.name} {gen_ai.request.model}`, kind CLIENT ("when the GenAI call happens
 * over instrumented protocol such as HTTP"). A turn is an `invoke_agent {gen_ai.agent.name}` span
 * (gen-ai-agent-spans.md), kind INTERNAL: the agent runs inside the observed client process and
 * its calls are its children. An MCP call is an MCP client span instead (mcp-semconv.ts):
 * `{mcp.method.name} {target}`, MCP and JSON-RPC attributes, no GenAI token attributes. Times
 * are the capture times of the record (µs → ns exactly).
 *
 * No content (prompts, outputs, previews, error messages) and no secrets: only what the record's
 * metadata says, with key-shaped strings redacted from header-derived attributes.
 */
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime, type SpanContext } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { AgentTurnRecord, LlmCallRecord } from '../../core/record.js';
import type { Micros } from '../../core/time.js';
import { redactText } from '../../redact/secrets.js';
import { isoToMicros as parseIsoMicros } from '../record-time.js';
import { callSpanId, callTraceId, turnSpanId, turnTraceId } from './ids.js';
import { jsonRpcErrorCode, mcpErrorType, mcpSpanName, mcpTarget } from './mcp-semconv.js';
import { errorType, operationName, providerName, serverAddress, systemName } from './semconv.js';

/** Resource and scope every span carries (one resource per exporter). */
export interface SpanOrigin {
  resource: Resource;
  scope: InstrumentationScope;
}

/** Characters kept of a string attribute. Model names, ids and header values are short; 256 is
 * the project's own limit on a model name (src/cost: `cost_model_name_too_long`), so a crafted
 * giant header or model cannot bloat every span. */
export const MAX_ATTRIBUTE_CHARS = 256;
/** Entries kept of an array attribute (tool calls of one response). */
export const MAX_ARRAY_ITEMS = 64;
/** Configured attributes copied as `llmtap.attr.*` (the config allows few; this bounds a bug). */
const MAX_CUSTOM_ATTRIBUTES = 32;

/** µs since the epoch → OpenTelemetry HrTime [seconds, nanoseconds], exact for every Micros. */
export function microsToHrTime(us: Micros): HrTime {
  const s = Math.floor(us / 1_000_000);
  return [s, (us - s * 1_000_000) * 1000];
}

function clip(s: string): string {
  return s.length > MAX_ATTRIBUTE_CHARS ? s.slice(0, MAX_ATTRIBUTE_CHARS) : s;
}

/** Sets a string/number/boolean attribute only when the record has a value. */
function put(a: Attributes, key: string, v: string | number | boolean | null | undefined): void {
  if (v === null || v === undefined) return;
  if (typeof v === 'number' && !Number.isFinite(v)) return;
  a[key] = typeof v === 'string' ? clip(v) : v;
}

function context(traceId: string, spanId: string): SpanContext {
  return { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: false };
}

function span(
  o: SpanOrigin,
  name: string,
  kind: SpanKind,
  ctx: SpanContext,
  parent: SpanContext | undefined,
  start: Micros,
  end: Micros,
  attributes: Attributes,
  failed: string | null,
): ReadableSpan {
  const startTime = microsToHrTime(start);
  const endTime = microsToHrTime(end);
  return {
    name: clip(name),
    kind,
    spanContext: () => ctx,
    ...(parent ? { parentSpanContext: parent } : {}),
    startTime,
    endTime,
    duration: microsToHrTime(end - start),
    // Recording Errors (semconv general/recording-errors.md): status ERROR with a short
    // description; the description is the error type, never the provider's message.
    status: failed === null ? { code: SpanStatusCode.UNSET } : { code: SpanStatusCode.ERROR, message: clip(failed) },
    attributes,
    links: [],
    events: [],
    ended: true,
    resource: o.resource,
    instrumentationScope: o.scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/** The call's end: its last response byte, else the latest time it has (an interrupted call). */
function callEnd(call: LlmCallRecord, start: Micros): Micros {
  const t = call.timing;
  for (const s of [t.response_end, t.last_token, t.first_token, t.response_start, t.request_end]) {
    const v = parseIsoMicros(s);
    if (v !== null) return Math.max(v, start);
  }
  return start;
}

/** The call's span, or null when its start time is not a time (a record we did not make). */
export function callSpan(call: LlmCallRecord, o: SpanOrigin): ReadableSpan | null {
  const start = parseIsoMicros(call.timing.request_start);
  if (start === null) return null;
  const end = callEnd(call, start);
  const a: Attributes = {};
  const mcp = call.api === 'mcp';
  const failed = mcp ? mcpErrorType(call, errorType(call)) : errorType(call);
  const name = mcp ? mcpSpanName(call) : genAiAttributes(a, call);
  if (mcp) mcpAttributes(a, call);
  put(a, 'server.address', serverAddress(call.server));
  put(a, 'server.port', call.server.port);
  put(a, 'client.address', call.client.ip);
  put(a, 'client.port', call.client.port);
  put(a, 'http.request.method', call.http.method);
  put(a, 'http.response.status_code', call.status_code);
  put(a, 'error.type', failed);
  if (call.agent !== null) put(a, 'gen_ai.agent.name', call.agent);
  put(a, 'llmtap.call.id', call.id);
  put(a, 'llmtap.source', call.source);
  put(a, 'llmtap.api', call.api);
  put(a, 'llmtap.stream', call.stream);
  put(a, 'llmtap.finish_reason', call.finish_reason);
  if (!mcp) {
    put(a, 'llmtap.usage.reasoning_tokens', call.usage.reasoning_tokens);
    put(a, 'llmtap.usage.estimated', call.usage.estimated);
    put(a, 'llmtap.cost_usd', call.cost_usd);
  }
  put(a, 'llmtap.cost_status', call.cost_status);
  put(a, 'llmtap.ttfb_ms', call.ttfb_ms);
  put(a, 'llmtap.ttft_ms', call.ttft_ms);
  put(a, 'llmtap.tpot_ms', call.tpot_ms);
  put(a, 'llmtap.e2e_ms', call.e2e_ms);
  put(a, 'llmtap.agent', call.agent);
  put(a, 'llmtap.agent_role', call.agent_role);
  put(a, 'llmtap.turn.id', call.turn_id);
  // A salted hash made for attribution (DESIGN §3); the key itself is never in a record.
  put(a, 'llmtap.api_key_fingerprint', call.api_key_fingerprint);
  if (call.tool_calls.length > 0) a['llmtap.tool_calls'] = call.tool_calls.slice(0, MAX_ARRAY_ITEMS).map((t) => clip(t.name));
  let n = 0;
  for (const [k, v] of Object.entries(call.attributes)) {
    if (n++ >= MAX_CUSTOM_ATTRIBUTES) break;
    // Header-derived: the config refuses secret headers, and key-shaped text is redacted anyway.
    put(a, `llmtap.attr.${clip(k)}`, redactText(v));
  }
  const own = call.turn_id === null ? callTraceId(call.id) : turnTraceId(call.turn_id);
  const parent = call.turn_id === null ? undefined : context(own, turnSpanId(call.turn_id));
  return span(o, name, SpanKind.CLIENT, context(own, callSpanId(call.id)), parent, start, end, a, failed);
}

/** A model call's GenAI inference attributes (gen-ai-spans.md); returns the span name
 * `{gen_ai.operation.name} {gen_ai.request.model}`. */
function genAiAttributes(a: Attributes, call: LlmCallRecord): string {
  const op = operationName(call);
  put(a, 'gen_ai.operation.name', op);
  put(a, 'gen_ai.provider.name', providerName(call));
  put(a, 'gen_ai.system', systemName(call));
  put(a, 'gen_ai.request.model', call.request_model);
  put(a, 'gen_ai.response.model', call.response_model);
  put(a, 'gen_ai.response.id', call.response_id);
  // The raw reason as the provider sent it (the spec's examples are OpenAI's `stop`,
  // `length`); the normalised one is llmtap.finish_reason.
  const finish = call.finish_reason_raw ?? call.finish_reason;
  if (finish !== null) a['gen_ai.response.finish_reasons'] = [clip(finish)];
  put(a, 'gen_ai.usage.input_tokens', call.usage.input_tokens);
  put(a, 'gen_ai.usage.output_tokens', call.usage.output_tokens);
  // Included in input_tokens, as the registry says they SHOULD be (and as our usage is).
  put(a, 'gen_ai.usage.cache_read.input_tokens', call.usage.cache_read_tokens);
  put(a, 'gen_ai.usage.cache_creation.input_tokens', call.usage.cache_write_tokens);
  put(a, 'gen_ai.conversation.id', call.session_id);
  const model = call.request_model ?? call.response_model;
  return model === null ? op : `${op} ${model}`;
}

/** An MCP call's MCP client span attributes (mcp-semconv.ts). */
function mcpAttributes(a: Attributes, call: LlmCallRecord): void {
  put(a, 'mcp.method.name', call.operation || null);
  put(a, 'mcp.session.id', call.session_id);
  // The JSON-RPC id of the request (decoders/mcp.ts keeps it as response_id); notifications have none.
  put(a, 'jsonrpc.request.id', call.response_id);
  const tool = mcpTarget(call);
  if (tool !== null) {
    put(a, 'gen_ai.tool.name', tool);
    put(a, 'gen_ai.operation.name', 'execute_tool');
  }
  const code = jsonRpcErrorCode(call);
  if (code !== null) put(a, 'rpc.response.status_code', String(code));
  // Streamable HTTP: "tcp" when the transport is HTTP (common.yaml mcp.network.protocol.attributes).
  put(a, 'network.transport', 'tcp');
  put(a, 'network.protocol.name', 'http');
}

/** A final turn's `invoke_agent` span (same ids its calls named as parent), or null when its
 * start is not a time. `provider` is the provider of its calls when the exporter saw them. */
export function turnSpan(turn: AgentTurnRecord, provider: string | null, o: SpanOrigin): ReadableSpan | null {
  const start = parseIsoMicros(turn.start);
  if (start === null) return null;
  const endAt = parseIsoMicros(turn.end);
  const end = endAt === null ? start : Math.max(endAt, start);
  const a: Attributes = {};
  put(a, 'gen_ai.operation.name', 'invoke_agent');
  put(a, 'gen_ai.provider.name', provider);
  put(a, 'gen_ai.agent.name', turn.agent);
  put(a, 'gen_ai.conversation.id', turn.session_id);
  if (turn.models.length === 1) put(a, 'gen_ai.request.model', turn.models[0]);
  put(a, 'gen_ai.usage.input_tokens', turn.usage.input_tokens);
  put(a, 'gen_ai.usage.output_tokens', turn.usage.output_tokens);
  put(a, 'gen_ai.usage.cache_read.input_tokens', turn.usage.cache_read_tokens);
  put(a, 'gen_ai.usage.cache_creation.input_tokens', turn.usage.cache_write_tokens);
  put(a, 'llmtap.turn.id', turn.id);
  put(a, 'llmtap.source', turn.source);
  put(a, 'llmtap.turn.status', turn.status);
  put(a, 'llmtap.turn.call_count', turn.call_count);
  put(a, 'llmtap.turn.tool_call_count', turn.tool_call_count);
  put(a, 'llmtap.turn.subagent_count', turn.subagents.length);
  put(a, 'llmtap.turn.stall_count', turn.stalls.length);
  put(a, 'llmtap.turn.loop_count', turn.loops.length);
  put(a, 'llmtap.finish_reason', turn.final_finish_reason);
  put(a, 'llmtap.usage.reasoning_tokens', turn.usage.reasoning_tokens);
  put(a, 'llmtap.usage.estimated', turn.usage.estimated);
  put(a, 'llmtap.cost_usd', turn.cost_usd);
  if (turn.models.length > 0) a['llmtap.models'] = turn.models.slice(0, MAX_ARRAY_ITEMS).map(clip);
  if (turn.anomalies.length > 0) a['llmtap.anomalies'] = turn.anomalies.slice(0, MAX_ARRAY_ITEMS).map(clip);
  const ctx = context(turnTraceId(turn.id), turnSpanId(turn.id));
  return span(o, `invoke_agent ${turn.agent}`, SpanKind.INTERNAL, ctx, undefined, start, end, a, null);
}
