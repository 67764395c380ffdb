/**
 * The storage interface (DESIGN §6). Every database access in llmtap goes through `Store`; only
 * src/store/ imports a database client. DuckDB is the embedded default; ClickHouse will implement
 * the same interface. Values cross this boundary as plain JSON-friendly data: timestamps as ISO
 * 8601 strings with µs (src/core/time.ts `isoMicros`) in results, `Micros` numbers in filters.
 */
import type { AgentRole, AgentTurnRecord, AlertRecord, AnnotationRecord, LlmCallRecord, TurnUsage } from '../core/record.js';
import type { Micros } from '../core/time.js';

// ───────────────────────────── records written ─────────────────────────────

/**
 * An exchange as written: a body may be given as its UTF-8 bytes, as the pipeline holds it, so
 * it need not become a string only to be encoded again for the database (issue 6). It reads back
 * as text (StoredExchange), the bytes decoded. Bytes that are not valid UTF-8 are stored as the
 * text they decode to, invalid sequences replaced by U+FFFD (as bodyText does).
 */
export type StoredExchangeInput = Omit<StoredExchange, 'request_body' | 'response_body'> & {
  request_body: string | Uint8Array | null;
  response_body: string | Uint8Array | null;
};

/** One server-sent / NDJSON / event-stream event of a streamed response, with its capture time. */
export interface StoredEvent {
  /** Capture time of the packet that completed the event, ISO 8601 with µs. */
  ts: string;
  /** SSE `event:` name ('' when absent; 'message' is the WHATWG default but we keep what was sent). */
  event: string;
  /** The event's data as text (already redacted by the pipeline). */
  data: string;
}

/**
 * A raw HTTP exchange as stored: every exchange, LLM call or not, so nothing on the wire is
 * invisible. When the exchange is an LLM call, `id` equals the call's id and `call_id` = `id`.
 * Everything here is already redacted by the pipeline (DESIGN §7); the store writes exactly what
 * it is given, except that it enforces the caps below (see `STORE_CAPS`) if the caller did not.
 */
export interface StoredExchange {
  id: string;
  call_id: string | null;
  kind: 'llm_call' | 'other';
  /** Why it is not an LLM call (HttpExchangeRecord.reason, e.g. "not_llm_route"); null for calls. */
  reason: string | null;
  source: string;
  connection_id: string;
  client: { ip: string; port: number };
  server: { ip: string; port: number; host: string | null };
  method: string;
  /** Request target (path + query), redacted. */
  target: string;
  status_code: number | null;
  request_headers: [string, string][];
  response_headers: [string, string][];
  /** Bytes on the wire (head + body). */
  request_bytes: number;
  response_bytes: number;
  /** Decoded body text (head + tail when truncated), or null when there was none / not captured. */
  request_body: string | null;
  response_body: string | null;
  /** Size of the whole decoded body in bytes, before the store's head+tail cap. */
  request_body_size: number;
  response_body_size: number;
  /** True when the stored text is head + "…" + tail of a longer body (or the pipeline's cap hit). */
  request_body_truncated: boolean;
  response_body_truncated: boolean;
  /** Events of a streamed response in order, or null when not streamed. */
  response_events: StoredEvent[] | null;
  /** Number of events in the response before the count cap. */
  response_events_total: number;
  response_events_truncated: boolean;
  /** Set by retention when bodies and events were dropped (bodies expire sooner than rows). */
  bodies_expired: boolean;
  request_start: string;
  request_end: string | null;
  response_start: string | null;
  response_end: string | null;
  anomalies: string[];
}

/** The list view of an exchange: no bodies, events or headers. */
export type ExchangeListItem = Omit<
  StoredExchange,
  'request_body' | 'response_body' | 'response_events' | 'request_headers' | 'response_headers'
>;

/** The list view of a call: the record without its content, plus a short preview of the output. */
export type CallListItem = Omit<LlmCallRecord, 'content'> & {
  /** First `STORE_CAPS.previewChars` characters of content.output_text. */
  output_preview: string;
};

export type TurnStatus = AgentTurnRecord['status'];

