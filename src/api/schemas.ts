/**
 * Query parameters, validated at the edge (DESIGN §6): every parameter of every endpoint is
 * checked here and turned into the store's filter types, so a handler never sees raw input and the
 * store never sees a value of the wrong shape. Unknown parameters, malformed values and values
 * over their caps are a 400 with a message naming the parameter; nothing a user types reaches SQL
 * other than as a bound parameter (src/store binds every value).
 *
 * Conventions (docs/api.md): a list parameter is repeated (`provider=openai&provider=anthropic`);
 * the enumerated ones (status, finish_reason, metrics, kind) also take a comma-separated list.
 */
import { z } from 'zod';
import type { Micros } from '../core/time.js';
import {
  STORE_CAPS,
  type AlertFilter,
  type AnnotationFilter,
  type CallFilter,
  type ExchangeFilter,
  type GroupByField,
  type PageRequest,
  type SessionFilter,
  type StatusFilter,
  type TimeseriesMetric,
  type TurnFilter,
} from '../store/types.js';
import { badRequest } from './errors.js';

/** Longest value of a plain filter parameter. Model names, hosts and session ids are well under
 * 256 characters; 512 leaves room without letting a request carry megabytes into a query. */
export const MAX_VALUE_CHARS = 512;
/** Values per list parameter: more than a person selects in a filter UI. */
export const MAX_VALUES = 50;
/** Opaque cursor length: the store's cursor (time + id, base64url) is under 200 for UUIDs; a
 * session's cursor carries its session id, which agents choose (up to ~1,000 characters). */
export const MAX_CURSOR_CHARS = 2_048;
/** Longest session id in a path: Fastify's maxParamLength (src/api/server.ts). */
export const MAX_SESSION_ID_CHARS = 200;

export type RawQuery = Record<string, string | string[] | undefined>;

// ───────────────────────────── leaf values ─────────────────────────────

/** NUL and other C0 controls have no place in a filter value; lone UTF-16 surrogates cannot be
 * encoded as UTF-8 and would reach the database as something else than what was typed. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /\p{Surrogate}/u;

function text(max: number, allowNewlines = false): z.ZodType<string> {
  return z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !LONE_SURROGATE.test(s), 'is not valid Unicode')
    .refine((s) => (allowNewlines ? !s.includes('\0') : !CONTROL.test(s)), 'must not contain control characters');
}

const plain = text(MAX_VALUE_CHARS);

/** An IP address, v4 or v6, as stored (`client.ip`). */
const ipAddress = plain.refine((s) => z.union([z.ipv4(), z.ipv6()]).safeParse(s).success, 'must be an IP address');

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * A point in time: ISO 8601 (`2026-01-15T10:00:00.123456Z`, µs kept; a date alone is midnight;
 * no zone means UTC) or integer milliseconds since the epoch. Returns µs (src/core/time.ts).
 */
export function parseTime(s: string): Micros | null {
  if (/^\d{1,15}$/.test(s)) return Number(s) * 1000;
  const m = ISO.exec(s);
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', se = '0', frac = '', zone = 'Z'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(se);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59 || year < 1970) return null;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 30 February over into March: refuse what does not round-trip.
  if (new Date(ms).getUTCDate() !== day) return null;
  let offsetMin = 0;
  if (zone.toUpperCase() !== 'Z') {
    const zm = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
    const zh = Number(zm[2]);
    const zmin = Number(zm[3]);
    if (zh > 23 || zmin > 59) return null;
    offsetMin = (zm[1] === '-' ? -1 : 1) * (zh * 60 + zmin);
  }
  const micros = Number(frac.padEnd(6, '0').slice(0, 6));
  return (ms - offsetMin * 60_000) * 1000 + micros;
}

const time = z.string().transform((s, ctx) => {
  const t = parseTime(s);
  if (t === null) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 time or epoch milliseconds' });
    return z.NEVER;
  }
  return t;
});

