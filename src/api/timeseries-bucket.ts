/**
 * The bucket width a time series gets when the client does not choose one: the smallest "round"
 * width that keeps the chart at or under TARGET_POINTS points. Round widths line up with clock
 * minutes and hours, so buckets read naturally on an axis.
 */

/** A chart a few hundred pixels wide shows ~2–3 px per point at this count. */
export const TARGET_POINTS = 200;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const LADDER = [
  1, 5, 10, 50, 100, 250, 500,
  SECOND, 2 * SECOND, 5 * SECOND, 10 * SECOND, 15 * SECOND, 30 * SECOND,
  MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE,
  HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR,
  DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY,
] as const;

/** Bucket width in ms for a range of `rangeMs` (≥ 0). */
export function autoBucketMs(rangeMs: number): number {
  const r = Math.max(0, rangeMs);
  for (const b of LADDER) if (r / b <= TARGET_POINTS) return b;
  // Past 30-day buckets: whole days.
  return Math.ceil(r / TARGET_POINTS / DAY) * DAY;
}
