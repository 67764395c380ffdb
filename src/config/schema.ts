/**
 * The configuration file's format (docs/configuration.md), validated with zod into exactly the
 * loaded shape of src/config/types.ts with every default filled. Keys are snake_case; durations
 * are written without a unit suffix in the key (`window: 5m` loads as `window_ms: 300000`).
 * Every object is strict: an unknown key is an error (a typo must not pass silently).
 * Checks that span sections (names used in one section defined in another) are in
 * cross-check.ts.
 */
import { z } from 'zod';
import type { AlertMetric, LlmtapConfig } from './types.js';
import { WINDOW_METRICS } from './types.js';
import { parseDuration } from './duration.js';
import { MAX_MODEL_CHARS } from '../cost/call-pricer.js';
import { isSecretHeader } from '../redact/secrets.js';
import { DEFAULTS } from './defaults.js';
import { pipelines } from './pipelines-schema.js';
// Defaults are held to the cap of values read from headers.
import { MAX_ATTRIBUTE_CHARS } from '../redact/attribute-value.js';

// ─────────────────────────────── leaf values ───────────────────────────────

/** Names of rules, budgets, webhooks: what an operator reads in a notice, a label or a URL. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const NAME_RULE = 'letters, digits and _ . : - (up to 64, starting with a letter or digit)';
/** Attribute names become metric labels and JSON keys: Prometheus label syntax, lower case. */
export const ATTRIBUTE_NAME = /^[a-z][a-z0-9_]{0,31}$/;
/** RFC 9110 §5.6.2 token: the characters a header name may have. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
/** Score names of annotations (src/core/record.ts AnnotationRecord.name). */
const SCORE_METRIC = /^(score|score_min|score_count):[A-Za-z0-9_.:-]{1,64}$/;
/** Header names that say they carry a credential, beyond the known list of src/redact/secrets.ts. */
const CREDENTIAL_HEADER = /(authorization|api[-_]?key|token|secret|passw|cookie|signature|credential)/i;

function name(what: string): z.ZodString {
  return z.string().regex(NAME, `is not a valid ${what} name (${NAME_RULE})`);
}

/** A duration: "500ms", "30s", "5m", "1h", "7d" or seconds; `zero` also accepts 0 (no cooldown). */
function duration(zero = false) {
  return z.unknown().transform((v, ctx): number => {
    if (zero && (v === 0 || (typeof v === 'string' && /^\s*0+(ms|s|m|h|d)?\s*$/.test(v)))) return 0;
    const r = parseDuration(v);
    if (r.ok) return r.ms;
    ctx.issues.push({ code: 'custom', message: r.message, input: v });
    return z.NEVER;
  });
}

const finiteNumber = z.number().refine(Number.isFinite, 'must be a finite number');
const price = finiteNumber.refine((x) => x >= 0, 'must be a price of 0 or more (USD per million tokens)');

/** An http(s) URL. The value is never quoted back: webhook URLs often carry their token. */
const httpUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}, 'is not an http:// or https:// URL');

/** Extra request headers (tokens via `${ENV}`); values are secrets and never quoted. */
const headerMap = z
  .record(z.string(), z.string())
  .superRefine((h, ctx) => {
    for (const k of Object.keys(h)) {
      if (!HEADER_NAME.test(k)) ctx.addIssue({ code: 'custom', message: 'is not a valid HTTP header name', path: [k] });
    }
  })
  .default({});

/** Filter values: YAML may read `42` or `true` where a string is meant. */
const scalarString = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));

const dimensionList = z.array(z.string()).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((d, i) => {
    if (seen.has(d)) ctx.addIssue({ code: 'custom', message: `"${d}" is listed twice`, path: [i] });
    seen.add(d);
  });
});

const notifyList = z.array(z.string().min(1, 'is empty')).default(['log']);

const metric = z.string().refine(
  (m) => (WINDOW_METRICS as readonly string[]).includes(m) || SCORE_METRIC.test(m),
  'METRIC', // replaced by a message with a "did you mean" (cross-check.ts metricMessage)
).transform((m) => m as AlertMetric);

