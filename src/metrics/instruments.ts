/**
 * Cumulative instruments (issue 5 item 2; DESIGN §4 "Prometheus and OTLP use the OpenTelemetry
 * GenAI names and bucket boundaries, plus llmtap_* self-metrics"), kept in one OpenTelemetry
 * MeterProvider: Prometheus reads it through a pull reader at each scrape, and the OTLP exporter
 * attaches its own periodic reader to the same provider (`readers`), so both see one set of
 * numbers.
 *
 * GenAI metrics follow the semantic conventions (github.com/open-telemetry/semantic-conventions-genai,
 * docs/gen-ai/gen-ai-metrics.md, status Development): names, units, the advised explicit bucket
 * boundaries, and attributes `gen_ai.operation.name`, `gen_ai.provider.name` (required),
 * `gen_ai.request.model`, `gen_ai.response.model`, `server.address`, `server.port`,
 * `error.type`, `gen_ai.token.type`. Configured dimensions choose which of the optional ones are
 * kept (model → the two model attributes, server → address and port) and add the others as
 * `llmtap.<dimension>` (llmtap.agent, llmtap.api, llmtap.team …). Distinct attribute sets are
 * capped (`max_series`); past the cap they fold into one set whose values are "__other__".
 */
import type { Attributes, Counter, Histogram, Meter, Observable, ObservableCounter, ObservableGauge } from '@opentelemetry/api';
import { MeterProvider, type IMetricReader } from '@opentelemetry/sdk-metrics';
import type { LlmCallRecord } from '../core/record.js';
import type { PipelineStats } from '../pipeline/stats.js';
import type { RecordObserver } from '../pipeline/observers.js';
import { dimensionValue } from './dimensions.js';
import { isErrorCall } from './call-window.js';
import { isSample } from './quantile-sketch.js';
import { clipLabel, OTHER, SeriesCap } from './series-keys.js';
import { errorType, operationName, providerName, serverAddress } from './otlp/semconv.js';
import { PullMetricReader, serializePrometheus } from './prometheus.js';

/** gen_ai.client.operation.duration, time_to_first_chunk, time_per_output_chunk (seconds). */
export const DURATION_BUCKETS_S = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
/** gen_ai.client.token.usage. */
export const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

export const METER_NAME = 'llmtap';

/** Data points one attribute set may have on one instrument: 5 token types, or the status codes
 * of one series (a few in practice; 16 leaves room). */
const POINTS_PER_SERIES = 16;
/**
 * Distinct `error.type` values kept (the provider's error code, which the server chooses):
 * providers document a dozen or two (Anthropic's errors page lists 11, OpenAI's about 20); past
 * 64 a new one is reported as `_OTHER`, the spec's fallback value.
 */
export const MAX_ERROR_TYPES = 64;

/** OTel instrument names (Prometheus names in docs/metrics.md and prometheus.ts). */
export const INSTRUMENT = {
  duration: 'gen_ai.client.operation.duration',
  tokenUsage: 'gen_ai.client.token.usage',
  timeToFirstChunk: 'gen_ai.client.operation.time_to_first_chunk',
  timePerOutputChunk: 'gen_ai.client.operation.time_per_output_chunk',
  calls: 'llmtap.calls',
  callErrors: 'llmtap.call.errors',
  tokens: 'llmtap.tokens',
  cost: 'llmtap.cost',
  unpriced: 'llmtap.calls.unpriced',
} as const;

/** Dimensions that map onto semantic-convention attributes rather than `llmtap.<dim>`. */
const SEMCONV_DIMENSIONS = new Set(['provider', 'model', 'server']);

export interface InstrumentsOptions {
  /** Configured dimensions (MetricsConfig.dimensions). */
  dimensions: readonly string[];
  /** Cap on distinct attribute sets (MetricsConfig.max_series). */
  maxSeries: number;
  /** Other readers of the same instruments (the OTLP exporter's PeriodicExportingMetricReader). */
  readers?: IMetricReader[];
  /** Pipeline counters for the llmtap_* self-metrics, read at each collection. */
  stats?: PipelineStats;
  /** Each source's counters (the health API's view of them), read at each collection: the
   * llmtap_source_* metrics, labelled by source and pipeline. */
  sources?: () => readonly SourceCountsView[];
  /** What the exports and alerting count about themselves, read once per collection (the
   * source assembles it: src/cli/telemetry.ts). Which parts are non-null when this is first
   * read decides which llmtap_otlp_* / llmtap_alert* metrics exist. */
  outputs?: () => OutputStats;
}