/** An attribute or score name: src/store/duckdb/filters.ts ATTRIBUTE_NAME, src/core/record.ts
 * AnnotationRecord.name (configured attribute names are a subset). */
export const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
const ATTRIBUTE_VALUE = /^[A-Za-z0-9_.:-]{1,64}=/;

const STATUS_WORDS = ['1xx', '2xx', '3xx', '4xx', '5xx', 'error', 'none'] as const;
const status = z.string().transform((s, ctx): StatusFilter => {
  if (/^[1-5]\d\d$/.test(s)) return Number(s);
  const w = STATUS_WORDS.find((x) => x === s.toLowerCase());
  if (w !== undefined) return w;
  ctx.addIssue({ code: 'custom', message: 'must be an HTTP status code (100-599), 1xx-5xx, error or none' });
  return z.NEVER;
});

/** DESIGN §3 finish reasons (src/decoders/types.ts FinishReason). */
const FINISH_REASONS = ['stop', 'length', 'tool_call', 'content_filter', 'error', 'cancelled', 'other'] as const;

/** src/core/record.ts AgentRole. */
const AGENT_ROLES = ['main', 'subagent', 'auxiliary'] as const;

const bool = z.enum(['true', 'false', '1', '0']).transform((s) => s === 'true' || s === '1');

const limit = z
  .string()
  .regex(/^\d{1,4}$/, 'must be an integer')
  .transform(Number)
  .pipe(z.number().int().min(1).max(STORE_CAPS.pageMax));

const cursor = text(MAX_CURSOR_CHARS);

/** A process id: Linux caps pids at 2^22 (PID_MAX_LIMIT, include/linux/threads.h); the store's
 * column is a 32-bit integer, so anything that fits one is accepted and simply matches nothing. */
const pid = z
  .string()
  .regex(/^\d{1,10}$/, 'must be a process id (an integer)')
  .transform(Number)
  .pipe(z.number().int().min(0).max(2 ** 31 - 1));

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// ───────────────────────────── one value / many values ─────────────────────────────

/** A parameter given at most once. */
function one<T>(s: z.ZodType<T>): z.ZodType<T | undefined> {
  return z
    .array(z.string())
    .max(1, 'may be given only once')
    .transform((a) => a[0])
    .pipe(s.optional() as z.ZodType<T | undefined, string | undefined>)
    .optional() as z.ZodType<T | undefined>;
}

/** A repeatable parameter; `commas` splits `a,b` too (only for enumerated values, which have no commas). */
function many<T>(s: z.ZodType<T>, commas = false): z.ZodType<T[] | undefined> {
  return z
    .array(z.string())
    .transform((a) => (commas ? a.flatMap((v) => v.split(',')) : a))
    .pipe(z.array(s).min(1).max(MAX_VALUES, `at most ${MAX_VALUES} values`) as z.ZodType<T[], string[]>)
    .optional() as z.ZodType<T[] | undefined>;
}

// ───────────────────────────── endpoint parameter sets ─────────────────────────────

const callFilterShape = {
  from: one(time),
  to: one(time),
  provider: many(plain),
  api: many(plain),
  model: many(plain),
  status: many(status, true),
  finish_reason: many(z.enum(FINISH_REASONS), true),
  stream: one(bool),
  agent: many(plain),
  session: many(plain),
  turn: many(plain),
  agent_role: many(z.enum(AGENT_ROLES), true),
  source: many(plain),
  client: many(ipAddress),
  server: many(plain),
  key: many(plain),
  attribute: many(plain.refine((s) => ATTRIBUTE_VALUE.test(s), 'must be name=value (an attribute name, then its value)')),
  process: many(plain),
  pid: many(pid),
  q: one(text(STORE_CAPS.qChars, true)),
};

const TURN_STATUSES = ['in_progress', 'complete', 'incomplete'] as const;

const sessionFilterShape = {
  from: one(time),
  to: one(time),
  agent: many(plain),
  session: many(plain),
  status: many(z.enum(TURN_STATUSES), true),
  source: many(plain),
  q: one(text(STORE_CAPS.qChars, true)),
};