/** A turn and its calls (list items) in step order. A step whose call is not stored (not yet
 * committed, or removed by retention) has no entry: match calls to steps by `call_id`. */
export interface TurnDetail {
  turn: AgentTurnRecord;
  calls: CallListItem[];
}

/** A session: one conversation, summed over its stored turns. */
export interface SessionSummary {
  session_id: string;
  /** Agent and source of its first turn (a session id belongs to one agent). */
  agent: string;
  source: string;
  /** First turn's start; last turn's end (its start while it has no end yet). */
  start: string;
  end: string | null;
  turn_count: number;
  /** Calls of its turns (sum of turn call_count; auxiliary calls outside turns are not counted). */
  call_count: number;
  tool_call_count: number;
  /** Sums over the turns; a count is null only when no turn reported it. */
  usage: TurnUsage;
  /** Sum over turns with a cost, null when none has one. */
  cost_usd: number | null;
  /** Status of the latest turn: in_progress means the session is active. */
  last_status: TurnStatus;
  last_turn_id: string;
  /** The user's request that opened the session (its first turn's user_preview). */
  first_user_preview: string | null;
}

/** A session and its turns, oldest first (at most STORE_CAPS.sessionTurns: `turns_truncated`). */
export interface SessionDetail {
  session: SessionSummary;
  turns: AgentTurnRecord[];
  turns_truncated: boolean;
}

export interface CallDetail {
  call: LlmCallRecord;
  /** The raw exchange the call was decoded from (same id), or null if none was stored. */
  exchange: StoredExchange | null;
}

// ───────────────────────────── filters and pages ─────────────────────────────

/**
 * Status filter: an exact code, a class, 'error' (status ≥ 400 OR an error event in the record,
 * DESIGN §4), or 'none' (no response at all). Unknown strings match nothing.
 */
export type StatusFilter = number | '1xx' | '2xx' | '3xx' | '4xx' | '5xx' | 'error' | 'none';

/**
 * Filter over calls. Every field optional; AND across fields, OR within an array field.
 * Values are bound as parameters, never spliced into SQL; a value that matches nothing
 * (including any injection attempt) simply returns no rows.
 */
export interface CallFilter {
  /** request_start ≥ from (µs since epoch, inclusive). */
  from?: Micros;
  /** request_start < to (exclusive). */
  to?: Micros;
  provider?: string[];
  api?: string[];
  /** Matches request_model OR response_model. */
  model?: string[];
  status?: StatusFilter[];
  finish_reason?: string[];
  stream?: boolean;
  agent?: string[];
  session_id?: string[];
  turn_id?: string[];
  /** What the call is to its turn (main, subagent, auxiliary); calls no agent profile matched have none. */
  agent_role?: AgentRole[];
  source?: string[];
  /** Client IP, exact. */
  client_ip?: string[];
  /** Server IP or Host header, exact. */
  server?: string[];
  api_key_fingerprint?: string[];
  /** Attribute values as `name=value` (a configured attribute, record.attributes), exact. */
  attribute?: string[];
  /** The calling process's name (`process.comm`, exact); calls whose source does not know the
   * process (captured traffic) have none. */
  process?: string[];
  /** The calling process's id (`process.pid`): one running instance of a program. */
  pid?: number[];
  /**
   * Case-insensitive substring search (ILIKE with % _ \ escaped) in output_text, reasoning_text
   * and the stored request and response bodies of the call's exchange. Max 1,000 chars (longer
   * is rejected with StoreError 'invalid_argument').
   */
  q?: string;
}

/** Filter over raw exchanges (same semantics as CallFilter). */
export interface ExchangeFilter {
  from?: Micros;
  to?: Micros;
  kind?: ('llm_call' | 'other')[];
  reason?: string[];
  method?: string[];
  status?: StatusFilter[];
  source?: string[];
  client_ip?: string[];
  /** Server IP or Host header, exact. */
  server?: string[];
  connection_id?: string[];
  /** Case-insensitive substring search in target and the request/response bodies. */
  q?: string;
}

