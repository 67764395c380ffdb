/**
 * A Store stand-in for tests of the server's own behaviour (security, errors, the live feed)
 * that do not depend on the data. Every method records its arguments and answers from
 * `answers`; the data tests run against the real DuckDB store (api.duckdb.test.ts).
 */
import type { AgentTurnRecord, AlertRecord, AnnotationRecord, LlmCallRecord } from '../core/record.js';
import type { HealthInfo } from './types.js';
import type {
  AlertFilter,
  AnnotationFilter,
  AnnotationTimeseries,
  AnnotationTimeseriesOptions,
  CallDetail,
  CostBreakdown,
  CostGroup,
  CostTimeseries,
  CostTimeseriesOptions,
  CallFilter,
  CallListItem,
  ErrorGroup,
  ExchangeFilter,
  ExchangeListItem,
  FilterValues,
  ModelStats,
  Page,
  PageRequest,
  Percentiles,
  RepriceResult,
  RetentionResult,
  SessionDetail,
  SessionFilter,
  SessionSummary,
  Store,
  StoredExchange,
  StoreStats,
  Summary,
  TimeseriesOptions,
  TimeseriesResult,
  TurnDetail,
  TurnFilter,
} from '../store/types.js';

const noPct: Percentiles = { count: 0, p50: null, p95: null, p99: null, avg: null, max: null };

export const EMPTY_SUMMARY: Summary = {
  calls: 0,
  errors: 0,
  error_rate: null,
  status_429: 0,
  status_5xx: 0,
  no_response: 0,
  streamed: 0,
  input_tokens: 0,
  output_tokens: 0,
  cache_read_tokens: 0,
  cache_write_tokens: 0,
  reasoning_tokens: 0,
  estimated_usage: 0,
  cache_hit_ratio: null,
  cost_usd: null,
  first_call: null,
  last_call: null,
  ttfb_ms: noPct,
  ttft_ms: noPct,
  tpot_ms: noPct,
  e2e_ms: noPct,
  output_tokens_per_second: noPct,
};

export const EMPTY_COST_GROUP: CostGroup = {
  value: null,
  calls: 0,
  priced_calls: 0,
  estimated_calls: 0,
  unpriced_calls: 0,
  cost_usd: null,
  estimated_cost_usd: null,
  input_tokens: 0,
  output_tokens: 0,
  cache_read_tokens: 0,
  cache_write_tokens: 0,
  reasoning_tokens: 0,
};

export interface FakeStoreCall {
  method: string;
  args: unknown[];
}

export class FakeStore implements Store {
  readonly calls: FakeStoreCall[] = [];
  /** Thrown by every read method when set. */
  fail: Error | null = null;
  listItems: CallListItem[] = [];
  detail: CallDetail | null = null;
  exchange: StoredExchange | null = null;
  turns: AgentTurnRecord[] = [];
  turnDetail: TurnDetail | null = null;
  sessions: SessionSummary[] = [];
  sessionDetail: SessionDetail | null = null;

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
    if (this.fail) throw this.fail;
  }

  async insertCalls(): Promise<number> {
    return 0;
  }
  async insertCallsReturningIds(): Promise<string[]> {
    return [];
  }
  async insertExchanges(): Promise<number> {
    return 0;
  }
  async upsertTurns(): Promise<string[]> {
    return [];
  }
  async listTurns(filter: TurnFilter, page?: PageRequest): Promise<Page<AgentTurnRecord>> {
    this.record('listTurns', filter, page);
    return { items: this.turns, next_cursor: null };
  }
  async getTurn(id: string): Promise<TurnDetail | null> {
    this.record('getTurn', id);
    return this.turnDetail;
  }
  async listSessions(filter: SessionFilter, page?: PageRequest): Promise<Page<SessionSummary>> {
    this.record('listSessions', filter, page);
    return { items: this.sessions, next_cursor: null };
  }
  async getSession(id: string): Promise<SessionDetail | null> {
    this.record('getSession', id);
    return this.sessionDetail;
  }
  async listCalls(filter: CallFilter, page?: PageRequest): Promise<Page<CallListItem>> {
    this.record('listCalls', filter, page);
    return { items: this.listItems, next_cursor: null };
  }
  async getCall(id: string): Promise<CallDetail | null> {
    this.record('getCall', id);
    return this.detail;
  }
  async listExchanges(filter: ExchangeFilter, page?: PageRequest): Promise<Page<ExchangeListItem>> {
    this.record('listExchanges', filter, page);
    return { items: [], next_cursor: null };
  }
  async getExchange(id: string): Promise<StoredExchange | null> {
    this.record('getExchange', id);
    return this.exchange;
  }
  async summary(filter: CallFilter): Promise<Summary> {
    this.record('summary', filter);
    return EMPTY_SUMMARY;
  }
  async timeseries(filter: CallFilter, opts: TimeseriesOptions): Promise<TimeseriesResult> {
    this.record('timeseries', filter, opts);
    return { bucket_ms: opts.bucketMs, buckets: [], series: [] };
  }
  async models(filter: CallFilter): Promise<ModelStats[]> {
    this.record('models', filter);
    return [];
  }
  async errors(filter: CallFilter): Promise<ErrorGroup[]> {
    this.record('errors', filter);
    return [];
  }
  async filterValues(filter?: CallFilter): Promise<FilterValues> {
    this.record('filterValues', filter);
    return {
      provider: [],
      api: [],
      model: [],
      status: [],
      finish_reason: [],
      agent: [],
      session_id: [],
      agent_role: [],
      source: [],
      client_ip: [],
      server: [],
      api_key_fingerprint: [],
      attribute: [],
      process: [],
    };
  }
  async stats(): Promise<StoreStats> {
    this.record('stats');
    return { path: ':fake:', schema_version: 1, tables: { calls: 0 }, file_bytes: 0, wal_bytes: 0, bodies_bytes: 0, retention: false };
  }
  alerts: AlertRecord[] = [];
  annotations: AnnotationRecord[] = [];
  async costs(filter: CallFilter, opts: { by: string }): Promise<CostBreakdown> {
    this.record('costs', filter, opts);
    return { by: opts.by, total: EMPTY_COST_GROUP, groups: [], groups_truncated: false };
  }
  async costTimeseries(filter: CallFilter, opts: CostTimeseriesOptions): Promise<CostTimeseries> {
    this.record('costTimeseries', filter, opts);
    return { bucket_ms: opts.bucketMs, by: opts.by ?? null, buckets: [], series: [] };
  }
  async repriceCalls(): Promise<RepriceResult> {
    this.record('repriceCalls');
    return { scanned: 0, changed: 0, unchanged: 0, now_priced: 0, now_unpriced: 0, cost_before_usd: null, cost_after_usd: null, turns_updated: 0, dry_run: false };
  }
  async insertAlert(a: AlertRecord): Promise<void> {
    this.record('insertAlert', a);
    this.alerts.push(a);
  }
  async listAlerts(filter: AlertFilter, page?: PageRequest): Promise<Page<AlertRecord>> {
    this.record('listAlerts', filter, page);
    return { items: this.alerts, next_cursor: null };
  }
  async getAlert(id: string): Promise<AlertRecord | null> {
    this.record('getAlert', id);
    return this.alerts.find((a) => a.id === id) ?? null;
  }
  async insertAnnotation(a: AnnotationRecord): Promise<void> {
    this.record('insertAnnotation', a);
    this.annotations.push(a);
  }
  async listAnnotations(filter: AnnotationFilter, page?: PageRequest): Promise<Page<AnnotationRecord>> {
    this.record('listAnnotations', filter, page);
    return { items: this.annotations, next_cursor: null };
  }
  async annotationTimeseries(filter: AnnotationFilter, opts: AnnotationTimeseriesOptions): Promise<AnnotationTimeseries> {
    this.record('annotationTimeseries', filter, opts);
    return { bucket_ms: opts.bucketMs, buckets: [], series: [] };
  }
  async applyRetention(): Promise<RetentionResult> {
    return { reference: null, calls_deleted: 0, exchanges_deleted: 0, turns_deleted: 0, bodies_dropped: 0 };
  }
  async close(): Promise<void> {}
}


