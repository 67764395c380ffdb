/**
 * Replays a capture through the pipeline as the replay command does (replayFile → turn tracker →
 * observers, onTime between reads), feeding the live aggregates and the cumulative instruments,
 * and keeps the call records as JSONL would carry them (a JSON round trip of what is written).
 */
import { agentCallInput } from '../../src/agents/profiles.js';
import { TurnTracker } from '../../src/agents/turn-tracker.js';
import type { LlmCallRecord } from '../../src/core/record.js';
import { createInstruments, type Instruments, type SourceCountsView } from '../../src/metrics/instruments.js';
import { LiveAggregates } from '../../src/metrics/live-aggregates.js';
import { Observers } from '../../src/pipeline/observers.js';
import { replayFile } from '../../src/pipeline/replay.js';
import { PipelineStats } from '../../src/pipeline/stats.js';

export const DIMENSIONS = ['provider', 'api', 'model', 'server', 'agent'];
export const WINDOWS_MS = [60_000, 300_000, 3_600_000];

export interface ReplayedMetrics {
  calls: LlmCallRecord[];
  live: LiveAggregates;
  instruments: Instruments;
  stats: PipelineStats;
  prometheus: string;
}

/** `asSource`: the replayed file is also shown as one source of this kind (its packets and bytes,
 * drops 0 where a live source counts them), so the llmtap_source_* metrics exist as in `capture`. */
export async function replayWithMetrics(path: string, maxSeries = 1_000, asSource?: 'file' | 'interface'): Promise<ReplayedMetrics> {
  const stats = new PipelineStats();
  const live0 = asSource === 'interface' ? 0 : null;
  const sources = (): SourceCountsView[] =>
    asSource === undefined ? [] : [{ id: 'test', kind: asSource, packets: stats.packets, bytes: stats.captureBytes, drops: { kernel: live0, interface: live0, pipeline: 0 } }];
  const live = new LiveAggregates({ dimensions: DIMENSIONS, windows_ms: WINDOWS_MS, max_series: maxSeries });
  const instruments = createInstruments({ dimensions: DIMENSIONS, maxSeries, stats, ...(asSource !== undefined ? { sources } : {}) });
  const failures: unknown[] = [];
  const observers = new Observers([live, instruments.observer], (e) => failures.push(e));
  const calls: LlmCallRecord[] = [];
  const tracker = new TurnTracker({ anomalies: stats.anomalies, snapshots: false, onTurn: (t, final) => observers.onTurn(t, final) });
  await replayFile(path, {
    source: 'test',
    stats,
    fingerprintSalt: 'metrics-test',
    onCall: (r, ex, call) => {
      tracker.add(agentCallInput(r, ex, call), () => {
        calls.push(JSON.parse(JSON.stringify(r)) as LlmCallRecord);
        observers.onCall(r);
      });
    },
    afterChunk: () => {
      if (stats.lastTs !== null) {
        tracker.advance(stats.lastTs);
        observers.onTime(stats.lastTs);
      }
    },
  });
  tracker.flush();
  if (stats.lastTs !== null) observers.onTime(stats.lastTs);
  await observers.close();
  if (failures.length > 0) throw new Error(`observer failed: ${String(failures[0])}`);
  return { calls, live, instruments, stats, prometheus: await instruments.prometheusText() };
}