/** Filter over agent turns (same semantics as CallFilter). */
export interface TurnFilter {
  /** Turn start ≥ from (µs since the epoch, inclusive). */
  from?: Micros;
  /** Turn start < to (exclusive). */
  to?: Micros;
  agent?: string[];
  session_id?: string[];
  status?: TurnStatus[];
  source?: string[];
  /** Turns that had at least one stall (true) or none (false). */
  has_stalls?: boolean;
  /** Turns that had at least one loop (true) or none (false). */
  has_loops?: boolean;
  /** Case-insensitive substring in the user and final previews (same rules as CallFilter.q). */
  q?: string;
}

/**
 * Filter over sessions (all turns sharing a session_id). `agent`, `source` and `session_id` select
 * the turns a session is built from; the others apply to the session as a whole.
 */
export interface SessionFilter {
  /** The session was active at or after `from`: its last turn's end (or start) ≥ from. */
  from?: Micros;
  /** The session started before `to`: its first turn's start < to. */
  to?: Micros;
  agent?: string[];
  session_id?: string[];
  /** Status of the session's latest turn. */
  status?: TurnStatus[];
  source?: string[];
  /** Case-insensitive substring in the previews of any of its turns. */
  q?: string;
}

/** Cursor pagination, newest first by default. */
export interface PageRequest {
  /** 1..500, default 50; values outside are clamped. */
  limit?: number;
  /** `next_cursor` of the previous page; opaque. A malformed cursor → StoreError 'invalid_cursor'. */
  cursor?: string | null;
  /** 'desc' (newest first, default) or 'asc'. A cursor only continues a walk in the same order. */
  order?: 'asc' | 'desc';
}

export interface Page<T> {
  items: T[];
  /** Pass back to get the next page; null at the end. Stable under concurrent inserts:
   * it encodes the sort key of the last item (calls and exchanges: request_start and id; turns:
   * start and id; sessions: first start and session_id), so new rows never shift a walk. */
  next_cursor: string | null;
}

// ───────────────────────────── aggregates ─────────────────────────────

/** Exact percentiles (DuckDB quantile_cont, linear interpolation) over non-null values. */
export interface Percentiles {
  /** Number of non-null values the percentiles are computed from. */
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  avg: number | null;
  max: number | null;
}

export interface Summary {
  calls: number;
  /** status ≥ 400 or an error in the record. */
  errors: number;
  /** errors / calls, null when calls = 0. */
  error_rate: number | null;
  status_429: number;
  status_5xx: number;
  /** Calls that got no response at all. */
  no_response: number;
  streamed: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  /** Calls whose usage was estimated with a tokenizer. */
  estimated_usage: number;
  /** sum(cache_read) / sum(input) over calls that report input (no cache_read counts as 0);
   * null when no input. */
  cache_hit_ratio: number | null;
  /** Sum of priced calls' cost, null when no call is priced. */
  cost_usd: number | null;
  /** Earliest / latest request_start in the selection (ISO µs), null when empty. */
  first_call: string | null;
  last_call: string | null;
  ttfb_ms: Percentiles;
  ttft_ms: Percentiles;
  tpot_ms: Percentiles;
  e2e_ms: Percentiles;
  output_tokens_per_second: Percentiles;
}

/** Count-like series: one number per bucket (0 when empty). */
export type TimeseriesCountMetric =
  | 'calls'
  | 'errors'
  | 'status_429'
  | 'status_5xx'
  | 'input_tokens'
  | 'output_tokens'
  | 'cache_read_tokens'
  | 'cost_usd'
  /** Calls whose [request_start, response_end] overlaps the bucket (of calls selected by the filter). */
  | 'active_calls';
/** Latency series: yields `<metric>_p50`, `<metric>_p95`, `<metric>_p99` (null when no value). */
export type TimeseriesLatencyMetric = 'ttfb_ms' | 'ttft_ms' | 'tpot_ms' | 'e2e_ms' | 'output_tokens_per_second';
export type TimeseriesMetric = TimeseriesCountMetric | TimeseriesLatencyMetric;

