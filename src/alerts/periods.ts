/**
 * Budget periods on capture time, all in UTC (a budget shared by people in several time zones
 * needs one boundary everyone can compute): a calendar day, an ISO 8601 week (starting Monday,
 * ISO 8601-1:2019 §3.2.2), a calendar month.
 */
import type { Micros } from '../core/time.js';

export type BudgetPeriod = 'day' | 'week' | 'month';

/** Start of the period holding `t` (µs since the epoch). */
export function periodStart(t: Micros, period: BudgetPeriod): Micros {
  const d = new Date(Math.floor(t / 1000));
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = d.getUTCDate();
  switch (period) {
    case 'day':
      return Date.UTC(y, m, day) * 1000;
    case 'week':
      // getUTCDay: Sunday 0 … Saturday 6; days since Monday: (dow + 6) mod 7.
      return Date.UTC(y, m, day - ((d.getUTCDay() + 6) % 7)) * 1000;
    case 'month':
      return Date.UTC(y, m, 1) * 1000;
  }
}

/** "2026-01-15", "the week of 2026-01-12", "2026-01": how a notice names its period. */
export function periodName(start: Micros, period: BudgetPeriod): string {
  const date = new Date(Math.floor(start / 1000)).toISOString().slice(0, 10);
  switch (period) {
    case 'day':
      return date;
    case 'week':
      return `the week of ${date}`;
    case 'month':
      return date.slice(0, 7);
  }
}
