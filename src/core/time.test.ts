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

  it('equals the uncached format for any time, in any order (the cache never leaks a second)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 4_102_444_800_000_000 }), { minLength: 1, maxLength: 50 }), (ts) => {
        for (const t of ts) {
          expect(isoMicros(t)).toBe(reference(t));
          expect(isoMicros(t + 1)).toBe(reference(t + 1));
        }
      }),
    );
  });
});