/** Columns a time series or model list can be grouped by. */
export type GroupByField =
  | 'provider'
  | 'api'
  | 'model'
  | 'status_class'
  | 'finish_reason'
  | 'agent'
  | 'server'
  | 'client_ip'
  | 'api_key_fingerprint'
  | 'source'
  /** `process.comm` (src/metrics/dimensions.ts `process`). */
  | 'process';

export interface TimeseriesOptions {
  /** Bucket width in ms, ≥ 1. The range (filter from/to, else the data's) / bucketMs must be
   * ≤ STORE_CAPS.maxBuckets, else StoreError 'invalid_argument'. */
  bucketMs: number;
  metrics: TimeseriesMetric[];
  groupBy?: GroupByField;
  /** With groupBy: keep the top N groups by call count (1..50, default 10); the rest are summed
   * into the group "(other)". */
  groupLimit?: number;
}

export interface TimeseriesSeries {
  /** Group value; null when not grouped. A null value in the data is the group "(none)"; groups
   * beyond groupLimit are summed into "(other)". */
  group: string | null;
  /** One array per requested metric (latency metrics expand to _p50/_p95/_p99), aligned with
   * `buckets`. Count metrics are 0 in empty buckets; percentiles are null there. */
  values: Record<string, (number | null)[]>;
}

export interface TimeseriesResult {
  bucket_ms: number;
  /** Bucket starts, dense and ascending (ISO µs); empty when there is no data. */
  buckets: string[];
  series: TimeseriesSeries[];
}

export interface ModelStats {
  /** coalesce(response_model, request_model); null when neither is known. */
  model: string | null;
  provider: string;
  calls: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cost_usd: number | null;
  last_seen: string;
  ttft_ms: Percentiles;
  tpot_ms: Percentiles;
  e2e_ms: Percentiles;
  output_tokens_per_second: Percentiles;
}

export interface ErrorGroup {
  status_code: number | null;
  /** record.error.type, null when the error is only the status code. */
  error_type: string | null;
  model: string | null;
  count: number;
  first_seen: string;
  last_seen: string;
  /** Id of the most recent call in the group. */
  example_id: string;
  example_message: string | null;
}

/** Fields `filterValues` reports, with the CallFilter field each one feeds. */
export type FilterField =
  | 'provider'
  | 'api'
  | 'model'
  | 'status'
  | 'finish_reason'
  | 'agent'
  | 'session_id'
  | 'agent_role'
  | 'source'
  | 'client_ip'
  | 'server'
  | 'api_key_fingerprint'
  /** `process.comm` of calls whose source knows the process. */
  | 'process'
  /** Attribute values as `name=value` (what CallFilter.attribute takes); the names found are the
   * attributes a breakdown can use. */
  | 'attribute';

export interface FilterValue {
  value: string;
  count: number;
}

/** Per field, the most frequent values first, at most STORE_CAPS.filterValues each. */
export type FilterValues = Record<FilterField, FilterValue[]>;

export interface StoreStats {
  path: string;
  schema_version: number;
  /** Rows per table: calls, exchanges, turns, alerts, annotations. */
  tables: Record<string, number>;
  /** Size of the database file and of its write-ahead log, bytes (0 when absent). */
  file_bytes: number;
  wal_bytes: number;
  /** Bytes of exchange bodies in the pack files beside the database (`<db>.bodies/`; 0: none). */
  bodies_bytes: number;
  retention: RetentionPolicy | false;
}

// ───────────────────────────── costs (issue 5) ─────────────────────────────

/**
 * What spend is broken down by: a built-in dimension of src/config/types.ts BUILTIN_DIMENSIONS
 * (provider, api, model, server, agent, client, key, source), `process` (the calling program's
 * name, `process.comm`: src/metrics/dimensions.ts) or the name of an attribute
 * (record.attributes; 1–64 characters of [A-Za-z0-9_.:-]).
 */
export type CostDimension = string;

