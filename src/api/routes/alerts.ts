/** Alert history (issue 5 item 6): incidents of alert rules and budget notices. */
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/types.js';
import { notFound } from '../errors.js';
import { parseAlertsQuery, parseId, parseNoQuery } from '../schemas.js';

export function registerAlertRoutes(app: FastifyInstance, store: Store): void {
  app.get('/api/v1/alerts', async (req) => {
    const { filter, page } = parseAlertsQuery(req.query);
    return store.listAlerts(filter, page);
  });

  app.get<{ Params: { id: string } }>('/api/v1/alerts/:id', async (req) => {
    parseNoQuery(req.query);
    // Alert ids are UUIDv7 (src/alerts/alert-id.ts).
    const id = parseId(req.params.id);
    const alert = await store.getAlert(id);
    if (alert === null) throw notFound(`no alert ${id}`);
    return alert;
  });
}