/** What the per-source self-metrics read of a source (src/api/types.ts SourceHealth has it). */
export interface SourceCountsView {
  /** The `source` of its records. */
  id: string;
  /** Its configured pipeline (`llmtap run`); absent or null for a one-source command. */
  pipeline?: string | null;
  /** file, interface, probe, …: a file has no drops to show. */
  kind: string;
  packets: number;
  bytes: number;
  /** kernel / interface: libpcap's counters (null: a file cannot know); pipeline: packets llmtap
   * dropped (a worker pool's full queue: every source of the pool shows the pool's count). */
  drops: { kernel: number | null; interface: number | null; pipeline: number };
}

/**
 * Distinct `source` label values on the llmtap_source_* metrics. Source ids come off the network
 * (a probe's uuid is chosen by whoever sends the batch), so they are capped: `collect` takes 64
 * probes per listener and a configuration names a handful of files and interfaces; 256 leaves
 * room for four listeners' worth. Past it, a source's counts go to `source="__other__"` and its
 * calls are counted (llmtap_metrics_sources_folded_total).
 */
export const MAX_SOURCE_LABELS = 256;

/**
 * Counters of what issue 5 sends out (OTLP spans and metric pushes, alert notices and their
 * delivery) and of failures of the record observers; the same object is the health API's
 * `outputs` (src/api/types.ts). Field names are the API's (snake_case).
 */
export interface OutputStats {
  /** null: no OTLP export configured. */
  otlp: {
    /** Where spans go, as safe to show (no userinfo, no query: src/metrics/otlp/http-sender.ts safeUrl). */
    endpoint: string;
    /** Span export (null with `otlp.traces: false`). */
    spans: { queued: number; sent: number; dropped: number; rejected: number; invalid: number; failed_batches: number; retries: number } | null;
    /** Metric pushes (null with `otlp.metrics: false`). */
    metrics: { exported: number; failed: number; skipped: number; retries: number } | null;
  } | null;
  /** null: no alert rule and no budget configured. */
  alerts: {
    rules: number;
    budgets: number;
    /** Incidents firing now. */
    firing: number;
    /** Records raised since start, by kind. */
    fired: number;
    resolved: number;
    notices: number;
    /** Lines written to the log target. */
    logged: number;
    /** Alert records the store or JSONL refused (an exception in the alert sink). */
    record_failures: number;
    /** Webhook delivery over all webhooks: requests answered 2xx, alerts given up on, tries after
     * the first, alerts dropped unsent, alerts waiting now. */
    webhooks: { sent: number; failed: number; retries: number; dropped: number; queued: number };
  } | null;
  /** Exceptions thrown by record observers (a bug: counted, the record goes on to the others). */
  observer_failures: number;
}

export interface Instruments {
  /** Feed it every call (RecordObserver). */
  observer: RecordObserver;
  meterProvider: MeterProvider;
  /** The Prometheus exposition text of the current values. */
  prometheusText(): Promise<string>;
  /** Attribute sets kept, and calls folded into "__other__". */
  cardinality(): { series: number; max_series: number; folded_calls: number };
  /** Stops every reader (the OTLP one sends what it has). */
  shutdown(): Promise<void>;
}

