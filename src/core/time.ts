/**
 * Capture time. Every timestamp in llmtap comes from the packet (DESIGN §1), kept as integer
 * microseconds since the Unix epoch: 2026 is ~1.8e15 µs, well inside 2^53, so plain numbers are
 * exact. Nanosecond captures are truncated to the microsecond, the precision of every output.
 */
export type Micros = number;

/** The last second formatted: a call's timestamps (and a stream's events) mostly share their
 * second, and Date#toISOString is the slow part of the format. */
let cachedSecond = Number.NaN;
let cachedPrefix = '';

/** ISO 8601 with exactly six fractional digits, e.g. 2026-11-24T13:00:00.123456Z. */
export function isoMicros(t: Micros): string {
  const second = Math.floor(t / 1_000_000);
  if (second !== cachedSecond) {
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, -4); // ...SS.
    cachedSecond = second;
  }
  return `${cachedPrefix}${String(t - second * 1_000_000).padStart(6, '0')}Z`;
}

/** Milliseconds between two capture times, with microsecond precision. */
export function msBetween(from: Micros, to: Micros): number {
  return (to - from) / 1000;
}