/** Spend of a set of calls. Unpriced calls are counted, never summed as $0. */
export interface CostGroup {
  /** The dimension's value; null for calls that have none (no agent, no key, attribute absent). */
  value: string | null;
  calls: number;
  /** Calls with a cost from counted usage / with a cost from estimated usage (tokenizer) / with no
   * cost (no price known): the three add up to `calls`. */
  priced_calls: number;
  estimated_calls: number;
  unpriced_calls: number;
  /** Sum over priced and estimated calls; null when none has a cost. */
  cost_usd: number | null;
  /** Of which estimated calls. */
  estimated_cost_usd: number | null;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
}

export interface CostBreakdown {
  by: CostDimension;
  total: CostGroup;
  /** Most spend first (then most calls), at most STORE_CAPS.costGroups. */
  groups: CostGroup[];
  groups_truncated: boolean;
}

export interface CostTimeseriesOptions {
  /** Bucket width in ms (same limits as TimeseriesOptions.bucketMs). */
  bucketMs: number;
  /** Without it, one series for the whole selection. */
  by?: CostDimension;
  /** Top N groups by spend (1..50, default 10); the rest are summed into "(other)". */
  groupLimit?: number;
}

export interface CostSeries {
  /** Group value: "(none)" for calls without one, "(other)" beyond groupLimit; null when not grouped. */
  group: string | null;
  /** Per bucket: spend (null where no call had a cost), calls, unpriced calls. */
  cost_usd: (number | null)[];
  calls: number[];
  unpriced_calls: number[];
}

export interface CostTimeseries {
  bucket_ms: number;
  by: CostDimension | null;
  buckets: string[];
  series: CostSeries[];
}

/** A price function for `repriceCalls`: the new cost of a stored call. `anomalies`, when given,
 * replaces the record's anomalies (src/cost/record-pricer.ts swaps its `cost_*` names). */
export type CallRepricer = (call: LlmCallRecord) => {
  cost_usd: number | null;
  cost_status: LlmCallRecord['cost_status'];
  anomalies?: string[];
};

export interface RepriceOptions {
  /** Count what would change; write nothing. */
  dryRun?: boolean;
  /** Calls read and written per transaction (default 2,000, 1..20,000). */
  batchSize?: number;
}

export interface RepriceResult {
  /** Calls read (the filter's selection). */
  scanned: number;
  /** Calls whose cost, status or anomalies differ from what was stored. */
  changed: number;
  unchanged: number;
  /** Changed calls that had no cost and now have one, and the reverse. */
  now_priced: number;
  now_unpriced: number;
  /** Total cost of the selection before and after (priced and estimated calls), null when none. */
  cost_before_usd: number | null;
  cost_after_usd: number | null;
  /** Turns whose cost was summed again (those holding a changed call). */
  turns_updated: number;
  dry_run: boolean;
}

// ───────────────────────────── alerts and annotations (issue 5) ─────────────────────────────

export interface AlertFilter {
  /** fired_at ≥ from (µs, inclusive). */
  from?: Micros;
  /** fired_at < to (exclusive). */
  to?: Micros;
  rule?: string[];
  state?: AlertRecord['state'][];
  rule_kind?: AlertRecord['rule_kind'][];
  /** The source that raised it (AlertRecord.source); alerts without one never match. */
  source?: string[];
}

export interface AnnotationFilter {
  /** ts (the target's start) ≥ from. */
  from?: Micros;
  to?: Micros;
  name?: string[];
  target_kind?: AnnotationRecord['target_kind'][];
  target_id?: string[];
}

export interface AnnotationTimeseriesOptions {
  bucketMs: number;
}

/** One score name over time: per bucket the mean, count, min and max of its values. */
export interface AnnotationSeries {
  name: string;
  mean: (number | null)[];
  count: number[];
  min: (number | null)[];
  max: (number | null)[];
}

export interface AnnotationTimeseries {
  bucket_ms: number;
  buckets: string[];
  /** Most scores first, at most STORE_CAPS.scoreSeries names. */
  series: AnnotationSeries[];
}

// ───────────────────────────── retention ─────────────────────────────

/** Retention per table, in days. */
export interface RetentionPolicy {
  callsDays: number;
  exchangesDays: number;
  /** Exchange bodies and events are dropped sooner than the rows (they are most of the bytes). */
  bodiesDays: number;
  /** Agent turns, on their start time; default `callsDays` (a turn outliving its calls shows
   * nothing in its detail, one dropped before them hides calls that still exist). */
  turnsDays?: number;
}

