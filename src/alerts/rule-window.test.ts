import { describe, expect, it } from 'vitest';
import { WINDOW_METRICS } from '../config/types.js';
import { CallWindow } from '../metrics/call-window.js';
import { completionMicros } from '../metrics/record-time.js';
import { callAt } from '../metrics/test-calls.test-support.js';
import { rng } from '../store/synthetic-records.js';
import { callMetricValue } from './rule-metric.js';
import { bucketGeometry, RuleCallWindow } from './rule-window.js';

describe('RuleCallWindow', () => {
  it('uses the buckets CallWindow uses', () => {
    expect(bucketGeometry(60_000)).toEqual({ bucketUs: 1_000_000, size: 60 });
    expect(bucketGeometry(300_000)).toEqual({ bucketUs: 5_000_000, size: 60 });
    expect(bucketGeometry(90_000)).toEqual({ bucketUs: 1_500_000, size: 60 });
  });

  for (const metric of WINDOW_METRICS) {
    it(`reads ${metric} as CallWindow.stats() does, through late calls, departures and clock jumps`, () => {
      const rand = rng(WINDOW_METRICS.indexOf(metric) + 7);
      const span = 60_000;
      const mine = new RuleCallWindow(span, metric);
      const ref = new CallWindow(span, { bucketMs: span / 60 });
      let at = 0;
      for (let i = 0; i < 1500; i++) {
        // Mostly forward in small steps, sometimes a jump past the window, sometimes a late call.
        const r = rand();
        at += r < 0.02 ? 90 : r < 0.1 ? -rand() * 30 : rand() * 0.4;
        if (at < 0) at = 0;
        const c = callAt({
          at,
          e2eMs: 50 + rand() * 5000,
          ttftMs: rand() < 0.2 ? null : 10 + rand() * 900,
          status: rand() < 0.15 ? 429 : rand() < 0.1 ? 503 : 200,
          input: Math.floor(rand() * 2000),
          output: Math.floor(rand() * 300),
          cacheRead: Math.floor(rand() * 500),
          cost: rand() < 0.3 ? null : rand() / 100,
        });
        const t = completionMicros(c)!;
        ref.add(c);
        mine.add(c, t);
        if (rand() < 0.05) {
          const later = t + Math.floor(rand() * 20e6);
          ref.advance(later);
          mine.advance(later);
        }
        const s = ref.stats();
        const got = mine.read();
        expect(got.calls).toBe(s.calls);
        const want = callMetricValue(s, metric);
        if (want === null) expect(got.value).toBeNull();
        else expect(got.value).toBeCloseTo(want, 9);
      }
      expect(ref.stats().calls).toBeGreaterThan(0);
    });
  }
});