export function createInstruments(opts: InstrumentsOptions): Instruments {
  // The SDK's own per-instrument cap (2,000 points by default) must not fold before ours: a label
  // set carries up to 5 token types or a handful of status codes per instrument; a source up to
  // 3 drop counts (kernel, interface, pipeline), and "__other__".
  const points = Math.max(opts.maxSeries * POINTS_PER_SERIES + MAX_ERROR_TYPES, (MAX_SOURCE_LABELS + 1) * 3);
  const pull = new PullMetricReader({ cardinalitySelector: () => points });
  const meterProvider = new MeterProvider({ readers: [pull, ...(opts.readers ?? [])] });
  const meter = meterProvider.getMeter(METER_NAME);
  const cap = new SeriesCap([], opts.maxSeries);
  const recorder = new CallRecorder(meter, opts.dimensions, cap);
  registerSelfMetrics(meter, cap, opts.stats);
  const bySource = opts.sources ? registerSourceMetrics(meter, opts.sources) : null;
  if (opts.outputs) registerOutputMetrics(meter, opts.outputs);
  return {
    observer: {
      onCall: (call) => {
        recorder.record(call);
        bySource?.countCall(call.source);
      },
    },
    meterProvider,
    async prometheusText() {
      const { resourceMetrics } = await pull.collect();
      return serializePrometheus(resourceMetrics);
    },
    cardinality: () => ({ series: cap.size, max_series: cap.maxSeries, folded_calls: cap.folded }),
    async shutdown() {
      await meterProvider.shutdown();
    },
  };
}

class CallRecorder {
  private readonly duration: Histogram;
  private readonly tokenUsage: Histogram;
  private readonly ttfc: Histogram;
  private readonly tpoc: Histogram;
  private readonly calls: Counter;
  private readonly errors: Counter;
  private readonly tokens: Counter;
  private readonly cost: Counter;
  private readonly unpriced: Counter;

  constructor(
    meter: Meter,
    private readonly dimensions: readonly string[],
    private readonly cap: SeriesCap,
  ) {
    const seconds = { unit: 's', advice: { explicitBucketBoundaries: DURATION_BUCKETS_S } };
    this.duration = meter.createHistogram(INSTRUMENT.duration, { ...seconds, description: 'GenAI operation duration (request start to last response byte).' });
    this.tokenUsage = meter.createHistogram(INSTRUMENT.tokenUsage, {
      unit: '{token}',
      description: 'Number of input and output tokens used.',
      advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
    });
    this.ttfc = meter.createHistogram(INSTRUMENT.timeToFirstChunk, { ...seconds, description: 'Time to receive the first generated chunk of a streamed response, from the request start.' });
    this.tpoc = meter.createHistogram(INSTRUMENT.timePerOutputChunk, {
      ...seconds,
      description: "Mean time per output token after the first, one sample per streamed call (llmtap's records keep no per-chunk times).",
    });
    this.calls = meter.createCounter(INSTRUMENT.calls, { unit: '{call}', description: 'LLM calls, by HTTP status code ("none": no response).' });
    this.errors = meter.createCounter(INSTRUMENT.callErrors, { unit: '{call}', description: 'Calls that failed: HTTP status >= 400 or an error event in the response.' });
    this.tokens = meter.createCounter(INSTRUMENT.tokens, { unit: '{token}', description: 'Tokens by type: input (cache reads and writes included), output (reasoning included), cache_read, cache_write, reasoning.' });
    this.cost = meter.createCounter(INSTRUMENT.cost, { unit: 'USD', description: 'Cost of priced calls in US dollars (unpriced calls add nothing; see llmtap_calls_unpriced_total).' });
    this.unpriced = meter.createCounter(INSTRUMENT.unpriced, { unit: '{call}', description: 'Calls with no price (model or provider unknown, or usage missing).' });
  }

  record(call: LlmCallRecord): void {
    const base = this.attributes(call);
    const err = this.boundedErrorType(errorType(call));
    const withError: Attributes = err === null || base['gen_ai.operation.name'] === OTHER ? base : { ...base, 'error.type': err };

    if (isSample(call.e2e_ms)) this.duration.record(call.e2e_ms / 1000, withError);
    const input = tokenCount(call.usage.input_tokens);
    const output = tokenCount(call.usage.output_tokens);
    if (input !== null) this.tokenUsage.record(input, { ...base, 'gen_ai.token.type': 'input' });
    if (output !== null) this.tokenUsage.record(output, { ...base, 'gen_ai.token.type': 'output' });
    // "SHOULD be reported for streaming calls and SHOULD NOT be reported otherwise."
    if (call.stream && isSample(call.ttft_ms)) this.ttfc.record(call.ttft_ms / 1000, base);
    if (call.stream && isSample(call.tpot_ms)) this.tpoc.record(call.tpot_ms / 1000, base);

