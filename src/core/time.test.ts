import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoMicros } from './time.js';

/** The plain construction the cached one must equal. */
function reference(t: number): string {
  const ms = Math.floor(t / 1000);
  return `${new Date(ms).toISOString().slice(0, -1)}${String(t - ms * 1000).padStart(3, '0')}Z`;
}

describe('isoMicros', () => {
  it('formats with six fractional digits', () => {
    expect(isoMicros(1_763_989_200_000_007)).toBe('2025-11-24T13:00:00.000007Z');
    expect(isoMicros(1_763_989_200_999_999)).toBe('2025-11-24T13:00:00.999999Z');
  });

  it('writes the time of day of every second, and days before 1970 and far ahead', () => {
    for (const t of [0, 59_999_999, 3_599_000_001, 86_399_999_999, 86_400_000_000, -1, -86_400_000_001, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]) {
      expect(isoMicros(t)).toBe(reference(t));
    }
    for (let s = 0; s < 86_400; s += 7) expect(isoMicros(1_763_942_400_000_000 + s * 1_000_000 + s)).toBe(reference(1_763_942_400_000_000 + s * 1_000_000 + s));
  });

  it('throws on a time that is no date, as Date does', () => {
    expect(() => isoMicros(Number.NaN)).toThrow(RangeError);
    expect(() => isoMicros(8.64e18 + 1e6)).toThrow(RangeError);
    expect(() => isoMicros(-8.64e18 - 1e6)).toThrow(RangeError);
    expect(isoMicros(8.64e18)).toBe(reference(8.64e18));
    expect(isoMicros(-8.64e18)).toBe(reference(-8.64e18));
    expect(isoMicros(-62_198_755_200e6)).toBe(reference(-62_198_755_200e6)); // year -0001
  });

  it('equals the uncached format for any time, in any order (the cache never leaks a second)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER - 1 }), { minLength: 1, maxLength: 50 }), (ts) => {
        for (const t of ts) {
          expect(isoMicros(t)).toBe(reference(t));
          expect(isoMicros(t + 1)).toBe(reference(t + 1));
        }
      }),
    );
  });
});