// ─────────────────────────────── sections ───────────────────────────────

const turns = z
  .strictObject({
    enabled: z.boolean().default(true),
    idle_timeout: duration().nullable().default(null),
    stall_threshold: duration().nullable().default(null),
    loop_threshold: z.int().min(2, 'must be 2 or more').nullable().default(null),
  })
  .transform((t) => ({
    enabled: t.enabled,
    idle_timeout_ms: t.idle_timeout,
    stall_threshold_ms: t.stall_threshold,
    loop_threshold: t.loop_threshold,
  }))
  .prefault({});

const attribute = z
  .strictObject({
    name: z.string().regex(ATTRIBUTE_NAME, 'is not a valid attribute name (lower-case letters, digits and _, up to 32, starting with a letter)'),
    header: z
      .string()
      .regex(HEADER_NAME, 'is not a valid HTTP header name')
      .refine((h) => !CREDENTIAL_HEADER.test(h) && !isSecretHeader(h), 'names a header that carries credentials: it is redacted, never an attribute')
      .transform((h) => h.toLowerCase())
      .nullable()
      .default(null),
    default: scalarString
      .refine((v) => v.length <= MAX_ATTRIBUTE_CHARS, `is longer than ${MAX_ATTRIBUTE_CHARS} characters`)
      .nullable()
      .default(null),
  })
  .refine((a) => a.header !== null || a.default !== null, 'needs a header to read, a default value, or both');

const metrics = z
  .strictObject({
    dimensions: dimensionList.default([...DEFAULTS.dimensions]),
    windows: z
      .array(duration())
      .min(1, 'needs at least one window')
      .max(8, 'has more than 8 windows (each window keeps its own sketches per series)')
      .transform((w) => [...new Set(w)].sort((a, b) => a - b))
      .default([...DEFAULTS.windows_ms]),
    max_series: z.int().min(1, 'must be 1 or more').default(DEFAULTS.max_series),
  })
  .transform((m) => ({ dimensions: m.dimensions, windows_ms: m.windows, max_series: m.max_series }))
  .prefault({});

const otlp = z
  .strictObject({
    endpoint: httpUrl.refine((s) => !/\/v1\/(traces|metrics|logs)\/?$/.test(s), 'is the URL of one signal: write the base URL (…/v1/traces and …/v1/metrics are appended)'),
    headers: headerMap,
    traces: z.boolean().default(true),
    metrics: z.boolean().default(true),
    export_interval: duration().default(DEFAULTS.otlp.export_interval_ms),
    max_queue: z.int().min(1, 'must be 1 or more').default(DEFAULTS.otlp.max_queue),
    max_batch: z.int().min(1, 'must be 1 or more').default(DEFAULTS.otlp.max_batch),
    batch_delay: duration().default(DEFAULTS.otlp.batch_delay_ms),
    timeout: duration().default(DEFAULTS.otlp.timeout_ms),
    service_name: z.string().min(1, 'is empty').default(DEFAULTS.otlp.service_name),
  })
  .superRefine((o, ctx) => {
    if (o.max_batch > o.max_queue) ctx.addIssue({ code: 'custom', message: `is larger than max_queue (${o.max_queue})`, path: ['max_batch'] });
  })
  .transform((o) => ({
    endpoint: o.endpoint.replace(/\/+$/, ''),
    headers: o.headers,
    traces: o.traces,
    metrics: o.metrics,
    export_interval_ms: o.export_interval,
    max_queue: o.max_queue,
    max_batch: o.max_batch,
    batch_delay_ms: o.batch_delay,
    timeout_ms: o.timeout,
    service_name: o.service_name,
  }));

const modelPrice = z.strictObject({
  model: z.string().min(1, 'is empty').max(MAX_MODEL_CHARS, `is longer than ${MAX_MODEL_CHARS} characters (longer model names are never priced)`),
  provider: z.string().min(1, 'is empty').nullable().default(null),
  input_per_mtok: price,
  output_per_mtok: price,
  cache_read_per_mtok: price.nullable().default(null),
  cache_write_per_mtok: price.nullable().default(null),
});