export interface RetentionResult {
  /** Reference time the ages were measured from (ISO µs), null when the store is empty. */
  reference: string | null;
  calls_deleted: number;
  exchanges_deleted: number;
  turns_deleted: number;
  bodies_dropped: number;
}

// ───────────────────────────── the interface ─────────────────────────────

export interface StoreOptions {
  /** Database file path. Created with its directory's existing permissions; the parent must exist. */
  path: string;
  /** Default DEFAULT_RETENTION; false = keep everything (`--no-retention`). */
  retention?: RetentionPolicy | false;
  /** Open without writing (for `llmtap serve` on a file another process owns). Default false. */
  readOnly?: boolean;
}

export interface Store {
  /**
   * One transaction per call. Idempotent: rows whose id is already stored are ignored (ids are
   * deterministic, src/pipeline/call-record.ts exchangeId). Returns the number of rows inserted.
   * Resolves only once the transaction is committed (durable in the WAL).
   */
  insertCalls(records: LlmCallRecord[]): Promise<number>;
  /** insertCalls, answering the ids actually inserted (in the order given): the live feed
   * publishes only those, so a capture replayed twice is not announced twice. */
  insertCallsReturningIds(records: LlmCallRecord[]): Promise<string[]>;
  insertExchanges(records: StoredExchangeInput[]): Promise<number>;
  /**
   * Write turn snapshots, one transaction. A turn is stored once per id and the last snapshot
   * wins (within the batch: the last given; across batches: the last written), with two
   * exceptions that make storing a capture twice a no-op: a snapshot equal to what is stored is
   * not written again, and an in_progress snapshot with no more calls than a stored complete or
   * incomplete turn is ignored (it is an earlier snapshot of the same capture). Returns the ids
   * written (new or changed), in the order of their last snapshot in `turns`.
   */
  upsertTurns(turns: AgentTurnRecord[]): Promise<string[]>;

  listCalls(filter: CallFilter, page?: PageRequest): Promise<Page<CallListItem>>;
  getCall(id: string): Promise<CallDetail | null>;
  listExchanges(filter: ExchangeFilter, page?: PageRequest): Promise<Page<ExchangeListItem>>;
  getExchange(id: string): Promise<StoredExchange | null>;
  /** Turns, keyset-paginated on (start, id), newest first by default. */
  listTurns(filter: TurnFilter, page?: PageRequest): Promise<Page<AgentTurnRecord>>;
  getTurn(id: string): Promise<TurnDetail | null>;
  /** Sessions, keyset-paginated on (start of the first turn, session_id), newest first by default. */
  listSessions(filter: SessionFilter, page?: PageRequest): Promise<Page<SessionSummary>>;
  getSession(sessionId: string): Promise<SessionDetail | null>;

  summary(filter: CallFilter): Promise<Summary>;
  timeseries(filter: CallFilter, opts: TimeseriesOptions): Promise<TimeseriesResult>;
  /** Per model, most calls first, at most STORE_CAPS.models. */
  models(filter: CallFilter): Promise<ModelStats[]>;
  /** Grouped by status + error type + model, most frequent first, at most STORE_CAPS.errorGroups. */
  errors(filter: CallFilter): Promise<ErrorGroup[]>;
  /** Distinct values per filterable field over the calls matching `filter` (default: all). */
  filterValues(filter?: CallFilter): Promise<FilterValues>;
  stats(): Promise<StoreStats>;

  /** Spend by a dimension or attribute, with the total of the selection (issue 5). */
  costs(filter: CallFilter, opts: { by: CostDimension }): Promise<CostBreakdown>;
  /** Spend over time, optionally per group of a dimension. */
  costTimeseries(filter: CallFilter, opts: CostTimeseriesOptions): Promise<CostTimeseries>;
  /**
   * Price stored calls again (prices or configuration changed): streams over the selection in
   * batches of one transaction each, updating cost_usd, cost_status (and anomalies) in the columns
   * and the record, then sums again the cost of every turn holding a changed call.
   */
  repriceCalls(price: CallRepricer, filter?: CallFilter, opts?: RepriceOptions): Promise<RepriceResult>;

