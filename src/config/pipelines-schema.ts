/**
 * The `pipelines:` section (issue 6 item 3; docs/configuration.md "pipelines"): named pipelines,
 * each with its sources (`file`, `interface`, `probes`), its own worker pool and queue. Checks
 * that need the whole list (unique names and ids, files that exist, one interface or endpoint
 * used twice) are in pipelines-check.ts.
 */
import { basename } from 'node:path';
import { z } from 'zod';
import { CAPTURE_TOOLS } from '../capture/live-capture-tool.js';
import { parsePace } from '../pipeline/pacing.js';
import { DEFAULTS } from './defaults.js';
import { closest } from './errors.js';
import type { PipelineConfig, PipelineSourceConfig } from './types.js';

/** Pipeline names: as rule names (they appear in the summary and the health API). */
const PIPELINE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
/** Source ids are written on every record (`source`) and used as filter values: printable, no
 * spaces at the ends. 128 characters is the length of the longest default (a file name is at
 * most 255 bytes, but an id that long is unreadable in the console). */
const SOURCE_ID = /^[^\s\p{Cc}](?:[^\p{Cc}]{0,126}[^\s\p{Cc}])?$/u;
/** Linux interface names: IFNAMSIZ (16) less the NUL, no slash or whitespace (dev_valid_name). */
const IFACE = /^[^\s/:]{1,15}$/;
/** tcp://HOST:PORT as `llmtap collect` binds it; the full check (probe-source.ts
 * checkProbeEndpoint) runs when the listener starts: that module loads ZeroMQ. */
const PROBE_ENDPOINT = /^tcp:\/\/\S+:(\d{1,5}|\*)$/;
/** libpcap's MAXIMUM_SNAPLEN (src/capture/capture-parser.ts PCAP_MAX_SNAPLEN); 64 is the
 * smallest `llmtap capture --snaplen` takes (headers of a VLAN-tagged IPv6 TCP packet). */
const SNAPLEN = { min: 64, max: 262_144 };
/** `llmtap capture --buffer-size`'s bounds, KiB (as the flag: 4 GiB, more than any kernel grants). */
const BUFFER_KIB_MAX = 4 * 1024 * 1024;
/** A queue of 1 GiB in flight is memory, not a queue; 64 KiB is a few dozen packets. */
const QUEUE_BYTES = { min: 64 * 1024, max: 1024 * 1024 * 1024 };
/** docs/workers.md: MAX_IN_FLIGHT_ROUNDS is 1,024; 65,536 rounds of small live reads is already
 * seconds of messages queued to a worker. */
const QUEUE_ROUNDS_MAX = 65_536;

const UNITS: Record<string, number> = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, kb: 1e3, mb: 1e6, gb: 1e9 };

/** "8MiB", "512KiB", "1GB" or a number of bytes. */
export function parseByteSize(v: unknown): number | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : null;
  if (typeof v !== 'string') return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*$/i.exec(v);
  if (m === null) return null;
  const n = Number(m[1]) * (UNITS[(m[2] ?? 'b').toLowerCase()] ?? Number.NaN);
  return Number.isFinite(n) ? Math.round(n) : null;
}

const byteSize = z.unknown().transform((v, ctx): number => {
  const n = parseByteSize(v);
  if (n === null) {
    ctx.issues.push({ code: 'custom', message: 'is not a size (write e.g. 8MiB, 512KiB or a number of bytes)', input: v });
    return z.NEVER;
  }
  if (n < QUEUE_BYTES.min || n > QUEUE_BYTES.max) {
    ctx.issues.push({ code: 'custom', message: 'must be from 64KiB to 1GiB', input: v });
    return z.NEVER;
  }
  return n;
});

const sourceId = z.string().regex(SOURCE_ID, 'is not a valid source id (1 to 128 printable characters, no spaces at the ends)');

const pace = z
  .union([z.string(), z.number()])
  .transform((v, ctx): number => {
    const f = parsePace(String(v));
    if (f === null) {
      ctx.issues.push({ code: 'custom', message: 'must be "capture" or a speed factor above 0 (10: ten times faster, 0.5: half speed)', input: v });
      return z.NEVER;
    }
    return f;
  })
  .nullable()
  .default(null);

const fileSource = z
  .strictObject({
    kind: z.literal('file'),
    id: sourceId.optional(),
    path: z.string().min(1, 'is empty'),
    pace,
  })
  .transform((s): PipelineSourceConfig => ({ kind: 'file', id: s.id ?? basename(s.path), path: s.path, pace: s.pace }));

