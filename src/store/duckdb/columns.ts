/**
 * How records map to table columns, both ways. Inserts name their columns (never `SELECT *`), so a
 * later migration that adds a column with a default does not break older code paths.
 */
import type { DuckDBAppender } from '@duckdb/node-api';
import { DuckDBTimestampValue } from './node-api.js';
import type { LlmCallRecord, ProcessInfo } from '../../core/record.js';
import { isoMicros } from '../../core/time.js';
import type { CallListItem, ExchangeListItem, StoredEvent, StoredExchange, StoredExchangeInput } from '../types.js';
import { StoreError } from '../types.js';
import { bool, int, num, str, type Row } from './connection.js';
import { parseIsoMicros } from './timestamps.js';
import { isWellFormed } from '../../core/well-formed.js';
import type { BodyRef, RowRefs } from './packs.js';

type Kind = 'varchar' | 'blob' | 'ts' | 'int' | 'bigint' | 'double' | 'bool';
type Cell = string | number | boolean | Uint8Array | null;

export interface ColumnSpec<R> {
  name: string;
  kind: Kind;
  get(r: R): Cell;
  /** The text column that held this value before the file's schema had `name` (it gets the value
   * as text when only it is there). */
  textBefore?: string;
}

function col<R>(name: string, kind: Kind, get: (r: R) => Cell, textBefore?: string): ColumnSpec<R> {
  return textBefore === undefined ? { name, kind, get } : { name, kind, get, textBefore };
}

/** A call as prepared for insert: record + derived values computed once. */
export interface CallRow {
  id: string;
  r: LlmCallRecord;
  start: number;
  end: number | null;
  json: string;
}

export function toCallRow(r: LlmCallRecord): CallRow {
  const start = parseIsoMicros(r.timing?.request_start);
  if (start === null) {
    throw new StoreError('invalid_argument', `call ${String(r.id)}: timing.request_start is not an ISO 8601 time`);
  }
  // The detail JSON leaves out content: it has its own columns (searched, and previewed in lists).
  const { content: _content, ...rest } = r;
  return { id: r.id, r, start, end: parseIsoMicros(r.timing.response_end), json: JSON.stringify(rest) };
}

export const CALL_COLUMNS: ColumnSpec<CallRow>[] = [
  col('id', 'varchar', (c) => c.r.id),
  col('request_start', 'ts', (c) => c.start),
  col('response_end', 'ts', (c) => c.end),
  col('source', 'varchar', (c) => c.r.source),
  col('provider', 'varchar', (c) => c.r.provider),
  col('api', 'varchar', (c) => c.r.api),
  col('operation', 'varchar', (c) => c.r.operation),
  col('stream', 'bool', (c) => c.r.stream === true),
  col('request_model', 'varchar', (c) => c.r.request_model),
  col('response_model', 'varchar', (c) => c.r.response_model),
  col('model', 'varchar', (c) => c.r.response_model ?? c.r.request_model),
  col('status_code', 'int', (c) => c.r.status_code),
  // DESIGN §4: an error is status ≥ 400 or an error event (e.g. Anthropic's in-stream error).
  col('is_error', 'bool', (c) => (c.r.status_code !== null && c.r.status_code >= 400) || c.r.error !== null),
  col('error_type', 'varchar', (c) => c.r.error?.type ?? null),
  col('error_message', 'varchar', (c) => c.r.error?.message ?? null),
  col('finish_reason', 'varchar', (c) => c.r.finish_reason),
  col('input_tokens', 'bigint', (c) => c.r.usage.input_tokens),
  col('output_tokens', 'bigint', (c) => c.r.usage.output_tokens),
  col('cache_read_tokens', 'bigint', (c) => c.r.usage.cache_read_tokens),
  col('cache_write_tokens', 'bigint', (c) => c.r.usage.cache_write_tokens),
  col('reasoning_tokens', 'bigint', (c) => c.r.usage.reasoning_tokens),
  col('usage_estimated', 'bool', (c) => c.r.usage.estimated === true),
  col('cost_usd', 'double', (c) => c.r.cost_usd),
  col('ttfb_ms', 'double', (c) => c.r.ttfb_ms),
  col('ttft_ms', 'double', (c) => c.r.ttft_ms),
  col('tpot_ms', 'double', (c) => c.r.tpot_ms),
  col('e2e_ms', 'double', (c) => c.r.e2e_ms),
  col('output_tokens_per_second', 'double', (c) => c.r.output_tokens_per_second),
  col('client_ip', 'varchar', (c) => c.r.client.ip),
  col('server_ip', 'varchar', (c) => c.r.server.ip),
  col('server_host', 'varchar', (c) => c.r.server.host),
  col('agent', 'varchar', (c) => c.r.agent),
  col('session_id', 'varchar', (c) => c.r.session_id),
  col('turn_id', 'varchar', (c) => c.r.turn_id),
  // Written by name: the column came with migration 3 and sits last in the table (tableOrder).
  col('agent_role', 'varchar', (c) => c.r.agent_role ?? null),
  col('api_key_fingerprint', 'varchar', (c) => c.r.api_key_fingerprint),
  col('output_text', 'varchar', (c) => c.r.content?.output_text ?? ''),
  col('reasoning_text', 'varchar', (c) => c.r.content?.reasoning_text ?? ''),
  col('record', 'varchar', (c) => c.json),
  // Migration 4 (at the end of the table; written by name like agent_role).
  col('cost_status', 'varchar', (c) => c.r.cost_status),
  col('attributes', 'varchar', (c) => JSON.stringify(c.r.attributes ?? {})),
  // Migration 5: the calling process, when the source knows it (eBPF); NULL for captured calls.
  col('process_pid', 'int', (c) => processOf(c.r)?.pid ?? null),
  col('process_comm', 'varchar', (c) => processOf(c.r)?.comm ?? null),
  col('process_exe', 'varchar', (c) => processOf(c.r)?.exe ?? null),
];

