/**
 * Aggregates over stored calls: summary, time series, models, errors, filter values. Percentiles
 * are exact (DuckDB quantile_cont: linear interpolation between order statistics, the same
 * definition as numpy's default), computed from the stored rows, never from sketches (DESIGN §4).
 */
import { isoMicros } from '../../core/time.js';
import type {
  CallFilter,
  ErrorGroup,
  FilterField,
  FilterValues,
  GroupByField,
  ModelStats,
  Percentiles,
  Summary,
  TimeseriesMetric,
  TimeseriesOptions,
  TimeseriesResult,
  TimeseriesSeries,
} from '../types.js';
import { STORE_CAPS, StoreError } from '../types.js';
import { int, num, numList, str, type Row, type SerialConnection } from './connection.js';
import { callConditions, whereClause } from './filters.js';
import { Params } from './params.js';
import { compareNames } from '../../core/name-order.js';

const LATENCY_COLUMNS = ['ttfb_ms', 'ttft_ms', 'tpot_ms', 'e2e_ms', 'output_tokens_per_second'] as const;
type LatencyColumn = (typeof LATENCY_COLUMNS)[number];

/** Select items for count/p50/p95/p99/avg/max of a (whitelisted) column, aliased `<col>_…`. */
function percentileSelect(col: LatencyColumn): string {
  return `count(${col}) AS ${col}_n, quantile_cont(${col}, [0.5, 0.95, 0.99]) AS ${col}_q, avg(${col}) AS ${col}_avg, max(${col}) AS ${col}_max`;
}

function percentiles(row: Row, col: LatencyColumn): Percentiles {
  const count = int(row, `${col}_n`);
  const q = numList(row, `${col}_q`);
  return {
    count,
    p50: count ? (q[0] ?? null) : null,
    p95: count ? (q[1] ?? null) : null,
    p99: count ? (q[2] ?? null) : null,
    avg: count ? num(row, `${col}_avg`) : null,
    max: count ? num(row, `${col}_max`) : null,
  };
}

function iso(row: Row, key: string): string | null {
  const v = num(row, key);
  return v === null ? null : isoMicros(v);
}

export async function summary(db: SerialConnection, filter: CallFilter): Promise<Summary> {
  const p = new Params();
  const where = whereClause(callConditions(filter, p));
  const sql = `SELECT count(*) AS calls,
      count(*) FILTER (WHERE is_error) AS errors,
      count(*) FILTER (WHERE status_code = 429) AS status_429,
      count(*) FILTER (WHERE status_code BETWEEN 500 AND 599) AS status_5xx,
      count(*) FILTER (WHERE status_code IS NULL) AS no_response,
      count(*) FILTER (WHERE stream) AS streamed,
      coalesce(sum(input_tokens), 0) AS input_tokens,
      coalesce(sum(output_tokens), 0) AS output_tokens,
      coalesce(sum(cache_read_tokens), 0) AS cache_read_tokens,
      coalesce(sum(cache_write_tokens), 0) AS cache_write_tokens,
      coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens,
      count(*) FILTER (WHERE usage_estimated) AS estimated_usage,
      sum(coalesce(cache_read_tokens, 0)) FILTER (WHERE input_tokens IS NOT NULL) AS ratio_read,
      sum(input_tokens) AS ratio_input,
      round(sum(cost_usd), 12) AS cost_usd,
      epoch_us(min(request_start)) AS first_us,
      epoch_us(max(request_start)) AS last_us,
      ${LATENCY_COLUMNS.map(percentileSelect).join(',\n      ')}
    FROM calls ${where}`;
  const row = (await db.all(sql, p.values))[0] ?? {};
  const calls = int(row, 'calls');
  const errors = int(row, 'errors');
  const ratioInput = num(row, 'ratio_input');
  return {
    calls,
    errors,
    error_rate: calls > 0 ? errors / calls : null,
    status_429: int(row, 'status_429'),
    status_5xx: int(row, 'status_5xx'),
    no_response: int(row, 'no_response'),
    streamed: int(row, 'streamed'),
    input_tokens: int(row, 'input_tokens'),
    output_tokens: int(row, 'output_tokens'),
    cache_read_tokens: int(row, 'cache_read_tokens'),
    cache_write_tokens: int(row, 'cache_write_tokens'),
    reasoning_tokens: int(row, 'reasoning_tokens'),
    estimated_usage: int(row, 'estimated_usage'),
    cache_hit_ratio: ratioInput !== null && ratioInput > 0 ? int(row, 'ratio_read') / ratioInput : null,
    cost_usd: num(row, 'cost_usd'),
    first_call: iso(row, 'first_us'),
    last_call: iso(row, 'last_us'),
    ttfb_ms: percentiles(row, 'ttfb_ms'),
    ttft_ms: percentiles(row, 'ttft_ms'),
    tpot_ms: percentiles(row, 'tpot_ms'),
    e2e_ms: percentiles(row, 'e2e_ms'),
    output_tokens_per_second: percentiles(row, 'output_tokens_per_second'),
  };
}

