/**
 * The HTTP server (DESIGN §6): the REST API under /api/v1, the live feed and, when built, the
 * console. One Fastify instance; the store, the pipeline's health and the live feed are handed in,
 * so this module knows no database and no capture.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Store } from '../store/types.js';
import { StoreError } from '../store/types.js';
import { registerConsole } from './console-static.js';
import { ApiError, errorBody, type ErrorCode } from './errors.js';
import type { LiveFeed } from './live-feed.js';
import { registerAgentRoutes } from './routes/agents.js';
import { registerCallRoutes } from './routes/calls.js';
import { registerHealthRoute } from './routes/health.js';
import { registerLiveRoute } from './routes/live.js';
import { registerPlaceholderRoutes } from './routes/placeholders.js';
import { registerStatsRoutes } from './routes/stats.js';
import { isLoopbackAddress, isLoopbackHostHeader, presentedToken, SECURITY_HEADERS, tokenCookie, tokenMatches } from './security.js';
import type { HealthInfo } from './types.js';

export interface ServerOptions {
  store: Store;
  /** The pipeline's view of itself for GET /api/v1/health; may be async. */
  health: () => HealthInfo | Promise<HealthInfo>;
  liveFeed: LiveFeed;
  /** Directory of the built console (index.html + assets); without it `/` says the console is not built. */
  consoleDir?: string;
  /**
   * Access token. When given it is always required (Bearer header or `llmtap_token` cookie), on any
   * address. Binding to a non-loopback address without one is refused unless `insecure`.
   */
  token?: string;
  /** Serve a non-loopback address without a token (the CLI logs this loudly). */
  insecure?: boolean;
  /** Where unexpected errors go (the CLI is the only module that prints, DESIGN §8). */
  onError?: (err: unknown) => void;
}

export interface ListenOptions {
  /** Default 127.0.0.1 (DESIGN §7). */
  host?: string;
  /** Default 3000 (issue 3); 0 picks a free port. */
  port?: number;
}

export interface ApiServer {
  /** The Fastify instance (tests use `app.inject`). */
  readonly app: FastifyInstance;
  /** Starts listening; resolves to the base URL (e.g. http://127.0.0.1:3000). */
  listen(opts?: ListenOptions): Promise<string>;
  /** Stops accepting, ends live-feed connections, closes. Does not close the store. */
  close(): Promise<void>;
}

/** Thrown by listen() when the configuration is unsafe; the CLI prints its message. */
export class ServerConfigError extends Error {
  override readonly name = 'ServerConfigError';
}

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 3000;

/** How requests are let in; decided by the options and the listen address. */
interface AuthState {
  token: string | null;
  /** Without a token on loopback, refuse Host headers that do not name this machine (DNS rebinding). */
  checkHost: boolean;
}

export function createServer(opts: ServerOptions): ApiServer {
  if (opts.token !== undefined && opts.token.length === 0) {
    throw new ServerConfigError('the access token must not be empty');
  }
  const auth: AuthState = { token: opts.token ?? null, checkHost: opts.token === undefined };
  const onError = opts.onError ?? (() => undefined);

  const app = Fastify({
    logger: false,
    // Paths longer than this are not ours (ids are 36 characters).
    routerOptions: { maxParamLength: 200 },
    // The API takes no request bodies; 64 KiB bounds what a client can make us buffer.
    bodyLimit: 64 * 1024,
    // Closing ends every connection: live-feed streams never finish by themselves, and a client
    // may hold a connection open without a request (seen with Node's fetch), which would keep
    // close() waiting for the header timeout.
    forceCloseConnections: true,
    // Errors the router raises before any hook runs (a path that does not decode, a parameter
    // over maxParamLength): same JSON shape and headers as every other error.
    frameworkErrors: (err, _req, rawReply) => {
      const reply = rawReply as FastifyReply;
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      reply.headers(SECURITY_HEADERS).code(status).send(errorBody('bad_request', err.message));
    },
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.headers(SECURITY_HEADERS);
    if (req.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    if (auth.token !== null) {
      const presented = presentedToken(req.headers.authorization, req.headers.cookie);
      if (tokenMatches(presented, auth.token)) return;
      // The console's entry link (`/?token=…`, as the CLI prints it) trades the token for a cookie
      // and drops it from the address bar. Only for pages, never for API calls: a token in a URL
      // ends up in histories and logs.
      const q = req.query as Record<string, unknown>;
      if (req.method === 'GET' && !req.url.startsWith('/api/') && typeof q.token === 'string' && tokenMatches(q.token, auth.token)) {
        const url = new URL(req.url, 'http://x');
        url.searchParams.delete('token');
        reply.header('set-cookie', tokenCookie(auth.token, false));
        return reply.redirect(`${url.pathname}${url.search}`, 303);
      }
      reply.header('www-authenticate', 'Bearer realm="llmtap"');
      return reply.code(401).send(errorBody('unauthorized', 'an access token is required: Authorization: Bearer <token>'));
    }
    if (auth.checkHost && !isLoopbackHostHeader(req.headers.host)) {
      return reply.code(403).send(errorBody('forbidden_host', 'this server answers only requests addressed to localhost'));
    }
    return undefined;
  });

  app.setErrorHandler((err: FastifyError | ApiError | StoreError, _req, reply) => {
    if (err instanceof ApiError) return reply.code(err.status).send(errorBody(err.code, err.message));
    if (err instanceof StoreError) {
      if (err.code === 'invalid_argument' || err.code === 'invalid_cursor') {
        return reply.code(400).send(errorBody('bad_request', err.message));
      }
      if (err.code === 'closed') return reply.code(503).send(errorBody('unavailable', 'the database is closed'));
    }
    const status = 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 400 && status < 500) {
      const code: ErrorCode = status === 404 ? 'not_found' : status === 413 ? 'payload_too_large' : 'bad_request';
      return reply.code(status).send(errorBody(code, err.message));
    }
    onError(err);
    // No details: they might carry captured content or internals.
    return reply.code(500).send(errorBody('internal', 'internal error'));
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody('not_found', `no route for ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}`));
  });

  registerCallRoutes(app, opts.store);
  registerAgentRoutes(app, opts.store);
  registerStatsRoutes(app, opts.store);
  registerHealthRoute(app, opts.store, opts.health, opts.liveFeed);
  registerLiveRoute(app, opts.liveFeed);
  registerPlaceholderRoutes(app);
  registerConsole(app, opts.consoleDir);

  return {
    app,
    async listen(l: ListenOptions = {}): Promise<string> {
      const host = l.host ?? DEFAULT_HOST;
      const port = l.port ?? DEFAULT_PORT;
      if (!isLoopbackAddress(host)) {
        if (auth.token === null && opts.insecure !== true) {
          throw new ServerConfigError(
            `refusing to serve ${host} without an access token: set a token, or bind 127.0.0.1 (the captured traffic holds prompts and answers)`,
          );
        }
        // Reached from other machines under their own names: the Host check would refuse them.
        auth.checkHost = false;
      }
      await app.listen({ host, port });
      const addr = app.server.address();
      const actualPort = addr !== null && typeof addr === 'object' ? addr.port : port;
      const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
      return `http://${shown}:${actualPort}`;
    },
    async close(): Promise<void> {
      await app.close();
    },
  };
}
