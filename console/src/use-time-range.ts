/** The global time range (time-range.ts) as React hooks over the address. */
import { useMemo } from 'react';
import type { Query } from './api.js';
import { useLocation } from './router.js';
import { rangeOf, rangeQuery, type TimeRange } from './time-range.js';

/** The current range, stable while the address's from/to do not change. */
export function useTimeRange(): TimeRange {
  const { search } = useLocation();
  const { from, to, preset } = rangeOf(search);
  return useMemo(() => ({ from, to, preset }), [from, to, preset]);
}

/** The range's API parameters merged into `extra`; stable while both are. */
export function useRangeQuery(extra: Query = {}): Query {
  const r = useTimeRange();
  const extraKey = JSON.stringify(extra);
  return useMemo(() => ({ ...(JSON.parse(extraKey) as Query), ...rangeQuery(r) }), [extraKey, r]);
}
