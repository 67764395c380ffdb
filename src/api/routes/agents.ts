/**
 * Agent turns and sessions (issue 4, DESIGN §5): lists with cursor pagination and filters, a turn
 * with its calls in step order, a session with its turns in order.
 */
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/types.js';
import { notFound } from '../errors.js';
import { parseId, parseNoQuery, parseSessionId, parseSessionsQuery, parseTurnsQuery } from '../schemas.js';

export function registerAgentRoutes(app: FastifyInstance, store: Store): void {
  app.get('/api/v1/turns', async (req) => {
    const { filter, page } = parseTurnsQuery(req.query);
    return store.listTurns(filter, page);
  });

  app.get<{ Params: { id: string } }>('/api/v1/turns/:id', async (req) => {
    parseNoQuery(req.query);
    const id = parseId(req.params.id);
    const detail = await store.getTurn(id);
    if (detail === null) throw notFound(`no turn ${id}`);
    return detail;
  });

  app.get('/api/v1/sessions', async (req) => {
    const { filter, page } = parseSessionsQuery(req.query);
    return store.listSessions(filter, page);
  });

  app.get<{ Params: { id: string } }>('/api/v1/sessions/:id', async (req) => {
    parseNoQuery(req.query);
    const id = parseSessionId(req.params.id);
    const detail = await store.getSession(id);
    // The id is the client's own input: echo it as JSON (quoted, escaped) and short.
    if (detail === null) throw notFound(`no session ${JSON.stringify(id.length > 64 ? `${id.slice(0, 64)}…` : id)}`);
    return detail;
  });
}
