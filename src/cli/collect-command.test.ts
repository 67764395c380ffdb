/**
 * The health API's sources in `llmtap collect` (sourceEntries): the collector, then each probe.
 * A fleet's per-probe view end to end (health, /metrics, alerts) is in test/e2e/probe.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { PipelineStats } from '../pipeline/stats.js';
import { sourceEntries, type ProbeState } from './collect-command.js';
import type { FileSourceState } from './health.js';

function probe(id: string, packets: number, firstTs: number | null, lastTs: number | null): ProbeState {
  return {
    id,
    pipeline: { clock: lastTs, onFrame: () => undefined, advanceTo: () => undefined },
    batches: 1,
    packets,
    bytes: packets * 100,
    connections: 0,
    arrivedAt: 0,
    clockAtArrival: lastTs,
    calls: packets / 10,
    firstTs,
    lastTs,
    onFrame: () => undefined,
  };
}

describe('collect: health sources', () => {
  const stats = new PipelineStats();
  const source: FileSourceState = { id: 'probes@tcp://127.0.0.1:5556', stats, state: 'running', error: null };

  it('lists the collector with what no probe owns, then each probe with its own counts and packet times', () => {
    stats.pipelineDrops = 7;
    const probes = new Map([
      ['p-1', probe('p-1', 40, 1_768_471_200_000_001, 1_768_471_260_000_000)],
      ['p-2', probe('p-2', 20, null, null)],
    ]);
    const entries = sourceEntries({ source, stats }, probes, 5);
    expect(entries.map((e) => [e.id, e.kind, e.state, e.packets, e.bytes, e.calls, e.drops.pipeline])).toEqual([
      ['probes@tcp://127.0.0.1:5556', 'probe', 'running', 0, 0, 0, 12],
      ['p-1', 'probe', 'running', 40, 4000, 4, 0],
      ['p-2', 'probe', 'running', 20, 2000, 2, 0],
    ]);
    expect(entries[1]).toMatchObject({ first_packet: '2026-01-15T10:00:00.000001Z', last_packet: '2026-01-15T10:01:00.000000Z', drops: { kernel: null, interface: null } });
    expect(entries[2]).toMatchObject({ first_packet: null, last_packet: null });
    // Summed per label as /metrics does, nothing counts twice: the probes' packets are the total.
    expect(entries.reduce((n, e) => n + e.packets, 0)).toBe(60);
  });

  it('a stopped or failed run stops every entry, and before the run exists the collector is alone', () => {
    const failed = { ...source, state: 'error' as const, error: 'disk full' };
    expect(sourceEntries({ source: failed, stats }, new Map([['p-1', probe('p-1', 1, 1, 1)]]), 0).map((e) => [e.state, e.error])).toEqual([
      ['error', 'disk full'],
      ['error', 'disk full'],
    ]);
    expect(sourceEntries(undefined, new Map(), 3)).toEqual([expect.objectContaining({ state: 'starting', packets: 0, drops: { kernel: null, interface: null, pipeline: 3 } })]);
  });
});