    const status = call.status_code !== null && call.status_code >= 100 && call.status_code <= 599 ? String(call.status_code) : 'none';
    this.calls.add(1, { ...base, 'http.response.status_code': status });
    if (isErrorCall(call)) this.errors.add(1, withError);
    const counts: [string, number | null][] = [
      ['input', input],
      ['output', output],
      ['cache_read', tokenCount(call.usage.cache_read_tokens)],
      ['cache_write', tokenCount(call.usage.cache_write_tokens)],
      ['reasoning', tokenCount(call.usage.reasoning_tokens)],
    ];
    for (const [type, n] of counts) if (n !== null && n > 0) this.tokens.add(n, { ...base, 'llmtap.token.type': type });
    if (call.cost_usd !== null && Number.isFinite(call.cost_usd) && call.cost_usd >= 0) this.cost.add(call.cost_usd, base);
    else this.unpriced.add(1, base);
  }

  private readonly errorTypes = new Set<string>();

  private boundedErrorType(t: string | null): string | null {
    if (t === null) return null;
    const v = clipLabel(t);
    if (this.errorTypes.has(v)) return v;
    if (this.errorTypes.size >= MAX_ERROR_TYPES) return '_OTHER';
    this.errorTypes.add(v);
    return v;
  }

  /** The call's attribute set, or the overflow set when the cap is full. */
  private attributes(call: LlmCallRecord): Attributes {
    const dims = this.dimensions;
    const a: Attributes = { 'gen_ai.operation.name': clipLabel(operationName(call)), 'gen_ai.provider.name': clipLabel(providerName(call)) };
    if (dims.includes('model')) {
      if (call.request_model !== null) a['gen_ai.request.model'] = clipLabel(call.request_model);
      if (call.response_model !== null) a['gen_ai.response.model'] = clipLabel(call.response_model);
    }
    if (dims.includes('server')) {
      a['server.address'] = clipLabel(serverAddress(call.server));
      a['server.port'] = call.server.port;
    }
    for (const d of dims) if (!SEMCONV_DIMENSIONS.has(d)) a[`llmtap.${d}`] = clipLabel(dimensionValue(call, d) ?? '');
    if (this.cap.admitKey(JSON.stringify(Object.entries(a)))) return a;
    const other: Attributes = { 'gen_ai.operation.name': OTHER, 'gen_ai.provider.name': OTHER };
    for (const d of dims) if (!SEMCONV_DIMENSIONS.has(d)) other[`llmtap.${d}`] = OTHER;
    return other;
  }
}

/** A token count an instrument may take: finite, not negative (else the count is left out). */
function tokenCount(n: number | null): number | null {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : null;
}

/**
 * llmtap_* self-metrics read from PipelineStats at collection (DESIGN §4: packets, bytes, drops,
 * anomalies by name, queue depths, lag). PipelineStats has no drop counter, no queue depth and
 * no lag yet (replay has no queues; a live source will add them); what it has is exported.
 */