/** The record's process when it is well formed; a damaged one is stored as none (the record JSON
 * keeps whatever it was). */
function processOf(r: LlmCallRecord): ProcessInfo | null {
  const p = r.process;
  if (p === undefined || p === null || typeof p !== 'object') return null;
  if (typeof p.comm !== 'string' || !Number.isInteger(p.pid)) return null;
  return { pid: p.pid, comm: p.comm, exe: typeof p.exe === 'string' ? p.exe : null };
}

export interface ExchangeRow {
  id: string;
  x: StoredExchangeInput;
  /** Bodies as the UTF-8 bytes stored (BLOB columns since migration 7). */
  requestBody: Uint8Array | null;
  responseBody: Uint8Array | null;
  start: number;
  requestEnd: number | null;
  responseStart: number | null;
  responseEnd: number | null;
  events: string | null;
  /** Where the bodies lie in the pack files (packs.ts), set once they are written there; null:
   * the bodies go into the BLOB columns (an in-memory store, a file at schema version < 8). */
  refs: RowRefs | null;
}

/** A body's bytes for its BLOB column: text encoded; bytes as given (the caller made them valid UTF-8). */
function bodyBytes(body: string | Uint8Array | null): Uint8Array | null {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/** `x`'s byte bodies must be valid UTF-8 (duckdb-store.ts capExchange makes them so). */
export function toExchangeRow(x: StoredExchangeInput): ExchangeRow {
  const start = parseIsoMicros(x.request_start);
  if (start === null) {
    throw new StoreError('invalid_argument', `exchange ${String(x.id)}: request_start is not an ISO 8601 time`);
  }
  const responseBody = bodyBytes(x.response_body);
  return {
    id: x.id,
    x,
    requestBody: bodyBytes(x.request_body),
    responseBody,
    start,
    requestEnd: parseIsoMicros(x.request_end),
    responseStart: parseIsoMicros(x.response_start),
    responseEnd: parseIsoMicros(x.response_end),
    events: x.response_events === null ? null : eventsJson(x.response_events, responseBody),
    refs: null,
  };
}

/**
 * Events whose data all lie in the stored response body, in order, kept as where they lie:
 * `{"in_body":1,"ts":[…],"event":[…],"at":[offset,length,…]}` (UTF-8 bytes of the body). A
 * streamed body is its events' data plus framing, so the plain form stores those bytes twice
 * (21.7 of the 32 MB of events in the 200 MB bench mix, plus escaping every quote of their JSON).
 * Any event that is not such a stretch (data joined from several lines, redacted, capped, cut
 * out of a capped body, or not well-formed text) keeps the plain form for all.
 */
function eventsJson(events: StoredEvent[], body: Uint8Array | null): string {
  if (body === null || events.length === 0) return JSON.stringify(events);
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const ts: string[] = [];
  const names: string[] = [];
  const at: number[] = [];
  let pos = 0;
  for (const e of events) {
    // A lone surrogate encodes as U+FFFD's bytes, which decode to U+FFFD, not to the data.
    if (!isWellFormed(e.data)) return JSON.stringify(events);
    const d = Buffer.from(e.data, 'utf8');
    const i = d.length === 0 ? pos : b.indexOf(d, pos);
    if (i < 0) return JSON.stringify(events);
    ts.push(e.ts);
    names.push(e.event);
    at.push(i, d.length);
    pos = i + d.length;
  }
  return JSON.stringify({ in_body: 1, ts, event: names, at });
}

interface EventsInBody {
  in_body: 1;
  ts: string[];
  event: string[];
  at: number[];
}

/** response_events read back, either form; events whose body is gone (never stored so) read as none. */
function storedEvents(text: string | null, body: Cell): StoredEvent[] | null {
  const v = parseJson<StoredEvent[] | EventsInBody | null>(text, null);
  if (v === null || Array.isArray(v)) return v;
  if (!(body instanceof Uint8Array) || !Array.isArray(v.ts) || !Array.isArray(v.event) || !Array.isArray(v.at)) return null;
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const out: StoredEvent[] = [];
  for (let k = 0; k < v.ts.length; k++) {
    const off = v.at[2 * k] ?? 0;
    out.push({ ts: v.ts[k]!, event: v.event[k]!, data: b.toString('utf8', off, off + (v.at[2 * k + 1] ?? 0)) });
  }
  return out;
}

export const EXCHANGE_COLUMNS: ColumnSpec<ExchangeRow>[] = [
  col('id', 'varchar', (e) => e.x.id),
  col('call_id', 'varchar', (e) => e.x.call_id),
  col('kind', 'varchar', (e) => e.x.kind),
  col('reason', 'varchar', (e) => e.x.reason),
  col('source', 'varchar', (e) => e.x.source),
  col('connection_id', 'varchar', (e) => e.x.connection_id),
  col('client_ip', 'varchar', (e) => e.x.client.ip),
  col('client_port', 'int', (e) => e.x.client.port),
  col('server_ip', 'varchar', (e) => e.x.server.ip),
  col('server_port', 'int', (e) => e.x.server.port),
  col('server_host', 'varchar', (e) => e.x.server.host),
  col('method', 'varchar', (e) => e.x.method),
  col('target', 'varchar', (e) => e.x.target),
  col('status_code', 'int', (e) => e.x.status_code),
  col('request_headers', 'varchar', (e) => JSON.stringify(e.x.request_headers)),
  col('response_headers', 'varchar', (e) => JSON.stringify(e.x.response_headers)),
  col('request_bytes', 'bigint', (e) => e.x.request_bytes),
  col('response_bytes', 'bigint', (e) => e.x.response_bytes),
  // Migration 7: bodies as bytes. The text columns request_body / response_body hold the bodies
  // of rows stored before; new rows leave them NULL (no spec: NULL).
  col('request_body_bytes', 'blob', (e) => (e.refs === null ? e.requestBody : null), 'request_body'),
  col('response_body_bytes', 'blob', (e) => (e.refs === null ? e.responseBody : null), 'response_body'),
  col('request_body_size', 'bigint', (e) => e.x.request_body_size),
  col('response_body_size', 'bigint', (e) => e.x.response_body_size),
  col('request_body_truncated', 'bool', (e) => e.x.request_body_truncated === true),
  col('response_body_truncated', 'bool', (e) => e.x.response_body_truncated === true),
  col('response_events', 'varchar', (e) => e.events),
  col('response_events_total', 'int', (e) => e.x.response_events_total),
  col('response_events_truncated', 'bool', (e) => e.x.response_events_truncated === true),
  col('bodies_expired', 'bool', (e) => e.x.bodies_expired === true),
  col('request_start', 'ts', (e) => e.start),
  col('request_end', 'ts', (e) => e.requestEnd),
  col('response_start', 'ts', (e) => e.responseStart),
  col('response_end', 'ts', (e) => e.responseEnd),
  col('anomalies', 'varchar', (e) => JSON.stringify(e.x.anomalies)),
  // Migration 8: where the bodies lie in the pack files (a NULL length: no body).
  col('body_pack', 'int', (e) => e.refs?.pack ?? null),
  col('request_body_at', 'bigint', (e) => e.refs?.request?.at ?? null),
  col('request_body_len', 'int', (e) => e.refs?.request?.len ?? null),
  col('response_body_at', 'bigint', (e) => e.refs?.response?.at ?? null),
  col('response_body_len', 'int', (e) => e.refs?.response?.len ?? null),
];

/**
 * The specs in the table's own column order, which is what an appender fills. Columns added by
 * later migrations sit at the end of the table whatever their place in a spec list, and a file at
 * an older version lacks them: a spec without a column is left out, a column without a spec
 * (one a newer llmtap added) gets NULL.
 */
export function tableOrder<R>(specs: ColumnSpec<R>[], tableColumns: readonly string[]): ColumnSpec<R>[] {
  const byName = new Map(specs.map((c) => [c.name, c]));
  const present = new Set(tableColumns);
  // A value whose column the file does not have yet goes, as text, where older files kept it.
  for (const spec of specs) {
    if (spec.textBefore === undefined || present.has(spec.name) || byName.has(spec.textBefore)) continue;
    byName.set(spec.textBefore, col<R>(spec.textBefore, 'varchar', (r) => asText(spec.get(r))));
  }
  return tableColumns.map((name) => byName.get(name) ?? col<R>(name, 'varchar', () => null));
}

function asText(v: Cell): string | null {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
  return typeof v === 'string' ? v : null;
}

const INT32_MAX = 2 ** 31 - 1;

/** Append one row. Values of the wrong type or out of range become NULL rather than failing the batch. */
export function appendRow<R>(a: DuckDBAppender, cols: ColumnSpec<R>[], row: R): void {
  for (const c of cols) {
    const v = c.get(row);
    switch (c.kind) {
      case 'varchar':
        if (typeof v === 'string') a.appendVarchar(v);
        else a.appendNull();
        break;
      case 'blob':
        if (v instanceof Uint8Array) a.appendBlob(v);
        else a.appendNull();
        break;
      case 'ts':
        if (typeof v === 'number' && Number.isSafeInteger(v)) a.appendTimestamp(new DuckDBTimestampValue(BigInt(v)));
        else a.appendNull();
        break;
      case 'int':
        if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= INT32_MAX) a.appendInteger(v);
        else a.appendNull();
        break;
      case 'bigint':
        if (typeof v === 'number' && Number.isSafeInteger(v)) a.appendBigInt(BigInt(v));
        else a.appendNull();
        break;
      case 'double':
        if (typeof v === 'number' && Number.isFinite(v)) a.appendDouble(v);
        else a.appendNull();
        break;
      case 'bool':
        if (typeof v === 'boolean') a.appendBoolean(v);
        else a.appendNull();
        break;
    }
  }
  a.endRow();
}

