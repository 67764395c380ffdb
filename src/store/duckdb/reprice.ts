/**
 * Pricing stored calls again (issue 5 item 4: "a command to reprice stored calls when prices
 * change"). The selection is walked in (request_start, id) order, one batch per transaction on
 * the writer connection, so memory stays bounded however many calls the file holds and a crash
 * leaves every batch either repriced or not. Turns holding a changed call are summed again from
 * their stored calls (turn cost = sum of its calls' costs, src/agents/turn-state.ts).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { listValue } from './node-api.js';
import type { AgentTurnRecord, LlmCallRecord } from '../../core/record.js';
import type { CallFilter, CallRepricer, RepriceOptions, RepriceResult } from '../types.js';
import { StoreError } from '../types.js';
import { int, num, str, type Row, type SerialConnection } from './connection.js';
import { parseJson } from './columns.js';
import { callConditions, whereClause } from './filters.js';
import { Params } from './params.js';

/** Default batch: the store sink's call batch (src/pipeline/store-sink.ts, 2,000 calls). */
export const REPRICE_BATCH = 2_000;
/** Larger batches only hold more records in memory at once (the insert path's largest, README). */
export const REPRICE_BATCH_MAX = 20_000;

/** The turn anomaly the tracker sets when some of a turn's calls have no price (turn-state.ts). */
const COST_PARTIAL = 'agent_turn_cost_partial';

/** Same rounding as the pricer's (src/cost/call-pricer.ts roundUsd): 12 decimals. */
function roundUsd(x: number): number {
  return Math.round(x * 1e12) / 1e12;
}