const turnFilterShape = {
  ...sessionFilterShape,
  has_stalls: one(bool),
  has_loops: one(bool),
};

const pageShape = {
  cursor: one(cursor),
  limit: one(limit),
  order: one(z.enum(['asc', 'desc'])),
};

/** Latency metrics (src/store/types.ts TimeseriesLatencyMetric) and count metrics. */
const METRICS = [
  'calls',
  'errors',
  'status_429',
  'status_5xx',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cost_usd',
  'active_calls',
  'ttfb_ms',
  'ttft_ms',
  'tpot_ms',
  'e2e_ms',
  'output_tokens_per_second',
] as const satisfies readonly TimeseriesMetric[];

const GROUP_BY = [
  'provider',
  'api',
  'model',
  'status_class',
  'finish_reason',
  'agent',
  'server',
  'client_ip',
  'api_key_fingerprint',
  'source',
  'process',
] as const satisfies readonly GroupByField[];

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A bucket width: integer milliseconds or a number with a unit (`500ms`, `10s`, `5m`, `1h`, `1d`). */
const bucket = z.string().transform((s, ctx) => {
  const m = /^(\d{1,10})(ms|s|m|h|d)?$/.exec(s);
  const ms = m ? Number(m[1]) * DURATION_UNITS[m[2] ?? 'ms']! : NaN;
  // Upper bound: a year per bucket is already one point for most ranges.
  if (!(ms >= 1 && ms <= 366 * 86_400_000)) {
    ctx.addIssue({ code: 'custom', message: 'must be a duration such as 500ms, 10s, 5m, 1h or 1d (1 ms to 366 d)' });
    return z.NEVER;
  }
  return ms;
});

const timeseriesShape = {
  ...callFilterShape,
  bucket: one(bucket),
  metrics: many(z.enum(METRICS), true),
  group_by: one(z.enum(GROUP_BY)),
  group_limit: one(
    z
      .string()
      .regex(/^\d{1,3}$/, 'must be an integer')
      .transform(Number)
      .pipe(z.number().int().min(1).max(50)),
  ),
};

const exchangeFilterShape = {
  from: one(time),
  to: one(time),
  kind: many(z.enum(['llm_call', 'other']), true),
  reason: many(plain),
  method: many(plain),
  status: many(status, true),
  source: many(plain),
  client: many(ipAddress),
  server: many(plain),
  connection: many(plain),
  q: one(text(STORE_CAPS.qChars, true)),
};

const callsQuery = z.strictObject({ ...callFilterShape, ...pageShape });
const callFilterQuery = z.strictObject(callFilterShape);
const timeseriesQuery = z.strictObject(timeseriesShape);
const exchangesQuery = z.strictObject({ ...exchangeFilterShape, ...pageShape });
const turnsQuery = z.strictObject({ ...turnFilterShape, ...pageShape });
const sessionsQuery = z.strictObject({ ...sessionFilterShape, ...pageShape });
const noQuery = z.strictObject({});

// ───────────────────────────── parsing ─────────────────────────────

/** Every parameter as a list of strings, whatever the query parser made of it. */
function normalise(q: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (q === null || typeof q !== 'object') return out;
  for (const [k, v] of Object.entries(q as Record<string, unknown>)) {
    if (Array.isArray(v)) out[k] = v.map(String);
    else if (v !== undefined) out[k] = [String(v)];
  }
  return out;
}

function parse<T>(schema: z.ZodType<T>, raw: unknown): T {
  const r = schema.safeParse(normalise(raw));
  if (r.success) return r.data;
  throw badRequest(describe(r.error));
}

function describe(err: z.ZodError): string {
  const issue = err.issues[0];
  if (!issue) return 'invalid query';
  if (issue.code === 'unrecognized_keys') {
    return `unknown query parameter${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.map(clip).join(', ')}`;
  }
  const name = typeof issue.path[0] === 'string' ? issue.path[0] : 'query';
  return `invalid query parameter '${name}': ${issue.message}`;
}

