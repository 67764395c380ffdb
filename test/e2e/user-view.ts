import type { LlmCallRecord } from '../../src/core/record.js';

/**
 * What a user reads of a call that must not depend on how llmtap saw it (the wire in plaintext,
 * TLS with a key log, HTTP/2, eBPF, the proxy): everything but addresses and ports (eBPF knows no
 * socket, a proxy has two), ids, byte counts (TLS records, HPACK, re-rendered heads) and times
 * (each test checks those apart).
 */
export function userView(r: LlmCallRecord): unknown {
  return {
    response_id: r.response_id,
    provider: r.provider,
    api: r.api,
    operation: r.operation,
    stream: r.stream,
    request_model: r.request_model,
    response_model: r.response_model,
    status_code: r.status_code,
    error: r.error,
    finish_reason: r.finish_reason,
    finish_reason_raw: r.finish_reason_raw,
    usage: r.usage,
    cost_usd: r.cost_usd,
    cost_status: r.cost_status,
    tool_calls: r.tool_calls,
    tools_offered: r.tools_offered,
    content: r.content,
    method: r.http.method,
    path: r.http.path,
    content_encoding: r.http.content_encoding,
    user_agent: r.user_agent,
    api_key_fingerprint: r.api_key_fingerprint,
    agent: r.agent,
    agent_role: r.agent_role,
    session_id: r.session_id,
    anomalies: r.anomalies,
  };
}
