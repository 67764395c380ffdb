/**
 * GET /api/v1/live: Server-Sent Events (WHATWG HTML §9.2), `event: call` with the call's list row
 * as data for each new call, a comment every 15 s as heartbeat. The feed (src/api/live-feed.ts)
 * bounds what each client may have pending and drops a client that falls behind.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';
import type { LiveClient, LiveFeed } from '../live-feed.js';
import { parseNoQuery } from '../schemas.js';

/** What EventSource waits before reconnecting after a drop (WHATWG HTML §9.2.6 `retry`). */
const RETRY_MS = 3000;

function sseClient(res: ServerResponse): LiveClient {
  return {
    write: (frame) => {
      res.write(frame);
    },
    pendingBytes: () => res.writableLength,
    close: () => {
      if (!res.destroyed) res.destroy();
    },
  };
}

export function registerLiveRoute(app: FastifyInstance, feed: LiveFeed): void {
  // Connections this server holds open, ended when it closes (they would keep close() waiting).
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.get('/api/v1/live', async (req, reply) => {
    parseNoQuery(req.query);
    if (!feed.hasRoom()) throw new ApiError(503, 'unavailable', 'too many live-feed clients');
    reply.hijack();
    const res = reply.raw;
    const headers: Record<string, string | number | string[]> = {};
    for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = v;
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // Reverse proxies (nginx) would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    // Sends the headers now and tells EventSource how long to wait before reconnecting.
    res.write(`retry: ${RETRY_MS}\n: connected\n\n`);
    const client = sseClient(res);
    const unsubscribe = feed.subscribe(client);
    const end = (): void => {
      open.delete(end);
      unsubscribe();
      client.close();
    };
    open.add(end);
    res.on('close', end);
  });
}
