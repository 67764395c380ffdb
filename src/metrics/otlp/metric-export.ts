/**
 * OTLP metric export (issue 5 item 3): a `PeriodicExportingMetricReader` that pushes the
 * MeterProvider's metrics as protobuf to `${endpoint}/v1/metrics` every `export_interval_ms`,
 * with cumulative temporality (what Prometheus-style backends expect, and what makes a lost
 * export harmless: the next one carries the totals).
 *
 * SDK 2.x takes readers in the MeterProvider constructor only (no addMetricReader), so this
 * returns a reader for whoever builds the provider (src/metrics/instruments.ts).
 *
 * Why not OTLPMetricExporter (@opentelemetry/exporter-metrics-otlp-proto): its newest release
 * for Node 20 (0.223.0) pins sdk-metrics/core/otlp-transformer 2.12.0/0.223.0 exactly, one patch
 * behind ours, which installs a second copy of the SDK; the 0.30x line needs Node ≥ 22.15. The
 * encoding is the same maintained serializer (otlp-transformer's ProtobufMetricsSerializer);
 * the HTTP part is the span exporter's, with the same retry rules and the same care for tokens.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { AggregationTemporality, PeriodicExportingMetricReader, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { OtlpConfig } from '../../config/types.js';
import { DEFAULT_RETRY, OtlpHttpSender, REAL_DEPS, type RetryPolicy, type SenderDeps } from './http-sender.js';
import { DEFAULT_CLOSE_DEADLINE_MS } from './span-exporter.js';

export interface OtlpMetricStats {
  /** Exports the receiver accepted. */
  exported: number;
  /** Exports given up (refused for good, out of attempts, shut down). */
  failed: number;
  /** Exports skipped because the previous one was still being sent (cumulative: nothing lost). */
  skipped: number;
  retries: number;
}

export interface OtlpMetricOptions {
  retry?: RetryPolicy;
  deps?: SenderDeps;
  onError?(message: string): void;
  /** How long the reader's shutdown keeps its last push retrying before abandoning it
   * (default: the span exporter's close deadline, 10 s). */
  closeDeadlineMs?: number;
}

/** Pushes ResourceMetrics through the OTLP/HTTP sender; one export in flight at a time. */
export class OtlpMetricExporter implements PushMetricExporter {
  private readonly sender: OtlpHttpSender;
  private readonly shutdownSignal = new AbortController();
  private inFlight: Promise<void> | null = null;
  private readonly counts = { exported: 0, failed: 0, skipped: 0 };

  constructor(
    config: OtlpConfig,
    private readonly opts: OtlpMetricOptions = {},
  ) {
    const url = `${config.endpoint.replace(/\/+$/, '')}/v1/metrics`;
    this.sender = new OtlpHttpSender(url, config.headers, config.timeout_ms, opts.retry ?? DEFAULT_RETRY, opts.deps ?? REAL_DEPS);
  }

  stats(): OtlpMetricStats {
    return { ...this.counts, retries: this.sender.retries };
  }

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    if (this.inFlight !== null) {
      this.counts.skipped++;
      resultCallback({ code: ExportResultCode.SUCCESS });
      return;
    }
    this.inFlight = this.send(metrics)
      .then((r) => resultCallback(r))
      .finally(() => {
        this.inFlight = null;
      });
  }

  private async send(metrics: ResourceMetrics): Promise<ExportResult> {
    let body: Uint8Array | undefined;
    try {
      body = ProtobufMetricsSerializer.serializeRequest(metrics);
    } catch {
      body = undefined;
    }
    if (body === undefined) return this.failed('the metrics could not be encoded');
    const out = await this.sender.post(body, this.shutdownSignal.signal);
    if (!out.ok) return this.failed(out.reason);
    this.counts.exported++;
    return { code: ExportResultCode.SUCCESS };
  }

  private failed(reason: string): ExportResult {
    this.counts.failed++;
    const message = `OTLP metric export failed: ${reason}`;
    if (!this.shutdownSignal.signal.aborted) this.opts.onError?.(message);
    return { code: ExportResultCode.FAILED, error: new Error(message) };
  }

  selectAggregationTemporality(): AggregationTemporality {
    return AggregationTemporality.CUMULATIVE;
  }

  async forceFlush(): Promise<void> {
    await this.inFlight;
  }

  /** Called by the reader's shutdown after its last export; abandons retries still waiting. */
  async shutdown(): Promise<void> {
    this.abandon();
    await this.inFlight;
  }

  /** Cuts the request in flight and every backoff wait short; later exports fail at once. */
  abandon(): void {
    this.shutdownSignal.abort();
  }
}

export type OtlpMetricReader = PeriodicExportingMetricReader & { otlpStats(): OtlpMetricStats };

/**
 * The reader to pass in `new MeterProvider({ readers: [...] })`. Its `shutdown()` (or the
 * provider's) makes a last export; `otlpStats()` feeds the self-metrics.
 */
export function otlpMetricReader(config: OtlpConfig, opts: OtlpMetricOptions = {}): OtlpMetricReader {
  const exporter = new OtlpMetricExporter(config, opts);
  const interval = Math.max(1, config.export_interval_ms);
  const reader = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: interval,
    // The SDK requires timeout ≤ interval; an export's attempts each have timeout_ms.
    exportTimeoutMillis: Math.min(interval, Math.max(1, config.timeout_ms)),
  });
  // The reader's shutdown flushes first and its forceFlush waits for that push's every retry
  // (with a collector that hangs: 5 attempts × timeout_ms plus backoffs, about a minute) before
  // it calls the exporter's shutdown. A user pressing Ctrl-C waits at most the deadline.
  const shutdown = reader.shutdown.bind(reader);
  const deadline = opts.closeDeadlineMs ?? DEFAULT_CLOSE_DEADLINE_MS;
  reader.shutdown = async (options) => {
    const timer = setTimeout(() => exporter.abandon(), deadline);
    try {
      await shutdown(options);
    } finally {
      clearTimeout(timer);
    }
  };
  return Object.assign(reader, { otlpStats: () => exporter.stats() });
}
