/**
 * Spend over stored calls (issue 5 item 4): broken down by a dimension or an attribute, and over
 * time. A call without a price is counted as unpriced, never summed as $0 (DESIGN §3
 * `cost_status`); a group whose calls are all unpriced has a null cost.
 */
import { isoMicros } from '../../core/time.js';
import type { CallFilter, CostBreakdown, CostDimension, CostGroup, CostSeries, CostTimeseries, CostTimeseriesOptions } from '../types.js';
import { STORE_CAPS, StoreError } from '../types.js';
import { int, num, str, type Row, type SerialConnection } from './connection.js';
import { ATTRIBUTE_NAME, attributePath, callConditions, whereClause } from './filters.js';
import { Params } from './params.js';
import { compareNames } from '../../core/name-order.js';

/**
 * Built-in dimensions (src/config/types.ts BUILTIN_DIMENSIONS) as columns, with the meaning of
 * src/metrics/dimensions.ts `dimensionValue`: `server` is the Host the client named, else the IP
 * (the stored row has no server port), `client` the client IP, `key` the key fingerprint,
 * `process` the calling program's name (eBPF sources; none for captured calls).
 */
const DIMENSION_EXPR: Record<string, string> = {
  provider: 'provider',
  api: 'api',
  model: 'model',
  server: 'coalesce(server_host, server_ip)',
  agent: 'agent',
  client: 'client_ip',
  key: 'api_key_fingerprint',
  source: 'source',
  // The program's name, not its pid: pids churn with every restart (src/metrics/dimensions.ts).
  process: 'process_comm',
};

/** The SQL expression of a dimension; attribute names are bound as a JSON path, never spliced. */
export function dimensionExpr(by: CostDimension, p: Params): string {
  if (typeof by !== 'string') throw new StoreError('invalid_argument', 'cost dimension must be a string');
  const builtin = Object.hasOwn(DIMENSION_EXPR, by) ? DIMENSION_EXPR[by] : undefined;
  if (builtin !== undefined) return builtin;
  if (!ATTRIBUTE_NAME.test(by)) {
    throw new StoreError('invalid_argument', `cannot break costs down by ${JSON.stringify(by.slice(0, 64))}: not a dimension or attribute name`);
  }
  return `json_extract_string(attributes, ${p.str(attributePath(by))})`;
}

const GROUP_SELECT = `count(*) AS calls,
  count(*) FILTER (WHERE cost_usd IS NOT NULL AND cost_status IS DISTINCT FROM 'estimated') AS priced_calls,
  count(*) FILTER (WHERE cost_usd IS NOT NULL AND cost_status = 'estimated') AS estimated_calls,
  count(*) FILTER (WHERE cost_usd IS NULL AND cost_status IS DISTINCT FROM 'not_applicable') AS unpriced_calls,
  round(sum(cost_usd), 12) AS cost_usd,
  round(sum(cost_usd) FILTER (WHERE cost_status = 'estimated'), 12) AS estimated_cost_usd,
  coalesce(sum(input_tokens), 0) AS input_tokens,
  coalesce(sum(output_tokens), 0) AS output_tokens,
  coalesce(sum(cache_read_tokens), 0) AS cache_read_tokens,
  coalesce(sum(cache_write_tokens), 0) AS cache_write_tokens,
  coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens`;

function costGroup(r: Row, value: string | null): CostGroup {
  return {
    value,
    calls: int(r, 'calls'),
    priced_calls: int(r, 'priced_calls'),
    estimated_calls: int(r, 'estimated_calls'),
    unpriced_calls: int(r, 'unpriced_calls'),
    cost_usd: num(r, 'cost_usd'),
    estimated_cost_usd: num(r, 'estimated_cost_usd'),
    input_tokens: int(r, 'input_tokens'),
    output_tokens: int(r, 'output_tokens'),
    cache_read_tokens: int(r, 'cache_read_tokens'),
    cache_write_tokens: int(r, 'cache_write_tokens'),
    reasoning_tokens: int(r, 'reasoning_tokens'),
  };
}

export async function costs(db: SerialConnection, filter: CallFilter, opts: { by: CostDimension }): Promise<CostBreakdown> {
  const p = new Params();
  const expr = dimensionExpr(opts.by, p);
  const where = whereClause(callConditions(filter, p));
  // One scan: the groups and, through GROUPING SETS, the selection's total (the row whose
  // grouping flag is set).
  const rows = await db.all(
    `SELECT g, grouping(g) AS is_total, ${GROUP_SELECT}
     FROM (SELECT *, ${expr} AS g FROM calls ${where}) GROUP BY GROUPING SETS ((g), ())
     ORDER BY is_total DESC, cost_usd DESC NULLS LAST, calls DESC, g NULLS LAST
     LIMIT ${STORE_CAPS.costGroups + 2}`,
    p.values,
  );
  const totalRow = rows.find((r) => int(r, 'is_total') === 1);
  const groupRows = rows.filter((r) => int(r, 'is_total') !== 1);
  const total = totalRow ? costGroup(totalRow, null) : costGroup({}, null);
  return {
    by: opts.by,
    total,
    groups: groupRows.slice(0, STORE_CAPS.costGroups).map((r) => costGroup(r, str(r, 'g'))),
    groups_truncated: groupRows.length > STORE_CAPS.costGroups,
  };
}

