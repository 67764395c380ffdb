import { describe, expect, it } from 'vitest';
import { autoBucketMs, LADDER, TARGET_POINTS } from './timeseries-bucket.js';

describe('autoBucketMs', () => {
  it('picks the smallest round width that keeps the chart within the target', () => {
    expect(autoBucketMs(0)).toBe(1);
    expect(autoBucketMs(10_000)).toBe(50);
    expect(autoBucketMs(60_000)).toBe(500);
    expect(autoBucketMs(3_600_000)).toBe(30_000);
    expect(autoBucketMs(86_400_000)).toBe(10 * 60_000);
    expect(autoBucketMs(30 * 86_400_000)).toBe(6 * 3_600_000);
  });
  it('never exceeds the target, and beyond the ladder uses whole days', () => {
    for (let r = 1; r < 1e13; r *= 3.7) {
      const b = autoBucketMs(r);
      expect(r / b, String(r)).toBeLessThanOrEqual(TARGET_POINTS);
    }
    // Each width is chosen exactly up to TARGET_POINTS buckets, and one µs more moves up a step.
    for (const b of LADDER) {
      expect(autoBucketMs(TARGET_POINTS * b)).toBe(b);
      expect(autoBucketMs(TARGET_POINTS * b + 0.001)).toBeGreaterThan(b);
    }
    expect(autoBucketMs(20 * 365 * 86_400_000) % 86_400_000).toBe(0);
  });
});
