import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeTicksToMicros, ticksPerSecond } from './timestamps.js';

/** Reference: exact BigInt arithmetic, truncating. */
function reference(tsresol: number, offsetSec: number, high: number, low: number): number {
  const ticks = (BigInt(high) << 32n) | BigInt(low);
  const exp = BigInt(tsresol & 0x7f);
  const den = tsresol & 0x80 ? 1n << exp : 10n ** exp;
  return Number((ticks * 1_000_000n) / den) + offsetSec * 1_000_000;
}

describe('pcapng ticks to µs', () => {
  it('if_tsresol: 10^-n and 2^-n', () => {
    expect([6, 9, 3, 0x80 | 10].map(ticksPerSecond)).toEqual([1e6, 1e9, 1e3, 1024]);
  });

  it('every resolution agrees with exact arithmetic for timestamps up to year 2100', () => {
    const resolutions = [0, 3, 6, 9, 12, 0x80 | 0, 0x80 | 10, 0x80 | 20, 0x80 | 32, 0x80 | 40];
    fc.assert(
      fc.property(fc.constantFrom(...resolutions), fc.integer({ min: 0, max: 4_102_444_800 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: -1000, max: 1000 }), (res, sec, frac, off) => {
        // Ticks for `sec + frac` seconds at this resolution, as a uint64 split in halves.
        const exp = BigInt(res & 0x7f);
        const perSec = res & 0x80 ? 1n << exp : 10n ** exp;
        const ticks = BigInt(sec) * perSec + BigInt(Math.floor(frac * Number(perSec > 1_000_000_000n ? 1_000_000_000n : perSec)));
        const high = Number(ticks >> 32n);
        const low = Number(ticks & 0xffffffffn);
        expect(makeTicksToMicros(res, off)(high, low)).toBe(reference(res, off, high, low));
      }),
      { numRuns: 5000 },
    );
  });

  it('ns: a tick count past 2^53 (any date after 1970-04) converts exactly, truncating', () => {
    const f = makeTicksToMicros(9, 0);
    const ticks = 4_102_444_800_999_999_999n; // 2100-01-01T00:00:00.999999999Z
    expect(f(Number(ticks >> 32n), Number(ticks & 0xffffffffn))).toBe(4_102_444_800_999_999);
    expect(f(0, 999)).toBe(0);
    expect(f(0, 1000)).toBe(1);
  });
});
