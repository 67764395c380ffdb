/**
 * WHERE clauses from filters. Column names come from this file only; every value is a bound
 * parameter (params.ts). A value that matches nothing yields no rows, never an error.
 */
import type { CallFilter, ExchangeFilter, SessionFilter, StatusFilter, TurnFilter } from '../types.js';
import { STORE_CAPS, StoreError } from '../types.js';
import type { Params } from './params.js';

export function checkList(name: string, values: readonly unknown[] | undefined): values is readonly string[] {
  if (values === undefined) return false;
  if (!Array.isArray(values)) throw new StoreError('invalid_argument', `filter ${name} must be a list`);
  if (values.length > STORE_CAPS.filterListMax) {
    throw new StoreError('invalid_argument', `filter ${name} has more than ${STORE_CAPS.filterListMax} values`);
  }
  return true;
}

export function checkTime(name: string, v: number | undefined): v is number {
  if (v === undefined) return false;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new StoreError('invalid_argument', `filter ${name} must be integer µs since the epoch`);
  }
  return true;
}

/** An empty list matches nothing (the user selected no value), like SQL `IN ()` would. */
export function inList(p: Params, expr: string, name: string, values: readonly string[] | undefined, out: string[]): void {
  if (!checkList(name, values)) return;
  out.push(values.length === 0 ? 'FALSE' : p.inStr(expr, values.map(String)));
}

/** LIKE pattern matching `q` literally anywhere (ESCAPE '\'). */
export function containsPattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function checkQ(q: string | undefined): q is string {
  if (q === undefined || q === '') return false;
  if (typeof q !== 'string') throw new StoreError('invalid_argument', 'filter q must be a string');
  if (q.length > STORE_CAPS.qChars) {
    throw new StoreError('invalid_argument', `filter q is longer than ${STORE_CAPS.qChars} characters`);
  }
  return true;
}

const STATUS_CLASSES: Record<string, [number, number]> = {
  '1xx': [100, 199],
  '2xx': [200, 299],
  '3xx': [300, 399],
  '4xx': [400, 499],
  '5xx': [500, 599],
};

/** status ≥ 400 or an error: `errorExpr` is the table's notion of an error. */
function statusTerm(p: Params, s: StatusFilter, errorExpr: string): string {
  if (typeof s === 'number') {
    return Number.isInteger(s) && s >= 0 && s <= 999 ? `status_code = ${p.int(s)}` : 'FALSE';
  }
  const range = STATUS_CLASSES[s];
  if (range) return `status_code BETWEEN ${p.int(range[0])} AND ${p.int(range[1])}`;
  if (s === 'error') return errorExpr;
  if (s === 'none') return 'status_code IS NULL';
  return 'FALSE';
}

function statusFilter(p: Params, values: readonly StatusFilter[] | undefined, errorExpr: string, out: string[]): void {
  if (!checkList('status', values)) return;
  if (values.length === 0) out.push('FALSE');
  else out.push(`(${values.map((s) => statusTerm(p, s, errorExpr)).join(' OR ')})`);
}

function timeRange(p: Params, f: { from?: number; to?: number }, out: string[], column = 'request_start'): void {
  if (checkTime('from', f.from)) out.push(`${column} >= ${p.ts(f.from)}`);
  if (checkTime('to', f.to)) out.push(`${column} < ${p.ts(f.to)}`);
}

function checkBool(name: string, v: boolean | undefined): v is boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new StoreError('invalid_argument', `filter ${name} must be true or false`);
  return true;
}

/** Conditions over `calls` (unqualified column names), ANDed by the caller. */
export function callConditions(f: CallFilter & PackSearched, p: Params): string[] {
  const out: string[] = [];
  timeRange(p, f, out);
  inList(p, 'provider', 'provider', f.provider, out);
  inList(p, 'api', 'api', f.api, out);
  if (checkList('model', f.model)) {
    if (f.model.length === 0) out.push('FALSE');
    else out.push(`(${p.inStr('request_model', f.model)} OR ${p.inStr('response_model', f.model)})`);
  }
  statusFilter(p, f.status, 'is_error', out);
  inList(p, 'finish_reason', 'finish_reason', f.finish_reason, out);
  if (f.stream !== undefined) out.push(f.stream === true ? 'stream' : 'NOT stream');
  inList(p, 'agent', 'agent', f.agent, out);
  inList(p, 'session_id', 'session_id', f.session_id, out);
  inList(p, 'turn_id', 'turn_id', f.turn_id, out);
  inList(p, 'agent_role', 'agent_role', f.agent_role, out);
  inList(p, 'source', 'source', f.source, out);
  inList(p, 'client_ip', 'client_ip', f.client_ip, out);
  if (checkList('server', f.server)) {
    if (f.server.length === 0) out.push('FALSE');
    else out.push(`(${p.inStr('server_ip', f.server)} OR ${p.inStr('server_host', f.server)})`);
  }
  inList(p, 'api_key_fingerprint', 'api_key_fingerprint', f.api_key_fingerprint, out);
  if (checkList('attribute', f.attribute)) {
    const terms = f.attribute.map((nv) => attributeTerm(p, String(nv)));
    out.push(terms.length === 0 ? 'FALSE' : `(${terms.join(' OR ')})`);
  }
  inList(p, 'process_comm', 'process', f.process, out);
  if (checkList('pid', f.pid)) {
    const pids = f.pid.filter((n) => Number.isInteger(n) && Math.abs(n) <= 2 ** 31 - 1);
    out.push(pids.length === 0 ? 'FALSE' : `process_pid IN (${pids.map((n) => p.int(n)).join(', ')})`);
  }
  if (checkQ(f.q)) {
    const pat = p.str(containsPattern(f.q));
    const like = (col: string): string => `${col} ILIKE ${pat} ESCAPE '\\'`;
    out.push(
      `(${like('output_text')} OR ${like('reasoning_text')} OR id IN (SELECT id FROM exchanges WHERE ${like(
        bodyText('request_body'),
      )} OR ${like(bodyText('response_body'))})${packedMatch(f, p)})`,
    );
  }
  return out;
}