const pricing = z.strictObject({ models: z.array(modelPrice).default([]) }).prefault({});

const webhook = z
  .strictObject({
    url: httpUrl,
    headers: headerMap,
    max_attempts: z.int().min(1, 'must be 1 or more').max(20, 'must be 20 or fewer').default(DEFAULTS.webhook.max_attempts),
    timeout: duration().default(DEFAULTS.webhook.timeout_ms),
  })
  .transform((w) => ({ url: w.url, headers: w.headers, max_attempts: w.max_attempts, timeout_ms: w.timeout }));

const webhooks = z
  .record(z.string(), webhook)
  .superRefine((w, ctx) => {
    for (const k of Object.keys(w)) {
      if (!NAME.test(k)) ctx.addIssue({ code: 'custom', message: `is not a valid webhook name (${NAME_RULE})`, path: [k] });
      else if (k === 'log') ctx.addIssue({ code: 'custom', message: '"log" is the built-in log target: choose another name', path: [k] });
    }
  })
  .default({});

const alert = z
  .strictObject({
    name: name('rule'),
    metric,
    window: duration().default(DEFAULTS.alert.window_ms),
    op: z.enum(['>', '>=', '<', '<=']).default('>'),
    threshold: finiteNumber,
    filters: z.record(z.string(), scalarString).default({}),
    min_calls: z.int().min(1, 'must be 1 or more').default(DEFAULTS.alert.min_calls),
    cooldown: duration(true).default(DEFAULTS.alert.cooldown_ms),
    severity: z.enum(['info', 'warning', 'critical']).default('warning'),
    notify: notifyList,
  })
  .transform((a) => ({
    name: a.name,
    metric: a.metric,
    window_ms: a.window,
    op: a.op,
    threshold: a.threshold,
    filters: a.filters,
    min_calls: a.min_calls,
    cooldown_ms: a.cooldown,
    severity: a.severity,
    notify: a.notify,
  }));

const budget = z
  .strictObject({
    name: name('budget'),
    period: z.enum(['day', 'week', 'month']).default('month'),
    scope: z.string().min(1, 'is empty').default('all'),
    value: scalarString.nullable().default(null),
    limit_usd: finiteNumber.refine((x) => x > 0, 'must be above 0'),
    notify_at: z
      .array(finiteNumber.refine((x) => x > 0 && x <= 10, 'must be a fraction of the limit above 0 and at most 10 (1 = the whole budget)'))
      .min(1, 'needs at least one fraction')
      .transform((f) => [...new Set(f)].sort((a, b) => a - b))
      .default([...DEFAULTS.notify_at]),
    notify: notifyList,
  })
  .superRefine((b, ctx) => {
    if (b.scope === 'all' && b.value !== null) ctx.addIssue({ code: 'custom', message: 'has no meaning with scope "all" (the total spend): remove it or name a scope', path: ['value'] });
  });

export const fileSchema = z
  .strictObject({
    db: z.string().min(1, 'is empty').nullable().default(null),
    listen: z.string().min(1, 'is empty').nullable().default(null),
    retention: z.boolean().default(true),
    fingerprint_salt: z.string().min(1, 'is empty').nullable().default(null),
    turns,
    attributes: z.array(attribute).default([]),
    metrics,
    otlp: otlp.nullable().default(null),
    pricing,
    webhooks,
    alerts: z.array(alert).default([]),
    budgets: z.array(budget).default([]),
    workers: z
      .union([
        z.literal('auto'),
        z.number().int('must be a whole number or "auto"').min(1, 'must be at least 1').max(DEFAULTS.max_workers, `must be at most ${DEFAULTS.max_workers}`),
      ])
      .default('auto'),
    pipelines,
  })
  .prefault({});

export type FileConfig = Omit<LlmtapConfig, 'path'>;

// The schema's output is the loaded shape, key for key (checked by the compiler).
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
export const outputIsConfig: Exact<z.output<typeof fileSchema>, FileConfig> = true;