// ───────────────────────────── reading back ─────────────────────────────

/** Select list for exchanges: timestamps as µs (BIGINT) so no precision is lost. */
export const EXCHANGE_LIST_SELECT = `id, call_id, kind, reason, source, connection_id, client_ip, client_port,
  server_ip, server_port, server_host, method, target, status_code, request_bytes, response_bytes,
  request_body_size, response_body_size, request_body_truncated, response_body_truncated,
  response_events_total, response_events_truncated, bodies_expired, epoch_us(request_start) AS request_start_us,
  epoch_us(request_end) AS request_end_us, epoch_us(response_start) AS response_start_us,
  epoch_us(response_end) AS response_end_us, anomalies`;

export const EXCHANGE_DETAIL_SELECT = `${EXCHANGE_LIST_SELECT}, request_headers, response_headers, request_body,
  response_body, request_body_bytes, response_body_bytes, response_events`;

/** The pack columns (migration 8) of a row, or NULLs from a file at an older schema version. */
export function packRefSelect(version: number): string {
  return version >= 8
    ? 'body_pack, request_body_at, request_body_len, response_body_at, response_body_len'
    : 'NULL AS body_pack, NULL AS request_body_at, NULL AS request_body_len, NULL AS response_body_at, NULL AS response_body_len';
}

