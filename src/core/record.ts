import type { CallError, FinishReason, ToolCall, Usage } from '../decoders/types.js';

/** Timestamps of a call, ISO 8601 with µs (DESIGN §4). */
export interface CallTiming {
  request_start: string;
  request_end: string | null;
  response_start: string | null;
  first_token: string | null;
  last_token: string | null;
  response_end: string | null;
}

/** The call record (DESIGN §3). JSONL, store and API all carry these names; add, never rename. */
export interface LlmCallRecord {
  kind: 'llm_call';
  id: string;
  source: string;
  provider: string;
  api: string;
  operation: string;
  stream: boolean;
  request_model: string | null;
  response_model: string | null;
  response_id: string | null;
  status_code: number | null;
  error: CallError | null;
  finish_reason: FinishReason | null;
  finish_reason_raw: string | null;
  usage: Usage;
  cost_usd: number | null;
  cost_status: 'priced' | 'unpriced' | 'estimated';
  timing: CallTiming;
  ttfb_ms: number | null;
  ttft_ms: number | null;
  tpot_ms: number | null;
  e2e_ms: number | null;
  output_tokens_per_second: number | null;
  tool_calls: ToolCall[];
  tools_offered: string[];
  client: { ip: string; port: number };
  server: { ip: string; port: number; host: string | null };
  http: {
    method: string;
    path: string;
    request_bytes: number;
    response_bytes: number;
    content_encoding: string | null;
  };
  user_agent: string | null;
  agent: string | null;
  session_id: string | null;
  turn_id: string | null;
  api_key_fingerprint: string | null;
  attributes: Record<string, string>;
  content: { output_text: string; reasoning_text: string };
  anomalies: string[];
}

/** Every other HTTP exchange (`--exchanges`), so nothing on the wire is invisible. */
export interface HttpExchangeRecord {
  kind: 'http_exchange';
  id: string;
  source: string;
  connection_id: string;
  client: { ip: string; port: number };
  server: { ip: string; port: number; host: string | null };
  method: string;
  target: string;
  status_code: number | null;
  request_headers: [string, string][];
  response_headers: [string, string][];
  request_bytes: number;
  response_bytes: number;
  request_start: string;
  response_end: string | null;
  /** Why this exchange is not an LLM call (e.g. "not_llm_route", "count_tokens"). */
  reason: string;
  anomalies: string[];
}
