import { describe, expect, it } from 'vitest';
import type { OutputsHealth } from '../api/types.js';
import { healthOf } from './health.js';

const quiet: OutputsHealth = {
  otlp: { endpoint: 'http://collector:4318/', spans: { queued: 0, sent: 9, dropped: 0, rejected: 0, invalid: 0, failed_batches: 0, retries: 1 }, metrics: null },
  alerts: {
    rules: 1,
    budgets: 0,
    firing: 1,
    fired: 1,
    resolved: 0,
    notices: 0,
    logged: 1,
    record_failures: 0,
    webhooks: { sent: 1, failed: 0, retries: 1, dropped: 0, queued: 0 },
  },
  observer_failures: 0,
};

describe('healthOf', () => {
  it('carries the exports’ counters; retries alone are not a problem', () => {
    const h = healthOf(null, null, { stats: () => quiet });
    expect(h.outputs).toEqual(quiet);
    expect(h.status).toBe('ok');
  });

  it('is degraded when spans, webhook alerts or alert records are lost, or an observer fails', () => {
    const cases: OutputsHealth[] = [
      { ...quiet, otlp: { ...quiet.otlp!, spans: { ...quiet.otlp!.spans!, dropped: 1 } } },
      { ...quiet, otlp: { ...quiet.otlp!, metrics: { exported: 0, failed: 1, skipped: 0, retries: 4 } } },
      { ...quiet, alerts: { ...quiet.alerts!, webhooks: { ...quiet.alerts!.webhooks, failed: 1 } } },
      { ...quiet, alerts: { ...quiet.alerts!, record_failures: 1 } },
      { ...quiet, observer_failures: 1 },
    ];
    for (const c of cases) expect(healthOf(null, null, { stats: () => c }).status, JSON.stringify(c)).toBe('degraded');
  });

  it('has no outputs when nothing is exported (`llmtap serve`)', () => {
    expect(healthOf(null, null).outputs).toBeNull();
  });
});
