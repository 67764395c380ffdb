/**
 * Reads over agent turns and sessions (issue 4). A session is not a table: it is the turns sharing
 * a session_id, grouped in SQL at read time. Measured with bench/store.ts (83,000 turns in 16,700
 * sessions over 1M calls, on a loaded 2-core machine): a page of sessions p95 90–170 ms, within
 * the 200 ms the API aims at; a sessions table kept up to date on every turn snapshot would cost
 * every write a read-modify-write, for a list read far less often.
 */
import type { AgentTurnRecord } from '../../core/record.js';
import { isoMicros } from '../../core/time.js';
import type { CallListItem, Page, PageRequest, SessionDetail, SessionFilter, SessionSummary, TurnDetail, TurnFilter } from '../types.js';
import { STORE_CAPS } from '../types.js';
import { callListItem } from './columns.js';
import { int, num, str, type Row, type SerialConnection } from './connection.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { sessionHaving, sessionTurnConditions, turnConditions, whereClause } from './filters.js';
import { Params } from './params.js';
import { parseIsoMicros } from './timestamps.js';
import { turnRecord } from './turn-columns.js';

export function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return STORE_CAPS.pageDefault;
  return Math.min(STORE_CAPS.pageMax, Math.max(1, Math.trunc(limit)));
}

/** Keyset condition continuing after (t, id) in `order`, over a time column and an id column. */
export function afterCursor(
  p: Params,
  cursor: string | null | undefined,
  order: 'asc' | 'desc',
  timeCol = 'request_start',
  idCol = 'id',
): string | null {
  if (cursor === undefined || cursor === null || cursor === '') return null;
  const c = decodeCursor(cursor, order);
  const t = p.ts(c.t);
  const id = p.str(c.id);
  const op = order === 'desc' ? '<' : '>';
  // The first, redundant term is a plain range on the time column: zone maps skip row groups with it.
  return `${timeCol} ${op}= ${t} AND (${timeCol} ${op} ${t} OR (${timeCol} = ${t} AND ${idCol} ${op} ${id}))`;
}

function orderOf(page: PageRequest): 'asc' | 'desc' {
  return page.order === 'asc' ? 'asc' : 'desc';
}

export async function listTurns(db: SerialConnection, filter: TurnFilter, page: PageRequest): Promise<Page<AgentTurnRecord>> {
  const limit = clampLimit(page.limit);
  const order = orderOf(page);
  const p = new Params();
  const conds = turnConditions(filter, p);
  const after = afterCursor(p, page.cursor, order, 'start_time');
  if (after) conds.push(after);
  const dir = order === 'desc' ? 'DESC' : 'ASC';
  // Two steps, as for calls: the page's keys from narrow columns, then only those rows' JSON.
  const keys = await db.all(
    `SELECT epoch_us(start_time) AS t, id FROM turns ${whereClause(conds)}
     ORDER BY start_time ${dir}, id ${dir} LIMIT ${limit + 1}`,
    p.values,
  );
  const more = keys.length > limit;
  const pageKeys = more ? keys.slice(0, limit) : keys;
  const last = pageKeys[pageKeys.length - 1];
  if (!last) return { items: [], next_cursor: null };
  const byId = await turnsById(db, pageKeys);
  return {
    items: pageKeys.flatMap((k) => {
      const t = byId.get(str(k, 'id') ?? '');
      return t ? [t] : [];
    }),
    next_cursor: more ? encodeCursor({ t: num(last, 't') ?? 0, id: str(last, 'id') ?? '', o: order }) : null,
  };
}

/** The turns of `keys` (rows with `t` µs and `id`), by id. */
async function turnsById(db: SerialConnection, keys: Row[]): Promise<Map<string, AgentTurnRecord>> {
  const q = new Params();
  const ts = keys.map((k) => num(k, 't') ?? 0);
  const rows = await db.all(
    `SELECT id, record, steps FROM turns
     WHERE start_time BETWEEN ${q.ts(Math.min(...ts))} AND ${q.ts(Math.max(...ts))}
       AND ${q.inStr('id', keys.map((k) => str(k, 'id') ?? ''))}`,
    q.values,
  );
  return new Map(rows.map((r) => [str(r, 'id') ?? '', turnRecord(r)]));
}

export async function getTurn(db: SerialConnection, id: string): Promise<TurnDetail | null> {
  const rows = await db.all('SELECT record, steps FROM turns WHERE id = $1::VARCHAR', [String(id)]);
  const row = rows[0];
  if (!row) return null;
  const turn = turnRecord(row);
  return { turn, calls: await turnCalls(db, turn) };
}

/**
 * The turn's calls in step order. The steps name them and carry their request times, so the lookup
 * is a primary-key probe inside a time range (zone maps skip the rest of the table). A turn stored
 * without steps falls back on the calls' own turn_id.
 */
