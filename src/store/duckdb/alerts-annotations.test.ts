/** Alert history and annotations against a real DuckDB file. */
import { describe, expect, test } from 'vitest';
import type { AlertRecord, AnnotationRecord } from '../../core/record.js';
import { isoMicros } from '../../core/time.js';
import { openStore } from '../index.js';
import { T0, tempDbPath, tempStore } from '../test-helpers.test-support.js';
import type { Page, PageRequest } from '../types.js';

const MIN = 60_000_000;

function alert(i: number, over: Partial<AlertRecord> = {}): AlertRecord {
  return {
    kind: 'alert',
    id: `0190${String(i).padStart(4, '0')}-0000-7000-8000-000000000000`,
    rule: i % 2 === 0 ? 'high-error-rate' : 'slow-ttft',
    rule_kind: 'rule',
    state: 'firing',
    severity: 'warning',
    metric: i % 2 === 0 ? 'error_rate' : 'ttft_p95',
    value: 0.5,
    threshold: 0.1,
    window_ms: 300_000,
    filters: {},
    source: null,
    fired_at: isoMicros(T0 + i * MIN),
    resolved_at: null,
    message: `rule ${i} fired`,
    budget: null,
    ...over,
  };
}

function score(i: number, over: Partial<AnnotationRecord> = {}): AnnotationRecord {
  return {
    kind: 'annotation',
    id: `0191${String(i).padStart(4, '0')}-0000-7000-8000-000000000000`,
    target_kind: i % 3 === 0 ? 'turn' : 'call',
    target_id: `target-${i % 4}`,
    name: i % 2 === 0 ? 'helpfulness' : 'thumbs_up',
    value: i % 2 === 0 ? i / 10 : i % 4 === 1 ? 1 : 0,
    label: null,
    comment: i === 1 ? 'nice' : null,
    author: null,
    ts: isoMicros(T0 + i * MIN),
    created_at: isoMicros(T0 + 1000 * MIN),
    dimensions: { model: 'gpt-4o' },
    ...over,
  };
}

async function walk<T>(list: (p: PageRequest) => Promise<Page<T>>, limit: number): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 1000; i++) {
    const page: Page<T> = await list({ limit, cursor });
    out.push(...page.items);
    if (page.next_cursor === null) return out;
    cursor = page.next_cursor;
  }
  throw new Error('no end');
}

describe('alerts', () => {
  test('an incident fires then resolves under one id; a late firing snapshot does not undo it', async () => {
    const store = await tempStore();
    const a = alert(1);
    await store.insertAlert(a);
    expect(await store.getAlert(a.id)).toEqual(a);
    const resolved = { ...a, state: 'resolved' as const, resolved_at: isoMicros(T0 + 9 * MIN), message: 'cleared' };
    await store.insertAlert(resolved);
    expect(await store.getAlert(a.id)).toEqual(resolved);
    await store.insertAlert(a);
    expect(await store.getAlert(a.id)).toEqual(resolved);
    expect((await store.stats()).tables['alerts']).toBe(1);
    expect(await store.getAlert('0000-nope')).toBeNull();
    await store.close();
  });

  test('lists newest first with filters and a stable cursor', async () => {
    const store = await tempStore();
    const all = Array.from({ length: 25 }, (_, i) => alert(i, i % 5 === 0 ? { rule_kind: 'budget', state: 'notice', rule: 'team-budget' } : {}));
    for (const a of all) await store.insertAlert(a);
    const listed = await walk((p) => store.listAlerts({}, p), 4);
    expect(listed.map((a) => a.id)).toEqual([...all].reverse().map((a) => a.id));
    const budgets = await store.listAlerts({ rule_kind: ['budget'] });
    expect(budgets.items.map((a) => a.rule)).toEqual(Array(5).fill('team-budget'));
    const firing = await store.listAlerts({ state: ['firing'], rule: ['slow-ttft'], from: T0 + 10 * MIN, to: T0 + 20 * MIN });
    expect(firing.items.map((a) => a.id)).toEqual(
      all.filter((a, i) => i >= 10 && i < 20 && a.state === 'firing' && a.rule === 'slow-ttft').reverse().map((a) => a.id),
    );
    await expect(store.listAlerts({}, { cursor: 'garbage!' })).rejects.toMatchObject({ code: 'invalid_cursor' });
    await store.close();
  });
});

describe('annotations', () => {
  test('stored once per id, listed by target and name, newest first', async () => {
    const store = await tempStore();
    const all = Array.from({ length: 12 }, (_, i) => score(i));
    for (const a of all) await store.insertAnnotation(a);
    await store.insertAnnotation(all[0]!);
    expect((await store.stats()).tables['annotations']).toBe(12);
    const listed = await walk((p) => store.listAnnotations({}, p), 5);
    expect(listed).toEqual([...all].reverse());
    const forTarget = await store.listAnnotations({ target_kind: ['call'], target_id: ['target-1'] });
    expect(forTarget.items.map((a) => a.id)).toEqual(all.filter((a) => a.target_kind === 'call' && a.target_id === 'target-1').reverse().map((a) => a.id));
    const helpful = await store.listAnnotations({ name: ['helpfulness'], from: T0 + 4 * MIN });
    expect(helpful.items.map((a) => a.value)).toEqual([1, 0.8, 0.6, 0.4]);
    await expect(store.insertAnnotation(score(99, { value: Number.NaN }))).rejects.toMatchObject({ code: 'invalid_argument' });
    await store.close();
  });

  test('time series: mean, count, min and max per bucket and name', async () => {
    const store = await tempStore();
    const all = Array.from({ length: 12 }, (_, i) => score(i));
    for (const a of all) await store.insertAnnotation(a);
    const bucketMs = 5 * 60_000;
    const res = await store.annotationTimeseries({}, { bucketMs });
    expect(res.buckets).toEqual([0, 1, 2].map((b) => isoMicros(T0 + b * 5 * MIN)));
    expect(res.series.map((s) => s.name).sort()).toEqual(['helpfulness', 'thumbs_up']);
    for (const s of res.series) {
      res.buckets.forEach((_, b) => {
        const vals = all.filter((a) => a.name === s.name && Math.floor((Date.parse(a.ts) * 1000 - T0) / (5 * MIN)) === b).map((a) => a.value);
        expect(s.count[b]).toBe(vals.length);
        if (vals.length === 0) expect(s.mean[b]).toBeNull();
        else {
          expect(s.mean[b]).toBeCloseTo(vals.reduce((x, y) => x + y, 0) / vals.length, 12);
          expect(s.min[b]).toBe(Math.min(...vals));
          expect(s.max[b]).toBe(Math.max(...vals));
        }
      });
    }
    const one = await store.annotationTimeseries({ name: ['thumbs_up'] }, { bucketMs });
    expect(one.series.map((s) => s.name)).toEqual(['thumbs_up']);
    expect((await store.annotationTimeseries({ name: ['none'] }, { bucketMs })).buckets).toEqual([]);
    await store.close();
  });

  test('retention removes scores and alerts with the calls they are about', async () => {
    const path = tempDbPath();
    const store = await openStore({ path, retention: { callsDays: 1, exchangesDays: 1, bodiesDays: 1 } });
    await store.insertAnnotation(score(1));
    await store.insertAlert(alert(1));
    await store.insertAnnotation(score(2, { ts: isoMicros(T0 + 3 * 86_400_000_000) }));
    await store.applyRetention(T0 + 3 * 86_400_000_000);
    expect((await store.listAnnotations({})).items.map((a) => a.id)).toEqual([score(2).id]);
    expect((await store.listAlerts({})).items).toEqual([]);
    await store.close();
  });
});
