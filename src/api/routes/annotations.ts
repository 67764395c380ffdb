/**
 * Quality scores (issue 5 item 7): named scores posted on calls and turns, listed per target and
 * over time ("scores become time series like any metric"). A score is timed at its target's start,
 * so it lines up with the traffic it judges, and carries the target's dimensions so alert rules
 * and series can filter it like calls (src/core/record.ts AnnotationRecord).
 */
import type { FastifyInstance } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import type { AnnotationRecord, LlmCallRecord } from '../../core/record.js';
import { isoMicros, type Micros } from '../../core/time.js';
import { dimensionValue } from '../../metrics/dimensions.js';
import type { AnnotationFilter, Store } from '../../store/types.js';
import { notFound } from '../errors.js';
import {
  parseAnnotationBody,
  parseAnnotationsQuery,
  parseAnnotationTimeseriesQuery,
  parseId,
  parseTargetAnnotationsQuery,
  parseTime,
  type AnnotationInput,
} from '../schemas.js';
import { autoBucketMs } from '../timeseries-bucket.js';

export interface AnnotationRouteOptions {
  /** Told about every stored annotation (the lead wires RecordObserver.onAnnotation here). */
  onAnnotation?: ((a: AnnotationRecord) => void) | undefined;
  /** Wall clock, ms since the epoch (tests inject one). */
  now: () => number;
}

/** src/config/types.ts BUILTIN_DIMENSIONS a call's score carries (besides its attributes). */
const CALL_DIMENSIONS = ['provider', 'api', 'model', 'agent', 'source', 'server', 'client', 'key'] as const;

/** The call's dimensions by name (src/metrics/dimensions.ts), attributes included; absent ones left out. */
export function callDimensions(call: LlmCallRecord): Record<string, string> {
  const out: Record<string, string> = {};
  const attrs = call.attributes !== null && typeof call.attributes === 'object' ? call.attributes : {};
  for (const dim of [...CALL_DIMENSIONS, ...Object.keys(attrs)]) {
    if (Object.hasOwn(out, dim)) continue;
    const v = dimensionValue({ ...call, attributes: attrs }, dim);
    if (typeof v === 'string') out[dim] = v;
  }
  return out;
}

type Target = 'call' | 'turn';

/** The target's start and dimensions, or null when it is not stored. */
async function targetOf(store: Store, kind: Target, id: string): Promise<{ ts: string; dimensions: Record<string, string> } | null> {
  if (kind === 'call') {
    const d = await store.getCall(id);
    return d === null ? null : { ts: d.call.timing.request_start, dimensions: callDimensions(d.call) };
  }
  const t = await store.getTurn(id);
  if (t === null) return null;
  const dimensions: Record<string, string> = {};
  if (typeof t.turn.agent === 'string') dimensions['agent'] = t.turn.agent;
  if (typeof t.turn.source === 'string') dimensions['source'] = t.turn.source;
  return { ts: t.turn.start, dimensions };
}

export function buildAnnotation(
  kind: Target,
  targetId: string,
  target: { ts: string; dimensions: Record<string, string> },
  input: AnnotationInput,
  nowMs: number,
): AnnotationRecord {
  return {
    kind: 'annotation',
    id: uuidv7({ msecs: Math.max(0, Math.floor(nowMs)) }),
    target_kind: kind,
    target_id: targetId,
    name: input.name,
    value: input.value,
    label: input.label,
    comment: input.comment,
    author: input.author,
    ts: target.ts,
    created_at: isoMicros(Math.floor(nowMs) * 1000),
    dimensions: target.dimensions,
  };
}

export function registerAnnotationRoutes(app: FastifyInstance, store: Store, opts: AnnotationRouteOptions): void {
  for (const kind of ['call', 'turn'] as const) {
    const path = `/api/v1/${kind}s/:id/annotations`;

    app.post<{ Params: { id: string } }>(path, async (req, reply) => {
      const id = parseId(req.params.id);
      const input = parseAnnotationBody(req.body);
      const target = await targetOf(store, kind, id);
      if (target === null) throw notFound(`no ${kind} ${id}`);
      const record = buildAnnotation(kind, id, target, input, opts.now());
      await store.insertAnnotation(record);
      opts.onAnnotation?.(record);
      return reply.code(201).send(record);
    });

    app.get<{ Params: { id: string } }>(path, async (req) => {
      const page = parseTargetAnnotationsQuery(req.query);
      const id = parseId(req.params.id);
      if ((await targetOf(store, kind, id)) === null) throw notFound(`no ${kind} ${id}`);
      return store.listAnnotations({ target_kind: [kind], target_id: [id] }, page);
    });
  }

  app.get('/api/v1/annotations', async (req) => {
    const { filter, page } = parseAnnotationsQuery(req.query);
    return store.listAnnotations(filter, page);
  });

  app.get('/api/v1/annotations/timeseries', async (req) => {
    const p = parseAnnotationTimeseriesQuery(req.query);
    return store.annotationTimeseries(p.filter, { bucketMs: p.bucketMs ?? autoBucketMs(await scoreRangeMs(store, p.filter)) });
  });
}

/** The range the scores cover: the filter's from/to, else the first and last score's time. */
async function scoreRangeMs(store: Store, filter: AnnotationFilter): Promise<number> {
  const edge = async (order: 'asc' | 'desc'): Promise<Micros | null> => {
    const first = (await store.listAnnotations(filter, { limit: 1, order })).items[0];
    return first ? parseTime(first.ts) : null;
  };
  const from = filter.from ?? (await edge('asc'));
  const to = filter.to ?? (await edge('desc'));
  return from === null || to === null ? 0 : Math.max(0, (to - from) / 1000);
}