/** A parameter name echoed in an error is the user's own input: keep it short. */
function clip(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}

type CallFilterParams = z.output<typeof callFilterQuery>;

/** Both list endpoints take the same time range; an inverted one is the client's mistake. */
function checkRange(p: { from?: number | undefined; to?: number | undefined }): void {
  if (p.from !== undefined && p.to !== undefined && p.from > p.to) {
    throw badRequest("invalid query parameters: 'from' is after 'to'");
  }
}

function toCallFilter(p: CallFilterParams): CallFilter {
  checkRange(p);
  const f: CallFilter = {};
  if (p.from !== undefined) f.from = p.from;
  if (p.to !== undefined) f.to = p.to;
  if (p.provider) f.provider = p.provider;
  if (p.api) f.api = p.api;
  if (p.model) f.model = p.model;
  if (p.status) f.status = p.status;
  if (p.finish_reason) f.finish_reason = p.finish_reason;
  if (p.stream !== undefined) f.stream = p.stream;
  if (p.agent) f.agent = p.agent;
  if (p.session) f.session_id = p.session;
  if (p.turn) f.turn_id = p.turn;
  if (p.agent_role) f.agent_role = p.agent_role;
  if (p.source) f.source = p.source;
  if (p.client) f.client_ip = p.client;
  if (p.server) f.server = p.server;
  if (p.key) f.api_key_fingerprint = p.key;
  if (p.attribute) f.attribute = p.attribute;
  if (p.process) f.process = p.process;
  if (p.pid) f.pid = p.pid;
  if (p.q !== undefined) f.q = p.q;
  return f;
}

function toPage(p: { cursor?: string | undefined; limit?: number | undefined; order?: 'asc' | 'desc' | undefined }): PageRequest {
  const page: PageRequest = {};
  if (p.cursor !== undefined) page.cursor = p.cursor;
  if (p.limit !== undefined) page.limit = p.limit;
  if (p.order !== undefined) page.order = p.order;
  return page;
}

export function parseCallsQuery(raw: unknown): { filter: CallFilter; page: PageRequest } {
  const p = parse(callsQuery, raw);
  return { filter: toCallFilter(p), page: toPage(p) };
}

export function parseCallFilterQuery(raw: unknown): CallFilter {
  return toCallFilter(parse(callFilterQuery, raw));
}

export interface TimeseriesParams {
  filter: CallFilter;
  bucketMs: number | undefined;
  metrics: TimeseriesMetric[];
  groupBy: GroupByField | undefined;
  groupLimit: number | undefined;
}

/** Default series: what the overview charts (call rate, errors, tokens, latency). */
export const DEFAULT_METRICS: TimeseriesMetric[] = ['calls', 'errors', 'input_tokens', 'output_tokens', 'ttft_ms', 'e2e_ms'];

export function parseTimeseriesQuery(raw: unknown): TimeseriesParams {
  const p = parse(timeseriesQuery, raw);
  return {
    filter: toCallFilter(p),
    bucketMs: p.bucket,
    metrics: p.metrics ? [...new Set(p.metrics)] : DEFAULT_METRICS,
    groupBy: p.group_by,
    groupLimit: p.group_limit,
  };
}

export function parseExchangesQuery(raw: unknown): { filter: ExchangeFilter; page: PageRequest } {
  const p = parse(exchangesQuery, raw);
  checkRange(p);
  const f: ExchangeFilter = {};
  if (p.from !== undefined) f.from = p.from;
  if (p.to !== undefined) f.to = p.to;
  if (p.kind) f.kind = p.kind;
  if (p.reason) f.reason = p.reason;
  if (p.method) f.method = p.method;
  if (p.status) f.status = p.status;
  if (p.source) f.source = p.source;
  if (p.client) f.client_ip = p.client;
  if (p.server) f.server = p.server;
  if (p.connection) f.connection_id = p.connection;
  if (p.q !== undefined) f.q = p.q;
  return { filter: f, page: toPage(p) };
}

