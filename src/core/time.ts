/**
 * Capture time. Every timestamp in llmtap comes from the packet (DESIGN §1), kept as integer
 * microseconds since the Unix epoch: 2026 is ~1.8e15 µs, well inside 2^53, so plain numbers are
 * exact. Nanosecond captures are truncated to the microsecond, the precision of every output.
 */
export type Micros = number;

/** ISO 8601 with exactly six fractional digits, e.g. 2026-11-24T13:00:00.123456Z. */
export function isoMicros(t: Micros): string {
  const ms = Math.floor(t / 1000);
  const micro = t - ms * 1000;
  const base = new Date(ms).toISOString(); // ...SS.mmmZ
  return `${base.slice(0, -1)}${String(micro).padStart(3, '0')}Z`;
}

/** Milliseconds between two capture times, with microsecond precision. */
export function msBetween(from: Micros, to: Micros): number {
  return (to - from) / 1000;
}