  /** Store an alert incident or budget notice; the same id again updates it (firing → resolved),
   * except that a `firing` snapshot never replaces a stored `resolved` one (a replayed history). */
  insertAlert(alert: AlertRecord): Promise<void>;
  /** Alerts, keyset-paginated on (fired_at, id), newest first by default. */
  listAlerts(filter: AlertFilter, page?: PageRequest): Promise<Page<AlertRecord>>;
  getAlert(id: string): Promise<AlertRecord | null>;

  /** Store an annotation (ids are unique; the same id again is ignored). */
  insertAnnotation(annotation: AnnotationRecord): Promise<void>;
  /** Annotations, keyset-paginated on (ts, id), newest first by default. */
  listAnnotations(filter: AnnotationFilter, page?: PageRequest): Promise<Page<AnnotationRecord>>;
  annotationTimeseries(filter: AnnotationFilter, opts: AnnotationTimeseriesOptions): Promise<AnnotationTimeseries>;

  /**
   * Delete rows older than the policy. Reference time: `now` when given, else
   * min(wall clock, newest stored request_start) — so replaying an old capture into an empty
   * store does not delete what it just wrote, and a bogus future timestamp cannot wipe the store.
   * A no-op returning zeros when retention is false. The store also runs it on open and at most
   * every STORE_CAPS.retentionEveryMs of wall time after inserts.
   */
  applyRetention(now?: Micros): Promise<RetentionResult>;
  close(): Promise<void>;
}

/** What went wrong, for the caller to map: open/write failures are fatal (one clear line on
 * stderr, DESIGN §6); invalid_argument / invalid_cursor are the API client's fault (HTTP 400). */
export type StoreErrorCode =
  | 'open_failed'
  | 'write_failed'
  | 'read_failed'
  | 'migration_failed'
  | 'invalid_argument'
  | 'invalid_cursor'
  | 'closed';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const DEFAULT_RETENTION: RetentionPolicy = { callsDays: 30, exchangesDays: 30, bodiesDays: 7 };

/** Caps on everything that grows with input (DESIGN §7). */
export const STORE_CAPS = {
  /** Head of a stored body: 256 KiB holds the whole of nearly every chat request we have seen in
   * the corpus (large agent prompts run ~100–200 KiB), so the conversation view stays complete. */
  bodyHeadBytes: 256 * 1024,
  /** Tail of a stored body: 64 KiB keeps the end of a long stream (final usage, finish reason). */
  bodyTailBytes: 64 * 1024,
  /** Events kept per streamed response (head 16,000 + tail 4,000): a 16k-token completion
   * streamed one token per event fits whole. */
  eventsHead: 16_000,
  eventsTail: 4_000,
  /** Per event data, bytes: a single SSE event larger than this is not a token delta. */
  eventDataBytes: 64 * 1024,
  /** Page size limit for list calls (issue 3). */
  pageMax: 500,
  pageDefault: 50,
  /** Characters of output_text in a list item. */
  previewChars: 200,
  /** Time series: a chart is at most a few thousand pixels wide. */
  maxBuckets: 10_000,
  /** Distinct values per filter field. */
  filterValues: 100,
  models: 500,
  errorGroups: 500,
  /** Turns in a session detail: a day of heavy agent use is a few hundred turns. */
  sessionTurns: 1_000,
  /** Calls fetched for a turn detail: the tracker's own step cap is lower (a turn of thousands of
   * calls is a runaway loop, and its first calls are what explains it). */
  turnCalls: 5_000,
  /** Max length of the `q` search string. */
  qChars: 1_000,
  /** Values per array filter field (a multi-select, not a bulk lookup). */
  filterListMax: 100,
  retentionEveryMs: 10 * 60 * 1000,
  /** Groups in a cost breakdown: as many as the model list (a table a person reads). */
  costGroups: 500,
  /** Score names in an annotation time series: a chart legend stays readable. */
  scoreSeries: 20,
} as const;
