/**
 * What stands on the records (issue 5), assembled from the configuration: live aggregates and
 * the metric instruments (always: they feed the API and `/metrics`), OTLP spans and metrics (when
 * configured) and, as one list of record observers, everything a source hands its records to.
 */
import { createAlerting, type Alerting } from '../alerts/alerting.js';
import type { LlmtapConfig } from '../config/types.js';
import type { AlertRecord } from '../core/record.js';
import { createInstruments, type Instruments } from '../metrics/instruments.js';
import { LiveAggregates } from '../metrics/live-aggregates.js';
import { otlpMetricReader } from '../metrics/otlp/metric-export.js';
import { OtlpSpanExporter } from '../metrics/otlp/span-exporter.js';
import { Observers, type RecordObserver } from '../pipeline/observers.js';
import type { PipelineStats } from '../pipeline/stats.js';
import { VERSION } from './health.js';

export interface Telemetry {
  observers: Observers;
  live: LiveAggregates;
  instruments: Instruments;
  spans: OtlpSpanExporter | null;
  /** Alert rules and budgets, when configured. */
  alerting: Alerting | null;
  /** Backpressure for a replay: resolves when the span queue has room. */
  drain(): Promise<void>;
  /** End of input: observers send what is pending (spans, webhooks). The metrics stay readable. */
  endOfInput(): Promise<void>;
  /** Shutdown: end of input if not yet, then the instruments' readers (the last OTLP metric push). */
  close(): Promise<void>;
}

export interface TelemetryOptions {
  stats?: PipelineStats;
  /** Every alert and budget notice, as raised (the store, JSONL). */
  onAlert(alert: AlertRecord): void;
  /** One printable line (no secrets: the exporters never put headers or tokens in them). */
  log(line: string): void;
}

export function openTelemetry(config: LlmtapConfig, o: TelemetryOptions): Telemetry {
  const otlp = config.otlp;
  const onError = (m: string): void => o.log(m);
  const spans = otlp?.traces ? new OtlpSpanExporter(otlp, { version: VERSION, onError }) : null;
  const reader = otlp?.metrics ? otlpMetricReader(otlp, { onError }) : null;
  const live = new LiveAggregates(config.metrics);
  const instruments = createInstruments({
    dimensions: config.metrics.dimensions,
    maxSeries: config.metrics.max_series,
    ...(o.stats ? { stats: o.stats } : {}),
    readers: reader ? [reader] : [],
  });
  const alerting =
    config.alerts.length > 0 || config.budgets.length > 0 ? createAlerting(config, { log: o.log, onAlert: (a) => o.onAlert(a) }) : null;
  const list: RecordObserver[] = [live, instruments.observer, ...(spans ? [spans] : []), ...(alerting ? [alerting] : [])];
  const observers = new Observers(list, (err) => o.log(`internal error in a record observer: ${err instanceof Error ? err.message : String(err)}`));
  let inputEnded = false;
  let closed = false;
  const endOfInput = async (): Promise<void> => {
    if (inputEnded) return;
    inputEnded = true;
    await observers.close();
  };
  return {
    observers,
    live,
    instruments,
    spans,
    alerting,
    drain: async () => {
      await spans?.drain();
    },
    endOfInput,
    close: async () => {
      if (closed) return;
      closed = true;
      await endOfInput();
      await instruments.shutdown();
    },
  };
}
