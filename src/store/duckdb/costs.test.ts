/**
 * Spend by dimension and over time against a real DuckDB file: every number is checked against a
 * plain-JS sum over the same records. Unpriced calls are counted, never summed as $0.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LlmCallRecord } from '../../core/record.js';
import { calls, T0, tempStore } from '../test-helpers.test-support.js';
import type { CostGroup, Store } from '../types.js';

const N = 240;
let store: Store;
let recs: LlmCallRecord[];

/** Gemini calls stay unpriced; every 5th other call is estimated; attribute team on 2 in 3 calls. */
function priced(r: LlmCallRecord, i: number): LlmCallRecord {
  const unpriced = r.provider === 'google' || r.usage.input_tokens === null || r.usage.output_tokens === null;
  const cost = unpriced ? null : Math.round(((r.usage.input_tokens ?? 0) * 3 + (r.usage.output_tokens ?? 0) * 15)) / 1e6;
  const attributes: Record<string, string> = i % 3 === 0 ? {} : { team: i % 3 === 1 ? 'red' : 'blue' };
  if (i % 4 === 0) attributes['env.name'] = 'prod';
  return { ...r, cost_usd: cost, cost_status: cost === null ? 'unpriced' : i % 5 === 0 ? 'estimated' : 'priced', attributes };
}

beforeAll(async () => {
  recs = calls(N, 60_000_000).map(priced);
  store = await tempStore();
  await store.insertCalls(recs);
});
afterAll(async () => store.close());

function expected(rs: LlmCallRecord[], value: string | null): CostGroup {
  const costed = rs.filter((r) => r.cost_usd !== null);
  const sum = (xs: LlmCallRecord[]): number | null => (xs.length === 0 ? null : xs.reduce((a, r) => a + r.cost_usd!, 0));
  const tok = (f: (r: LlmCallRecord) => number | null): number => rs.reduce((a, r) => a + (f(r) ?? 0), 0);
  return {
    value,
    calls: rs.length,
    priced_calls: costed.filter((r) => r.cost_status === 'priced').length,
    estimated_calls: costed.filter((r) => r.cost_status === 'estimated').length,
    unpriced_calls: rs.length - costed.length,
    cost_usd: sum(costed),
    estimated_cost_usd: sum(costed.filter((r) => r.cost_status === 'estimated')),
    input_tokens: tok((r) => r.usage.input_tokens),
    output_tokens: tok((r) => r.usage.output_tokens),
    cache_read_tokens: tok((r) => r.usage.cache_read_tokens),
    cache_write_tokens: tok((r) => r.usage.cache_write_tokens),
    reasoning_tokens: tok((r) => r.usage.reasoning_tokens),
  };
}

function close(actual: CostGroup, want: CostGroup): void {
  const { cost_usd, estimated_cost_usd, ...rest } = actual;
  const { cost_usd: wc, estimated_cost_usd: we, ...wrest } = want;
  expect(rest).toEqual(wrest);
  for (const [a, w] of [[cost_usd, wc], [estimated_cost_usd, we]] as const) {
    if (w === null) expect(a).toBeNull();
    else expect(a).toBeCloseTo(w, 9);
  }
}

function groupBy(rs: LlmCallRecord[], key: (r: LlmCallRecord) => string | null): Map<string | null, LlmCallRecord[]> {
  const m = new Map<string | null, LlmCallRecord[]>();
  for (const r of rs) m.set(key(r), [...(m.get(key(r)) ?? []), r]);
  return m;
}

