/**
 * What `replay` (without a pure --jsonl conversion) and `serve` share: the DuckDB store, the API
 * server with its live feed, and a clean shutdown.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LiveFeed } from '../api/live-feed.js';
// The API server (fastify, zod, every route) loads only when it listens: a replay into the
// database without --listen loaded ~140 files of it (and run-pipeline the OpenTelemetry SDK,
// ~270 more) that nothing served, ~0.15 s of CPU at every start.
import type { ApiServer } from '../api/server.js';
import type { MetricsRouteDeps } from '../api/routes/metrics.js';
import type { HealthInfo } from '../api/types.js';
import type { AnnotationRecord } from '../core/record.js';
import { openStore, type Store } from '../store/index.js';
import { asUserError, UserError } from './errors.js';
import { parseListen } from './listen-address.js';

/** The built console (`npm run build`): console/dist at the package root; this file runs from
 * dist/src/cli/. */
const CONSOLE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../console/dist');

/** The default database file: in the working directory, where a user looks for it. */
export const DEFAULT_DB_PATH = 'llmtap.duckdb';

export interface ServingOptions {
  db?: string;
  retention: boolean;
  readOnly?: boolean;
  /** `--listen` value, or false to not serve (replay --exit-after-drain without --listen). */
  listen: string | false;
  token?: string;
  insecure?: boolean;
  health: () => HealthInfo;
  /** Live aggregates and instruments for `/api/v1/metrics/live` and `/metrics`. */
  metrics?: MetricsRouteDeps;
  /** Told about every score posted through the API (alert rules on scores). */
  onAnnotation?: (a: AnnotationRecord) => void;
}

export interface Serving {
  store: Store;
  dbPath: string;
  liveFeed: LiveFeed;
  url: string | null;
  close(): Promise<void>;
}

export async function openServing(o: ServingOptions): Promise<Serving> {
  const dbPath = resolve(o.db ?? DEFAULT_DB_PATH);
  let store: Store;
  try {
    store = await openStore({ path: dbPath, ...(o.retention ? {} : { retention: false }), ...(o.readOnly ? { readOnly: true } : {}) });
  } catch (err) {
    throw asUserError(err);
  }
  const liveFeed = new LiveFeed();
  let server: ApiServer | null = null;
  let url: string | null = null;
  if (o.listen !== false) {
    const { host, port } = parseListen(o.listen);
    const { createServer, ServerConfigError } = await import('../api/server.js');
    server = createServer({
      store,
      liveFeed,
      health: o.health,
      ...(o.metrics ? { metrics: o.metrics } : {}),
      ...(o.onAnnotation ? { onAnnotation: o.onAnnotation } : {}),
      ...(existsSync(CONSOLE_DIR) ? { consoleDir: CONSOLE_DIR } : {}),
      ...(o.token ? { token: o.token } : {}),
      ...(o.insecure ? { insecure: true } : {}),
      onError: (err) => process.stderr.write(`llmtap: api error: ${err instanceof Error ? err.message : String(err)}\n`),
    });
    try {
      url = await server.listen({ host, port });
    } catch (err) {
      await store.close();
      if (err instanceof ServerConfigError) throw new UserError(err.message, 2);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new UserError(`cannot listen on ${host}:${port}: the address is in use (choose another with --listen)`);
      if (code === 'EACCES') throw new UserError(`cannot listen on ${host}:${port}: permission denied`);
      throw err;
    }
  }
  return {
    store,
    dbPath,
    liveFeed,
    url,
    close: async () => {
      await server?.close();
      await store.close();
    },
  };
}

/** Resolves on the first SIGINT or SIGTERM (Ctrl-C ends a serving llmtap cleanly). */
export function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}
