import { describe, expect, it } from 'vitest';
import type { AlertRuleConfig, BudgetConfig } from '../config/types.js';
import type { AlertRecord } from '../core/record.js';
import { isoMicros } from '../core/time.js';
import { callAt, sec, T0 } from '../metrics/test-calls.test-support.js';
import { createAlerting } from './alerting.js';

const rule: AlertRuleConfig = {
  name: 'bad-answers',
  metric: 'score:quality',
  window_ms: 60_000,
  op: '<',
  threshold: 0.5,
  filters: {},
  min_calls: 1,
  cooldown_ms: 0,
  severity: 'info',
  notify: ['log'],
};
const budget: BudgetConfig = { name: 'all', period: 'month', scope: 'all', value: null, limit_usd: 1, notify_at: [1], notify: [] };

describe('createAlerting', () => {
  it('sends every record to onAlert and to its notify targets; a failing onAlert is counted, not spread', () => {
    const stored: AlertRecord[] = [];
    const lines: string[] = [];
    let fail = true;
    const alerting = createAlerting(
      { alerts: [rule], budgets: [budget], webhooks: {} },
      {
        onAlert: (a) => {
          if (fail) {
            fail = false;
            throw new Error('store is down');
          }
          stored.push(a);
        },
        log: (l) => lines.push(l),
      },
    );
    alerting.onCall(callAt({ at: 0, cost: 2 })); // budget notice (notify: none); onAlert throws
    alerting.onAnnotation({
      kind: 'annotation',
      id: 'x',
      target_kind: 'turn',
      target_id: 't',
      name: 'quality',
      value: 0.1,
      label: 'bad',
      comment: null,
      author: null,
      ts: isoMicros(sec(0)),
      created_at: isoMicros(T0),
      dimensions: {},
    });
    expect(stored.map((a) => [a.rule, a.state, a.fired_at])).toEqual([['bad-answers', 'firing', isoMicros(sec(1))]]);
    expect(lines).toEqual([`alert [FIRING info] bad-answers: ${stored[0]!.message} (at ${isoMicros(sec(1))})`]);
    expect(alerting.firing()).toEqual([{ rule: 'bad-answers', id: stored[0]!.id, fired_at: isoMicros(sec(1)) }]);
    expect(alerting.stats()).toMatchObject({ on_alert_failures: 1, budgets: { notices: 1 }, rules: { fired: 1 }, delivery: { logged: 1 } });
    alerting.onTime(sec(120));
    expect(stored.map((a) => a.state)).toEqual(['firing', 'resolved']);
    expect(alerting.firing()).toEqual([]);
  });

  it('seeds budgets so a restart does not notify twice', async () => {
    const first: AlertRecord[] = [];
    const a = createAlerting({ alerts: [], budgets: [budget], webhooks: {} }, { onAlert: (x) => first.push(x), log: () => undefined });
    a.onCall(callAt({ at: 0, cost: 2 }));
    await a.close();
    const again: AlertRecord[] = [];
    const b = createAlerting({ alerts: [], budgets: [budget], webhooks: {} }, { onAlert: (x) => again.push(x), log: () => undefined });
    b.seed(first);
    b.onCall(callAt({ at: 10, cost: 2 }));
    expect(first).toHaveLength(1);
    expect(again).toEqual([]);
    expect(b.budgets()).toMatchObject([{ budget: 'all', scope_value: 'all', spent_usd: 4, notified: [1] }]);
  });
});
