/**
 * pcapng timestamp conversion (RFC draft-ietf-opsawg-pcapng §4.2, option if_tsresol): a 64-bit
 * tick count split into two uint32 halves, ticks of 10^-n s (high bit of if_tsresol clear) or
 * 2^-n s (high bit set), plus if_tsoffset seconds. Output is integer µs, truncated (core/time.ts).
 *
 * The common resolutions (µs, ns) stay in plain numbers: high·2^32 + low can exceed 2^53 for ns,
 * so it is divided by parts. Anything else goes through BigInt: exotic, and once per packet of an
 * interface that declared it.
 */
import type { Micros } from '../core/time.js';

export type TicksToMicros = (high: number, low: number) => Micros;

const TWO32 = 4294967296;

/** Ticks per second for an if_tsresol byte (default 6 = µs when the option is absent). */
export function ticksPerSecond(tsresol: number): number {
  const exp = tsresol & 0x7f;
  return tsresol & 0x80 ? 2 ** exp : 10 ** exp;
}

/** A converter for one interface. `offsetSec` is if_tsoffset (signed seconds). */
export function makeTicksToMicros(tsresol: number, offsetSec: number): TicksToMicros {
  const exp = tsresol & 0x7f;
  const binary = (tsresol & 0x80) !== 0;
  const offUs = offsetSec * 1_000_000;
  if (!binary && exp === 6) {
    return (high, low) => high * TWO32 + low + offUs;
  }
  if (!binary && exp === 9) {
    // floor((h·2^32 + l) / 1000) = h·4294967 + floor((h·296 + l) / 1000), as 2^32 = 4294967·1000 + 296;
    // every intermediate stays below 2^53.
    return (high, low) => high * 4294967 + Math.floor((high * 296 + low) / 1000) + offUs;
  }
  if (!binary && exp < 6) {
    const mul = 10 ** (6 - exp);
    return (high, low) => (high * TWO32 + low) * mul + offUs;
  }
  const den = binary ? 1n << BigInt(exp) : 10n ** BigInt(exp);
  return (high, low) => {
    const ticks = (BigInt(high) << 32n) | BigInt(low);
    return Number((ticks * 1_000_000n) / den) + offUs;
  };
}
