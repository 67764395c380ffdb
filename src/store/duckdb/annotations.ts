/**
 * Annotations (issue 5 item 7): named scores on calls and turns. `ts` is the target's start, so
 * scores line up with the traffic they judge ("scores become time series like any metric").
 */
import type { AnnotationRecord } from '../../core/record.js';
import { isoMicros } from '../../core/time.js';
import type { AnnotationFilter, AnnotationSeries, AnnotationTimeseries, AnnotationTimeseriesOptions, Page, PageRequest } from '../types.js';
import { STORE_CAPS, StoreError } from '../types.js';
import { int, num, str, type SerialConnection } from './connection.js';
import { parseJson } from './columns.js';
import { encodeCursor } from './cursor.js';
import { checkTime, inList, whereClause } from './filters.js';
import { Params } from './params.js';
import { parseIsoMicros } from './timestamps.js';
import { afterCursor, clampLimit } from './turns.js';

/** Ids are UUIDv7 made by the API: the same id again is the same annotation, ignored. */
export async function insertAnnotation(db: SerialConnection, a: AnnotationRecord): Promise<void> {
  const ts = parseIsoMicros(a.ts);
  const created = parseIsoMicros(a.created_at);
  if (ts === null || created === null || typeof a.id !== 'string' || a.id === '' || !Number.isFinite(a.value)) {
    throw new StoreError('invalid_argument', `annotation ${String(a.id)}: needs an id, a finite value, ts and created_at as ISO 8601 times`);
  }
  await db.exclusive((conn) =>
    conn.run(
      `INSERT OR IGNORE INTO annotations (id, target_kind, target_id, created_at, author, text, name, value, label, ts, record)
       VALUES ($1::VARCHAR, $2::VARCHAR, $3::VARCHAR, make_timestamp($4::BIGINT), $5::VARCHAR, $6::VARCHAR, $7::VARCHAR,
               $8::DOUBLE, $9::VARCHAR, make_timestamp($10::BIGINT), $11::VARCHAR)`,
      [
        a.id,
        a.target_kind,
        a.target_id,
        BigInt(created),
        a.author,
        a.comment ?? '',
        a.name,
        a.value,
        a.label,
        BigInt(ts),
        JSON.stringify(a),
      ],
    ),
  );
}

function annotationConditions(f: AnnotationFilter, p: Params): string[] {
  const out: string[] = [];
  if (checkTime('from', f.from)) out.push(`ts >= ${p.ts(f.from)}`);
  if (checkTime('to', f.to)) out.push(`ts < ${p.ts(f.to)}`);
  inList(p, 'name', 'name', f.name, out);
  inList(p, 'target_kind', 'target_kind', f.target_kind, out);
  inList(p, 'target_id', 'target_id', f.target_id, out);
  // Rows of the version-2 table (no score) are not annotations this llmtap made.
  out.push('ts IS NOT NULL AND name IS NOT NULL AND value IS NOT NULL');
  return out;
}

export async function listAnnotations(db: SerialConnection, filter: AnnotationFilter, page: PageRequest): Promise<Page<AnnotationRecord>> {
  const limit = clampLimit(page.limit);
  const order = page.order === 'asc' ? 'asc' : 'desc';
  const p = new Params();
  const conds = annotationConditions(filter, p);
  const after = afterCursor(p, page.cursor, order, 'ts');
  if (after) conds.push(after);
  const dir = order === 'desc' ? 'DESC' : 'ASC';
  const rows = await db.all(
    `SELECT epoch_us(ts) AS t, id, record FROM annotations ${whereClause(conds)} ORDER BY ts ${dir}, id ${dir} LIMIT ${limit + 1}`,
    p.values,
  );
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  const last = items[items.length - 1];
  return {
    items: items.map((r) => parseJson<AnnotationRecord>(str(r, 'record'), {} as AnnotationRecord)),
    next_cursor: more && last ? encodeCursor({ t: num(last, 't') ?? 0, id: str(last, 'id') ?? '', o: order }) : null,
  };
}

export async function annotationTimeseries(
  db: SerialConnection,
  filter: AnnotationFilter,
  opts: AnnotationTimeseriesOptions,
): Promise<AnnotationTimeseries> {
  const bucketUs = Math.round(opts.bucketMs * 1000);
  if (!Number.isFinite(opts.bucketMs) || bucketUs < 1) throw new StoreError('invalid_argument', 'bucketMs must be a number ≥ 0.001');
  const empty: AnnotationTimeseries = { bucket_ms: opts.bucketMs, buckets: [], series: [] };
  let lo = filter.from;
  let hi = filter.to === undefined ? undefined : filter.to - 1;
  // The names to draw (most scores first) and, when the filter leaves the range open, the data's.
  const p0 = new Params();
  const names = await db.all(
    `SELECT name, count(*) AS n, epoch_us(min(ts)) AS lo, epoch_us(max(ts)) AS hi FROM annotations
     ${whereClause(annotationConditions(filter, p0))} GROUP BY name ORDER BY n DESC, name LIMIT ${STORE_CAPS.scoreSeries}`,
    p0.values,
  );
  if (names.length === 0) return empty;
  if (lo === undefined) lo = Math.min(...names.map((r) => num(r, 'lo') ?? Infinity));
  if (hi === undefined) hi = Math.max(...names.map((r) => num(r, 'hi') ?? -Infinity));
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi < lo) return empty;
  const origin = Math.floor(lo / bucketUs) * bucketUs;
  const nBuckets = Math.floor((hi - origin) / bucketUs) + 1;
  if (nBuckets > STORE_CAPS.maxBuckets) {
    throw new StoreError('invalid_argument', `${nBuckets} buckets exceed the limit of ${STORE_CAPS.maxBuckets}: use a wider bucket`);
  }
  const series = new Map<string, AnnotationSeries>();
  for (const r of names) {
    const name = str(r, 'name') ?? '';
    series.set(name, {
      name,
      mean: new Array<number | null>(nBuckets).fill(null),
      count: new Array<number>(nBuckets).fill(0),
      min: new Array<number | null>(nBuckets).fill(null),
      max: new Array<number | null>(nBuckets).fill(null),
    });
  }
  const p = new Params();
  const conds = annotationConditions({ ...filter, name: [...series.keys()] }, p);
  const rows = await db.all(
    `SELECT name, (epoch_us(ts) - ${p.big(origin)}) // ${p.big(bucketUs)} AS b, avg(value) AS mean, count(*) AS n,
       min(value) AS lo, max(value) AS hi
     FROM annotations ${whereClause(conds)} GROUP BY ALL`,
    p.values,
  );
  for (const r of rows) {
    const s = series.get(str(r, 'name') ?? '');
    const b = int(r, 'b');
    if (!s || b < 0 || b >= nBuckets) continue;
    s.mean[b] = num(r, 'mean');
    s.count[b] = int(r, 'n');
    s.min[b] = num(r, 'lo');
    s.max[b] = num(r, 'hi');
  }
  const buckets: string[] = [];
  for (let b = 0; b < nBuckets; b++) buckets.push(isoMicros(origin + b * bucketUs));
  return { bucket_ms: opts.bucketMs, buckets, series: [...series.values()] };
}
