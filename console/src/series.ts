import type { Query, TimeseriesResult } from './api.js';
import { epochMs } from './format.js';
import { useApi } from './hooks.js';

export interface SeriesData {
  x: number[];
  get: (name: string) => (number | null)[];
  bucketMs: number;
}

/** GET /api/v1/timeseries for some metrics, ungrouped, over `range` (from/to); the server picks
 * the bucket width. */
export function useSeries(metrics: string[], refreshMs?: number, range: Query = {}): { data: SeriesData | null; error: string | null } {
  const r = useApi<TimeseriesResult>('/timeseries', { ...range, metrics: metrics.join(',') }, refreshMs);
  if (!r.data) return { data: null, error: r.error };
  const res = r.data;
  const values = res.series[0]?.values ?? {};
  return {
    data: {
      x: res.buckets.map(epochMs),
      get: (name) => values[name] ?? res.buckets.map(() => null),
      bucketMs: res.bucket_ms,
    },
    error: r.error,
  };
}