function registerSelfMetrics(meter: Meter, cap: SeriesCap, stats: PipelineStats | undefined): void {
  const counter = (name: string, unit: string, description: string, read: () => number): void => {
    meter.createObservableCounter(name, { unit, description }).addCallback((r) => r.observe(read()));
  };
  const gauge = (name: string, unit: string, description: string, read: () => number | null): void => {
    meter.createObservableGauge(name, { unit, description }).addCallback((r) => {
      const v = read();
      if (v !== null) r.observe(v);
    });
  };
  counter('llmtap.metrics.series_folded', '{call}', 'Calls whose attribute set was folded into "__other__" (max_series reached).', () => cap.folded);
  gauge('llmtap.metrics.series', '{series}', 'Distinct attribute sets kept by the GenAI and llmtap_* call metrics.', () => cap.size);
  if (stats === undefined) return;
  counter('llmtap.packets', '{packet}', 'Packets read from the capture.', () => stats.packets);
  counter('llmtap.capture.bytes', 'By', 'Captured bytes of the packets read.', () => stats.captureBytes);
  counter('llmtap.tcp.segments', '{segment}', 'TCP segments handled.', () => stats.tcpSegments);
  counter('llmtap.connections', '{connection}', 'TCP connections seen.', () => stats.connections);
  counter('llmtap.exchanges', '{exchange}', 'HTTP exchanges completed (LLM calls and others).', () => stats.exchanges);
  counter('llmtap.exchanges.other', '{exchange}', 'HTTP exchanges that were not LLM calls.', () => stats.otherExchanges);
  counter('llmtap.pipeline.calls', '{call}', 'LLM calls decoded by the pipeline.', () => stats.calls);
  counter('llmtap.input.read', 'By', 'Bytes of the input file read so far.', () => stats.bytesRead);
  gauge('llmtap.input.size', 'By', 'Size of the input file (0 for a live source).', () => stats.totalBytes);
  // DESIGN §4 "active calls": requests in flight, counted by the HTTP layers (before a request is
  // decoded its model is unknown, so this has no per-model labels).
  gauge('llmtap.http.requests.in_flight', '{request}', 'HTTP requests begun and not yet answered in full.', () => stats.http.inFlight);
  gauge('llmtap.capture.time', 's', 'Capture time of the latest packet, Unix seconds (lag = time() - this).', () => (stats.lastTs === null ? null : stats.lastTs / 1e6));
  // A live source's drops (DESIGN §4 self-metrics): libpcap's own counters for this capture.
  meter.createObservableCounter('llmtap.capture.dropped', { unit: '{packet}', description: 'Packets dropped, by where (kernel, interface, or llmtap\'s own worker queue: pipeline); live capture only.' }).addCallback((r) => {
    const c = stats.liveCounters?.();
    if (c?.kernel != null) r.observe(c.kernel, { by: 'kernel' });
    if (c?.interface != null) r.observe(c.interface, { by: 'interface' });
    // Dropped by llmtap itself: the worker threads' queue was full (live input only).
    if (c?.pipeline != null) r.observe(c.pipeline, { by: 'pipeline' });
  });
  counter('llmtap.capture.stalls', '{stall}', 'Times the pipeline stopped reading a live capture while the store caught up.', () => stats.liveCounters?.().stalls ?? 0);
  meter.createObservableCounter('llmtap.anomalies', { unit: '{anomaly}', description: 'Named anomalies (DESIGN §1) by name.' }).addCallback((r) => {
    // Anomaly names are fixed strings in the code (<layer>_<condition>), not taken from input.
    for (const [name, n] of stats.anomalies.entries()) r.observe(n, { name });
  });
}

/**
 * Per-source self-metrics (issue 6): llmtap_source_packets_total, llmtap_source_capture_bytes_total,
 * llmtap_source_dropped_total{by} (by: kernel, interface, pipeline; live sources only) from the
 * sources' counters, and llmtap_source_calls_total by each call's own `source` (a probe's uuid in
 * `collect`), all labelled `source` and `pipeline` ("" for a one-source command, or a source the
 * counters do not list). New names beside the run's totals (llmtap_packets_total …), so a query
 * summing a total does not count twice. One batch callback reads the counters once per scrape.
 */
