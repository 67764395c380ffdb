/**
 * Calls and raw HTTP exchanges: lists with cursor pagination and filters, and the detail of one.
 */
import type { FastifyInstance } from 'fastify';
import type { StoredExchange, Store } from '../../store/types.js';
import { redactHeaders } from '../../redact/secrets.js';
import { notFound } from '../errors.js';
import { parseCallsQuery, parseExchangesQuery, parseId, parseNoQuery } from '../schemas.js';

/**
 * Headers were redacted by the pipeline before they were stored (src/pipeline/call-record.ts);
 * redacting again on the way out costs little and protects databases written by older versions
 * or by other writers (DESIGN §7: secrets never reach the console).
 */
function redactExchange(ex: StoredExchange): StoredExchange {
  return { ...ex, request_headers: redactHeaders(ex.request_headers), response_headers: redactHeaders(ex.response_headers) };
}

export function registerCallRoutes(app: FastifyInstance, store: Store): void {
  app.get('/api/v1/calls', async (req) => {
    const { filter, page } = parseCallsQuery(req.query);
    return store.listCalls(filter, page);
  });

  app.get<{ Params: { id: string } }>('/api/v1/calls/:id', async (req) => {
    parseNoQuery(req.query);
    const id = parseId(req.params.id);
    const detail = await store.getCall(id);
    if (detail === null) throw notFound(`no call ${id}`);
    return { call: detail.call, exchange: detail.exchange ? redactExchange(detail.exchange) : null };
  });

  app.get('/api/v1/exchanges', async (req) => {
    const { filter, page } = parseExchangesQuery(req.query);
    return store.listExchanges(filter, page);
  });

  app.get<{ Params: { id: string } }>('/api/v1/exchanges/:id', async (req) => {
    parseNoQuery(req.query);
    const id = parseId(req.params.id);
    const ex = await store.getExchange(id);
    if (ex === null) throw notFound(`no exchange ${id}`);
    return redactExchange(ex);
  });
}
