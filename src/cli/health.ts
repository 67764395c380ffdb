/**
 * The pipeline's view of itself for GET /api/v1/health, built from the live counters.
 */
import type { HealthInfo, SourceHealth } from '../api/types.js';
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

export function healthOf(source: FileSourceState | null, sink: StoreSink | null): HealthInfo {
  const s = source?.stats;
  const writerError = sink?.lastError ?? null;
  return {
    status: source?.state === 'error' || writerError ? 'error' : 'ok',
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
  };
}