/**
 * A filter whose `q` has been run over the bodies in pack files (body-search.ts): SQL cannot read
 * them, so the store finds the matching exchange ids first and the condition names them.
 */
export interface PackSearched {
  readonly packedBodyMatches?: readonly string[];
}

function packedMatch(f: PackSearched, p: Params): string {
  const ids = f.packedBodyMatches;
  return ids === undefined || ids.length === 0 ? '' : ` OR id IN (SELECT unnest(${p.strList(ids)}))`;
}

/** `f` without its text search: the rows a search over packed bodies has to look at. */
export function withoutQ<F extends { q?: string }>(f: F): F {
  const { q: _q, ...rest } = f;
  return rest as F;
}

/** Attribute names as configured (src/config/types.ts AttributeRule) and as the API accepts them;
 * anything else cannot name an attribute, so it matches nothing. */
export const ATTRIBUTE_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The JSON path of an attribute in the `attributes` column (the name quoted: it may hold dots). */
export function attributePath(name: string): string {
  return `$."${name}"`;
}

/** `name=value`: the call's attribute `name` is `value` (split at the first '='). */
function attributeTerm(p: Params, nv: string): string {
  const eq = nv.indexOf('=');
  const name = eq < 0 ? nv : nv.slice(0, eq);
  if (eq < 0 || !ATTRIBUTE_NAME.test(name)) return 'FALSE';
  return `json_extract_string(attributes, ${p.str(attributePath(name))}) = ${p.str(nv.slice(eq + 1))}`;
}

/** A body as text: its bytes (migration 7; always valid UTF-8, the store writes them so)
 * decoded, or the text of a row stored before. */
function bodyText(col: string): string {
  return `coalesce(decode(${col}_bytes), ${col})`;
}

export function exchangeConditions(f: ExchangeFilter & PackSearched, p: Params): string[] {
  const out: string[] = [];
  timeRange(p, f, out);
  inList(p, 'kind', 'kind', f.kind, out);
  inList(p, 'reason', 'reason', f.reason, out);
  inList(p, 'method', 'method', f.method, out);
  statusFilter(p, f.status, 'coalesce(status_code >= 400, FALSE)', out);
  inList(p, 'source', 'source', f.source, out);
  inList(p, 'client_ip', 'client_ip', f.client_ip, out);
  if (checkList('server', f.server)) {
    if (f.server.length === 0) out.push('FALSE');
    else out.push(`(${p.inStr('server_ip', f.server)} OR ${p.inStr('server_host', f.server)})`);
  }
  inList(p, 'connection_id', 'connection_id', f.connection_id, out);
  if (checkQ(f.q)) {
    const pat = p.str(containsPattern(f.q));
    const like = (col: string): string => `${col} ILIKE ${pat} ESCAPE '\\'`;
    out.push(`(${like('target')} OR ${like(bodyText('request_body'))} OR ${like(bodyText('response_body'))}${packedMatch(f, p)})`);
  }
  return out;
}

/** Conditions over `turns` (unqualified column names). */
export function turnConditions(f: TurnFilter, p: Params): string[] {
  const out = sessionTurnConditions(f, p);
  timeRange(p, f, out, 'start_time');
  inList(p, 'status', 'status', f.status, out);
  if (checkBool('has_stalls', f.has_stalls)) out.push(f.has_stalls ? 'coalesce(stall_count, 0) > 0' : 'coalesce(stall_count, 0) = 0');
  if (checkBool('has_loops', f.has_loops)) out.push(f.has_loops ? 'coalesce(loop_count, 0) > 0' : 'coalesce(loop_count, 0) = 0');
  if (checkQ(f.q)) out.push(previewMatch(p, f.q));
  return out;
}

function previewMatch(p: Params, q: string): string {
  const pat = p.str(containsPattern(q));
  return `(user_preview ILIKE ${pat} ESCAPE '\\' OR final_preview ILIKE ${pat} ESCAPE '\\')`;
}

/** The turns a session is built from (WHERE, before grouping). */
export function sessionTurnConditions(f: Pick<SessionFilter, 'agent' | 'session_id' | 'source'>, p: Params): string[] {
  const out: string[] = [];
  inList(p, 'agent', 'agent', f.agent, out);
  inList(p, 'session_id', 'session_id', f.session_id, out);
  inList(p, 'source', 'source', f.source, out);
  return out;
}

/**
 * Conditions on a whole session (HAVING, over the grouped turns): active in [from, to), status of
 * its latest turn, text in any turn's previews.
 */
export function sessionHaving(f: SessionFilter, p: Params): string[] {
  const out: string[] = [];
  if (checkTime('from', f.from)) out.push(`max(coalesce(end_time, start_time)) >= ${p.ts(f.from)}`);
  if (checkTime('to', f.to)) out.push(`min(start_time) < ${p.ts(f.to)}`);
  inList(p, 'arg_max(status, (start_time, id))', 'status', f.status, out);
  if (checkQ(f.q)) out.push(`coalesce(bool_or(${previewMatch(p, f.q)}), FALSE)`);
  return out;
}

export function whereClause(conds: string[]): string {
  return conds.length === 0 ? '' : `WHERE ${conds.join(' AND ')}`;
}