async function turnCalls(db: SerialConnection, turn: AgentTurnRecord): Promise<CallListItem[]> {
  const steps = turn.steps.slice(0, STORE_CAPS.turnCalls);
  const select = `SELECT id, record, left(output_text, ${STORE_CAPS.previewChars}) AS output_preview FROM calls`;
  if (steps.length === 0) {
    const start = parseIsoMicros(turn.start);
    const p = new Params();
    const rows = await db.all(
      `${select} WHERE turn_id = ${p.str(turn.id)}${start === null ? '' : ` AND request_start >= ${p.ts(start)}`}
       ORDER BY request_start, id LIMIT ${STORE_CAPS.turnCalls}`,
      p.values,
    );
    return rows.map(callListItem);
  }
  const times = steps.map((s) => parseIsoMicros(s.request_start)).filter((t): t is number => t !== null);
  const p = new Params();
  const range =
    times.length === steps.length ? `request_start BETWEEN ${p.ts(Math.min(...times))} AND ${p.ts(Math.max(...times))} AND ` : '';
  const ids = steps.map((s) => String(s.call_id));
  const rows = await db.all(`${select} WHERE ${range}id IN (SELECT unnest(${p.strList(ids)}))`, p.values);
  const byId = new Map(rows.map((r) => [str(r, 'id') ?? '', r]));
  return ids.flatMap((cid) => {
    const r = byId.get(cid);
    return r ? [callListItem(r)] : [];
  });
}

/** One row per session: sums over its turns (the grouped select every session read shares). */
function sessionsSql(where: string, having: string[]): string {
  return `SELECT session_id,
      arg_min(agent, (start_time, id)) AS agent,
      arg_min(source, (start_time, id)) AS source,
      epoch_us(min(start_time)) AS start_us,
      min(start_time) AS first_start,
      epoch_us(max(coalesce(end_time, start_time))) AS end_us,
      count(*) AS turn_count,
      sum(call_count) AS call_count,
      sum(tool_call_count) AS tool_call_count,
      sum(input_tokens) AS input_tokens,
      sum(output_tokens) AS output_tokens,
      sum(cache_read_tokens) AS cache_read_tokens,
      sum(cache_write_tokens) AS cache_write_tokens,
      sum(reasoning_tokens) AS reasoning_tokens,
      bool_or(usage_estimated) AS usage_estimated,
      round(sum(cost_usd), 12) AS cost_usd,
      arg_max(status, (start_time, id)) AS last_status,
      arg_max(id, (start_time, id)) AS last_turn_id,
      arg_min(user_preview, (start_time, id)) AS first_user_preview
    FROM turns ${where}
    GROUP BY session_id
    ${having.length > 0 ? `HAVING ${having.join(' AND ')}` : ''}`;
}

function sessionSummary(r: Row): SessionSummary {
  const status = str(r, 'last_status');
  return {
    session_id: str(r, 'session_id') ?? '',
    agent: str(r, 'agent') ?? '',
    source: str(r, 'source') ?? '',
    start: isoMicros(num(r, 'start_us') ?? 0),
    end: num(r, 'end_us') === null ? null : isoMicros(num(r, 'end_us')!),
    turn_count: int(r, 'turn_count'),
    call_count: int(r, 'call_count'),
    tool_call_count: int(r, 'tool_call_count'),
    usage: {
      input_tokens: num(r, 'input_tokens'),
      output_tokens: num(r, 'output_tokens'),
      cache_read_tokens: num(r, 'cache_read_tokens'),
      cache_write_tokens: num(r, 'cache_write_tokens'),
      reasoning_tokens: num(r, 'reasoning_tokens'),
      estimated: r['usage_estimated'] === true,
    },
    cost_usd: num(r, 'cost_usd'),
    last_status: status === 'complete' || status === 'incomplete' ? status : 'in_progress',
    last_turn_id: str(r, 'last_turn_id') ?? '',
    first_user_preview: str(r, 'first_user_preview'),
  };
}

export async function listSessions(db: SerialConnection, filter: SessionFilter, page: PageRequest): Promise<Page<SessionSummary>> {
  const limit = clampLimit(page.limit);
  const order = orderOf(page);
  const p = new Params();
  const where = whereClause(sessionTurnConditions(filter, p));
  const having = sessionHaving(filter, p);
  const after = afterCursor(p, page.cursor, order, 'first_start', 'session_id');
  const dir = order === 'desc' ? 'DESC' : 'ASC';
  const rows = await db.all(
    `SELECT * FROM (${sessionsSql(where, having)}) ${after ? `WHERE ${after}` : ''}
     ORDER BY first_start ${dir}, session_id ${dir} LIMIT ${limit + 1}`,
    p.values,
  );
  const more = rows.length > limit;
  const items = (more ? rows.slice(0, limit) : rows).map(sessionSummary);
  const last = more ? rows[limit - 1] : undefined;
  return {
    items,
    next_cursor: last ? encodeCursor({ t: num(last, 'start_us') ?? 0, id: str(last, 'session_id') ?? '', o: order }) : null,
  };
}

export async function getSession(db: SerialConnection, sessionId: string): Promise<SessionDetail | null> {
  const p = new Params();
  const where = whereClause(sessionTurnConditions({ session_id: [String(sessionId)] }, p));
  const summary = (await db.all(sessionsSql(where, []), p.values))[0];
  if (!summary) return null;
  const rows = await db.all(
    `SELECT record, steps FROM turns WHERE session_id = $1::VARCHAR ORDER BY start_time, id LIMIT ${STORE_CAPS.sessionTurns + 1}`,
    [String(sessionId)],
  );
  const truncated = rows.length > STORE_CAPS.sessionTurns;
  return {
    session: sessionSummary(summary),
    turns: (truncated ? rows.slice(0, STORE_CAPS.sessionTurns) : rows).map(turnRecord),
    turns_truncated: truncated,
  };
}