type SessionFilterParams = z.output<typeof sessionsQuery>;

function toSessionFilter(p: SessionFilterParams): SessionFilter {
  checkRange(p);
  const f: SessionFilter = {};
  if (p.from !== undefined) f.from = p.from;
  if (p.to !== undefined) f.to = p.to;
  if (p.agent) f.agent = p.agent;
  if (p.session) f.session_id = p.session;
  if (p.status) f.status = p.status;
  if (p.source) f.source = p.source;
  if (p.q !== undefined) f.q = p.q;
  return f;
}

export function parseTurnsQuery(raw: unknown): { filter: TurnFilter; page: PageRequest } {
  const p = parse(turnsQuery, raw);
  const f: TurnFilter = toSessionFilter(p);
  if (p.has_stalls !== undefined) f.has_stalls = p.has_stalls;
  if (p.has_loops !== undefined) f.has_loops = p.has_loops;
  return { filter: f, page: toPage(p) };
}

export function parseSessionsQuery(raw: unknown): { filter: SessionFilter; page: PageRequest } {
  const p = parse(sessionsQuery, raw);
  return { filter: toSessionFilter(p), page: toPage(p) };
}

/** A session id (the router has already percent-decoded it): any text an agent may send, bounded. */
export function parseSessionId(raw: unknown): string {
  const r = text(MAX_SESSION_ID_CHARS).safeParse(raw);
  if (!r.success) throw badRequest(`invalid session id: ${r.error.issues[0]?.message ?? 'not text'}`);
  return r.data;
}

/** Endpoints that take no parameters still refuse unknown ones (a typo should not pass silently). */
export function parseNoQuery(raw: unknown): void {
  parse(noQuery, raw);
}

/** A call or exchange id: a UUID (src/pipeline/call-record.ts exchangeId). */
export function parseId(raw: unknown): string {
  if (typeof raw !== 'string' || !uuid.test(raw)) throw badRequest('invalid id: expected a UUID');
  return raw.toLowerCase();
}

// ───────────────────────────── costs, alerts, annotations (issue 5) ─────────────────────────────

/** src/config/types.ts BUILTIN_DIMENSIONS and `process` (src/metrics/dimensions.ts): what a cost
 * breakdown groups by besides an attribute. */
export const COST_DIMENSIONS = ['provider', 'api', 'model', 'server', 'agent', 'client', 'key', 'source', 'process'] as const;

const costBy = z.string().refine((s) => NAME.test(s), `must be one of ${COST_DIMENSIONS.join(', ')} or an attribute name`);

const groupLimit = z
  .string()
  .regex(/^\d{1,3}$/, 'must be an integer')
  .transform(Number)
  .pipe(z.number().int().min(1).max(50));

const costsQuery = z.strictObject({ ...callFilterShape, by: one(costBy) });
const costTimeseriesQuery = z.strictObject({ ...callFilterShape, by: one(costBy), bucket: one(bucket), group_limit: one(groupLimit) });

export function parseCostsQuery(raw: unknown): { filter: CallFilter; by: string } {
  const p = parse(costsQuery, raw);
  return { filter: toCallFilter(p), by: p.by ?? 'model' };
}

export interface CostTimeseriesParams {
  filter: CallFilter;
  by: string | undefined;
  bucketMs: number | undefined;
  groupLimit: number | undefined;
}

export function parseCostTimeseriesQuery(raw: unknown): CostTimeseriesParams {
  const p = parse(costTimeseriesQuery, raw);
  return { filter: toCallFilter(p), by: p.by, bucketMs: p.bucket, groupLimit: p.group_limit };
}

const ALERT_STATES = ['firing', 'resolved', 'notice'] as const;
const RULE_KINDS = ['rule', 'budget'] as const;

