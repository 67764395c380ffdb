/**
 * The shipped Grafana dashboard (dashboards/grafana/llmtap.json) is valid JSON whose queries
 * name only metrics llmtap exports: every metric in every PromQL expression is looked up in the
 * /metrics text of a replay of examples/demo.pcap.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../corpus.js';
import { families, parseSamples } from './prom-text.js';
import { replayWithMetrics } from './replay-metrics.js';

interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: { expr: string }[];
}

const dashboard = JSON.parse(readFileSync(join(repoRoot, 'dashboards', 'grafana', 'llmtap.json'), 'utf8')) as { uid: string; panels: Panel[] };
const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

/** PromQL words that are not metric names. */
const PROMQL = new Set(['sum', 'by', 'rate', 'histogram_quantile', 'le', 'time', 'without', 'on', 'ignoring']);

function metricNames(expr: string): string[] {
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, '');
  const noLabels = noStrings.replace(/\{[^}]*\}/g, '').replace(/by \([^)]*\)/g, '');
  return [...noLabels.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)].map((m) => m[0]).filter((w) => !PROMQL.has(w));
}

describe('dashboards/grafana/llmtap.json', () => {
  let exported: Set<string>;
  let labelsByMetric: Map<string, Set<string>>;
  beforeAll(async () => {
    // Shown as a live interface, so the per-source metrics (drops too) are exported as in `capture`.
    const r = await replayWithMetrics(join(repoRoot, 'examples', 'demo.pcap'), 1_000, 'interface');
    exported = new Set(families(r.prometheus).keys());
    labelsByMetric = new Map();
    for (const s of parseSamples(r.prometheus)) {
      const set = labelsByMetric.get(s.name) ?? new Set<string>();
      for (const k of Object.keys(s.labels)) set.add(k);
      labelsByMetric.set(s.name, set);
    }
  });

  it('has panels with queries and unique ids', () => {
    expect(exprs.length).toBeGreaterThan(10);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('queries only metrics that /metrics exports', () => {
    const missing: string[] = [];
    for (const { panel, expr } of exprs) {
      for (const name of metricNames(expr)) {
        const family = name.replace(/_(bucket|sum|count)$/, '');
        if (!exported.has(name) && !exported.has(family)) missing.push(`${panel}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('filters and groups only by labels those metrics carry', () => {
    const wrong: string[] = [];
    for (const { panel, expr } of exprs) {
      for (const m of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)) {
        // Call metrics share one attribute set (a label a sample lacks, such as the response
        // model of a 429, is "" to PromQL): a label seen on llmtap_calls_total is theirs too.
        const call = !m[1]!.startsWith('llmtap_') || /^llmtap_(calls|call_errors|tokens|cost_usd|calls_unpriced)_total$/.test(m[1]!);
        const have = new Set([...(labelsByMetric.get(m[1]!) ?? []), ...(call ? (labelsByMetric.get('llmtap_calls_total') ?? []) : [])]);
        for (const l of m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*=~?/g)) if (!have.has(l[1]!)) wrong.push(`${panel}: ${m[1]} has no label ${l[1]}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
