/**
 * Routes DESIGN §6 lists whose data comes with later issues: costs, alerts and annotations
 * (issue 5). They answer 501 with a clear message, so the console can
 * show "not yet" and a client learns the route exists.
 */
import type { FastifyInstance } from 'fastify';
import { errorBody } from '../errors.js';

const PLANNED: Record<string, string> = {
  costs: 'costs arrive with the pricing module',
  alerts: 'alerts arrive with the alerting module',
  annotations: 'annotations are not implemented yet',
};

export function registerPlaceholderRoutes(app: FastifyInstance): void {
  for (const [name, why] of Object.entries(PLANNED)) {
    for (const path of [`/api/v1/${name}`, `/api/v1/${name}/:id`]) {
      app.get(path, async (_req, reply) => reply.code(501).send(errorBody('not_implemented', `/api/v1/${name}: ${why}`)));
    }
  }
}