function registerSourceMetrics(meter: Meter, sources: () => readonly SourceCountsView[]): { countCall(source: string): void } {
  const kept = new Set<string>();
  let folded = 0;
  const label = (id: string): string => {
    const v = clipLabel(id);
    if (kept.has(v)) return v;
    if (kept.size >= MAX_SOURCE_LABELS) return OTHER;
    kept.add(v);
    return v;
  };
  const calls = new Map<string, number>();
  const counter = (name: string, unit: string, description: string): ObservableCounter => meter.createObservableCounter(name, { unit, description });
  const packets = counter('llmtap.source.packets', '{packet}', 'Packets read, by source and pipeline.');
  const bytes = counter('llmtap.source.capture.bytes', 'By', 'Captured bytes of the packets read, by source and pipeline.');
  const dropped = counter('llmtap.source.dropped', '{packet}', "Packets dropped, by source, pipeline and where (kernel, interface, or llmtap's worker queue: pipeline, the pool's count on each of its sources); live sources only.");
  const callsBy = counter('llmtap.source.calls', '{call}', "LLM calls by their record's source, and the pipeline of that source.");
  const foldedCalls = counter('llmtap.metrics.sources_folded', '{call}', `Calls counted under source="${OTHER}" (more than ${MAX_SOURCE_LABELS} sources).`);
  meter.addBatchObservableCallback(
    (r) => {
      const pipelineOf = new Map<string, string>();
      // Sources past the cap add up under "__other__" (one data point per label set).
      const sums = new Map<string, { attrs: Attributes; packets: number; bytes: number; drops: Map<string, number> }>();
      for (const s of sources()) {
        const source = label(s.id);
        const pipeline = source === OTHER ? OTHER : clipLabel(s.pipeline ?? '');
        pipelineOf.set(source, pipeline);
        const key = JSON.stringify([source, pipeline]);
        let e = sums.get(key);
        if (e === undefined) {
          e = { attrs: { source, pipeline }, packets: 0, bytes: 0, drops: new Map() };
          sums.set(key, e);
        }
        e.packets += s.packets;
        e.bytes += s.bytes;
        const d = s.drops;
        // A file knows no kernel drops and its reader waits for the queue: only live sources drop.
        if (s.kind === 'file') continue;
        for (const [by, n] of [['kernel', d.kernel], ['interface', d.interface], ['pipeline', d.pipeline]] as const) {
          if (n !== null) e.drops.set(by, (e.drops.get(by) ?? 0) + n);
        }
      }
      for (const e of sums.values()) {
        r.observe(packets, e.packets, e.attrs);
        r.observe(bytes, e.bytes, e.attrs);
        for (const [by, n] of e.drops) r.observe(dropped, n, { ...e.attrs, by });
      }
      for (const [source, n] of calls) r.observe(callsBy, n, { source, pipeline: pipelineOf.get(source) ?? '' });
      r.observe(foldedCalls, folded);
    },
    [packets, bytes, dropped, callsBy, foldedCalls],
  );
  return {
    countCall: (source) => {
      const l = label(source);
      if (l === OTHER) folded++;
      calls.set(l, (calls.get(l) ?? 0) + 1);
    },
  };
}

/**
 * llmtap_* self-metrics of the exports and alerting (issue 5): one batch callback reads
 * `outputs()` once per collection (a few small object copies), so a scrape costs the same
 * whatever the number of metrics. Names: llmtap_otlp_spans_{queued,sent_total,dropped_total,
 * rejected_total,invalid_total}, llmtap_otlp_span_batches_failed_total,
 * llmtap_otlp_retries_total{signal}, llmtap_otlp_metric_exports_total{outcome},
 * llmtap_alerts_total{state}, llmtap_alerts_firing, llmtap_alert_webhook_{sent,failed,retries,
 * dropped}_total, llmtap_alert_webhook_queued, llmtap_alert_logged_total,
 * llmtap_alert_record_failures_total, llmtap_observer_failures_total.
 */
