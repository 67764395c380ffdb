/**
 * Spend (issue 5 item 4): by model, provider, agent, key fingerprint, client, source or an
 * attribute, and over time. Unpriced calls are counted apart, never shown as $0.
 */
import type { FastifyInstance } from 'fastify';
import type { Micros } from '../../core/time.js';
import type { CallFilter, CostTimeseriesOptions, Store } from '../../store/types.js';
import { parseCostsQuery, parseCostTimeseriesQuery, parseTime } from '../schemas.js';
import { autoBucketMs } from '../timeseries-bucket.js';

export function registerCostRoutes(app: FastifyInstance, store: Store): void {
  app.get('/api/v1/costs', async (req) => {
    const { filter, by } = parseCostsQuery(req.query);
    return store.costs(filter, { by });
  });

  app.get('/api/v1/costs/timeseries', async (req) => {
    const p = parseCostTimeseriesQuery(req.query);
    const opts: CostTimeseriesOptions = { bucketMs: p.bucketMs ?? autoBucketMs(await callRangeMs(store, p.filter)) };
    if (p.by !== undefined) opts.by = p.by;
    if (p.groupLimit !== undefined) opts.groupLimit = p.groupLimit;
    return store.costTimeseries(p.filter, opts);
  });
}

/** The range the selection covers: the filter's from/to, else its first or last call (as
 * GET /timeseries does, routes/stats.ts). */
export async function callRangeMs(store: Store, filter: CallFilter): Promise<number> {
  const edge = async (order: 'asc' | 'desc'): Promise<Micros | null> => {
    const first = (await store.listCalls(filter, { limit: 1, order })).items[0];
    return first ? parseTime(first.timing.request_start) : null;
  };
  const from = filter.from ?? (await edge('asc'));
  const to = filter.to ?? (await edge('desc'));
  return from === null || to === null ? 0 : Math.max(0, (to - from) / 1000);
}
