import { describe, expect, it } from 'vitest';
import { periodName, periodStart } from './periods.js';

const at = (iso: string): number => Date.parse(iso) * 1000 + 123;
const iso = (us: number): string => new Date(us / 1000).toISOString();

describe('budget periods (UTC)', () => {
  it('a day starts at UTC midnight', () => {
    expect(iso(periodStart(at('2026-03-01T23:59:59.999Z'), 'day'))).toBe('2026-03-01T00:00:00.000Z');
    expect(iso(periodStart(at('2026-03-02T00:00:00.000Z'), 'day'))).toBe('2026-03-02T00:00:00.000Z');
  });

  it('an ISO week starts on Monday, also across a month and a year end', () => {
    // 2026-01-01 is a Thursday: its ISO week began Monday 2025-12-29.
    expect(iso(periodStart(at('2026-01-01T12:00:00Z'), 'week'))).toBe('2025-12-29T00:00:00.000Z');
    // A Sunday belongs to the week that began six days earlier; the Monday after starts anew.
    expect(iso(periodStart(at('2026-03-08T23:59:59Z'), 'week'))).toBe('2026-03-02T00:00:00.000Z');
    expect(iso(periodStart(at('2026-03-09T00:00:00Z'), 'week'))).toBe('2026-03-09T00:00:00.000Z');
  });

  it('a month starts on its first day, leap February included', () => {
    expect(iso(periodStart(at('2028-02-29T18:00:00Z'), 'month'))).toBe('2028-02-01T00:00:00.000Z');
    expect(iso(periodStart(at('2028-03-01T00:00:00Z'), 'month'))).toBe('2028-03-01T00:00:00.000Z');
  });

  it('names periods as a notice says them', () => {
    const t = at('2026-01-15T10:00:00Z');
    expect(periodName(periodStart(t, 'day'), 'day')).toBe('2026-01-15');
    expect(periodName(periodStart(t, 'week'), 'week')).toBe('the week of 2026-01-12');
    expect(periodName(periodStart(t, 'month'), 'month')).toBe('2026-01');
  });
});