const alertsQuery = z.strictObject({
  from: one(time),
  to: one(time),
  rule: many(plain),
  state: many(z.enum(ALERT_STATES), true),
  rule_kind: many(z.enum(RULE_KINDS), true),
  /** The source that raised it, as the calls filter takes it (a probe's uuid, a capture, an interface). */
  source: many(plain),
  ...pageShape,
});

export function parseAlertsQuery(raw: unknown): { filter: AlertFilter; page: PageRequest } {
  const p = parse(alertsQuery, raw);
  checkRange(p);
  const f: AlertFilter = {};
  if (p.from !== undefined) f.from = p.from;
  if (p.to !== undefined) f.to = p.to;
  if (p.rule) f.rule = p.rule;
  if (p.state) f.state = p.state;
  if (p.rule_kind) f.rule_kind = p.rule_kind;
  if (p.source) f.source = p.source;
  return { filter: f, page: toPage(p) };
}

const scoreName = z.string().refine((s) => NAME.test(s), 'must be 1-64 characters of A-Z a-z 0-9 _ . : -');
const annotationFilterShape = { from: one(time), to: one(time), name: many(scoreName) };
const annotationsQuery = z.strictObject({ ...annotationFilterShape, ...pageShape });
const targetAnnotationsQuery = z.strictObject(pageShape);
const annotationTimeseriesQuery = z.strictObject({ ...annotationFilterShape, bucket: one(bucket) });

function toAnnotationFilter(p: { from?: number | undefined; to?: number | undefined; name?: string[] | undefined }): AnnotationFilter {
  checkRange(p);
  const f: AnnotationFilter = {};
  if (p.from !== undefined) f.from = p.from;
  if (p.to !== undefined) f.to = p.to;
  if (p.name) f.name = p.name;
  return f;
}

export function parseAnnotationsQuery(raw: unknown): { filter: AnnotationFilter; page: PageRequest } {
  const p = parse(annotationsQuery, raw);
  return { filter: toAnnotationFilter(p), page: toPage(p) };
}

/** A call's or turn's annotations: only paging. */
export function parseTargetAnnotationsQuery(raw: unknown): PageRequest {
  return toPage(parse(targetAnnotationsQuery, raw));
}

export function parseAnnotationTimeseriesQuery(raw: unknown): { filter: AnnotationFilter; bucketMs: number | undefined } {
  const p = parse(annotationTimeseriesQuery, raw);
  return { filter: toAnnotationFilter(p), bucketMs: p.bucket };
}

/** Caps of an annotation's free text (src/core/record.ts AnnotationRecord: "length-capped"): a
 * label is a word or two, a comment a paragraph, an author a name or an e-mail address (RFC 5321
 * §4.5.3.1 allows 64 + 1 + 255; 128 covers real ones). */
export const ANNOTATION_CAPS = { label: 64, comment: 2000, author: 128 } as const;

const annotationBody = z.strictObject({
  name: scoreName,
  value: z.number().finite('must be a finite number'),
  label: text(ANNOTATION_CAPS.label).nullable().optional(),
  comment: text(ANNOTATION_CAPS.comment, true).nullable().optional(),
  author: text(ANNOTATION_CAPS.author).nullable().optional(),
});

export interface AnnotationInput {
  name: string;
  value: number;
  label: string | null;
  comment: string | null;
  author: string | null;
}

/** The JSON body of POST …/annotations. */
export function parseAnnotationBody(raw: unknown): AnnotationInput {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw badRequest('the body must be a JSON object');
  const r = annotationBody.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    if (issue?.code === 'unrecognized_keys') throw badRequest(`unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.map(clip).join(', ')}`);
    const field = typeof issue?.path[0] === 'string' ? issue.path[0] : 'body';
    throw badRequest(`invalid field '${field}': ${issue?.message ?? 'invalid'}`);
  }
  return { name: r.data.name, value: r.data.value, label: r.data.label ?? null, comment: r.data.comment ?? null, author: r.data.author ?? null };
}
