/**
 * Per-source self-metrics on /metrics (issue 6): packets, bytes, drops and calls labelled by
 * source and pipeline beside the unlabelled totals, with the number of source labels capped
 * (probe uuids are chosen by whoever sends the batch) and what was folded counted.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseSamples, sumOf } from '../../test/metrics/prom-text.js';
import { createInstruments, MAX_SOURCE_LABELS, type SourceCountsView } from './instruments.js';
import { callAt } from './test-calls.test-support.js';

const promtool = spawnSync('promtool', ['--version']).status === 0;

function view(id: string, over: Partial<SourceCountsView> = {}): SourceCountsView {
  return { id, kind: 'file', pipeline: null, packets: 0, bytes: 0, drops: { kernel: null, interface: null, pipeline: 0 }, ...over };
}

function callOf(source: string) {
  const c = callAt({ at: 1 });
  c.source = source;
  return c;
}

describe('per-source self-metrics', () => {
  it('labels packets, bytes, drops and calls by source and pipeline', async () => {
    const sources = [
      view('old.pcap', { pipeline: 'batch', packets: 100, bytes: 9000 }),
      view('eth0', { kind: 'interface', pipeline: 'live', packets: 40, bytes: 4000, drops: { kernel: 3, interface: null, pipeline: 2 } }),
    ];
    const ins = createInstruments({ dimensions: ['model'], maxSeries: 10, sources: () => sources });
    for (const s of ['old.pcap', 'old.pcap', 'eth0', 'probe-uuid']) ins.observer.onCall!(callOf(s));
    const text = await ins.prometheusText();
    const samples = parseSamples(text);
    expect(sumOf(samples, 'llmtap_source_packets_total', { source: 'old.pcap', pipeline: 'batch' })).toBe(100);
    expect(sumOf(samples, 'llmtap_source_capture_bytes_total', { source: 'eth0', pipeline: 'live' })).toBe(4000);
    expect(sumOf(samples, 'llmtap_source_dropped_total', { source: 'eth0', pipeline: 'live', by: 'kernel' })).toBe(3);
    expect(sumOf(samples, 'llmtap_source_dropped_total', { source: 'eth0', by: 'pipeline' })).toBe(2);
    // A file drops nothing it could know of: no drop series for it; an unknown count is left out.
    expect(samples.filter((s) => s.name === 'llmtap_source_dropped_total').map((s) => s.labels['by'])).toEqual(['kernel', 'pipeline']);
    expect(sumOf(samples, 'llmtap_source_calls_total', { source: 'old.pcap', pipeline: 'batch' })).toBe(2);
    // A record's source the counters do not list (a probe's uuid) has no pipeline label value.
    expect(sumOf(samples, 'llmtap_source_calls_total', { source: 'probe-uuid', pipeline: '' })).toBe(1);
    expect(sumOf(samples, 'llmtap_source_calls_total')).toBe(4);
    // The totals are unchanged: the per-source series have names of their own.
    expect(sumOf(samples, 'llmtap_calls_total')).toBe(4);
    if (promtool) {
      const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    }
  });

  it(`keeps at most ${MAX_SOURCE_LABELS} source labels; the rest add up under "__other__", their calls counted`, async () => {
    const sources = Array.from({ length: MAX_SOURCE_LABELS + 5 }, (_, i) => view(`s${i}`, { packets: 1 }));
    const ins = createInstruments({ dimensions: [], maxSeries: 10, sources: () => sources });
    for (let i = 0; i < MAX_SOURCE_LABELS + 20; i++) ins.observer.onCall!(callOf(`s${i}`));
    const samples = parseSamples(await ins.prometheusText());
    const packets = samples.filter((s) => s.name === 'llmtap_source_packets_total');
    expect(packets).toHaveLength(MAX_SOURCE_LABELS + 1);
    expect(sumOf(samples, 'llmtap_source_packets_total', { source: '__other__' })).toBe(5);
    expect(sumOf(samples, 'llmtap_source_calls_total', { source: '__other__' })).toBe(20);
    expect(sumOf(samples, 'llmtap_source_calls_total')).toBe(MAX_SOURCE_LABELS + 20);
    expect(sumOf(samples, 'llmtap_metrics_sources_folded_total')).toBe(20);
  });

  it('has no per-source series without a list of sources (serve)', async () => {
    const ins = createInstruments({ dimensions: [], maxSeries: 10 });
    ins.observer.onCall!(callOf('x'));
    expect(await ins.prometheusText()).not.toContain('llmtap_source_');
  });
});