/** Group-by expressions, by field. The only SQL a group-by request can select. */
const GROUP_EXPR: Record<GroupByField, string> = {
  provider: 'provider',
  api: 'api',
  model: 'model',
  status_class: "CASE WHEN status_code IS NULL THEN 'none' ELSE (status_code // 100)::VARCHAR || 'xx' END",
  finish_reason: 'finish_reason',
  agent: 'agent',
  server: 'coalesce(server_host, server_ip)',
  client_ip: 'client_ip',
  api_key_fingerprint: 'api_key_fingerprint',
  source: 'source',
  process: 'process_comm',
};

const COUNT_EXPR: Record<string, string> = {
  calls: 'count(*)',
  errors: 'count(*) FILTER (WHERE is_error)',
  status_429: 'count(*) FILTER (WHERE status_code = 429)',
  status_5xx: 'count(*) FILTER (WHERE status_code BETWEEN 500 AND 599)',
  input_tokens: 'coalesce(sum(input_tokens), 0)',
  output_tokens: 'coalesce(sum(output_tokens), 0)',
  cache_read_tokens: 'coalesce(sum(cache_read_tokens), 0)',
  cost_usd: 'round(coalesce(sum(cost_usd), 0), 12)',
};

const NONE_GROUP = '(none)';
const OTHER_GROUP = '(other)';

function isLatency(m: string): m is LatencyColumn {
  return (LATENCY_COLUMNS as readonly string[]).includes(m);
}