export function fakeHealth(): HealthInfo {
  return {
    status: 'ok',
    version: '0.0.0-test',
    started_at: '2026-01-15T10:00:00.000Z',
    sources: [
      {
        id: 'demo.pcap',
        kind: 'file',
        state: 'drained',
        packets: 120,
        bytes: 50_000,
        progress: { done: 52_000, total: 52_000 },
        drops: { kernel: null, interface: null, pipeline: 0 },
        first_packet: '2026-01-15T10:00:00.000000Z',
        last_packet: '2026-01-15T10:00:06.000000Z',
        error: null,
      },
    ],
    anomalies: { tcp_gap: 1 },
    counts: { packets: 120, bytes: 50_000, tcp_segments: 118, connections: 5, exchanges: 11, calls: 11, other_exchanges: 0 },
    writer: { written: 11, batches: 1, pending: 0, last_error: null },
  };
}


/** A plausible call record for tests that need one without a capture. */
export function sampleRecord(id: string, outputText = 'Hello there.'): LlmCallRecord {
  return {
    kind: 'llm_call',
    id,
    source: 'test',
    provider: 'openai',
    api: 'openai.chat_completions',
    operation: 'chat',
    stream: true,
    request_model: 'gpt-4o',
    response_model: 'gpt-4o-2024-08-06',
    response_id: 'chatcmpl-1',
    status_code: 200,
    error: null,
    finish_reason: 'stop',
    finish_reason_raw: 'stop',
    usage: { input_tokens: 10, output_tokens: 3, cache_read_tokens: 0, cache_write_tokens: null, reasoning_tokens: null, estimated: false, raw: null },
    cost_usd: null,
    cost_status: 'unpriced',
    timing: {
      request_start: '2026-01-15T10:00:00.000000Z',
      request_end: '2026-01-15T10:00:00.001000Z',
      response_start: '2026-01-15T10:00:00.200000Z',
      first_token: '2026-01-15T10:00:00.250000Z',
      last_token: '2026-01-15T10:00:00.350000Z',
      response_end: '2026-01-15T10:00:00.360000Z',
    },
    ttfb_ms: 200,
    ttft_ms: 250,
    tpot_ms: 50,
    e2e_ms: 360,
    output_tokens_per_second: 30,
    tool_calls: [],
    tools_offered: [],
    client: { ip: '192.168.1.23', port: 51000 },
    server: { ip: '162.159.140.245', port: 80, host: 'api.openai.com' },
    http: { method: 'POST', path: '/v1/chat/completions', request_bytes: 500, response_bytes: 900, content_encoding: null },
    user_agent: 'test',
    agent: null,
    session_id: null,
    turn_id: null,
    agent_role: null,
    api_key_fingerprint: null,
    attributes: {},
    content: { output_text: outputText, reasoning_text: '' },
    anomalies: [],
  };
}
