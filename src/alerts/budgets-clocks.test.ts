/**
 * Budgets with a clock per source (DESIGN §1): spend is one total over all sources, but each
 * source has its own current period, so last month's capture replayed beside this month's
 * traffic keeps its calls (with one period for all they were late) and sends the notices it sends
 * alone; sources in the same period add up.
 */
import { describe, expect, it } from 'vitest';
import type { BudgetConfig } from '../config/types.js';
import type { AlertRecord } from '../core/record.js';
import { interleave, mulberry32, sourceTraffic } from '../metrics/source-traffic.test-support.js';
import { callAt } from '../metrics/test-calls.test-support.js';
import { BudgetTracker } from './budgets.js';

const MONTHLY: BudgetConfig = { name: 'monthly', period: 'month', scope: 'all', value: null, limit_usd: 0.2, notify_at: [0.25, 0.5, 0.8, 1], notify: [] };
const BY_MODEL: BudgetConfig = { ...MONTHLY, name: 'by-model', scope: 'model', limit_usd: 0.1 };
const MONTH = 31 * 86_400;

describe('BudgetTracker: a clock per source', () => {
  it.each([1, 2, 3, 4, 5, 6])('two sources a month apart send the notices each sends alone (seed %i)', (seed) => {
    const rnd = mulberry32(seed);
    const lists = [sourceTraffic('january', 0, rnd), sourceTraffic('february', MONTH, rnd)];
    const out: AlertRecord[] = [];
    const together = new BudgetTracker([MONTHLY, BY_MODEL], (a) => out.push(a));
    const alone = new Map<string, { b: BudgetTracker; out: AlertRecord[] }>();
    for (const s of ['january', 'february']) {
      const o: AlertRecord[] = [];
      alone.set(s, { b: new BudgetTracker([MONTHLY, BY_MODEL], (a) => o.push(a)), out: o });
    }
    for (const e of interleave(lists, rnd)) {
      if (!('call' in e)) continue;
      together.onCall(e.call);
      alone.get(e.source)!.b.onCall(e.call);
    }
    for (const [source, a] of alone) {
      const month = source === 'january' ? '2026-01-01' : '2026-02-01';
      expect(out.filter((n) => n.budget!.period_start.startsWith(month)), source).toEqual(a.out);
      expect(a.out.length, source).toBeGreaterThan(2);
    }
    expect(together.stats().late_calls).toBe(0);
    // Both months are current (one per source), with each month's spend as alone.
    const spend = (b: BudgetTracker) => b.spend().map((x) => [x.budget, x.period_start, x.scope_value, x.spent_usd]);
    expect(spend(together).sort()).toEqual([...spend(alone.get('january')!.b), ...spend(alone.get('february')!.b)].sort());
  });

  it('sources in the same period add up to one spend', () => {
    const out: AlertRecord[] = [];
    const b = new BudgetTracker([MONTHLY], (a) => out.push(a));
    for (const [source, at] of [['x', 10], ['y', 3600], ['x', 20]] as const) {
      const c = callAt({ at, cost: 0.06 });
      c.source = source;
      b.onCall(c);
    }
    expect(out.map((n) => [n.budget!.fraction, n.value])).toEqual([
      [0.25, 0.06],
      [0.5, 0.12],
      [0.8, 0.18],
    ]);
  });

  it('a source behind its own period is late; spend of a period no source is in is let go', () => {
    const b = new BudgetTracker([MONTHLY], () => undefined);
    const call = (source: string, at: number) => {
      const c = callAt({ at, cost: 0.01 });
      c.source = source;
      b.onCall(c);
    };
    call('x', MONTH);
    call('x', 10);
    expect(b.stats().late_calls).toBe(1);
    call('y', 10);
    expect(b.spend().map((s) => s.period_start).sort()).toEqual(['2026-01-01T00:00:00.000000Z', '2026-02-01T00:00:00.000000Z']);
    call('y', MONTH + 5);
    // No source is in January any more: only February is kept, with both sources' spend.
    expect(b.spend().map((s) => [s.period_start, s.spent_usd])).toEqual([['2026-02-01T00:00:00.000000Z', 0.02]]);
    // A source seen only now with January calls starts January's spend again from zero.
    call('z', 20);
    expect(b.spend().map((s) => [s.period_start, s.spent_usd])).toEqual([
      ['2026-02-01T00:00:00.000000Z', 0.02],
      ['2026-01-01T00:00:00.000000Z', 0.01],
    ]);
    expect(b.stats().late_calls).toBe(1);
  });
});
