/**
 * Pipeline health (DESIGN §4 self-metrics): sources, drops, anomalies by name, counts (from the
 * pipeline's callback), the database's own statistics and the live feed's counters.
 */
import type { FastifyInstance } from 'fastify';
import type { Store, StoreStats } from '../../store/types.js';
import type { LiveFeed } from '../live-feed.js';
import { parseNoQuery } from '../schemas.js';
import type { HealthInfo, HealthResponse } from '../types.js';

export function registerHealthRoute(
  app: FastifyInstance,
  store: Store,
  health: () => HealthInfo | Promise<HealthInfo>,
  feed: LiveFeed,
): void {
  app.get('/api/v1/health', async (req): Promise<HealthResponse> => {
    parseNoQuery(req.query);
    const info = await health();
    let db: StoreStats | null = null;
    let dbError: string | null = null;
    try {
      db = await store.stats();
    } catch (err) {
      // A health page that fails when the database does is useless: say what failed instead.
      dbError = err instanceof Error ? err.message : String(err);
    }
    return {
      ...info,
      outputs: info.outputs ?? null,
      tls_undecrypted: info.tls_undecrypted ?? [],
      status: dbError !== null && info.status === 'ok' ? 'degraded' : info.status,
      db,
      db_error: dbError,
      live: { clients: feed.clientCount, ...feed.stats },
    };
  });
}
