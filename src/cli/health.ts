/**
 * The pipeline's view of itself for GET /api/v1/health, built from the live counters.
 */
import type { HealthInfo, OutputsHealth, SourceHealth, TlsUndecryptedHealth } from '../api/types.js';
import { isoMicros } from '../core/time.js';
import type { PipelineStats } from '../pipeline/stats.js';
import type { StoreSink } from '../pipeline/store-sink.js';

export const VERSION = '0.1.0';
const startedAt = new Date().toISOString();

export interface FileSourceState {
  id: string;
  stats: PipelineStats;
  state: SourceHealth['state'];
  error: string | null;
}

/** @param outputs the exports' and alerting's counters (src/cli/telemetry.ts `Telemetry`), when any run */
export function healthOf(source: FileSourceState | null, sink: StoreSink | null, outputs: { stats(): OutputsHealth } | null = null): HealthInfo {
  const s = source?.stats;
  const writerError = sink?.lastError ?? null;
  const out = outputs?.stats() ?? null;
  return {
    status: source?.state === 'error' || writerError ? 'error' : degraded(out) ? 'degraded' : 'ok',
    version: VERSION,
    started_at: startedAt,
    sources:
      source && s
        ? [
            {
              id: source.id,
              kind: 'file',
              state: source.state,
              packets: s.packets,
              bytes: s.captureBytes,
              progress: { done: s.bytesRead, total: s.totalBytes },
              drops: { kernel: null, interface: null, pipeline: 0 },
              first_packet: s.firstTs === null ? null : isoMicros(s.firstTs),
              last_packet: s.lastTs === null ? null : isoMicros(s.lastTs),
              error: source.error,
            },
          ]
        : [],
    anomalies: Object.fromEntries(s ? s.anomalies.entries() : []),
    counts: {
      packets: s?.packets ?? 0,
      bytes: s?.captureBytes ?? 0,
      tcp_segments: s?.tcpSegments ?? 0,
      connections: s?.connections ?? 0,
      exchanges: s?.exchanges ?? 0,
      calls: s?.calls ?? 0,
      other_exchanges: s?.otherExchanges ?? 0,
    },
    writer: sink
      ? { written: sink.callsInserted + sink.exchangesInserted, batches: sink.batches, pending: sink.pending, last_error: writerError }
      : null,
    outputs: out,
    tls_undecrypted: s ? undecryptedTls(s) : [],
  };
}

/** TLS connections not decrypted, by server, most first (ties by name: a stable order for the
 * page). Copies: the live map keeps changing while the capture is read. */
export function undecryptedTls(stats: PipelineStats): TlsUndecryptedHealth[] {
  return [...stats.undecryptedTls]
    .map(([server, e]) => ({ server, connections: e.connections, reasons: { ...e.reasons } }))
    .sort((a, b) => b.connections - a.connections || (a.server < b.server ? -1 : a.server > b.server ? 1 : 0));
}

/** Something is being lost: spans or alerts dropped or given up on, or an observer failing. */
function degraded(o: OutputsHealth | null): boolean {
  if (o === null) return false;
  const spans = o.otlp?.spans ?? null;
  const alerts = o.alerts;
  return (
    o.observer_failures > 0 ||
    (spans !== null && spans.dropped + spans.failed_batches > 0) ||
    (o.otlp?.metrics?.failed ?? 0) > 0 ||
    (alerts !== null && alerts.webhooks.failed + alerts.webhooks.dropped + alerts.record_failures > 0)
  );
}