const interfaceSource = z
  .strictObject({
    kind: z.literal('interface'),
    id: sourceId.optional(),
    iface: z.string().regex(IFACE, 'is not an interface name (see `ip link`; "any" for all)'),
    bpf_filter: z.string().min(1, 'is empty').nullable().default(null),
    snaplen: z.int().min(SNAPLEN.min, `must be at least ${SNAPLEN.min}`).max(SNAPLEN.max, `must be at most ${SNAPLEN.max}`).nullable().default(null),
    buffer_size: z.int().min(1, 'must be at least 1 (KiB)').max(BUFFER_KIB_MAX, `must be at most ${BUFFER_KIB_MAX} (KiB)`).nullable().default(null),
    capture_tool: z.enum([...CAPTURE_TOOLS, 'auto']).default('auto'),
  })
  .transform(
    (s): PipelineSourceConfig => ({
      kind: 'interface',
      id: s.id ?? s.iface,
      iface: s.iface,
      bpf_filter: s.bpf_filter,
      snaplen: s.snaplen,
      buffer_size_kib: s.buffer_size,
      capture_tool: s.capture_tool,
    }),
  );

const probesSource = z
  .strictObject({
    kind: z.literal('probes'),
    id: sourceId.optional(),
    listen: z.string().regex(PROBE_ENDPOINT, 'is not a ZeroMQ endpoint to bind: tcp://HOST:PORT, e.g. tcp://0.0.0.0:5556'),
  })
  .transform((s): PipelineSourceConfig => ({ kind: 'probes', id: s.id ?? `probes@${s.listen}`, listen: s.listen }));

const KINDS = ['file', 'interface', 'probes'] as const;

/** Source by kind: `kind` is checked first so a wrong kind is one clear message. */
const sourceSchema = z.unknown().transform((v, ctx): PipelineSourceConfig => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    ctx.issues.push({ code: 'custom', message: 'must be a mapping with a kind (file, interface or probes)', input: v });
    return z.NEVER;
  }
  const kind = (v as Record<string, unknown>)['kind'];
  const schema = kind === 'file' ? fileSource : kind === 'interface' ? interfaceSource : kind === 'probes' ? probesSource : null;
  if (schema === null) {
    ctx.issues.push({
      code: 'custom',
      message: kind === undefined ? 'needs a kind: file, interface or probes' : `kind must be one of ${KINDS.join(', ')}`,
      input: v,
      path: kind === undefined ? [] : ['kind'],
    });
    return z.NEVER;
  }
  const r = schema.safeParse(v);
  if (r.success) return r.data;
  // A misspelt key first: it is why the real key is "required".
  const issues = [...r.error.issues].sort((x, y) => Number(y.code === 'unrecognized_keys') - Number(x.code === 'unrecognized_keys'));
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      // The loader's "did you mean" walks the schema's shape, which a transform hides: say it here.
      const known = Object.keys(schema.in.shape);
      for (const k of issue.keys) {
        const hint = closest(k, known);
        const shown = JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k);
        ctx.issues.push({ code: 'custom', path: issue.path, input: v, message: `unknown key ${shown} for a ${String(kind)} source (${hint !== null ? `did you mean "${hint}"?` : `known keys: ${known.join(', ')}`})` });
      }
    } else ctx.issues.push(issue as (typeof ctx.issues)[number]);
  }
  return z.NEVER;
});

const workers = z
  .union([
    z.literal('auto'),
    z.number().int('must be a whole number or "auto"').min(1, 'must be at least 1').max(DEFAULTS.max_workers, `must be at most ${DEFAULTS.max_workers}`),
  ])
  .nullable()
  .default(null);

const queue = z
  .strictObject({
    bytes: byteSize.default(DEFAULTS.pipelines.queue_bytes),
    rounds: z.int().min(1, 'must be 1 or more').max(QUEUE_ROUNDS_MAX, `must be at most ${QUEUE_ROUNDS_MAX}`).default(DEFAULTS.pipelines.queue_rounds),
  })
  .prefault({});

const pipeline = z
  .strictObject({
    name: z.string().regex(PIPELINE_NAME, 'is not a valid pipeline name (letters, digits and _ . : - (up to 64, starting with a letter or digit))'),
    sources: z
      .array(sourceSchema)
      .min(1, 'needs at least one source')
      .max(DEFAULTS.pipelines.max_sources, `has more than ${DEFAULTS.pipelines.max_sources} sources`),
    workers,
    queue,
  })
  .transform((p): PipelineConfig => p);

export const pipelines = z
  .array(pipeline)
  .max(DEFAULTS.pipelines.max_pipelines, `has more than ${DEFAULTS.pipelines.max_pipelines} pipelines (each has its own worker pool)`)
  .default([]);
