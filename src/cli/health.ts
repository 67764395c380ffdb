/**
 * The pipeline's view of itself for GET /api/v1/health, built from the live counters.
 */
import type { HealthInfo, OutputsHealth, SourceHealth, TlsUndecryptedHealth } from '../api/types.js';
import { isoMicros } from '../core/time.js';
import type { LiveCaptureCounters, PipelineStats } from '../pipeline/stats.js';
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

/**
 * The run's totals from several pipelines' counters (`llmtap run`): each in-thread source and
 * each worker pool fills its own PipelineStats (a flow table sets `connections` outright, so two
 * sources cannot share one), and `refresh` sums them into the run's, which the health API, the
 * self-metrics and the summary read. Anomalies are added as deltas: the run's counter also gets
 * the turn tracker's own.
 */
export class StatsRollup {
  private readonly parts: { stats: PipelineStats; seen: Map<string, number> }[] = [];

  /** @param live the run has a live source: only then are there capture drops to show (a file
   * run's self-metrics have none, as `replay`'s). */
  constructor(
    readonly total: PipelineStats,
    live = true,
  ) {
    if (live) total.liveCounters = () => this.liveCounters();
  }

  add(part: PipelineStats): void {
    this.parts.push({ stats: part, seen: new Map() });
  }

  refresh(): void {
    const t = this.total;
    t.packets = t.captureBytes = t.tcpSegments = t.exchanges = t.calls = t.otherExchanges = 0;
    t.connections = t.pipelineDrops = t.bytesRead = t.totalBytes = t.http.inFlight = 0;
    t.firstTs = null;
    t.lastTs = null;
    t.undecryptedTls.clear();
    for (const { stats: s, seen } of this.parts) {
      t.packets += s.packets;
      t.captureBytes += s.captureBytes;
      t.tcpSegments += s.tcpSegments;
      t.exchanges += s.exchanges;
      t.calls += s.calls;
      t.otherExchanges += s.otherExchanges;
      t.connections += s.connections;
      t.pipelineDrops += s.pipelineDrops;
      t.bytesRead += s.bytesRead;
      t.totalBytes += s.totalBytes;
      t.http.inFlight += s.http.inFlight;
      if (s.firstTs !== null && (t.firstTs === null || s.firstTs < t.firstTs)) t.firstTs = s.firstTs;
      if (s.lastTs !== null && (t.lastTs === null || s.lastTs > t.lastTs)) t.lastTs = s.lastTs;
      for (const [name, n] of s.anomalies.entries()) {
        const delta = n - (seen.get(name) ?? 0);
        if (delta > 0) t.anomalies.add(name, delta);
        seen.set(name, n);
      }
      for (const [server, e] of s.undecryptedTls) mergeUndecrypted(t, server, e);
    }
  }

  /** Live sources' drop counters, summed (null: no source knows). */
  private liveCounters(): LiveCaptureCounters {
    const out: LiveCaptureCounters = { kernel: null, interface: null, stalls: 0, pipeline: 0 };
    for (const { stats } of this.parts) {
      const c = stats.liveCounters?.();
      if (c === undefined) continue;
      if (c.kernel !== null) out.kernel = (out.kernel ?? 0) + c.kernel;
      if (c.interface !== null) out.interface = (out.interface ?? 0) + c.interface;
      out.stalls += c.stalls;
    }
    out.pipeline = this.total.pipelineDrops;
    return out;
  }
}

/** One part's undecrypted-TLS entry added to the totals. noteUndecryptedTls picks the name
 * under PipelineStats' cap (past it, "(other)"); one note per reason, then topped up to its count
 * (a connection has exactly one reason, so the reasons add up to the connections). */
function mergeUndecrypted(t: PipelineStats, server: string, e: { reasons: Record<string, number> }): void {
  for (const [reason, n] of Object.entries(e.reasons)) {
    if (n <= 0) continue;
    t.noteUndecryptedTls(server, reason);
    const into = t.undecryptedTls.get(t.undecryptedTls.has(server) ? server : '(other)');
    if (into === undefined) continue;
    into.connections += n - 1;
    into.reasons[reason] = (into.reasons[reason] ?? 0) + n - 1;
  }
}

/** What `llmtap run` keeps per source for health and the summary (several sources of one worker
 * pool share that pool's PipelineStats). */
export interface SourceCounters {
  id: string;
  kind: SourceHealth['kind'];
  pipeline: string;
  state: SourceHealth['state'];
  error: string | null;
  packets: number;
  bytes: number;
  calls: number;
  firstTs: number | null;
  lastTs: number | null;
  /** A file's progress; null for a live source. */
  progress: { done: number; total: number } | null;
  /** Drops as the health API shows them (kernel/interface from the capture process; pipeline:
   * the pool's, shared by its sources). */
  drops: () => SourceHealth['drops'];
}

export function newSourceCounters(id: string, kind: SourceHealth['kind'], pipeline: string): SourceCounters {
  return {
    id,
    kind,
    pipeline,
    state: 'starting',
    error: null,
    packets: 0,
    bytes: 0,
    calls: 0,
    firstTs: null,
    lastTs: null,
    progress: kind === 'file' ? { done: 0, total: 0 } : null,
    drops: () => ({ kernel: null, interface: null, pipeline: 0 }),
  };
}

/** The health API's entry for one source of a configured pipeline; `pipeline` and `calls` are
 * beyond SourceHealth (the console shows what it knows; the JSON carries them). */
export function sourceHealthOf(c: SourceCounters): SourceHealth & { pipeline: string; calls: number } {
  return {
    id: c.id,
    kind: c.kind,
    pipeline: c.pipeline,
    state: c.state,
    packets: c.packets,
    bytes: c.bytes,
    calls: c.calls,
    progress: c.progress === null ? null : { ...c.progress },
    drops: c.drops(),
    first_packet: c.firstTs === null ? null : isoMicros(c.firstTs),
    last_packet: c.lastTs === null ? null : isoMicros(c.lastTs),
    error: c.error,
  };
}