describe('costs', () => {
  test('by model: each group and the total match the records; unpriced models have a null cost, not $0', async () => {
    const res = await store.costs({}, { by: 'model' });
    close(res.total, expected(recs, null));
    const want = groupBy(recs, (r) => r.response_model ?? r.request_model);
    expect(res.groups.map((g) => g.value).sort()).toEqual([...want.keys()].sort());
    for (const g of res.groups) close(g, expected(want.get(g.value)!, g.value));
    const gemini = res.groups.filter((g) => g.value?.startsWith('gemini'));
    expect(gemini.length).toBeGreaterThan(0);
    for (const g of gemini) {
      expect(g.cost_usd).toBeNull();
      expect(g.unpriced_calls).toBe(g.calls);
    }
    // Most spend first; groups without spend last.
    const spends = res.groups.map((g) => g.cost_usd ?? -1);
    expect(spends).toEqual([...spends].sort((a, b) => b - a));
    expect(res.groups_truncated).toBe(false);
  });

  test('by every built-in dimension the groups add up to the total', async () => {
    for (const by of ['provider', 'api', 'model', 'server', 'agent', 'client', 'key', 'source']) {
      const res = await store.costs({}, { by });
      expect(res.groups.reduce((a, g) => a + g.calls, 0), by).toBe(N);
      expect(res.groups.reduce((a, g) => a + g.unpriced_calls, 0), by).toBe(res.total.unpriced_calls);
    }
    const agents = await store.costs({}, { by: 'agent' });
    close(agents.groups.find((g) => g.value === null)!, expected(recs.filter((r) => r.agent === null), null));
  });

  test('by an attribute, dotted names included; calls without it are the null group', async () => {
    const res = await store.costs({}, { by: 'team' });
    const want = groupBy(recs, (r) => r.attributes['team'] ?? null);
    expect(res.groups.map((g) => g.value).sort()).toEqual(['blue', 'red', null].sort());
    for (const g of res.groups) close(g, expected(want.get(g.value)!, g.value));
    const env = await store.costs({}, { by: 'env.name' });
    close(env.groups.find((g) => g.value === 'prod')!, expected(recs.filter((r) => r.attributes['env.name'] === 'prod'), 'prod'));
  });

  test('honours the call filter, attribute filter included', async () => {
    const from = T0 + 60 * 60_000_000;
    const res = await store.costs({ from, provider: ['anthropic'], attribute: ['team=red'] }, { by: 'model' });
    const sel = recs.filter(
      (r) => Date.parse(r.timing.request_start) * 1000 >= from && r.provider === 'anthropic' && r.attributes['team'] === 'red',
    );
    expect(sel.length).toBeGreaterThan(0);
    close(res.total, expected(sel, null));
  });

  test('refuses a dimension that is not a name, with the client at fault', async () => {
    await expect(store.costs({}, { by: "x'; DROP TABLE calls; --" })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(store.costs({}, { by: '' })).rejects.toMatchObject({ code: 'invalid_argument' });
    expect((await store.costs({}, { by: 'no_such_attribute' })).groups).toEqual([expect.objectContaining({ value: null, calls: N })]);
  });

  test('filterValues lists attributes as name=value', async () => {
    const v = await store.filterValues();
    const attrs = Object.fromEntries(v.attribute.map((x) => [x.value, x.count]));
    expect(attrs).toEqual({
      'team=red': recs.filter((r) => r.attributes['team'] === 'red').length,
      'team=blue': recs.filter((r) => r.attributes['team'] === 'blue').length,
      'env.name=prod': recs.filter((r) => r.attributes['env.name'] === 'prod').length,
    });
  });
});

describe('costTimeseries', () => {
  const HOUR_MS = 3_600_000;

  test('one series: per bucket the spend of its calls, null where none had a cost', async () => {
    const res = await store.costTimeseries({}, { bucketMs: HOUR_MS });
    expect(res.series).toHaveLength(1);
    const s = res.series[0]!;
    expect(res.buckets).toHaveLength(Math.ceil((N * 60_000) / HOUR_MS));
    res.buckets.forEach((b, i) => {
      const t0 = Date.parse(b);
      const inB = recs.filter((r) => Date.parse(r.timing.request_start) >= t0 && Date.parse(r.timing.request_start) < t0 + HOUR_MS);
      const costed = inB.filter((r) => r.cost_usd !== null);
      expect(s.calls[i]).toBe(inB.length);
      expect(s.unpriced_calls[i]).toBe(inB.length - costed.length);
      if (costed.length === 0) expect(s.cost_usd[i]).toBeNull();
      else expect(s.cost_usd[i]).toBeCloseTo(costed.reduce((a, r) => a + r.cost_usd!, 0), 9);
    });
  });

  test('grouped by provider with a group limit: top spenders, the rest as (other)', async () => {
    const res = await store.costTimeseries({}, { bucketMs: HOUR_MS, by: 'provider', groupLimit: 1 });
    expect(res.series.map((s) => s.group)).toEqual([expect.any(String), '(other)']);
    const total = res.series.reduce((a, s) => a + s.calls.reduce((x, y) => x + y, 0), 0);
    expect(total).toBe(N);
    const byProvider = await store.costs({}, { by: 'provider' });
    expect(res.series[0]!.group).toBe(byProvider.groups[0]!.value);
  });

  test('empty selection: no buckets', async () => {
    const res = await store.costTimeseries({ provider: ['nobody'] }, { bucketMs: HOUR_MS });
    expect(res).toEqual({ bucket_ms: HOUR_MS, by: null, buckets: [], series: [] });
  });
});
