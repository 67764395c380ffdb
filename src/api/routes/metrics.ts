/**
 * Live metrics (issue 5 items 1–2): `GET /api/v1/metrics/live?window=5m&by=model` reads the
 * sliding-window aggregates (DESIGN §4), `GET /metrics` is the Prometheus scrape. Both answer
 * from memory, never from the store. `/metrics` sits outside `/api/` but behind the same access
 * rules (token off loopback): a Prometheus job sends it as `authorization: {credentials: …}`.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseDuration } from '../../config/duration.js';
import type { Instruments } from '../../metrics/instruments.js';
import type { LiveAggregates, LiveSnapshot } from '../../metrics/live-aggregates.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../metrics/prometheus.js';
import { badRequest } from '../errors.js';

export interface MetricsRouteDeps {
  live: LiveAggregates;
  instruments: Pick<Instruments, 'prometheusText'>;
}

/** Group-by dimensions per request: more than there are built-in dimensions is a mistake. */
const MAX_GROUP_BY = 8;

const liveQuery = z.strictObject({
  window: z.string().max(32, 'must be at most 32 characters').optional(),
  by: z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).filter((s) => s !== ''))
    .pipe(z.array(z.string().max(64, 'must be at most 64 characters')).max(MAX_GROUP_BY, `at most ${MAX_GROUP_BY} dimensions`))
    .optional(),
});

export function registerMetricsRoutes(app: FastifyInstance, deps: MetricsRouteDeps): void {
  app.get('/api/v1/metrics/live', async (req): Promise<LiveSnapshot & { window: string }> => {
    const parsed = liveQuery.safeParse(req.query);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      if (issue?.code === 'unrecognized_keys') throw badRequest(`unknown query parameter: ${issue.keys.map((k) => JSON.stringify(k.slice(0, 64))).join(', ')}`);
      throw badRequest(`invalid query parameter '${String(issue?.path[0] ?? 'query')}': ${issue?.message ?? 'invalid'}`);
    }
    const { live } = deps;
    const windowMs = parsed.data.window === undefined ? defaultWindow(live.windowsMs) : parseWindow(parsed.data.window, live.windowsMs);
    const by = [...new Set(parsed.data.by ?? [])];
    for (const d of by) {
      if (!live.dimensions.includes(d)) {
        throw badRequest(`invalid query parameter 'by': ${JSON.stringify(d)} is not a metrics dimension (${live.dimensions.join(', ')})`);
      }
    }
    return { window: formatWindow(windowMs), ...live.snapshot(windowMs, by) };
  });

  app.get('/metrics', async (_req, reply) => {
    const text = await deps.instruments.prometheusText();
    return reply.type(PROMETHEUS_CONTENT_TYPE).header('cache-control', 'no-store').send(text);
  });
}

/** 5 m when configured (DESIGN §4's middle window, what a dashboard shows first), else the shortest. */
function defaultWindow(windows: readonly number[]): number {
  return windows.includes(300_000) ? 300_000 : windows[0]!;
}

function parseWindow(text: string, windows: readonly number[]): number {
  const d = parseDuration(text);
  const configured = windows.map(formatWindow).join(', ');
  if (!d.ok) throw badRequest(`invalid query parameter 'window': ${d.message}`);
  if (!windows.includes(d.ms)) throw badRequest(`invalid query parameter 'window': no ${formatWindow(d.ms)} window (configured: ${configured})`);
  return d.ms;
}

/** 300000 → "5m", 90000 → "90s", 1500 → "1500ms". */
export function formatWindow(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