/** Where a row's bodies lie in the packs, or null when they are in its columns. */
export function rowRefs(row: Row): RowRefs | null {
  const pack = num(row, 'body_pack');
  if (pack === null) return null;
  const ref = (side: 'request' | 'response'): BodyRef | null => {
    const len = num(row, `${side}_body_len`);
    const at = num(row, `${side}_body_at`);
    return len === null || at === null || len < 0 || at < 0 ? null : { at, len };
  };
  return { pack, request: ref('request'), response: ref('response') };
}

/** Bodies read back from the packs for storedExchange; an unreadable one is null and named. */
export interface PackedRead {
  request: Uint8Array | null;
  response: Uint8Array | null;
  anomalies: string[];
}

function isoOrNull(row: Row, key: string): string | null {
  const v = num(row, key);
  return v === null ? null : isoMicros(v);
}

/** JSON stored by this module, read back; a damaged value reads as the fallback. */
export function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function exchangeListItem(row: Row): ExchangeListItem {
  return {
    id: str(row, 'id') ?? '',
    call_id: str(row, 'call_id'),
    kind: str(row, 'kind') === 'llm_call' ? 'llm_call' : 'other',
    reason: str(row, 'reason'),
    source: str(row, 'source') ?? '',
    connection_id: str(row, 'connection_id') ?? '',
    client: { ip: str(row, 'client_ip') ?? '', port: int(row, 'client_port') },
    server: { ip: str(row, 'server_ip') ?? '', port: int(row, 'server_port'), host: str(row, 'server_host') },
    method: str(row, 'method') ?? '',
    target: str(row, 'target') ?? '',
    status_code: num(row, 'status_code'),
    request_bytes: int(row, 'request_bytes'),
    response_bytes: int(row, 'response_bytes'),
    request_body_size: int(row, 'request_body_size'),
    response_body_size: int(row, 'response_body_size'),
    request_body_truncated: bool(row, 'request_body_truncated'),
    response_body_truncated: bool(row, 'response_body_truncated'),
    response_events_total: int(row, 'response_events_total'),
    response_events_truncated: bool(row, 'response_events_truncated'),
    bodies_expired: bool(row, 'bodies_expired'),
    request_start: isoOrNull(row, 'request_start_us') ?? '',
    request_end: isoOrNull(row, 'request_end_us'),
    response_start: isoOrNull(row, 'response_start_us'),
    response_end: isoOrNull(row, 'response_end_us'),
    anomalies: parseJson<string[]>(str(row, 'anomalies'), []),
  };
}