const NONE_GROUP = '(none)';
const OTHER_GROUP = '(other)';

export async function costTimeseries(db: SerialConnection, filter: CallFilter, opts: CostTimeseriesOptions): Promise<CostTimeseries> {
  const bucketUs = Math.round(opts.bucketMs * 1000);
  if (!Number.isFinite(opts.bucketMs) || bucketUs < 1) throw new StoreError('invalid_argument', 'bucketMs must be a number ≥ 0.001');
  const groupLimit = Math.min(50, Math.max(1, Math.trunc(opts.groupLimit ?? 10)));
  const by = opts.by ?? null;
  const empty: CostTimeseries = { bucket_ms: opts.bucketMs, by, buckets: [], series: [] };

  // The range: the filter's bounds, else the data's (as the call time series, aggregates.ts).
  let lo = filter.from;
  let hi = filter.to === undefined ? undefined : filter.to - 1;
  if (lo === undefined || hi === undefined) {
    const p = new Params();
    const r = (await db.all(`SELECT epoch_us(min(request_start)) AS lo, epoch_us(max(request_start)) AS hi FROM calls ${whereClause(callConditions(filter, p))}`, p.values))[0] ?? {};
    lo ??= num(r, 'lo') ?? undefined;
    hi ??= num(r, 'hi') ?? undefined;
  }
  if (lo === undefined || hi === undefined || hi < lo) return empty;
  const origin = Math.floor(lo / bucketUs) * bucketUs;
  const nBuckets = Math.floor((hi - origin) / bucketUs) + 1;
  if (nBuckets > STORE_CAPS.maxBuckets) {
    throw new StoreError('invalid_argument', `${nBuckets} buckets exceed the limit of ${STORE_CAPS.maxBuckets}: use a wider bucket`);
  }

  // Grouped: the top groups by spend (then calls); the rest become "(other)".
  let top: string[] | null = null;
  if (by !== null) {
    const p = new Params();
    const g = `coalesce(${dimensionExpr(by, p)}, '${NONE_GROUP}')`;
    const rows = await db.all(
      `SELECT ${g} AS g, sum(cost_usd) AS c, count(*) AS n FROM calls ${whereClause(callConditions(filter, p))}
       GROUP BY 1 ORDER BY c DESC NULLS LAST, n DESC, g LIMIT ${groupLimit + 1}`,
      p.values,
    );
    const groups = rows.map((r) => str(r, 'g') ?? NONE_GROUP);
    top = groups.length > groupLimit ? groups.slice(0, groupLimit) : null;
  }

  const p = new Params();
  let groupSql = 'NULL';
  if (by !== null) {
    const g = `coalesce(${dimensionExpr(by, p)}, '${NONE_GROUP}')`;
    groupSql = top === null ? g : `CASE WHEN ${p.inStr(g, top)} THEN ${g} ELSE '${OTHER_GROUP}' END`;
  }
  const bucket = `(epoch_us(request_start) - ${p.big(origin)}) // ${p.big(bucketUs)}`;
  const rows = await db.all(
    `SELECT ${bucket} AS b, ${groupSql} AS g, count(*) AS calls,
       count(*) FILTER (WHERE cost_usd IS NULL AND cost_status IS DISTINCT FROM 'not_applicable') AS unpriced_calls, round(sum(cost_usd), 12) AS cost_usd
     FROM calls ${whereClause(callConditions(filter, p))} GROUP BY ALL`,
    p.values,
  );
  const series = new Map<string | null, CostSeries>();
  const spend = new Map<string | null, number>();
  for (const r of rows) {
    const b = int(r, 'b');
    if (b < 0 || b >= nBuckets) continue;
    const key = by === null ? null : (str(r, 'g') ?? NONE_GROUP);
    let s = series.get(key);
    if (!s) {
      s = {
        group: key,
        cost_usd: new Array<number | null>(nBuckets).fill(null),
        calls: new Array<number>(nBuckets).fill(0),
        unpriced_calls: new Array<number>(nBuckets).fill(0),
      };
      series.set(key, s);
    }
    s.cost_usd[b] = num(r, 'cost_usd');
    s.calls[b] = int(r, 'calls');
    s.unpriced_calls[b] = int(r, 'unpriced_calls');
    spend.set(key, (spend.get(key) ?? 0) + (num(r, 'cost_usd') ?? 0));
  }
  const buckets: string[] = [];
  for (let b = 0; b < nBuckets; b++) buckets.push(isoMicros(origin + b * bucketUs));
  const ordered = [...series.values()].sort((a, b) => {
    if (a.group === OTHER_GROUP) return 1;
    if (b.group === OTHER_GROUP) return -1;
    return (spend.get(b.group) ?? 0) - (spend.get(a.group) ?? 0) || compareNames(String(a.group), String(b.group));
  });
  return { bucket_ms: opts.bucketMs, by, buckets, series: ordered };
}
