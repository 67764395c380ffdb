/**
 * The configuration file's shape once loaded and validated (issue 5 item 8; DESIGN §6: flags
 * override the file, which overrides environment variables, which override defaults). The file
 * is YAML; `loadConfig` (src/config/load.ts) fills every default, so consumers read plain values.
 * Durations are milliseconds here; the file writes them as "30s", "5m", "1h", "7d".
 *
 * Dimensions (metric labels, alert filters, budget scopes) are one vocabulary, see
 * src/metrics/dimensions.ts: the built-in names below, or the name of a configured attribute.
 */

/** Built-in dimensions of a call. Any other dimension name is a configured attribute. */
export const BUILTIN_DIMENSIONS = ['provider', 'api', 'model', 'server', 'agent', 'client', 'key', 'source', 'process'] as const;
export type BuiltinDimension = (typeof BUILTIN_DIMENSIONS)[number];

/**
 * What an alert rule watches over its window. Rates are per second; ratios are 0–1; latency
 * percentiles are milliseconds; `score:NAME` is the mean of the annotation scores named NAME whose
 * time falls in the window (`score_min:NAME`, `score_count:NAME` likewise).
 */
export const WINDOW_METRICS = [
  'calls',
  'call_rate',
  'error_rate',
  'throttle_rate',
  'server_error_rate',
  'input_tokens',
  'output_tokens',
  'token_rate',
  'cache_hit_ratio',
  'cost_usd',
  'cost_rate',
  'ttft_p50',
  'ttft_p95',
  'ttft_p99',
  'tpot_p50',
  'tpot_p95',
  'tpot_p99',
  'e2e_p50',
  'e2e_p95',
  'e2e_p99',
] as const;
export type WindowMetric = (typeof WINDOW_METRICS)[number];
export type ScoreMetric = `score:${string}` | `score_min:${string}` | `score_count:${string}`;
export type AlertMetric = WindowMetric | ScoreMetric;

/** Request header → attribute (attribution: team, user, project, environment…). */
export interface AttributeRule {
  /** Attribute name: [a-z][a-z0-9_]{0,31}, not a built-in dimension. */
  name: string;
  /** Request header to read (case-insensitive). Never a secret header (refused at load). */
  header: string | null;
  /** Value when the header is absent (or always, when `header` is null: a fixed attribute). */
  default: string | null;
}

export interface MetricsConfig {
  /** Label set of the live aggregates and the Prometheus/OTLP metrics (cardinality control). */
  dimensions: string[];
  /** Sliding windows of the live aggregates, ms (default 1m, 5m, 1h: DESIGN §4). */
  windows_ms: number[];
  /** Cap on distinct label sets; past it, new sets fold into one "__other__" set and are counted. */
  max_series: number;
}

export interface OtlpConfig {
  /** Base URL of an OTLP/HTTP receiver, e.g. http://localhost:4318 (…/v1/traces and …/v1/metrics are appended). */
  endpoint: string;
  /** Extra request headers (tokens come from environment variables: `${OTLP_TOKEN}`). */
  headers: Record<string, string>;
  traces: boolean;
  metrics: boolean;
  /** How often metrics are pushed. */
  export_interval_ms: number;
  /** Spans waiting to be sent; past it, spans are dropped and counted. */
  max_queue: number;
  /** Spans per export request. */
  max_batch: number;
  /** How long a batch may wait before it is sent even if not full. */
  batch_delay_ms: number;
  timeout_ms: number;
  /** `service.name` resource attribute. */
  service_name: string;
}

/** A price for models the table lacks or prices wrongly (per million tokens, USD). */
export interface ModelPriceConfig {
  /** Model name; `*` matches any run of characters ("my-llama-*"). */
  model: string;
  /** Restrict to one provider id (openai, anthropic, google, …); null: any provider. */
  provider: string | null;
  input_per_mtok: number;
  output_per_mtok: number;
  /** Default: the input price. */
  cache_read_per_mtok: number | null;
  /** Default: the input price. */
  cache_write_per_mtok: number | null;
}

export interface PricingConfig {
  /** First match wins; checked before the maintained price table. */
  models: ModelPriceConfig[];
}

export interface WebhookConfig {
  url: string;
  headers: Record<string, string>;
  /** Delivery attempts before giving up (first try included). */
  max_attempts: number;
  timeout_ms: number;
}

export type Severity = 'info' | 'warning' | 'critical';
export type ComparisonOp = '>' | '>=' | '<' | '<=';

