/**
 * Alert history (issue 5 item 6): incidents (a rule firing, then resolved, under one id) and budget
 * notices, as the alert engine (src/alerts) makes them. The record is kept as JSON; typed columns
 * hold what the history filters and sorts on.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import type { AlertRecord } from '../../core/record.js';
import type { AlertFilter, Page, PageRequest } from '../types.js';
import { StoreError } from '../types.js';
import { num, str, type SerialConnection } from './connection.js';
import { parseJson } from './columns.js';
import { encodeCursor } from './cursor.js';
import { checkTime, inList, whereClause } from './filters.js';
import { Params } from './params.js';
import { parseIsoMicros } from './timestamps.js';
import { afterCursor, clampLimit } from './turns.js';

/** Parameters of one alert row, in the column order of UPSERT_SQL. */
function alertParams(a: AlertRecord): DuckDBValue[] {
  const fired = parseIsoMicros(a.fired_at);
  if (fired === null || typeof a.id !== 'string' || a.id === '') {
    throw new StoreError('invalid_argument', `alert ${String(a.id)}: needs an id and fired_at as an ISO 8601 time`);
  }
  const resolved = parseIsoMicros(a.resolved_at);
  return [
    a.id,
    String(a.rule),
    BigInt(fired),
    resolved === null ? null : BigInt(resolved),
    a.severity ?? null,
    JSON.stringify(a),
    a.rule_kind ?? null,
    a.state ?? null,
    a.metric ?? null,
    typeof a.source === 'string' ? a.source : null,
  ];
}

/**
 * Insert, or update the stored incident of the same id. A `firing` snapshot does not replace a
 * stored `resolved` one: replaying a capture sends an incident's history again in order, and an
 * engine that resolved an incident never fires it again under the same id.
 */
const UPSERT_SQL = `INSERT INTO alerts (id, rule, fired_at, resolved_at, severity, record, rule_kind, state, metric, source)
  VALUES ($1::VARCHAR, $2::VARCHAR, make_timestamp($3::BIGINT), make_timestamp($4::BIGINT), $5::VARCHAR, $6::VARCHAR,
          $7::VARCHAR, $8::VARCHAR, $9::VARCHAR, $10::VARCHAR)
  ON CONFLICT (id) DO UPDATE SET rule = excluded.rule, fired_at = excluded.fired_at, resolved_at = excluded.resolved_at,
    severity = excluded.severity, record = excluded.record, rule_kind = excluded.rule_kind, state = excluded.state,
    metric = excluded.metric, source = excluded.source
  WHERE NOT (alerts.state = 'resolved' AND excluded.state = 'firing')`;

export async function insertAlert(db: SerialConnection, a: AlertRecord): Promise<void> {
  const params = alertParams(a);
  await db.exclusive((conn) => conn.run(UPSERT_SQL, params));
}

function alertConditions(f: AlertFilter, p: Params): string[] {
  const out: string[] = [];
  if (checkTime('from', f.from)) out.push(`fired_at >= ${p.ts(f.from)}`);
  if (checkTime('to', f.to)) out.push(`fired_at < ${p.ts(f.to)}`);
  inList(p, 'rule', 'rule', f.rule, out);
  inList(p, 'state', 'state', f.state, out);
  inList(p, 'rule_kind', 'rule_kind', f.rule_kind, out);
  inList(p, 'source', 'source', f.source, out);
  return out;
}

function alertRecord(text: string | null): AlertRecord {
  const a = parseJson<AlertRecord>(text, {} as AlertRecord);
  // Records stored before alerts named their source (schema version 6) have none: not known.
  a.source ??= null;
  return a;
}

export async function listAlerts(db: SerialConnection, filter: AlertFilter, page: PageRequest): Promise<Page<AlertRecord>> {
  const limit = clampLimit(page.limit);
  const order = page.order === 'asc' ? 'asc' : 'desc';
  const p = new Params();
  const conds = alertConditions(filter, p);
  const after = afterCursor(p, page.cursor, order, 'fired_at');
  if (after) conds.push(after);
  const dir = order === 'desc' ? 'DESC' : 'ASC';
  const rows = await db.all(
    `SELECT epoch_us(fired_at) AS t, id, record FROM alerts ${whereClause(conds)}
     ORDER BY fired_at ${dir}, id ${dir} LIMIT ${limit + 1}`,
    p.values,
  );
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  const last = items[items.length - 1];
  return {
    items: items.map((r) => alertRecord(str(r, 'record'))),
    next_cursor: more && last ? encodeCursor({ t: num(last, 't') ?? 0, id: str(last, 'id') ?? '', o: order }) : null,
  };
}

export async function getAlert(db: SerialConnection, id: string): Promise<AlertRecord | null> {
  const rows = await db.all('SELECT record FROM alerts WHERE id = $1::VARCHAR', [String(id)]);
  return rows[0] ? alertRecord(str(rows[0], 'record')) : null;
}