function registerOutputMetrics(meter: Meter, outputs: () => OutputStats): void {
  const shape = outputs();
  type Read = (o: OutputStats) => number | null;
  const reads: [Observable, Read, Attributes?][] = [];
  const counter = (name: string, unit: string, description: string): ObservableCounter => meter.createObservableCounter(name, { unit, description });
  const gauge = (name: string, unit: string, description: string): ObservableGauge => meter.createObservableGauge(name, { unit, description });

  if (shape.otlp?.spans) {
    const spans = (f: (s: NonNullable<NonNullable<OutputStats['otlp']>['spans']>) => number): Read => (o) => (o.otlp?.spans ? f(o.otlp.spans) : null);
    reads.push(
      [gauge('llmtap.otlp.spans.queued', '{span}', 'Spans waiting for export or in flight.'), spans((s) => s.queued)],
      [counter('llmtap.otlp.spans.sent', '{span}', 'Spans the OTLP receiver accepted.'), spans((s) => s.sent)],
      [counter('llmtap.otlp.spans.dropped', '{span}', 'Spans lost: queue full, batch given up, or unsent at the shutdown deadline.'), spans((s) => s.dropped)],
      [counter('llmtap.otlp.spans.rejected', '{span}', 'Spans the OTLP receiver answered as rejected (partial success).'), spans((s) => s.rejected)],
      [counter('llmtap.otlp.spans.invalid', '{span}', 'Records whose times could not be read (no span made).'), spans((s) => s.invalid)],
      [counter('llmtap.otlp.span_batches.failed', '{batch}', 'Span batches given up (refused for good or out of attempts).'), spans((s) => s.failed_batches)],
    );
  }
  if (shape.otlp?.spans || shape.otlp?.metrics) {
    const retries = counter('llmtap.otlp.retries', '{request}', 'OTLP export attempts after the first, by signal.');
    if (shape.otlp.spans) reads.push([retries, (o) => o.otlp?.spans?.retries ?? null, { signal: 'traces' }]);
    if (shape.otlp.metrics) reads.push([retries, (o) => o.otlp?.metrics?.retries ?? null, { signal: 'metrics' }]);
  }
  if (shape.otlp?.metrics) {
    const exports = counter('llmtap.otlp.metric_exports', '{export}', 'OTLP metric pushes by outcome (skipped: the previous push was still in flight; cumulative, so nothing is lost).');
    for (const outcome of ['exported', 'failed', 'skipped'] as const) reads.push([exports, (o) => o.otlp?.metrics?.[outcome] ?? null, { outcome }]);
  }
  if (shape.alerts) {
    const alert = (f: (a: NonNullable<OutputStats['alerts']>) => number): Read => (o) => (o.alerts ? f(o.alerts) : null);
    const raised = counter('llmtap.alerts', '{alert}', 'Alert records raised, by state (firing, resolved, budget notice).');
    reads.push(
      [raised, alert((a) => a.fired), { state: 'firing' }],
      [raised, alert((a) => a.resolved), { state: 'resolved' }],
      [raised, alert((a) => a.notices), { state: 'notice' }],
      [gauge('llmtap.alerts.firing', '{alert}', 'Alert incidents firing now.'), alert((a) => a.firing)],
      [counter('llmtap.alert.webhook.sent', '{request}', 'Webhook requests answered 2xx.'), alert((a) => a.webhooks.sent)],
      [counter('llmtap.alert.webhook.failed', '{alert}', 'Alerts a webhook was given up on (final status or last try failed).'), alert((a) => a.webhooks.failed)],
      [counter('llmtap.alert.webhook.retries', '{request}', 'Webhook tries after the first.'), alert((a) => a.webhooks.retries)],
      [counter('llmtap.alert.webhook.dropped', '{alert}', 'Alerts dropped unsent (outbox full, or still queued at the shutdown deadline).'), alert((a) => a.webhooks.dropped)],
      [gauge('llmtap.alert.webhook.queued', '{alert}', 'Alerts waiting for a webhook or in flight.'), alert((a) => a.webhooks.queued)],
      [counter('llmtap.alert.logged', '{line}', 'Alert lines written to the log.'), alert((a) => a.logged)],
      [counter('llmtap.alert.record_failures', '{alert}', 'Alert records the store or JSONL refused.'), alert((a) => a.record_failures)],
    );
  }
  reads.push([counter('llmtap.observer.failures', '{failure}', 'Exceptions thrown by record observers (metrics, OTLP, alerts): a bug, counted.'), (o) => o.observer_failures]);

  meter.addBatchObservableCallback(
    (r) => {
      const now = outputs();
      for (const [instrument, read, attributes] of reads) {
        const v = read(now);
        if (v !== null) r.observe(instrument, v, attributes);
      }
    },
    [...new Set(reads.map(([i]) => i))],
  );
}