export async function timeseries(
  db: SerialConnection,
  filter: CallFilter,
  opts: TimeseriesOptions,
): Promise<TimeseriesResult> {
  const bucketUs = Math.round(opts.bucketMs * 1000);
  if (!Number.isFinite(opts.bucketMs) || bucketUs < 1) {
    throw new StoreError('invalid_argument', 'bucketMs must be a number ≥ 0.001');
  }
  const metrics: TimeseriesMetric[] = [...new Set(opts.metrics)];
  for (const m of metrics) {
    if (!(m in COUNT_EXPR) && !isLatency(m) && m !== 'active_calls') {
      throw new StoreError('invalid_argument', `unknown time series metric ${String(m)}`);
    }
  }
  let groupExpr: string | null = null;
  if (opts.groupBy !== undefined) {
    groupExpr = GROUP_EXPR[opts.groupBy] ?? null;
    if (groupExpr === null) throw new StoreError('invalid_argument', `cannot group by ${String(opts.groupBy)}`);
    groupExpr = `coalesce(${groupExpr}, '${NONE_GROUP}')`;
  }
  const groupLimit = Math.min(50, Math.max(1, Math.trunc(opts.groupLimit ?? 10)));

  // The range: the filter's bounds, else the data's.
  let lo = filter.from;
  let hi = filter.to === undefined ? undefined : filter.to - 1;
  if (lo === undefined || hi === undefined) {
    const p = new Params();
    const where = whereClause(callConditions(filter, p));
    const r = (await db.all(`SELECT epoch_us(min(request_start)) AS lo, epoch_us(max(request_start)) AS hi FROM calls ${where}`, p.values))[0] ?? {};
    lo ??= num(r, 'lo') ?? undefined;
    hi ??= num(r, 'hi') ?? undefined;
  }
  if (lo === undefined || hi === undefined || hi < lo) return { bucket_ms: opts.bucketMs, buckets: [], series: [] };
  // Buckets aligned to the epoch (as DuckDB time_bucket with its default origin for µs widths).
  const origin = Math.floor(lo / bucketUs) * bucketUs;
  const nBuckets = Math.floor((hi - origin) / bucketUs) + 1;
  if (nBuckets > STORE_CAPS.maxBuckets) {
    throw new StoreError('invalid_argument', `${nBuckets} buckets exceed the limit of ${STORE_CAPS.maxBuckets}: use a wider bucket`);
  }

  // With groupBy: the top groups by calls; the rest become "(other)".
  const groupParamsFor = (p: Params): string => {
    if (groupExpr === null) return 'NULL';
    if (topGroups === null) return groupExpr;
    if (topGroups.length === 0) return `'${OTHER_GROUP}'`;
    return `CASE WHEN ${p.inStr(groupExpr, topGroups)} THEN ${groupExpr} ELSE '${OTHER_GROUP}' END`;
  };
  let topGroups: string[] | null = null;
  if (groupExpr !== null) {
    const p = new Params();
    const where = whereClause(callConditions(filter, p));
    const rows = await db.all(
      `SELECT ${groupExpr} AS g, count(*) AS n FROM calls ${where} GROUP BY g ORDER BY n DESC, g LIMIT ${groupLimit + 1}`,
      p.values,
    );
    const groups = rows.map((r) => str(r, 'g') ?? NONE_GROUP);
    topGroups = groups.length > groupLimit ? groups.slice(0, groupLimit) : null;
  }

  const series = new Map<string | null, TimeseriesSeries>();
  const seriesFor = (g: string | null): TimeseriesSeries => {
    let s = series.get(g);
    if (!s) {
      const values: Record<string, (number | null)[]> = {};
      for (const m of metrics) {
        if (isLatency(m)) for (const q of ['p50', 'p95', 'p99']) values[`${m}_${q}`] = new Array<number | null>(nBuckets).fill(null);
        else values[m] = new Array<number | null>(nBuckets).fill(0);
      }
      s = { group: g, values };
      series.set(g, s);
    }
    return s;
  };

  const aggMetrics = metrics.filter((m) => m !== 'active_calls');
  /** Calls per series, to order the series (largest first). */
  const totals = new Map<string | null, number>();
  {
    const p = new Params();
    const bucket = `(epoch_us(request_start) - ${p.big(origin)}) // ${p.big(bucketUs)}`;
    const items = [`${bucket} AS b`, `${groupParamsFor(p)} AS g`, 'count(*) AS __calls'];
    for (const m of aggMetrics) {
      if (isLatency(m)) items.push(`quantile_cont(${m}, [0.5, 0.95, 0.99]) AS ${m}`);
      else items.push(`${COUNT_EXPR[m]} AS ${m}`);
    }
    const where = whereClause(callConditions(filter, p));
    const rows = await db.all(`SELECT ${items.join(', ')} FROM calls ${where} GROUP BY ALL`, p.values);
    for (const r of rows) {
      const b = int(r, 'b');
      if (b < 0 || b >= nBuckets) continue;
      const s = seriesFor(groupExpr === null ? null : (str(r, 'g') ?? NONE_GROUP));
      for (const m of aggMetrics) {
        if (isLatency(m)) {
          const q = numList(r, m);
          s.values[`${m}_p50`]![b] = q[0] ?? null;
          s.values[`${m}_p95`]![b] = q[1] ?? null;
          s.values[`${m}_p99`]![b] = q[2] ?? null;
        } else {
          s.values[m]![b] = num(r, m) ?? 0;
        }
      }
      totals.set(s.group, (totals.get(s.group) ?? 0) + int(r, '__calls'));
    }
  }

  if (metrics.includes('active_calls')) {
    // A call is active in every bucket its [request_start, response_end] overlaps: +1 at its first
    // bucket, −1 after its last, then a running sum. O(calls), exact, however long the calls.
    const p = new Params();
    const g = groupParamsFor(p);
    const o = p.big(origin);
    const w = p.big(bucketUs);
    const last = p.big(nBuckets - 1);
    const where = whereClause(callConditions(filter, p));
    const rows = await db.all(
      `WITH sel AS (
         SELECT ${g} AS g, (epoch_us(request_start) - ${o}) // ${w} AS sb,
                least((epoch_us(greatest(coalesce(response_end, request_start), request_start)) - ${o}) // ${w}, ${last}) AS eb
         FROM calls ${where})
       SELECT g, b, sum(d) AS d FROM (
         SELECT g, sb AS b, 1 AS d FROM sel UNION ALL SELECT g, eb + 1 AS b, -1 AS d FROM sel
       ) GROUP BY ALL`,
      p.values,
    );
    const deltas = new Map<string | null, number[]>();
    for (const r of rows) {
      const key = groupExpr === null ? null : (str(r, 'g') ?? NONE_GROUP);
      const b = int(r, 'b');
      if (b < 0 || b >= nBuckets) continue;
      let d = deltas.get(key);
      if (!d) deltas.set(key, (d = new Array<number>(nBuckets).fill(0)));
      d[b]! += int(r, 'd');
    }
    for (const [key, d] of deltas) {
      const out = seriesFor(key).values.active_calls!;
      let run = 0;
      for (let b = 0; b < nBuckets; b++) out[b] = run += d[b]!;
    }
  }

  const buckets: string[] = [];
  for (let b = 0; b < nBuckets; b++) buckets.push(isoMicros(origin + b * bucketUs));
  const ordered = [...series.values()].sort((a, b) => {
    if (a.group === OTHER_GROUP) return 1;
    if (b.group === OTHER_GROUP) return -1;
    return (totals.get(b.group) ?? 0) - (totals.get(a.group) ?? 0) || compareNames(String(a.group), String(b.group));
  });
  return { bucket_ms: opts.bucketMs, buckets, series: ordered };
}

