/**
 * The HTTP server (DESIGN §6): the REST API under /api/v1, the live feed and, when built, the
 * console. One Fastify instance; the store, the pipeline's health and the live feed are handed in,
 * so this module knows no database and no capture.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AnnotationRecord } from '../core/record.js';
import type { Store } from '../store/types.js';
import { StoreError } from '../store/types.js';
import { registerConsole } from './console-static.js';
import { ApiError, errorBody, type ErrorCode } from './errors.js';
import type { LiveFeed } from './live-feed.js';
import { registerAgentRoutes } from './routes/agents.js';
import { registerAlertRoutes } from './routes/alerts.js';
import { registerAnnotationRoutes } from './routes/annotations.js';
import { registerCallRoutes } from './routes/calls.js';
import { registerCostRoutes } from './routes/costs.js';
import { registerHealthRoute } from './routes/health.js';
import { registerLiveRoute } from './routes/live.js';
import { registerMetricsRoutes, type MetricsRouteDeps } from './routes/metrics.js';
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
  /** Told about every annotation posted and stored (alert rules on scores: RecordObserver.onAnnotation). */
  onAnnotation?: (a: AnnotationRecord) => void;
  /** Live aggregates and instruments: `GET /api/v1/metrics/live` and the Prometheus `/metrics`. */
  metrics?: MetricsRouteDeps;
  /** Wall clock in ms for what the API stamps (annotations' created_at); default Date.now. */
  now?: () => number;
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

/**
 * Requests that change something (POST) must not be forgeable by another site's page in the
 * user's browser (CSRF). A cross-site form or `no-cors` fetch can send only the CORS-safelisted
 * content types (Fetch standard §2.2.2: text/plain, multipart/form-data,
 * application/x-www-form-urlencoded), so requiring application/json forces a preflight, which this
 * server never grants. Browsers also say where a request comes from: a cross-site Origin or
 * `Sec-Fetch-Site: cross-site` is refused outright. (The token cookie is SameSite=Strict too.)
 */
function refuseForgeable(req: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return undefined;
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  let sameOrigin = site === undefined || site === 'same-origin' || site === 'none';
  if (origin !== undefined && origin !== 'null') {
    try {
      // Both through the URL parser, so a default port (":80") compares equal to none.
      const o = new URL(origin);
      sameOrigin &&= o.host === new URL(`${o.protocol}//${req.headers.host ?? ''}`).host;
    } catch {
      sameOrigin = false;
    }
  } else if (origin === 'null') {
    sameOrigin = false;
  }
  if (!sameOrigin) return reply.code(403).send(errorBody('forbidden_host', 'cross-site requests may not change anything'));
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    return reply.code(415).send(errorBody('bad_request', 'the body must be JSON, sent with content-type: application/json'));
  }
  return undefined;
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
    // The API takes only small JSON bodies (annotations: a 2,000-character comment at most);
    // 64 KiB bounds what a client can make us buffer.
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
    return refuseForgeable(req, reply);
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
  registerCostRoutes(app, opts.store);
  registerAlertRoutes(app, opts.store);
  registerAnnotationRoutes(app, opts.store, { onAnnotation: opts.onAnnotation, now: opts.now ?? Date.now });
  registerHealthRoute(app, opts.store, opts.health, opts.liveFeed);
  registerLiveRoute(app, opts.liveFeed);
  if (opts.metrics) registerMetricsRoutes(app, opts.metrics);
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
