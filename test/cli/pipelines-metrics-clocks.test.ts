/**
 * `llmtap run` with two file pipelines whose captures are an hour apart (the demo capture and a
 * copy shifted an hour later): each source's live windows, alerts and budget notices are the ones
 * replaying that file alone gives (DESIGN §1: a watermark per source). With one clock for all
 * sources (the newest), the earlier capture's calls arrived "older than the window" once the
 * later capture's clock had moved, and its incidents opened and cleared on the other's clock.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../src/core/record.js';
import type { LiveSnapshot } from '../../src/metrics/live-aggregates.js';
import { repoRoot } from '../corpus.js';
import { parseSamples, sumOf, type Sample } from '../metrics/prom-text.js';
import { ensureBuilt } from '../e2e/replay-cli.js';
import { CliProcess } from './cli-process.js';
import { rows, shifted } from './turns-by-source.js';

const demo = join(repoRoot, 'examples', 'demo.pcap');
const WINDOWS = ['1m', '5m', '1h'] as const;
let dir: string;

/** Rules that fire and clear on the demo (checked below: not vacuous), and a budget per source. */
const TELEMETRY = `
metrics:
  dimensions: [source, model]
  windows: [1m, 5m, 1h]
alerts:
  - {name: busy, metric: calls, window: 30s, op: ">", threshold: 3, min_calls: 1, cooldown: 5s}
  - {name: errors, metric: error_rate, window: 20s, op: ">", threshold: 0.1, min_calls: 1, cooldown: 2s}
  - {name: slow, metric: e2e_p95, window: 1m, op: ">", threshold: 500, min_calls: 2}
budgets:
  - {name: per-source, period: day, scope: source, limit_usd: 0.01}
`;

interface Served {
  alerts: AlertRecord[];
  /** Calls per source in the JSONL. */
  calls: Map<string, number>;
  /** /metrics at the end of input. */
  metrics: Sample[];
  /** By window: the snapshot grouped by `by`. */
  live: Map<string, LiveSnapshot>;
}

/** Runs llmtap until its input drained, reads the live windows from the API, then Ctrl-C. */
async function serve(args: string[], by: string, name: string): Promise<Served> {
  const jsonl = join(dir, `${name}.jsonl`);
  const p = new CliProcess([...args, '--jsonl', jsonl, '--db', join(dir, `${name}.duckdb`), '--listen', '127.0.0.1:0']);
  try {
    const base = (await p.waitFor(/serving (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    await p.waitFor(/drained; serving .* until interrupted/);
    const live = new Map<string, LiveSnapshot>();
    for (const w of WINDOWS) {
      const res = await fetch(`${base}/api/v1/metrics/live?window=${w}${by === '' ? '' : `&by=${by}`}`);
      expect(res.status).toBe(200);
      live.set(w, (await res.json()) as LiveSnapshot);
    }
    const metrics = parseSamples(await (await fetch(`${base}/metrics`)).text());
    expect(await p.interrupt()).toBe(0);
    const all = rows(readFileSync(jsonl, 'utf8'));
    const calls = new Map<string, number>();
    for (const r of all) if (r.kind === 'llm_call') calls.set(r.source, (calls.get(r.source) ?? 0) + 1);
    return { alerts: all.filter((r) => r.kind === 'alert') as unknown as AlertRecord[], calls, metrics, live };
  } finally {
    await p.kill();
  }
}

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'llmtap-metric-clocks-'));
  writeFileSync(join(dir, 'later.pcap'), shifted(demo, 3600));
  writeFileSync(join(dir, 'alone.yaml'), TELEMETRY);
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('llmtap run: metric windows, alert rules and budgets on a clock per source', () => {
  it('each file gets the live windows, alerts and notices it gets alone', async () => {
    const later = join(dir, 'later.pcap');
    const config = join(dir, 'two.yaml');
    // The later capture in the first pipeline: its clock is an hour ahead while the earlier one runs.
    writeFileSync(
      config,
      [
        TELEMETRY,
        'pipelines:',
        '  - name: later',
        '    sources:',
        `      - {kind: file, path: ${JSON.stringify(later)}, id: later}`,
        '  - name: earlier',
        '    sources:',
        `      - {kind: file, path: ${JSON.stringify(demo)}, id: earlier}`,
        '',
      ].join('\n'),
    );
    const together = await serve(['run', '--config', config], 'source,model', 'together');
    const hourOf = (a: AlertRecord): string => a.fired_at.slice(0, 13);
    const hours = new Set(together.alerts.map(hourOf));
    expect(hours.size).toBe(2);
    let matched = 0;
    for (const [source, file] of [['earlier', demo], ['later', later]] as const) {
      const alone = await serve(['replay', file, '--source', source, '--config', join(dir, 'alone.yaml')], 'model', source);
      // Not vacuous: rules fired and cleared, and a budget notice went out.
      expect(alone.alerts.some((a) => a.state === 'resolved')).toBe(true);
      expect(alone.alerts.some((a) => a.rule_kind === 'budget')).toBe(true);
      const hour = hourOf(alone.alerts[0]!);
      expect(together.alerts.filter((a) => hourOf(a) === hour), source).toEqual(alone.alerts);
      matched += alone.alerts.length;
      for (const w of WINDOWS) {
        const mine = together.live.get(w)!.series.filter((s) => s.labels['source'] === source);
        const want = alone.live.get(w)!;
        expect(want.total.calls, `${source} ${w}`).toBeGreaterThan(0);
        expect(mine.map((s) => [s.labels['model'], s.stats]), `${source} ${w}`).toEqual(want.series.map((s) => [s.labels['model'], s.stats]));
      }
    }
    expect(together.alerts).toHaveLength(matched);
  }, 300_000);

  it('/metrics counts packets, bytes and calls per source and pipeline, adding up to the totals', async () => {
    const later = join(dir, 'later.pcap');
    const config = join(dir, 'three.yaml');
    writeFileSync(
      config,
      [
        'pipelines:',
        '  - name: old',
        '    sources:',
        `      - {kind: file, path: ${JSON.stringify(demo)}, id: earlier}`,
        `      - {kind: file, path: ${JSON.stringify(later)}, id: later}`,
        '  - name: other',
        '    sources:',
        `      - {kind: file, path: ${JSON.stringify(demo)}, id: again}`,
        '',
      ].join('\n'),
    );
    const s = await serve(['run', '--config', config], '', 'three');
    const m = s.metrics;
    for (const [source, pipeline] of [['earlier', 'old'], ['later', 'old'], ['again', 'other']] as const) {
      expect(sumOf(m, 'llmtap_source_calls_total', { source, pipeline }), source).toBe(s.calls.get(source));
      expect(sumOf(m, 'llmtap_source_packets_total', { source, pipeline }), source).toBe(sumOf(m, 'llmtap_packets_total') / 3);
    }
    expect(s.calls.get('earlier')).toBeGreaterThan(0);
    expect(sumOf(m, 'llmtap_source_capture_bytes_total')).toBe(sumOf(m, 'llmtap_capture_bytes_total'));
    expect(sumOf(m, 'llmtap_source_calls_total')).toBe(sumOf(m, 'llmtap_pipeline_calls_total'));
    // Files drop nothing: no drop series.
    expect(m.filter((x) => x.name === 'llmtap_source_dropped_total')).toEqual([]);
  }, 300_000);
});