export interface AlertRuleConfig {
  name: string;
  metric: AlertMetric;
  window_ms: number;
  op: ComparisonOp;
  threshold: number;
  /** Dimension → value that a call (or score) must have to count. */
  filters: Record<string, string>;
  /** The rule is not evaluated while the window holds fewer calls (or scores) than this. */
  min_calls: number;
  /** After a rule resolves, it does not fire again for this long (capture time). */
  cooldown_ms: number;
  severity: Severity;
  /** Webhook names from `webhooks`, and/or "log". */
  notify: string[];
}

export interface BudgetConfig {
  name: string;
  period: 'day' | 'week' | 'month';
  /** Dimension the budget is kept per ("team", "key", "agent", …), or "all" for total spend. */
  scope: string;
  /** Only this value of the scope; null: each value has its own budget of `limit_usd`. */
  value: string | null;
  limit_usd: number;
  /** Fractions of the limit at which a notice is sent once per period (default 0.5, 0.8, 1). */
  notify_at: number[];
  notify: string[];
}

export interface TurnsConfig {
  enabled: boolean;
  idle_timeout_ms: number | null;
  stall_threshold_ms: number | null;
  loop_threshold: number | null;
}

export interface LlmtapConfig {
  /** Path the configuration came from (null: defaults only). */
  path: string | null;
  db: string | null;
  listen: string | null;
  retention: boolean;
  fingerprint_salt: string | null;
  turns: TurnsConfig;
  attributes: AttributeRule[];
  metrics: MetricsConfig;
  /** null: no OTLP export. */
  otlp: OtlpConfig | null;
  pricing: PricingConfig;
  webhooks: Record<string, WebhookConfig>;
  alerts: AlertRuleConfig[];
  budgets: BudgetConfig[];
  /** Worker threads for the per-connection stages (issue 6; docs/workers.md): 1 runs them on the
   * main thread; "auto" picks by the machine and the input (src/workers/worker-count.ts). */
  workers: number | 'auto';
  /** Pipelines `llmtap run` starts (issue 6 item 3; docs/live.md "Pipelines"): each with its own
   * sources, worker pool and queue. Empty: none (the other commands are the one-pipeline case
   * and ignore this section). */
  pipelines: PipelineConfig[];
}

/** A capture file, replayed as fast as possible (`pace` null) or at a speed factor (1 = capture
 * pace). */
export interface FilePipelineSource {
  kind: 'file';
  /** Source id carried on its records; default: the file name (as `llmtap replay`). */
  id: string;
  path: string;
  pace: number | null;
}

/** A live interface through tcpdump (as `llmtap capture`). */
export interface InterfacePipelineSource {
  kind: 'interface';
  /** Default: the interface name (as `llmtap capture`). */
  id: string;
  iface: string;
  bpf_filter: string | null;
  /** Bytes kept per packet; null: tcpdump's default of `llmtap capture` (262144). */
  snaplen: number | null;
  /** tcpdump's kernel buffer, KiB; null: its default. */
  buffer_size_kib: number | null;
  /** The capture process (`--capture-tool`): llmtap-capture, tcpdump, dumpcap, or auto (the first
   * of them that is there, in that order). Spelled out, not imported from src/capture: the console
   * compiles this file without Node's types. pipelines-schema.ts builds it from CAPTURE_TOOLS, so
   * a tool added there and not here fails to compile. */
  capture_tool: 'llmtap-capture' | 'tcpdump' | 'dumpcap' | 'auto';
}

/** Remote probes pushing batches over ZeroMQ (as `llmtap collect`). Their records carry each
 * probe's uuid (issue 6 item 4); `id` names the listener in health and the summary. */
export interface ProbesPipelineSource {
  kind: 'probes';
  /** Default: `probes@ENDPOINT` (as `llmtap collect`). */
  id: string;
  listen: string;
}

export type PipelineSourceConfig = FilePipelineSource | InterfacePipelineSource | ProbesPipelineSource;

export interface PipelineQueueConfig {
  /** Packet bytes in flight to the pipeline's workers before the queue is full (a file waits, a
   * live source drops and counts); docs/workers.md's 8 MiB by default. */
  bytes: number;
  /** Rounds (posted batches) in flight before the queue is full, whatever their bytes (1,024). */
  rounds: number;
}

export interface PipelineConfig {
  name: string;
  sources: PipelineSourceConfig[];
  /** Its own worker pool; null: the top-level `workers`. 1 runs it on the main thread. */
  workers: number | 'auto' | null;
  queue: PipelineQueueConfig;
}
