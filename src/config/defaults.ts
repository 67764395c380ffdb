/**
 * The configuration's defaults, apart from the schema: a run without a configuration file needs
 * them, and should not pay for loading the YAML parser and the validator (~0.25 s of start-up).
 */
import type { LlmtapConfig } from './types.js';

// Each default is documented in docs/configuration.md; the sources of the numbers are here.

export const DEFAULTS = {
  /** DESIGN §4: live aggregates over 1 m, 5 m and 1 h. */
  windows_ms: [60_000, 300_000, 3_600_000],
  /** Low-cardinality dimensions only by default: client addresses, keys and attributes can
   * have as many values as there are users; they are added explicitly. */
  dimensions: ['provider', 'api', 'model', 'server', 'agent'],
  /** Each label set carries four GenAI histograms (DESIGN §4) of ~14 buckets each, so 1,000
   * sets is ~60k Prometheus series: the size at which Prometheus' own docs ("Instrumentation",
   * label cardinality) start warning. */
  max_series: 1_000,
  otlp: {
    // The OpenTelemetry SDK environment-variable defaults (opentelemetry.io/docs/specs/otel/
    // configuration/sdk-environment-variables): OTEL_METRIC_EXPORT_INTERVAL 60000,
    // OTEL_BSP_MAX_QUEUE_SIZE 2048, OTEL_BSP_MAX_EXPORT_BATCH_SIZE 512,
    // OTEL_BSP_SCHEDULE_DELAY 5000, OTEL_EXPORTER_OTLP_TIMEOUT 10000.
    export_interval_ms: 60_000,
    max_queue: 2_048,
    max_batch: 512,
    batch_delay_ms: 5_000,
    timeout_ms: 10_000,
    service_name: 'llmtap',
  },
  webhook: {
    /** First try plus four retries with backoff: rides out a receiver restart without piling
     * up notices for a dead one. */
    max_attempts: 5,
    /** Same as the OTLP exporter's default timeout. */
    timeout_ms: 10_000,
  },
  alert: {
    window_ms: 300_000,
    /** Alertmanager's default `group_interval` (prometheus.io/docs/alerting/latest/configuration):
     * a flapping rule notifies at most every 5 minutes. */
    cooldown_ms: 300_000,
    min_calls: 1,
  },
  /** Issue 5: "notices at chosen fractions (say 50 %, 80 %, 100 %)". */
  notify_at: [0.5, 0.8, 1],
  /** Upper bound of `workers`: each worker has its own flow table and caps (docs/workers.md), and
   * the main thread (reading, dispatching, writing) is the bottleneck well before 64 workers. */
  max_workers: 64,
  pipelines: {
    /** docs/workers.md: the queue is full at 8 MiB of packet bytes in flight
     * (src/workers/parallel-pipeline.ts MAX_IN_FLIGHT × ROUND_BYTES) or 1,024 rounds
     * (MAX_IN_FLIGHT_ROUNDS). Repeated here: loading the workers' module would start nothing but
     * cost start-up. */
    queue_bytes: 8 * 1024 * 1024,
    queue_rounds: 1024,
    /** Each pipeline has its own pool of threads and its own outputs state; 16 independent inputs
     * on one host is far past what the main thread (turns, store) can serve anyway. */
    max_pipelines: 16,
    /** As `llmtap collect`'s MAX_PROBES: each source has whole-pipeline state with its own caps. */
    max_sources: 64,
  },
} as const;


/** What `loadConfig` yields for an empty file (a test holds the two equal). */
export function defaultConfig(env: NodeJS.ProcessEnv = process.env): LlmtapConfig {
  const salt = env['LLMTAP_FINGERPRINT_SALT'];
  return {
    path: null,
    db: null,
    listen: null,
    retention: true,
    fingerprint_salt: salt !== undefined && salt !== '' ? salt : null,
    turns: { enabled: true, idle_timeout_ms: null, stall_threshold_ms: null, loop_threshold: null },
    attributes: [],
    metrics: { dimensions: [...DEFAULTS.dimensions], windows_ms: [...DEFAULTS.windows_ms], max_series: DEFAULTS.max_series },
    otlp: null,
    pricing: { models: [] },
    webhooks: {},
    alerts: [],
    budgets: [],
    workers: 'auto',
    pipelines: [],
  };
}
