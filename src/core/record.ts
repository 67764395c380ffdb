import type { CallError, FinishReason, ToolCall, Usage } from './call-parts.js';

/** Timestamps of a call, ISO 8601 with µs (DESIGN §4). */
export interface CallTiming {
  request_start: string;
  request_end: string | null;
  response_start: string | null;
  first_token: string | null;
  last_token: string | null;
  response_end: string | null;
}

/** The process that made a call, where the source can tell (eBPF: the process whose TLS library
 * handled the bytes). Captured packets do not say which process sent them. */
export interface ProcessInfo {
  pid: number;
  /** The kernel's task name (`/proc/PID/comm`, at most 15 bytes). */
  comm: string;
  /** `/proc/PID/exe` when it could be read, else null. */
  exe: string | null;
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
  /** `not_applicable`: a call that is not billed by tokens (MCP tool-server requests), so it is
   * neither priced nor missing a price. */
  cost_status: 'priced' | 'unpriced' | 'estimated' | 'not_applicable';
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
  /** What this call is to its turn; null when no agent profile matched. */
  agent_role: AgentRole | null;
  api_key_fingerprint: string | null;
  attributes: Record<string, string>;
  content: { output_text: string; reasoning_text: string };
  anomalies: string[];
  /** Present only for sources that know the calling process (eBPF, issue 9). */
  process?: ProcessInfo;
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

/** What an agent call is to its turn (DESIGN §5): a step of the user's turn, a step of a
 * sub-agent working for it, or an auxiliary call (title generation, quota probe…) outside turns. */
export type AgentRole = 'main' | 'subagent' | 'auxiliary';

/** Sums over a turn's calls. A count is null only when no call of the turn reported it. */
export interface TurnUsage {
  input_tokens: number | null;
  output_tokens: number | null;
  cache_read_tokens: number | null;
  cache_write_tokens: number | null;
  reasoning_tokens: number | null;
  /** True when any call's counts were estimated. */
  estimated: boolean;
}

/** One call of a turn, in request order: enough to draw the turn's timeline without the calls. */
export interface TurnStep {
  call_id: string;
  role: AgentRole;
  /** Sub-agent this call belongs to (an id from `subagents`), null for the main agent. */
  subagent_id: string | null;
  model: string | null;
  request_start: string;
  response_end: string | null;
  finish_reason: string | null;
  status_code: number | null;
  /** Names of the tools this call asked for, in order. */
  tool_calls: string[];
}

/** A turn (DESIGN §5): one user request to an agent and every call it caused until the answer.
 * Written after its calls in JSONL; stored and updated while in progress. */
export interface AgentTurnRecord {
  kind: 'agent_turn';
  /** UUIDv7 at the turn's start; deterministic (same capture → same id). */
  id: string;
  source: string;
  /** Profile that recognised the agent: claude-code, codex, opencode, openclaw, hermes, gemini-cli, generic. */
  agent: string;
  session_id: string;
  /** in_progress while calls may still come; complete at a terminal call; incomplete when the
   * session went silent or the input ended first. */
  status: 'in_progress' | 'complete' | 'incomplete';
  start: string;
  /** Last response byte of the last call so far. */
  end: string | null;
  duration_ms: number | null;
  call_count: number;
  steps: TurnStep[];
  models: string[];
  usage: TurnUsage;
  cost_usd: number | null;
  tool_call_count: number;
  /** Tool names with how often the turn's calls asked for them, most used first. */
  tools_used: { name: string; count: number }[];
  subagents: { id: string; call_count: number; first_call_id: string }[];
  user_preview: string | null;
  final_preview: string | null;
  final_finish_reason: string | null;
  /** Tool gaps (end of a call asking for tools → start of the next call) above the threshold. */
  stalls: { after_call_id: string; gap_ms: number }[];
  /** The same tool call with the same arguments asked for again and again. */
  loops: { tool: string; arguments_preview: string; count: number }[];
  anomalies: string[];
}

/** A named score attached to a call or a turn (issue 5: an eval result, a thumbs-up). Scores are
 * a time series like any metric: `ts` is the annotated call's request start (a turn's start), so
 * they line up with the traffic they judge, whenever they were posted. */
export interface AnnotationRecord {
  kind: 'annotation';
  /** UUIDv7 at `created_at`. */
  id: string;
  target_kind: 'call' | 'turn';
  target_id: string;
  /** Score name, e.g. "helpfulness", "thumbs_up" (1–64 characters of [A-Za-z0-9_.:-]). */
  name: string;
  /** The score (a thumbs-up is 1, a thumbs-down 0). */
  value: number;
  /** Optional label ("pass", "fail", "good") and free text, both length-capped. */
  label: string | null;
  comment: string | null;
  author: string | null;
  /** Time the score belongs to: the target's start (ISO 8601, µs). */
  ts: string;
  /** Wall time it was posted. */
  created_at: string;
  /** The target's dimensions at posting time (model, provider, agent, attributes…) so rules and
   * series can filter scores like calls without a join. */
  dimensions: Record<string, string>;
}

/** One alert incident (a rule that fired, then cleared) or one budget notice. Stored, shown in
 * the console, delivered to webhooks and the log. */
export interface AlertRecord {
  kind: 'alert';
  /** UUIDv7 at `fired_at`; an incident keeps its id from firing to resolution. */
  id: string;
  /** Name of the alert rule or budget in the configuration. */
  rule: string;
  rule_kind: 'rule' | 'budget';
  /** firing → resolved for rules; a budget notice is `notice` (it never resolves). */
  state: 'firing' | 'resolved' | 'notice';
  severity: 'info' | 'warning' | 'critical';
  /** The metric (alert-metric grammar of src/config/types.ts) and its value when it fired. */
  metric: string;
  value: number | null;
  threshold: number;
  /** Rule window in ms (null for budgets). */
  window_ms: number | null;
  filters: Record<string, string>;
  /** The source whose calls raised it (a capture file, an interface, a probe's uuid): a rule on
   * calls runs once per source (src/alerts/rule-engine.ts). null for rules on scores (a score
   * has no source), budgets (spend is one total over all sources) and, past the cap on clocks,
   * the sources that share one clock. Records stored before version 6 read as null. */
  source: string | null;
  /** Capture time (ISO 8601, µs): when the rule's condition became true / false. */
  fired_at: string;
  resolved_at: string | null;
  /** One human line: what crossed what, where. */
  message: string;
  /** For budget notices: which period, which value, how far. */
  budget: {
    period: 'day' | 'week' | 'month';
    period_start: string;
    scope: string;
    scope_value: string;
    spent_usd: number;
    limit_usd: number;
    fraction: number;
  } | null;
}
