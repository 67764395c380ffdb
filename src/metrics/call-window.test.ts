import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CallWindow, ValueWindow } from './call-window.js';
import { callAt, sec } from './test-calls.test-support.js';

const MINUTE = 60_000;

describe('CallWindow', () => {
  it('counts calls, errors (status ≥ 400 or an error event), 429s and 5xx apart', () => {
    const w = new CallWindow(MINUTE);
    w.add(callAt({ at: 1 }));
    w.add(callAt({ at: 2, status: 429 }));
    w.add(callAt({ at: 3, status: 503 }));
    w.add(callAt({ at: 4, status: 400 }));
    w.add(callAt({ at: 5, status: 200, error: true })); // error event inside a 200 stream
    w.add(callAt({ at: 6, status: null, error: true })); // no response at all
    const s = w.stats();
    expect(s).toMatchObject({ calls: 6, errors: 5, throttled: 1, server_errors: 1, span_seconds: 60 });
    expect(s.error_rate).toBeCloseTo(5 / 6, 12);
    expect(s.throttle_rate).toBeCloseTo(1 / 6, 12);
    expect(s.server_error_rate).toBeCloseTo(1 / 6, 12);
    expect(s.call_rate).toBeCloseTo(6 / 60, 12);
  });

  it('sums tokens and cost; an unpriced call adds no cost; cache hit ratio is cache_read / input', () => {
    const w = new CallWindow(MINUTE);
    w.add(callAt({ at: 1, input: 1000, output: 50, cacheRead: 800, cost: 0.25 }));
    w.add(callAt({ at: 2, input: 3000, output: 150, cacheRead: 200, cost: null }));
    w.add(callAt({ at: 3, input: null, output: null, cacheRead: null, cost: 0.5 }));
    const s = w.stats();
    expect(s).toMatchObject({ input_tokens: 4000, output_tokens: 200, cache_read_tokens: 1000, cost_usd: 0.75 });
    expect(s.cache_hit_ratio).toBeCloseTo(1000 / 4000, 12);
    expect(s.token_rate).toBeCloseTo(4200 / 60, 12);
    expect(s.cost_rate).toBeCloseTo(0.75 / 60, 12);
  });

  it('an empty window has zero rates and null ratios and percentiles', () => {
    const s = new CallWindow(MINUTE).stats();
    expect(s).toMatchObject({ calls: 0, call_rate: 0, error_rate: null, cache_hit_ratio: null, ttft_ms: null, e2e_ms: null });
  });

  it('places a call at its completion: a call longer than the window is still counted', () => {
    const w = new CallWindow(MINUTE);
    w.add(callAt({ at: 0, e2eMs: 90_000 })); // a 90 s stream ends at 90 s
    w.advance(sec(90));
    expect(w.stats().calls).toBe(1);
    expect(w.late).toBe(0);
  });

  it('slides: a call leaves when its 1 s bucket falls out of the 60 buckets', () => {
    const w = new CallWindow(MINUTE); // 60 buckets of 1 s
    w.add(callAt({ at: 10.5, e2eMs: 500 })); // ends at 11.000 s: bucket 11
    w.advance(sec(70.999)); // buckets 11..70 inside
    expect(w.stats().calls).toBe(1);
    w.advance(sec(71)); // buckets 12..71
    expect(w.stats().calls).toBe(0);
  });

  it('never moves back: an older advance is ignored, and a call older than the window is late', () => {
    const w = new CallWindow(MINUTE);
    w.advance(sec(200));
    w.advance(sec(100));
    expect(w.now).toBe(sec(200));
    w.add(callAt({ at: 10 }));
    expect(w.stats().calls).toBe(0);
    expect(w.late).toBe(1);
  });

  it('agrees with a plain count over random traffic (bucket-aligned window)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 20_000 }), e2e: fc.integer({ min: 1, max: 30_000 }), status: fc.constantFrom(200, 200, 429, 500) }), { maxLength: 80 }),
        fc.integer({ min: 0, max: 200_000 }),
        (specs, tail) => {
          const w = new CallWindow(MINUTE, { bucketMs: 5000 }); // 12 buckets of 5 s
          const ends: { end: number; status: number }[] = [];
          let at = 0;
          for (const s of specs) {
            at += s.gap;
            const call = callAt({ at: at / 1000, e2eMs: s.e2e, status: s.status });
            ends.push({ end: sec(at / 1000) + s.e2e * 1000, status: s.status });
            w.add(call);
          }
          const now = Math.max(sec(0), ...ends.map((e) => e.end)) + tail * 1000;
          w.advance(now);
          // The window: 5 s buckets whose index is within the last 12 up to now's bucket, counting
          // only calls that were not already out of the window when they arrived.
          const bucket = (t: number): number => Math.floor(t / 5_000_000);
          let clock = -Infinity;
          const kept: { end: number; status: number }[] = [];
          for (const e of ends) {
            clock = Math.max(clock, e.end);
            if (bucket(e.end) > bucket(clock) - 12) kept.push(e);
          }
          const inside = kept.filter((e) => bucket(e.end) > bucket(now) - 12);
          const s = w.stats();
          expect(s.calls).toBe(inside.length);
          expect(s.throttled).toBe(inside.filter((e) => e.status === 429).length);
          expect(s.server_errors).toBe(inside.filter((e) => e.status === 500).length);
          expect(w.late).toBe(ends.length - kept.length);
        },
      ),
    );
  });

  it('percentiles are within 1 % of the exact ones and merge across buckets', () => {
    const w = new CallWindow(MINUTE);
    const e2e: number[] = [];
    for (let i = 1; i <= 1000; i++) {
      const v = 100 + ((i * 7919) % 5000); // spread, not sorted, over many buckets
      e2e.push(v);
      w.add(callAt({ at: (i * 50) / 1000, e2eMs: v, ttftMs: v / 10, output: 11 }));
    }
    const sorted = [...e2e].sort((a, b) => a - b);
    const exact = (q: number): number => sorted[Math.floor(q * (sorted.length - 1))]!;
    const s = w.stats();
    expect(s.calls).toBe(1000);
    for (const [q, got] of [
      [0.5, s.e2e_ms!.p50],
      [0.95, s.e2e_ms!.p95],
      [0.99, s.e2e_ms!.p99],
    ] as const) {
      expect(Math.abs(got - exact(q)) / exact(q)).toBeLessThanOrEqual(0.0101);
    }
    expect(Math.abs(s.ttft_ms!.p95 - exact(0.95) / 10) / (exact(0.95) / 10)).toBeLessThanOrEqual(0.0101);
    // tpot = (e2e − ttft) / (11 − 1)
    expect(Math.abs(s.tpot_ms!.p50 - (exact(0.5) * 0.9) / 10) / ((exact(0.5) * 0.9) / 10)).toBeLessThanOrEqual(0.0101);
  });

  it('one sample: every percentile is that sample', () => {
    const w = new CallWindow(MINUTE);
    w.add(callAt({ at: 1, e2eMs: 1234.5 }));
    expect(w.stats().e2e_ms).toEqual({ p50: 1234.5, p95: 1234.5, p99: 1234.5 });
  });

  it('takes hostile values without throwing: NaN, negative, absurd and unreadable times', () => {
    const w = new CallWindow(MINUTE);
    const bad = callAt({ at: 1, e2eMs: 100, input: -5, output: Number.NaN, cost: Number.POSITIVE_INFINITY });
    bad.e2e_ms = -3;
    bad.ttft_ms = Number.NaN;
    w.add(bad);
    const noTime = callAt({ at: 2 });
    noTime.timing = { request_start: 'garbage', request_end: null, response_start: null, first_token: null, last_token: null, response_end: null };
    w.add(noTime); // placed at the window's current time
    const s = w.stats();
    expect(s).toMatchObject({ calls: 2, input_tokens: 100, output_tokens: 10, cost_usd: 0, ttft_ms: null });
    expect(s.e2e_ms).toEqual({ p50: 1000, p95: 1000, p99: 1000 });
  });

  it('holds at most span / bucket buckets: an hour of traffic leaves only the last minute', () => {
    const w = new CallWindow(MINUTE);
    for (let t = 0; t < 3600; t += 0.25) w.add(callAt({ at: t, e2eMs: 1 }));
    // Calls end at t + 1 ms; the last ends at 3599.751 s (bucket 3599): buckets 3540..3599.
    expect(w.stats().calls).toBe(60 * 4);
  });

  it('refuses a span or bucket that is not a positive number (a configuration bug)', () => {
    expect(() => new CallWindow(0)).toThrow(RangeError);
    expect(() => new CallWindow(MINUTE, { bucketMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('ValueWindow', () => {
  it('keeps count, sum, mean, min, max and quantiles of the samples in the window', () => {
    const w = new ValueWindow(MINUTE);
    w.add(sec(1), 0.5);
    w.add(sec(2), 1);
    w.add(sec(3), 0);
    w.add(sec(4), -1);
    const s = w.stats();
    expect(s).toMatchObject({ count: 4, sum: 0.5, min: -1, max: 1 });
    expect(s.mean).toBeCloseTo(0.125, 12);
    expect(s.quantiles!.p50).toBeCloseTo(0.5, 1); // of the samples ≥ 0: 0, 0.5, 1
    w.advance(sec(62.5)); // buckets 3..62: the samples at 1 s and 2 s left
    expect(w.stats()).toMatchObject({ count: 2, sum: -1, min: -1, max: 0 });
  });

  it('is empty (nulls) with no samples and ignores non-finite ones', () => {
    const w = new ValueWindow(MINUTE);
    w.add(sec(1), Number.NaN);
    w.add(Number.NaN, 1);
    expect(w.stats()).toEqual({ count: 0, sum: 0, mean: null, min: null, max: null, quantiles: null });
  });
});
