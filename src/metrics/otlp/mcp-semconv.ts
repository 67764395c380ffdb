/**
 * OpenTelemetry semantic conventions for MCP calls (status Development), as of the GenAI
 * semconv repository's model/mcp/{common,spans,registry}.yaml
 * (https://github.com/open-telemetry/semantic-conventions-genai, rendered at
 * https://opentelemetry.io/docs/specs/semconv/gen-ai/mcp/):
 * - span name `{mcp.method.name} {target}`, target = `gen_ai.tool.name` (or `gen_ai.prompt.name`)
 *   when there is one, else `{mcp.method.name}`; kind CLIENT for a client's request;
 * - `mcp.method.name` (required), `mcp.session.id` (the `Mcp-Session-Id`, when there is one),
 *   `jsonrpc.request.id` (conditionally required: a request), `gen_ai.tool.name` (a tool call),
 *   `gen_ai.operation.name` = `execute_tool` for a tool call and not set otherwise;
 * - `error.type`: the JSON-RPC error code as a string, `tool_error` for a `CallToolResult` with
 *   `isError: true`, else the general guidance (here: the HTTP status, `_OTHER`);
 *   `rpc.response.status_code`: the JSON-RPC error code (a string, as in the RPC registry);
 * - `network.transport` `tcp` and `network.protocol.name` `http` for Streamable HTTP.
 * Not set: `mcp.protocol.version` (the `MCP-Protocol-Version` header is not kept in the record)
 * and `mcp.resource.uri` (request params are not kept). GenAI token attributes are not set: an
 * MCP call carries no tokens.
 */
import type { LlmCallRecord } from '../../core/record.js';

/** Names src/decoders/mcp.ts gives JSON-RPC 2.0 §5.1 codes (and MCP's -32002), back to codes. */
const CODE_OF: ReadonlyMap<string, number> = new Map([
  ['parse_error', -32700],
  ['invalid_request', -32600],
  ['method_not_found', -32601],
  ['invalid_params', -32602],
  ['internal_error', -32603],
  ['resource_not_found', -32002],
]);
/** Other codes are recorded as `jsonrpc_error_{code}` by the decoder. */
const OTHER_CODE = /^jsonrpc_error_(-?\d{1,12})$/;

/** The JSON-RPC error code of an MCP call's error, or null (no error, a tool error, HTTP). */
export function jsonRpcErrorCode(call: Pick<LlmCallRecord, 'error'>): number | null {
  const type = call.error?.type;
  if (type === undefined) return null;
  const known = CODE_OF.get(type);
  if (known !== undefined) return known;
  const m = OTHER_CODE.exec(type);
  return m === null ? null : Number(m[1]);
}

/** `error.type` of an MCP call: the JSON-RPC code as a string when there is one, else the
 * record's error type (`tool_error`, an HTTP error), else the generic fallback. */
export function mcpErrorType(call: Pick<LlmCallRecord, 'error'>, fallback: string | null): string | null {
  const code = jsonRpcErrorCode(call);
  return code === null ? fallback : String(code);
}

/** The span's low-cardinality target: the tool a `tools/call` names. */
export function mcpTarget(call: Pick<LlmCallRecord, 'operation' | 'tool_calls'>): string | null {
  if (call.operation !== 'tools/call') return null;
  const name = call.tool_calls[0]?.name;
  return name === undefined || name === '' ? null : name;
}

/** `{mcp.method.name} {target}`, or the method alone. */
export function mcpSpanName(call: Pick<LlmCallRecord, 'operation' | 'tool_calls'>): string {
  const method = call.operation || 'mcp';
  const target = mcpTarget(call);
  return target === null ? method : `${method} ${target}`;
}
