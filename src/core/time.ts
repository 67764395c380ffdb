/**
 * Capture time. Every timestamp in llmtap comes from the packet (DESIGN §1), kept as integer
 * microseconds since the Unix epoch: 2026 is ~1.8e15 µs, well inside 2^53, so plain numbers are
 * exact. Nanosecond captures are truncated to the microsecond, the precision of every output.
 */
export type Micros = number;

/** The last second formatted: a call's timestamps (and a stream's events) mostly share their
 * second. Date#toISOString is the slow part of the format, so it is called once per day (for
 * `YYYY-MM-DDT`) and the time of day is written from the second. */
let cachedSecond = Number.NaN;
let cachedPrefix = '';
let cachedDay = Number.NaN;
let dayPrefix = '';
/** Seconds of Date's range (±8.64e15 ms): beyond it toISOString throws, and so do we. */
const MAX_SECONDS = 8.64e12;
const TWO_DIGITS: readonly string[] = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));

/** ISO 8601 with exactly six fractional digits, e.g. 2026-11-24T13:00:00.123456Z. */
export function isoMicros(t: Micros): string {
  const second = Math.floor(t / 1_000_000);
  if (second !== cachedSecond) {
    // NaN and times beyond Date's range throw toISOString's RangeError.
    if (!(Math.abs(second) <= MAX_SECONDS)) new Date(second * 1000).toISOString();
    const day = Math.floor(second / 86_400);
    if (day !== cachedDay) {
      const iso = new Date(day * 86_400_000).toISOString();
      dayPrefix = iso.slice(0, iso.indexOf('T') + 1); // YYYY-MM-DDT (±YYYYYY-MM-DDT out of 0–9999)
      cachedDay = day;
    }
    const s = second - day * 86_400;
    cachedPrefix = `${dayPrefix}${TWO_DIGITS[Math.floor(s / 3600)]!}:${TWO_DIGITS[Math.floor(s / 60) % 60]!}:${TWO_DIGITS[s % 60]!}.`;
    cachedSecond = second;
  }
  return `${cachedPrefix}${String(t - second * 1_000_000).padStart(6, '0')}Z`;
}

/** Milliseconds between two capture times, with microsecond precision. */
export function msBetween(from: Micros, to: Micros): number {
  return (to - from) / 1000;
}
