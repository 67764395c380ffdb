/**
 * What stands on the records (issue 5), assembled from the configuration: live aggregates and
 * the metric instruments (always: they feed the API and `/metrics`), OTLP spans and metrics (when
 * configured) and, as one list of record observers, everything a source hands its records to;
 * plus what the exports and alerting count about themselves (`stats()`: the health API's
 * `outputs` and the llmtap_otlp_* / llmtap_alert* metrics on /metrics).
 */
import { createAlerting, type Alerting } from '../alerts/alerting.js';
import type { LlmtapConfig } from '../config/types.js';
import type { AlertRecord } from '../core/record.js';
import { createInstruments, type Instruments, type OutputStats, type SourceCountsView } from '../metrics/instruments.js';
import { LiveAggregates } from '../metrics/live-aggregates.js';
import { safeUrl } from '../metrics/otlp/http-sender.js';
import { otlpMetricReader, type OtlpMetricReader } from '../metrics/otlp/metric-export.js';
import { OtlpSpanExporter } from '../metrics/otlp/span-exporter.js';
import { Observers, type RecordObserver } from '../pipeline/observers.js';
import type { PipelineStats } from '../pipeline/stats.js';
import type { Micros } from '../core/time.js';
import { VERSION } from './health.js';

export interface Telemetry {
  observers: Observers;
  live: LiveAggregates;
  instruments: Instruments;
  spans: OtlpSpanExporter | null;
  /** Alert rules and budgets, when configured. */
  alerting: Alerting | null;
  /** Capture time reached `now` on `source` (without one: on every source, and sources seen
   * later start there): the live windows and the alert rules keep a clock per source. */
  onTime(now: Micros, source?: string): void;
  /** Backpressure for a replay: resolves when the span queue has room. */
  drain(): Promise<void>;
  /** End of input: observers send what is pending (spans, webhooks). The metrics stay readable. */
  endOfInput(): Promise<void>;
  /** Shutdown: end of input if not yet, then the instruments' readers (the last OTLP metric push). */
  close(): Promise<void>;
  /** What the exports and alerting count about themselves (health API; llmtap_* on /metrics). */
  stats(): OutputStats;
}

export interface TelemetryOptions {
  stats?: PipelineStats;
  /** Each source's counters (the health API's list), for the per-source self-metrics. */
  sources?: () => readonly SourceCountsView[];
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
  // Sources past the cap on clocks share the newest clock; counted like the turn tracker's.
  const capped = (name: string) => (): void => o.stats?.anomalies.add(name);
  const live = new LiveAggregates(config.metrics, { onSourceCapped: capped('metrics_sources_capped') });
  const alerting =
    config.alerts.length > 0 || config.budgets.length > 0
      ? createAlerting(config, { log: o.log, onAlert: (a) => o.onAlert(a), onSourceCapped: capped('alert_sources_capped') })
      : null;
  // The observer list is made after the instruments (they are one of its observers): until
  // then, no observer has failed.
  let observers: Observers | null = null;
  const stats = (): OutputStats => outputStats(config, spans, reader, alerting, observers?.failures ?? 0);
  const instruments = createInstruments({
    dimensions: config.metrics.dimensions,
    maxSeries: config.metrics.max_series,
    ...(o.stats ? { stats: o.stats } : {}),
    ...(o.sources ? { sources: o.sources } : {}),
    readers: reader ? [reader] : [],
    outputs: stats,
  });
  const list: RecordObserver[] = [live, instruments.observer, ...(spans ? [spans] : []), ...(alerting ? [alerting] : [])];
  observers = new Observers(list, (err) => o.log(`internal error in a record observer: ${err instanceof Error ? err.message : String(err)}`));
  const all = observers;
  let inputEnded = false;
  let closed = false;
  const endOfInput = async (): Promise<void> => {
    if (inputEnded) return;
    inputEnded = true;
    await all.close();
  };
  return {
    observers: all,
    live,
    instruments,
    spans,
    alerting,
    onTime: (now, source) => all.onTime(now, source),
    drain: async () => {
      await spans?.drain();
    },
    endOfInput,
    close: async () => {
      if (closed) return;
      closed = true;
      await endOfInput();
      // Alerts raised after the end of input (scores posted while serving) are still queued for
      // their webhooks: wait for them too, within the delivery's own close deadline.
      await alerting?.close();
      await instruments.shutdown();
    },
    stats,
  };
}

function outputStats(
  config: LlmtapConfig,
  spans: OtlpSpanExporter | null,
  reader: OtlpMetricReader | null,
  alerting: Alerting | null,
  observerFailures: number,
): OutputStats {
  const s = spans?.stats();
  const m = reader?.otlpStats();
  const a = alerting?.stats();
  return {
    otlp:
      config.otlp === null
        ? null
        : {
            endpoint: safeUrl(config.otlp.endpoint),
            spans: s ? { queued: s.queued, sent: s.sent, dropped: s.dropped, rejected: s.rejected, invalid: s.invalid, failed_batches: s.failedBatches, retries: s.retries } : null,
            metrics: m ? { exported: m.exported, failed: m.failed, skipped: m.skipped, retries: m.retries } : null,
          },
    alerts:
      a === undefined || alerting === null
        ? null
        : {
            rules: a.rules.rules,
            budgets: a.budgets.budgets,
            firing: alerting.firing().length,
            fired: a.rules.fired,
            resolved: a.rules.resolved,
            notices: a.budgets.notices,
            logged: a.delivery.logged,
            record_failures: a.on_alert_failures,
            webhooks: { sent: a.delivery.sent, failed: a.delivery.failed, retries: a.delivery.retries, dropped: a.delivery.dropped, queued: a.delivery.queued },
          },
    observer_failures: observerFailures,
  };
}