/** A body read back as text: its bytes (migration 7) decoded from UTF-8, as they were stored, or
 * the text of a row stored before. */
function bodyText(row: Row, key: string): string | null {
  return asText(row[`${key}_bytes`] as Cell) ?? str(row, key);
}

export function storedExchange(row: Row, packed: PackedRead | null = null): StoredExchange {
  const item = exchangeListItem(row);
  if (packed !== null && packed.anomalies.length > 0) item.anomalies = [...item.anomalies, ...packed.anomalies];
  return {
    ...item,
    request_headers: parseJson<[string, string][]>(str(row, 'request_headers'), []),
    response_headers: parseJson<[string, string][]>(str(row, 'response_headers'), []),
    request_body: packed === null ? bodyText(row, 'request_body') : asText(packed.request),
    response_body: packed === null ? bodyText(row, 'response_body') : asText(packed.response),
    response_events: storedEvents(str(row, 'response_events'), packed === null ? (row.response_body_bytes as Cell) : packed.response),
  };
}

export function callListItem(row: Row): CallListItem {
  const rec = parseJson<Omit<LlmCallRecord, 'content'>>(str(row, 'record'), {} as Omit<LlmCallRecord, 'content'>);
  return { ...rec, output_preview: str(row, 'output_preview') ?? '' };
}

export function callRecord(row: Row): LlmCallRecord {
  const rec = parseJson<Omit<LlmCallRecord, 'content'>>(str(row, 'record'), {} as Omit<LlmCallRecord, 'content'>);
  return { ...rec, content: { output_text: str(row, 'output_text') ?? '', reasoning_text: str(row, 'reasoning_text') ?? '' } };
}
