/**
 * How agent turns map to the `turns` table, both ways. The record is kept as JSON (without its
 * steps, which have their own column) so fields added to the turn record later are stored without
 * a migration; typed columns hold what lists filter, sort and sum.
 */
import type { AgentTurnRecord, TurnStep } from '../../core/record.js';
import { StoreError } from '../types.js';
import { str, type Row } from './connection.js';
import { parseJson, type ColumnSpec } from './columns.js';
import { parseIsoMicros } from './timestamps.js';

/** A turn as prepared for insert: record + derived values computed once. */
export interface TurnRow {
  id: string;
  t: AgentTurnRecord;
  start: number;
  end: number | null;
  /** The record without `steps`. */
  json: string;
  steps: string;
}

export function toTurnRow(t: AgentTurnRecord): TurnRow {
  const start = parseIsoMicros(t.start);
  if (start === null) throw new StoreError('invalid_argument', `turn ${String(t.id)}: start is not an ISO 8601 time`);
  if (typeof t.session_id !== 'string') throw new StoreError('invalid_argument', `turn ${String(t.id)}: session_id is not a string`);
  const { steps, ...rest } = t;
  return {
    id: t.id,
    t,
    start,
    end: parseIsoMicros(t.end),
    json: JSON.stringify(rest),
    steps: JSON.stringify(Array.isArray(steps) ? steps : []),
  };
}

function spec(name: string, kind: ColumnSpec<TurnRow>['kind'], get: ColumnSpec<TurnRow>['get']): ColumnSpec<TurnRow> {
  return { name, kind, get };
}

export const TURN_COLUMNS: ColumnSpec<TurnRow>[] = [
  spec('id', 'varchar', (r) => r.t.id),
  spec('session_id', 'varchar', (r) => r.t.session_id),
  spec('agent', 'varchar', (r) => r.t.agent),
  spec('start_time', 'ts', (r) => r.start),
  spec('end_time', 'ts', (r) => r.end),
  spec('status', 'varchar', (r) => r.t.status),
  spec('record', 'varchar', (r) => r.json),
  spec('source', 'varchar', (r) => r.t.source),
  spec('duration_ms', 'double', (r) => r.t.duration_ms),
  spec('call_count', 'int', (r) => r.t.call_count),
  spec('tool_call_count', 'int', (r) => r.t.tool_call_count),
  spec('input_tokens', 'bigint', (r) => r.t.usage?.input_tokens ?? null),
  spec('output_tokens', 'bigint', (r) => r.t.usage?.output_tokens ?? null),
  spec('cache_read_tokens', 'bigint', (r) => r.t.usage?.cache_read_tokens ?? null),
  spec('cache_write_tokens', 'bigint', (r) => r.t.usage?.cache_write_tokens ?? null),
  spec('reasoning_tokens', 'bigint', (r) => r.t.usage?.reasoning_tokens ?? null),
  spec('usage_estimated', 'bool', (r) => r.t.usage?.estimated === true),
  spec('cost_usd', 'double', (r) => r.t.cost_usd),
  spec('stall_count', 'int', (r) => (Array.isArray(r.t.stalls) ? r.t.stalls.length : 0)),
  spec('loop_count', 'int', (r) => (Array.isArray(r.t.loops) ? r.t.loops.length : 0)),
  spec('user_preview', 'varchar', (r) => r.t.user_preview),
  spec('final_preview', 'varchar', (r) => r.t.final_preview),
  spec('steps', 'varchar', (r) => r.steps),
];

/** A stored turn back from a row selecting `record` and `steps`. */
export function turnRecord(row: Row): AgentTurnRecord {
  const rec = parseJson<Omit<AgentTurnRecord, 'steps'>>(str(row, 'record'), {} as Omit<AgentTurnRecord, 'steps'>);
  return { ...rec, steps: parseJson<TurnStep[]>(str(row, 'steps'), []) };
}
