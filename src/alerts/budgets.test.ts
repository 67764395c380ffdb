import { describe, expect, it } from 'vitest';
import type { BudgetConfig } from '../config/types.js';
import type { AlertRecord } from '../core/record.js';
import { isoMicros } from '../core/time.js';
import { callAt, sec } from '../metrics/test-calls.test-support.js';
import { BudgetTracker, MAX_SCOPE_VALUES } from './budgets.js';

function budget(over: Partial<BudgetConfig> = {}): BudgetConfig {
  return { name: 'monthly', period: 'month', scope: 'all', value: null, limit_usd: 10, notify_at: [0.5, 0.8, 1], notify: ['log'], ...over };
}

function tracker(budgets: BudgetConfig[]): { b: BudgetTracker; out: AlertRecord[] } {
  const out: AlertRecord[] = [];
  return { b: new BudgetTracker(budgets, (a) => out.push(a)), out };
}

const DAY = 86_400;

describe('BudgetTracker', () => {
  it('sends the 50/80/100 % notices once each, at the call that reaches each', () => {
    const { b, out } = tracker([budget()]);
    const costs = [2, 2, 0.5, 1, 2, 0.1, 2, 0.5, 3, 3];
    costs.forEach((cost, i) => b.onCall(callAt({ at: i * 60, cost })));
    // Expected by hand: the first call whose running total reaches each fraction of $10. Each
    // call ends 1 s after it starts (callAt's default duration): that is when it counts.
    const want: [number, string, number][] = [];
    let total = 0;
    costs.forEach((cost, i) => {
      total += cost;
      for (const f of [0.5, 0.8, 1]) {
        if (total >= f * 10 && !want.some((w) => w[0] === f)) want.push([f, isoMicros(sec(i * 60 + 1)), total]);
      }
    });
    expect(want.map((w) => w[0])).toEqual([0.5, 0.8, 1]);
    expect(out.map((n) => [n.budget!.fraction, n.fired_at, n.value])).toEqual(want);
    const last = out[2]!;
    expect(last).toMatchObject({
      kind: 'alert',
      rule: 'monthly',
      rule_kind: 'budget',
      state: 'notice',
      severity: 'critical',
      metric: 'cost_usd',
      threshold: 10,
      window_ms: null,
      filters: {},
      // Spend is one total over every source.
      source: null,
      resolved_at: null,
      budget: { period: 'month', period_start: '2026-01-01T00:00:00.000000Z', scope: 'all', scope_value: 'all', limit_usd: 10, fraction: 1 },
    });
    expect(out.map((n) => n.severity)).toEqual(['info', 'warning', 'critical']);
    expect(last.message).toBe('total spend: $10.10 of $10.00 (101 %) in 2026-01, past 100 %');
    expect(new Set(out.map((n) => n.id)).size).toBe(3);
  });

  it('a single call crossing several fractions sends each of them', () => {
    const { b, out } = tracker([budget()]);
    b.onCall(callAt({ at: 0, cost: 9 }));
    expect(out.map((n) => n.budget!.fraction)).toEqual([0.5, 0.8]);
  });

  it('keeps one budget per scope value, or only the named value', () => {
    const { b, out } = tracker([budget({ name: 'per-team', scope: 'team' }), budget({ name: 'ml-only', scope: 'team', value: 'ml', notify_at: [1] })]);
    b.onCall(callAt({ at: 0, cost: 6, attributes: { team: 'ml' } }));
    b.onCall(callAt({ at: 1, cost: 4, attributes: { team: 'web' } }));
    b.onCall(callAt({ at: 2, cost: 4, attributes: { team: 'ml' } }));
    b.onCall(callAt({ at: 3, cost: 100 })); // no team: outside per-team budgets
    expect(out.map((n) => [n.rule, n.budget!.scope_value, n.budget!.fraction])).toEqual([
      ['per-team', 'ml', 0.5],
      ['per-team', 'ml', 0.8],
      ['per-team', 'ml', 1],
      ['ml-only', 'ml', 1],
    ]);
    expect(out[0]!.filters).toEqual({ team: 'ml' });
    expect(out[0]!.message).toContain('team=ml: $6.00 of $10.00 (60 %)');
    expect(b.stats().unscoped_calls).toBe(2);
    expect(b.spend().find((s) => s.budget === 'per-team' && s.scope_value === 'web')).toMatchObject({ spent_usd: 4, notified: [] });
  });

  it('adds nothing for unpriced calls and says how many there were', () => {
    const { b, out } = tracker([budget({ notify_at: [0.5] })]);
    b.onCall(callAt({ at: 0, cost: null }));
    b.onCall(callAt({ at: 1, cost: null }));
    b.onCall(callAt({ at: 2, cost: 4 }));
    expect(out).toEqual([]);
    b.onCall(callAt({ at: 3, cost: 1 }));
    expect(out).toHaveLength(1);
    expect(out[0]!.value).toBe(5);
    expect(out[0]!.message).toContain('2 unpriced calls not counted');
    expect(b.stats().unpriced_calls).toBe(2);
  });

  it('starts over in a new period: day, ISO week, month', () => {
    const { b, out } = tracker([budget({ name: 'd', period: 'day', notify_at: [1] }), budget({ name: 'w', period: 'week', notify_at: [1] })]);
    // 2026-01-01 is a Thursday. Day 1: $10 (both fire). Day 2: $10 (the day fires again, the week not).
    b.onCall(callAt({ at: 0, cost: 10 }));
    b.onCall(callAt({ at: DAY + 5, cost: 10 }));
    // Monday 2026-01-05: a new week.
    b.onCall(callAt({ at: 4 * DAY + 5, cost: 10 }));
    expect(out.map((n) => [n.rule, n.budget!.period_start])).toEqual([
      ['d', '2026-01-01T00:00:00.000000Z'],
      ['w', '2025-12-29T00:00:00.000000Z'],
      ['d', '2026-01-02T00:00:00.000000Z'],
      ['d', '2026-01-05T00:00:00.000000Z'],
      ['w', '2026-01-05T00:00:00.000000Z'],
    ]);
    // A straggler from a period already over is not counted into the new one.
    b.onCall(callAt({ at: 3 * DAY, cost: 50 }));
    expect(b.stats().late_calls).toBe(2);
  });

  it('after a restart, seeded notices are not sent again and spend goes on from the seed', () => {
    const first = tracker([budget()]);
    first.b.onCall(callAt({ at: 0, cost: 6 }));
    expect(first.out.map((n) => n.budget!.fraction)).toEqual([0.5]);

    const { b, out } = tracker([budget()]);
    b.seed(first.out, [{ budget: 'monthly', period_start: '2026-01-01T00:00:00.000000Z', scope_value: 'all', spent_usd: 7, unpriced_calls: 1 }]);
    b.onCall(callAt({ at: 60, cost: 0.5 })); // 7.5: nothing new
    expect(out).toEqual([]);
    b.onCall(callAt({ at: 120, cost: 0.5 })); // 8: 80 %
    expect(out.map((n) => [n.budget!.fraction, n.value])).toEqual([[0.8, 8]]);
    expect(out[0]!.message).toContain('1 unpriced call not counted');
    expect(b.stats().seeded_notices).toBe(1);
  });

  it('a seed from an earlier period does not hold back the current one', () => {
    const old = tracker([budget({ period: 'day', notify_at: [1] })]);
    old.b.onCall(callAt({ at: 0, cost: 20 }));
    const { b, out } = tracker([budget({ period: 'day', notify_at: [1] })]);
    b.seed(old.out);
    b.onCall(callAt({ at: DAY, cost: 20 }));
    expect(out.map((n) => n.budget!.period_start)).toEqual(['2026-01-02T00:00:00.000000Z']);
  });

  it(`tracks at most ${MAX_SCOPE_VALUES} scope values per budget and counts the rest`, () => {
    const { b } = tracker([budget({ scope: 'key' })]);
    const base = callAt({ at: 0, cost: 0.001 });
    for (let i = 0; i < MAX_SCOPE_VALUES + 5; i++) b.onCall({ ...base, api_key_fingerprint: `k${i}` });
    expect(b.spend()).toHaveLength(MAX_SCOPE_VALUES);
    expect(b.stats().scope_values_capped).toBe(5);
  });

  it('takes garbage without throwing: no time, negative or non-finite cost', () => {
    const { b, out } = tracker([budget()]);
    const noTime = callAt({ at: 0, cost: 100 });
    noTime.timing = { request_start: 'x', request_end: null, response_start: null, first_token: null, last_token: null, response_end: null };
    b.onCall(noTime);
    b.onCall(callAt({ at: 0, cost: -5 }));
    b.onCall(callAt({ at: 0, cost: Number.POSITIVE_INFINITY }));
    expect(out).toEqual([]);
    expect(b.stats()).toMatchObject({ untimed_calls: 1, unpriced_calls: 2 });
  });
});