interface Update {
  id: string;
  cost: number | null;
  status: string;
  record: string;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export async function repriceCalls(
  writer: SerialConnection,
  price: CallRepricer,
  filter: CallFilter,
  opts: RepriceOptions,
): Promise<RepriceResult> {
  const batchSize = Math.min(REPRICE_BATCH_MAX, Math.max(1, Math.trunc(opts.batchSize ?? REPRICE_BATCH)));
  const dryRun = opts.dryRun === true;
  const out: RepriceResult = {
    scanned: 0,
    changed: 0,
    unchanged: 0,
    now_priced: 0,
    now_unpriced: 0,
    cost_before_usd: null,
    cost_after_usd: null,
    turns_updated: 0,
    dry_run: dryRun,
  };
  const add = (sum: number | null, v: number | null): number | null => (v === null ? sum : roundUsd((sum ?? 0) + v));
  const walk: { after: { t: number; id: string } | null } = { after: null };
  for (;;) {
    const cursor = walk.after;
    const done = await writer.exclusive(async (conn) => {
      const p = new Params();
      const conds = callConditions(filter, p);
      if (cursor) {
        const t = p.ts(cursor.t);
        conds.push(`request_start >= ${t} AND (request_start > ${t} OR id > ${p.str(cursor.id)})`);
      }
      const rows = (
        await conn.runAndReadAll(
          `SELECT epoch_us(request_start) AS t, id, record FROM calls ${whereClause(conds)}
           ORDER BY request_start, id LIMIT ${batchSize}`,
          p.values,
        )
      ).getRowObjectsJS();
      if (rows.length === 0) return true;
      const last = rows[rows.length - 1]!;
      walk.after = { t: num(last, 't') ?? 0, id: str(last, 'id') ?? '' };
      const updates: Update[] = [];
      const turnIds = new Set<string>();
      for (const row of rows) {
        const u = repriceRow(row, price, out, add);
        if (u === null) continue;
        updates.push(u.update);
        if (u.turnId !== null) turnIds.add(u.turnId);
      }
      out.turns_updated += turnIds.size;
      if (dryRun || updates.length === 0) return rows.length < batchSize;
      await conn.run('BEGIN TRANSACTION');
      try {
        await writeCalls(conn, updates);
        await resumTurns(conn, [...turnIds]);
        await conn.run('COMMIT');
      } catch (err) {
        await conn.run('ROLLBACK').catch(() => undefined);
        throw err;
      }
      return rows.length < batchSize;
    });
    if (done) return out;
  }
}

/** Price one stored call; the update when anything changed, and its turn. */
function repriceRow(
  row: Row,
  price: CallRepricer,
  out: RepriceResult,
  add: (sum: number | null, v: number | null) => number | null,
): { update: Update; turnId: string | null } | null {
  const stored = parseJson<Omit<LlmCallRecord, 'content'> | null>(str(row, 'record'), null);
  out.scanned++;
  if (stored === null || typeof stored !== 'object') {
    // A damaged record cannot be priced; it keeps what it has.
    out.unchanged++;
    return null;
  }
  const before = typeof stored.cost_usd === 'number' ? stored.cost_usd : null;
  // The content (output text) has its own columns and plays no part in a price.
  const next = price({ ...stored, content: { output_text: '', reasoning_text: '' } });
  const cost = typeof next.cost_usd === 'number' && Number.isFinite(next.cost_usd) ? next.cost_usd : null;
  const anomalies = Array.isArray(next.anomalies) ? next.anomalies.map(String) : stored.anomalies;
  out.cost_before_usd = add(out.cost_before_usd, before);
  out.cost_after_usd = add(out.cost_after_usd, cost);
  const oldAnomalies = Array.isArray(stored.anomalies) ? stored.anomalies : [];
  if (cost === before && next.cost_status === stored.cost_status && sameList(anomalies, oldAnomalies)) {
    out.unchanged++;
    return null;
  }
  out.changed++;
  if (before === null && cost !== null) out.now_priced++;
  if (before !== null && cost === null) out.now_unpriced++;
  const record = JSON.stringify({ ...stored, cost_usd: cost, cost_status: next.cost_status, anomalies });
  return {
    update: { id: String(stored.id ?? str(row, 'id')), cost, status: next.cost_status, record },
    turnId: typeof stored.turn_id === 'string' ? stored.turn_id : null,
  };
}

/** One UPDATE for the batch: the new values as parallel lists, joined on the id (no key changes). */
async function writeCalls(conn: DuckDBConnection, updates: Update[]): Promise<void> {
  await conn.run(
    `UPDATE calls SET cost_usd = s.cost, cost_status = s.status, record = s.record
     FROM (SELECT unnest($1::VARCHAR[]) AS id, unnest($2::DOUBLE[]) AS cost, unnest($3::VARCHAR[]) AS status,
                  unnest($4::VARCHAR[]) AS record) s
     WHERE calls.id = s.id`,
    [
      listValue(updates.map((u) => u.id)),
      listValue(updates.map((u) => u.cost)),
      listValue(updates.map((u) => u.status)),
      listValue(updates.map((u) => u.record)),
    ],
  );
}

/**
 * Sum each turn's cost again from its stored calls: the sum of the calls that have a cost, null
 * when none has one; `agent_turn_cost_partial` set when some have none (as the tracker does).
 * A call removed by retention no longer counts (its turn outlived it: DEFAULT_RETENTION keeps
 * both for the same time).
 */
async function resumTurns(conn: DuckDBConnection, turnIds: string[]): Promise<void> {
  if (turnIds.length === 0) return;
  const sums = (
    await conn.runAndReadAll(
      `SELECT c.turn_id AS id, round(sum(c.cost_usd), 12) AS cost, count(*) FILTER (WHERE c.cost_usd IS NULL) AS unpriced,
              any_value(t.record) AS record
       FROM calls c JOIN turns t ON t.id = c.turn_id
       WHERE c.turn_id IN (SELECT unnest($1::VARCHAR[])) GROUP BY c.turn_id`,
      [listValue(turnIds)],
    )
  ).getRowObjectsJS();
  const ids: string[] = [];
  const costs: (number | null)[] = [];
  const records: string[] = [];
  for (const r of sums) {
    const turn = parseJson<Omit<AgentTurnRecord, 'steps'> | null>(str(r, 'record'), null);
    if (turn === null || typeof turn !== 'object') continue;
    const cost = num(r, 'cost');
    const others = (Array.isArray(turn.anomalies) ? turn.anomalies : []).filter((a) => a !== COST_PARTIAL);
    const anomalies = cost !== null && int(r, 'unpriced') > 0 ? [...others, COST_PARTIAL] : others;
    ids.push(String(str(r, 'id')));
    costs.push(cost);
    records.push(JSON.stringify({ ...turn, cost_usd: cost, anomalies }));
  }
  if (ids.length === 0) return;
  await conn.run(
    `UPDATE turns SET cost_usd = s.cost, record = s.record
     FROM (SELECT unnest($1::VARCHAR[]) AS id, unnest($2::DOUBLE[]) AS cost, unnest($3::VARCHAR[]) AS record) s
     WHERE turns.id = s.id`,
    [listValue(ids), listValue(costs), listValue(records)],
  );
}

export function checkRepricer(price: unknown): asserts price is CallRepricer {
  if (typeof price !== 'function') throw new StoreError('invalid_argument', 'repriceCalls needs a price function');
}