export async function models(db: SerialConnection, filter: CallFilter): Promise<ModelStats[]> {
  const p = new Params();
  const where = whereClause(callConditions(filter, p));
  const cols: LatencyColumn[] = ['ttft_ms', 'tpot_ms', 'e2e_ms', 'output_tokens_per_second'];
  const rows = await db.all(
    `SELECT model, provider, count(*) AS calls, count(*) FILTER (WHERE is_error) AS errors,
       coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
       coalesce(sum(cache_read_tokens), 0) AS cache_read_tokens, round(sum(cost_usd), 12) AS cost_usd,
       epoch_us(max(request_start)) AS last_us,
       ${cols.map(percentileSelect).join(', ')}
     FROM calls ${where} GROUP BY model, provider ORDER BY calls DESC, model NULLS LAST, provider
     LIMIT ${STORE_CAPS.models}`,
    p.values,
  );
  return rows.map((r) => ({
    model: str(r, 'model'),
    provider: str(r, 'provider') ?? '',
    calls: int(r, 'calls'),
    errors: int(r, 'errors'),
    input_tokens: int(r, 'input_tokens'),
    output_tokens: int(r, 'output_tokens'),
    cache_read_tokens: int(r, 'cache_read_tokens'),
    cost_usd: num(r, 'cost_usd'),
    last_seen: iso(r, 'last_us') ?? '',
    ttft_ms: percentiles(r, 'ttft_ms'),
    tpot_ms: percentiles(r, 'tpot_ms'),
    e2e_ms: percentiles(r, 'e2e_ms'),
    output_tokens_per_second: percentiles(r, 'output_tokens_per_second'),
  }));
}

