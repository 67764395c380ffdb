/**
 * Aggregates over the stored calls: summary, time series, models, errors and the values each
 * filter can take. Percentiles are exact, computed by the store from the stored calls (DESIGN §4).
 */
import type { FastifyInstance } from 'fastify';
import type { CallFilter, Store, TimeseriesOptions } from '../../store/types.js';
import type { Micros } from '../../core/time.js';
import { parseCallFilterQuery, parseTime, parseTimeseriesQuery } from '../schemas.js';
import { autoBucketMs } from '../timeseries-bucket.js';

export function registerStatsRoutes(app: FastifyInstance, store: Store): void {
  app.get('/api/v1/summary', async (req) => store.summary(parseCallFilterQuery(req.query)));

  app.get('/api/v1/timeseries', async (req) => {
    const p = parseTimeseriesQuery(req.query);
    const opts: TimeseriesOptions = {
      bucketMs: p.bucketMs ?? autoBucketMs(await rangeMs(store, p.filter)),
      metrics: p.metrics,
    };
    if (p.groupBy !== undefined) opts.groupBy = p.groupBy;
    if (p.groupLimit !== undefined) opts.groupLimit = p.groupLimit;
    return store.timeseries(p.filter, opts);
  });

  app.get('/api/v1/models', async (req) => ({ items: await store.models(parseCallFilterQuery(req.query)) }));

  app.get('/api/v1/errors', async (req) => ({ items: await store.errors(parseCallFilterQuery(req.query)) }));

  app.get('/api/v1/filters', async (req) => store.filterValues(parseCallFilterQuery(req.query)));
}

/**
 * The range a time series covers: the filter's from/to, and where one is missing, the first or
 * last matching call (two one-row reads, cheaper than an aggregate over the whole selection).
 */
async function rangeMs(store: Store, filter: CallFilter): Promise<number> {
  let from: Micros | null = filter.from ?? null;
  let to: Micros | null = filter.to ?? null;
  if (from === null) from = await edge(store, filter, 'asc');
  if (to === null) to = await edge(store, filter, 'desc');
  if (from === null || to === null) return 0;
  return Math.max(0, (to - from) / 1000);
}

async function edge(store: Store, filter: CallFilter, order: 'asc' | 'desc'): Promise<Micros | null> {
  const page = await store.listCalls(filter, { limit: 1, order });
  const first = page.items[0];
  return first ? parseTime(first.timing.request_start) : null;
}