export async function errors(db: SerialConnection, filter: CallFilter): Promise<ErrorGroup[]> {
  const p = new Params();
  const where = whereClause([...callConditions(filter, p), 'is_error']);
  const rows = await db.all(
    `SELECT status_code, error_type, model, count(*) AS n,
       epoch_us(min(request_start)) AS first_us, epoch_us(max(request_start)) AS last_us,
       arg_max(id, (request_start, id)) AS example_id,
       arg_max(error_message, (request_start, id)) AS example_message
     FROM calls ${where} GROUP BY status_code, error_type, model
     ORDER BY n DESC, last_us DESC LIMIT ${STORE_CAPS.errorGroups}`,
    p.values,
  );
  return rows.map((r) => ({
    status_code: num(r, 'status_code'),
    error_type: str(r, 'error_type'),
    model: str(r, 'model'),
    count: int(r, 'n'),
    first_seen: iso(r, 'first_us') ?? '',
    last_seen: iso(r, 'last_us') ?? '',
    example_id: str(r, 'example_id') ?? '',
    example_message: str(r, 'example_message'),
  }));
}

/** Value expressions per filter field (server lists both IPs and Host names). */
const FILTER_VALUE_EXPRS: [FilterField, string][] = [
  ['provider', 'provider'],
  ['api', 'api'],
  ['model', 'request_model'],
  ['model', 'CASE WHEN response_model IS DISTINCT FROM request_model THEN response_model END'],
  ['status', 'status_code::VARCHAR'],
  ['finish_reason', 'finish_reason'],
  ['agent', 'agent'],
  ['session_id', 'session_id'],
  ['agent_role', 'agent_role'],
  ['source', 'source'],
  ['client_ip', 'client_ip'],
  ['server', 'server_ip'],
  ['server', 'CASE WHEN server_host IS DISTINCT FROM server_ip THEN server_host END'],
  ['api_key_fingerprint', 'api_key_fingerprint'],
  ['process', 'process_comm'],
  // One row per attribute of the call, as `name=value` (CallFilter.attribute).
  ['attribute', "attr.key || '=' || attr.value"],
];

export async function filterValues(db: SerialConnection, filter: CallFilter): Promise<FilterValues> {
  const p = new Params();
  const where = whereClause(callConditions(filter, p));
  // A call whose request and response model (or server IP and Host) are equal counts once.
  const unions = FILTER_VALUE_EXPRS.map(([f, e]) =>
    f === 'attribute'
      ? // A record's attributes are a flat string map (src/core/record.ts); a damaged value reads as none.
        `SELECT '${f}' AS f, ${e} AS v FROM (SELECT unnest(map_entries(TRY_CAST(TRY_CAST(attributes AS JSON) AS MAP(VARCHAR, VARCHAR)))) AS attr FROM sel)`
      : `SELECT '${f}' AS f, ${e} AS v FROM sel`,
  ).join(' UNION ALL ');
  const rows = await db.all(
    `WITH sel AS MATERIALIZED (SELECT provider, api, request_model, response_model, status_code, finish_reason,
       agent, session_id, agent_role, source, client_ip, server_ip, server_host, api_key_fingerprint, process_comm, attributes FROM calls ${where})
     SELECT f, v, count(*) AS n FROM (${unions}) WHERE v IS NOT NULL GROUP BY f, v
     QUALIFY row_number() OVER (PARTITION BY f ORDER BY n DESC, v) <= ${STORE_CAPS.filterValues}
     ORDER BY f, n DESC, v`,
    p.values,
  );
  const out = Object.fromEntries(FILTER_VALUE_EXPRS.map(([f]) => [f, []])) as unknown as FilterValues;
  for (const r of rows) {
    const f = str(r, 'f') as FilterField | null;
    const v = str(r, 'v');
    if (f !== null && v !== null && f in out) out[f].push({ value: v, count: int(r, 'n') });
  }
  return out;
}
