/**
 * The embedded store (DESIGN §6): one DuckDB file. One connection writes (batches: appender into a
 * temp staging table, then one `INSERT OR IGNORE … SELECT` = one transaction), one reads; DuckDB's
 * MVCC lets reads run while a batch commits. Durability is DuckDB's write-ahead log: a batch whose
 * insert resolved is in the WAL, and a killed process's file reopens with every such batch.
 */
import { isUtf8 } from 'node:buffer';
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { RowRefs } from './packs.js';
import { DuckDBInstance, listValue } from './node-api.js';
import type { AgentTurnRecord, AlertRecord, AnnotationRecord, LlmCallRecord } from '../../core/record.js';
import type { Micros } from '../../core/time.js';
import { isoMicros } from '../../core/time.js';
import { capBodyBytes, capBodyText, capEvents } from '../caps.js';
import type {
  AlertFilter,
  AnnotationFilter,
  AnnotationTimeseries,
  AnnotationTimeseriesOptions,
  CallDetail,
  CallFilter,
  CallRepricer,
  CostBreakdown,
  CostDimension,
  CostTimeseries,
  CostTimeseriesOptions,
  CallListItem,
  ErrorGroup,
  ExchangeFilter,
  ExchangeListItem,
  FilterValues,
  ModelStats,
  Page,
  PageRequest,
  RepriceOptions,
  RepriceResult,
  RetentionPolicy,
  RetentionResult,
  SessionDetail,
  SessionFilter,
  SessionSummary,
  Store,
  StoredExchange,
  StoredExchangeInput,
  StoreOptions,
  StoreStats,
  Summary,
  TimeseriesOptions,
  TimeseriesResult,
  TurnDetail,
  TurnFilter,
} from '../types.js';
import { DEFAULT_RETENTION, STORE_CAPS, StoreError } from '../types.js';
import * as agg from './aggregates.js';
import * as alerts from './alerts.js';
import * as annotations from './annotations.js';
import * as costs from './costs.js';
import { checkRepricer, repriceCalls } from './reprice.js';
import {
  appendRow,
  CALL_COLUMNS,
  callListItem,
  callRecord,
  EXCHANGE_COLUMNS,
  type ExchangeRow,
  EXCHANGE_DETAIL_SELECT,
  EXCHANGE_LIST_SELECT,
  exchangeListItem,
  packRefSelect,
  rowRefs,
  storedExchange,
  type PackedRead,
  tableOrder,
  toCallRow,
  toExchangeRow,
  type ColumnSpec,
} from './columns.js';
import { int, num, SerialConnection, str } from './connection.js';
import { encodeCursor } from './cursor.js';
import { searchPackedBodies } from './body-search.js';
import { callConditions, checkQ, exchangeConditions, whereClause, withoutQ, type PackSearched } from './filters.js';
import { firstLine, migrate, schemaVersion } from './migrate.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';
import { packBytes, packDirOf, PackReader, PackWriter } from './packs.js';
import { Params } from './params.js';
import { toTurnRow, TURN_COLUMNS, type TurnRow } from './turn-columns.js';
import * as turns from './turns.js';
import { afterCursor, clampLimit } from './turns.js';

const DAY_US = 86_400_000_000;
const CHECKPOINT_THRESHOLD = '256MB';
const TABLES = ['calls', 'exchanges', 'turns', 'alerts', 'annotations'] as const;

function checkRetention(r: RetentionPolicy | false | undefined): RetentionPolicy | false {
  if (r === false) return false;
  const policy = r ?? DEFAULT_RETENTION;
  for (const [k, v] of Object.entries(policy)) {
    if (k === 'turnsDays' && v === undefined) continue;
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) {
      throw new StoreError('invalid_argument', `retention ${k} must be a positive number of days`);
    }
  }
  return { ...policy };
}

/** Knobs for tests only. */
export interface StoreTuning {
  /** Pack file size bound (packs.ts PACK_MAX_BYTES): small, a test sees packs rotate. */
  packMaxBytes?: number;
}

/** Open the DuckDB store; `migrations` is for tests that build an older schema. */
export async function openDuckDbStore(
  opts: StoreOptions,
  migrations: readonly Migration[] = MIGRATIONS,
  tuning: StoreTuning = {},
): Promise<Store> {
  const retention = checkRetention(opts.retention);
  const readOnly = opts.readOnly === true;
  const key = resolve(opts.path);
  // DuckDB's file lock is per process (fcntl), so a second instance in this process would not be
  // refused and two writers would corrupt the file: share the one Store instead.
  if (openPaths.has(key)) {
    throw new StoreError('open_failed', `cannot open database ${opts.path}: it is already open in this process`);
  }
  openPaths.add(key);
  try {
    return await openUnguarded(opts, migrations, retention, readOnly, key, tuning);
  } catch (err) {
    openPaths.delete(key);
    throw err;
  }
}

const openPaths = new Set<string>();

async function openUnguarded(
  opts: StoreOptions,
  migrations: readonly Migration[],
  retention: RetentionPolicy | false,
  readOnly: boolean,
  key: string,
  tuning: StoreTuning,
): Promise<Store> {
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(opts.path, {
      ...(readOnly ? { access_mode: 'READ_ONLY' } : {}),
      // DuckDB rewrites the last, partly filled row group at every checkpoint; at the default
      // 16 MiB of WAL that is every ~10k calls, and ingest measured 2× slower (bench/store.ts).
      // The cost of a bigger WAL is replay time when reopening after a crash (~1–2 s).
      checkpoint_threshold: CHECKPOINT_THRESHOLD,
      // DuckDB starts a thread per core of the machine, whatever cores this process may run on.
      // Pinned to fewer (taskset, a cpuset), the thread that ran a statement polls for the
      // others' tasks on a core they need: replaying 200 MB pinned to one core measured ~1 s
      // more CPU with 2 threads than with 1 (issue 6). The cores we may use, then.
      threads: String(availableParallelism()),
    });
  } catch (err) {
    throw new StoreError('open_failed', `cannot open database ${opts.path}: ${firstLine(err)}`, { cause: err });
  }
  const conns: DuckDBConnection[] = [];
  try {
    const writer = await instance.connect();
    conns.push(writer);
    let version: number;
    if (readOnly) {
      version = await schemaVersion(writer);
      if (version !== migrations.length) {
        throw new StoreError(
          'open_failed',
          `cannot open database ${opts.path} read-only: schema version ${version}, this llmtap needs ${migrations.length}` +
            (version < migrations.length ? ' (open it once without read-only to migrate)' : ''),
        );
      }
    } else {
      version = await migrate(writer, migrations);
    }
    const reader = await instance.connect();
    conns.push(reader);
    // Bodies go to pack files when the store is a file at schema version 8 (an in-memory store
    // keeps them in its BLOB columns: nothing beside it to write to).
    const packDir = packDirOf(opts.path);
    const packs: Packs | null =
      version >= 8 && isFileBacked(opts.path)
        ? { reader: new PackReader(packDir), writer: readOnly ? null : new PackWriter(packDir, tuning.packMaxBytes) }
        : null;
    // Not read-only: that open must not write, and a writer elsewhere may be mid-batch.
    if (packs?.writer) await reconcilePacks(writer, packs.writer);
    const store = new DuckDbStore(opts.path, instance, new SerialConnection(writer), new SerialConnection(reader), {
      retention,
      readOnly,
      version,
      packs,
      onClose: () => openPaths.delete(key),
    });
    if (retention !== false && !readOnly) await store.applyRetention();
    return store;
  } catch (err) {
    for (const c of conns) c.closeSync();
    instance.closeSync();
    if (err instanceof StoreError) throw err;
    throw new StoreError('open_failed', `cannot open database ${opts.path}: ${firstLine(err)}`, { cause: err });
  }
}

interface StoreConfig {
  retention: RetentionPolicy | false;
  readOnly: boolean;
  version: number;
  /** Null: bodies live in the exchanges table (in-memory store, older schema version in tests). */
  packs: Packs | null;
  onClose(): void;
}

interface Packs {
  reader: PackReader;
  /** Null when read-only. */
  writer: PackWriter | null;
}

/** DuckDB keeps ':memory:' (and an empty path) in memory: no file, so no packs beside it. */
function isFileBacked(path: string): boolean {
  return path !== '' && !path.startsWith(':memory:');
}

/**
 * Bring the packs in line with the database (packs.ts reconcile): bytes past the last a row points
 * at are what a crash between a batch's fdatasync and its commit left; a pack no row points at is
 * such a batch's, or one retention had not deleted yet.
 */
async function reconcilePacks(conn: DuckDBConnection, packs: PackWriter): Promise<number[]> {
  const rows = (
    await conn.runAndReadAll(
      `SELECT body_pack AS p, max(greatest(coalesce(request_body_at + request_body_len, 0),
         coalesce(response_body_at + response_body_len, 0))) AS e
       FROM exchanges WHERE body_pack IS NOT NULL GROUP BY body_pack`,
    )
  ).getRowObjectsJS();
  return (await packs.reconcile(new Map(rows.map((r) => [num(r, 'p') ?? -1, num(r, 'e') ?? 0])))).deleted;
}

function wrapRead(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  return new StoreError('read_failed', `database read failed: ${firstLine(err)}`, { cause: err });
}

/** The last snapshot of each turn id, in the order of those last snapshots. */
function lastSnapshots(records: AgentTurnRecord[]): AgentTurnRecord[] {
  const last = new Map<string, AgentTurnRecord>();
  for (const r of records) {
    last.delete(r.id);
    last.set(r.id, r);
  }
  return [...last.values()];
}

/** Last row wins nothing: the first record with an id is the one inserted (as a replay would). */
function dedupe<T extends { id: string }>(records: T[]): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const r of records) {
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    out.push(r);
  }
  return out;
}

interface CappedBody {
  body: string | Uint8Array;
  truncated: boolean;
}

/** A body within the caps; bytes that are not valid UTF-8 become the text they decode to (what
 * a reader gets back must be what was stored, and SQL search decodes the column). */
function capBody(body: string | Uint8Array): CappedBody {
  if (typeof body !== 'string') {
    if (isUtf8(body)) {
      const c = capBodyBytes(body);
      return { body: c.bytes, truncated: c.truncated };
    }
    body = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  }
  const c = capBodyText(body);
  return { body: c.text, truncated: c.truncated };
}

/** Apply the store's caps to an exchange a caller built without them (DESIGN §7: caps on all). */
function capExchange(x: StoredExchangeInput): StoredExchangeInput {
  const req = x.request_body === null ? null : capBody(x.request_body);
  const res = x.response_body === null ? null : capBody(x.response_body);
  const ev = x.response_events === null ? null : capEvents(x.response_events);
  // Nothing cut or decoded: capBody hands the very same body back.
  if ((req === null || req.body === x.request_body) && (res === null || res.body === x.response_body) && !ev?.truncated) return x;
  return {
    ...x,
    request_body: req ? req.body : null,
    request_body_truncated: x.request_body_truncated || (req?.truncated ?? false),
    response_body: res ? res.body : null,
    response_body_truncated: x.response_body_truncated || (res?.truncated ?? false),
    response_events: ev ? ev.events : null,
    response_events_total: Math.max(x.response_events_total, ev?.total ?? 0),
    response_events_truncated: x.response_events_truncated || (ev?.truncated ?? false),
  };
}

class DuckDbStore implements Store {
  private closed = false;
  private lastRetention = 0;
  /** Each table's columns in order, read once (the appender fills columns in table order). */
  private readonly columnOrder = new Map<string, readonly string[]>();

  constructor(
    private readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly writer: SerialConnection,
    private readonly reader: SerialConnection,
    private readonly cfg: StoreConfig,
  ) {}

  private assertOpen(): void {
    if (this.closed) throw new StoreError('closed', 'the store is closed');
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.cfg.readOnly) throw new StoreError('write_failed', `database ${this.path} is open read-only`);
  }

  private async tableColumns<R>(conn: DuckDBConnection, table: string, specs: ColumnSpec<R>[]): Promise<ColumnSpec<R>[]> {
    let names = this.columnOrder.get(table);
    if (!names) {
      const rows = await conn.runAndReadAll(
        `SELECT column_name AS c FROM information_schema.columns WHERE table_schema = 'main' AND table_name = $1::VARCHAR ORDER BY ordinal_position`,
        [table],
      );
      names = rows.getRowObjectsJS().map((r) => String(r.c));
      this.columnOrder.set(table, names);
    }
    return tableOrder(specs, names);
  }

  /** Insert new rows; resolves to the ids inserted (those already stored are left alone). */
  private async insertBatch<R extends { start: number; id: string }>(
    table: string,
    specs: ColumnSpec<R>[],
    batch: R[],
    stage?: (batch: R[]) => Promise<(storedAny: boolean) => Promise<void>>,
  ): Promise<Set<string>> {
    // Time order within a batch keeps zone maps on request_start tight (range filters skip row groups).
    batch.sort((x, y) => x.start - y.start);
    const inserted = await this.writer.exclusive(async (conn) => {
      // Before the transaction: what it will point at must be durable first (packs).
      const done = stage
        ? await stage(batch).catch((err: unknown) => {
            throw new StoreError('write_failed', `cannot write bodies beside ${this.path}: ${firstLine(err)}`, { cause: err });
          })
        : null;
      let stored: Set<string> | null = null;
      try {
        stored = await this.appendBatch(conn, table, specs, batch);
        return stored;
      } finally {
        await done?.(stored !== null && stored.size > 0).catch(() => undefined);
      }
    });
    await this.maybeRetention();
    return inserted;
  }

  private async appendBatch<R extends { start: number; id: string }>(
    conn: DuckDBConnection,
    table: string,
    specs: ColumnSpec<R>[],
    batch: R[],
  ): Promise<Set<string>> {
    try {
      const cols = await this.tableColumns(conn, table, specs);
      // Fast path: append straight into the table in one transaction. The primary key refuses
      // a batch holding an id already stored (a capture replayed twice); only then do we pay for
      // looking the ids up. Appending to a staging table and INSERT OR IGNORE … SELECT, or always
      // looking up first, measured 25–40% slower on new data (bench/store.ts).
      const fast = await this.appendInTransaction(conn, table, cols, batch, false);
      if (fast !== null) return fast;
      return (await this.appendInTransaction(conn, table, cols, batch, true))!;
    } catch (err) {
      throw new StoreError('write_failed', `cannot write to database ${this.path}: ${firstLine(err)}`, { cause: err });
    }
  }

  /**
   * Append `batch` in one transaction; null when it failed and `skipExisting` was false (the
   * primary key refused an id already stored). With `skipExisting`, ids already stored are left out first (one writer connection
   * per file, DuckDB's file lock, so nothing can insert between the lookup and the append).
   */
  private async appendInTransaction<R extends { id: string }>(
    conn: DuckDBConnection,
    table: string,
    cols: ColumnSpec<R>[],
    batch: R[],
    skipExisting: boolean,
  ): Promise<Set<string> | null> {
    await conn.run('BEGIN TRANSACTION');
    try {
      let rows = batch;
      if (skipExisting) {
        const existing = await conn.runAndReadAll(`SELECT id FROM ${table} WHERE id IN (SELECT unnest($1::VARCHAR[]))`, [
          listValue(batch.map((r) => r.id)),
        ]);
        const seen = new Set(existing.getRowObjectsJS().map((r) => String(r.id)));
        rows = batch.filter((r) => !seen.has(r.id));
      }
      if (rows.length > 0) await appendRows(conn, table, null, cols, rows);
      // The batch is durable once COMMIT returns (DuckDB syncs its WAL on commit).
      await conn.run('COMMIT');
      return new Set(rows.map((r) => r.id));
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      // Inside a transaction DuckDB reports a refused append only as "transaction is aborted",
      // so any failure of the fast path is retried once the careful way, whose error is final.
      if (!skipExisting) return null;
      throw err;
    }
  }

  async insertCalls(records: LlmCallRecord[]): Promise<number> {
    return (await this.insertCallsReturningIds(records)).length;
  }

  async insertCallsReturningIds(records: LlmCallRecord[]): Promise<string[]> {
    this.assertWritable();
    if (records.length === 0) return [];
    const unique = dedupe(records);
    const inserted = await this.insertBatch('calls', CALL_COLUMNS, unique.map(toCallRow));
    return unique.flatMap((r) => (inserted.has(r.id) ? [r.id] : []));
  }

  async insertExchanges(records: StoredExchangeInput[]): Promise<number> {
    this.assertWritable();
    if (records.length === 0) return 0;
    const rows = dedupe(records).map((x) => toExchangeRow(capExchange(x)));
    const packs = this.cfg.packs?.writer;
    return (await this.insertBatch('exchanges', EXCHANGE_COLUMNS, rows, packs ? (b) => stageBodies(packs, b) : undefined)).size;
  }

  async upsertTurns(records: AgentTurnRecord[]): Promise<string[]> {
    this.assertWritable();
    if (records.length === 0) return [];
    const latest = lastSnapshots(records);
    const rows = latest.map(toTurnRow);
    const written = await this.writer.exclusive(async (conn) => {
      try {
        return await this.replaceTurns(conn, rows);
      } catch (err) {
        throw new StoreError('write_failed', `cannot write to database ${this.path}: ${firstLine(err)}`, { cause: err });
      }
    });
    await this.maybeRetention();
    return latest.flatMap((t) => (written.has(t.id) ? [t.id] : []));
  }

  /**
   * One transaction: rows whose stored snapshot differs (or that are new) replace what is stored.
   * New rows are appended; changed rows go through a temporary staging table and one
   * `UPDATE … FROM`, which changes no key, so the primary-key index is never asked to take an id
   * it has just seen deleted. One writer connection per file: nothing writes between the lookup
   * and the write.
   */
  private async replaceTurns(conn: DuckDBConnection, rows: TurnRow[]): Promise<Set<string>> {
    const cols = await this.tableColumns(conn, 'turns', TURN_COLUMNS);
    await conn.run('BEGIN TRANSACTION');
    try {
      const existing = await conn.runAndReadAll(
        'SELECT id, record, steps, status, call_count FROM turns WHERE id IN (SELECT unnest($1::VARCHAR[]))',
        [listValue(rows.map((r) => r.id))],
      );
      const stored = new Map(existing.getRowObjectsJS().map((r) => [String(r.id), r]));
      const changed = rows.filter((r) => {
        const old = stored.get(r.id);
        if (!old) return true;
        if (old.record === r.json && old.steps === r.steps) return false;
        // A capture replayed into the store sends every turn's snapshots again: an in-progress
        // snapshot with no more calls than a finished stored turn is that replay's past, not news.
        const finished = old.status === 'complete' || old.status === 'incomplete';
        return !(finished && r.t.status === 'in_progress' && r.t.call_count <= Number(old.call_count ?? 0));
      });
      // Start order keeps zone maps on start_time tight, as for calls.
      const fresh = changed.filter((r) => !stored.has(r.id)).sort((x, y) => x.start - y.start);
      const updated = changed.filter((r) => stored.has(r.id));
      if (fresh.length > 0) await appendRows(conn, 'turns', null, cols, fresh);
      if (updated.length > 0) {
        // Temp tables are per connection; this one has the turns columns and no constraints.
        await conn.run('CREATE TEMP TABLE IF NOT EXISTS turns_staging AS SELECT * FROM turns LIMIT 0');
        await conn.run('DELETE FROM turns_staging');
        await appendRows(conn, 'turns_staging', 'temp', cols, updated);
        const set = cols.filter((c) => c.name !== 'id').map((c) => `${c.name} = s.${c.name}`);
        await conn.run(`UPDATE turns SET ${set.join(', ')} FROM turns_staging s WHERE turns.id = s.id`);
      }
      await conn.run('COMMIT');
      return new Set(changed.map((r) => r.id));
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  async listCalls(filter: CallFilter, page: PageRequest = {}): Promise<Page<CallListItem>> {
    this.assertOpen();
    const limit = clampLimit(page.limit);
    const order = page.order === 'asc' ? 'asc' : 'desc';
    const p = new Params();
    const conds = callConditions(await this.searchPacks(filter, 'calls').catch((e: unknown) => Promise.reject(wrapRead(e))), p);
    const after = afterCursor(p, page.cursor, order);
    if (after) conds.push(after);
    const dir = order === 'desc' ? 'DESC' : 'ASC';
    try {
      // Two steps: find the page's keys reading only narrow columns, then fetch those rows. A
      // one-step top-N would read the wide record column of every row before a deep cursor.
      const keys = await this.reader.all(
        `SELECT epoch_us(request_start) AS t, id FROM calls ${whereClause(conds)}
         ORDER BY request_start ${dir}, id ${dir} LIMIT ${limit + 1}`,
        p.values,
      );
      const more = keys.length > limit;
      const pageKeys = more ? keys.slice(0, limit) : keys;
      const last = pageKeys[pageKeys.length - 1];
      if (!last) return { items: [], next_cursor: null };
      const q = new Params();
      const ts = pageKeys.map((k) => num(k, 't') ?? 0);
      const rows = await this.reader.all(
        `SELECT record, left(output_text, ${STORE_CAPS.previewChars}) AS output_preview, id
         FROM calls WHERE request_start BETWEEN ${q.ts(Math.min(...ts))} AND ${q.ts(Math.max(...ts))}
           AND ${q.inStr('id', pageKeys.map((k) => str(k, 'id') ?? ''))}`,
        q.values,
      );
      const byId = new Map(rows.map((r) => [str(r, 'id'), r]));
      return {
        items: pageKeys.flatMap((k) => {
          const row = byId.get(str(k, 'id'));
          return row ? [callListItem(row)] : [];
        }),
        next_cursor: more ? encodeCursor({ t: num(last, 't') ?? 0, id: str(last, 'id') ?? '', o: order }) : null,
      };
    } catch (err) {
      throw wrapRead(err);
    }
  }

  async getCall(id: string): Promise<CallDetail | null> {
    this.assertOpen();
    try {
      const rows = await this.reader.all(
        'SELECT record, output_text, reasoning_text FROM calls WHERE id = $1::VARCHAR',
        [String(id)],
      );
      const row = rows[0];
      if (!row) return null;
      return { call: callRecord(row), exchange: await this.getExchange(id) };
    } catch (err) {
      throw wrapRead(err);
    }
  }

  async listExchanges(filter: ExchangeFilter, page: PageRequest = {}): Promise<Page<ExchangeListItem>> {
    this.assertOpen();
    const limit = clampLimit(page.limit);
    const order = page.order === 'asc' ? 'asc' : 'desc';
    const p = new Params();
    const conds = exchangeConditions(await this.searchPacks(filter, 'exchanges').catch((e: unknown) => Promise.reject(wrapRead(e))), p);
    const after = afterCursor(p, page.cursor, order);
    if (after) conds.push(after);
    const dir = order === 'desc' ? 'DESC' : 'ASC';
    try {
      const rows = await this.reader.all(
        `SELECT ${EXCHANGE_LIST_SELECT} FROM exchanges ${whereClause(conds)}
         ORDER BY request_start ${dir}, id ${dir} LIMIT ${limit + 1}`,
        p.values,
      );
      const more = rows.length > limit;
      const items = (more ? rows.slice(0, limit) : rows).map(exchangeListItem);
      const last = items[items.length - 1];
      return {
        items,
        next_cursor:
          more && last
            ? encodeCursor({ t: num(rows[limit - 1]!, 'request_start_us') ?? 0, id: last.id, o: order })
            : null,
      };
    } catch (err) {
      throw wrapRead(err);
    }
  }

  async getExchange(id: string): Promise<StoredExchange | null> {
    this.assertOpen();
    try {
      const rows = await this.reader.all(
        `SELECT ${EXCHANGE_DETAIL_SELECT}, ${packRefSelect(this.cfg.version)} FROM exchanges WHERE id = $1::VARCHAR`,
        [String(id)],
      );
      const row = rows[0];
      if (!row) return null;
      const refs = rowRefs(row);
      return storedExchange(row, refs === null || this.cfg.packs === null ? null : await this.readPacked(refs));
    } catch (err) {
      throw wrapRead(err);
    }
  }

  /** A row's bodies from the packs; one that cannot be read (a pack deleted or cut short by hand)
   * reads as no body and an anomaly naming it, never as an error of the whole read. */
  private async readPacked(refs: RowRefs): Promise<PackedRead> {
    const packs = this.cfg.packs!.reader;
    const out: PackedRead = { request: null, response: null, anomalies: [] };
    for (const side of ['request', 'response'] as const) {
      const ref = refs[side];
      if (ref === null) continue;
      const b = await packs.read(refs.pack, ref);
      if (typeof b === 'string') out.anomalies.push(`stored_${side}_body_${b}`);
      else out[side] = b;
    }
    return out;
  }

  /**
   * `f` with its `q` run over the bodies in packs (body-search.ts), for SQL to use. `scope` is the
   * table `f` filters: exchanges directly, or calls (whose exchange shares the call's id).
   */
  private async searchPacks<F extends CallFilter | ExchangeFilter>(f: F, scope: 'calls' | 'exchanges'): Promise<F & PackSearched> {
    const packs = this.cfg.packs;
    if (packs === null || !checkQ(f.q)) return f;
    const p = new Params();
    const conds =
      scope === 'exchanges'
        ? exchangeConditions(withoutQ(f as ExchangeFilter), p)
        : callConditions(withoutQ(f as CallFilter), p);
    const where = scope === 'exchanges' ? conds : conds.length === 0 ? [] : [`id IN (SELECT id FROM calls WHERE ${conds.join(' AND ')})`];
    const ids = await searchPackedBodies(this.reader, packs.reader, where, p.values, f.q);
    return { ...f, packedBodyMatches: ids };
  }

  listTurns(filter: TurnFilter, page: PageRequest = {}): Promise<Page<AgentTurnRecord>> {
    return this.read(() => turns.listTurns(this.reader, filter, page));
  }

  getTurn(id: string): Promise<TurnDetail | null> {
    return this.read(() => turns.getTurn(this.reader, id));
  }

  listSessions(filter: SessionFilter, page: PageRequest = {}): Promise<Page<SessionSummary>> {
    return this.read(() => turns.listSessions(this.reader, filter, page));
  }

  getSession(sessionId: string): Promise<SessionDetail | null> {
    return this.read(() => turns.getSession(this.reader, sessionId));
  }

  private async read<T>(fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await fn();
    } catch (err) {
      throw wrapRead(err);
    }
  }

  summary(filter: CallFilter): Promise<Summary> {
    return this.read(async () => agg.summary(this.reader, await this.searchPacks(filter, 'calls')));
  }

  timeseries(filter: CallFilter, opts: TimeseriesOptions): Promise<TimeseriesResult> {
    return this.read(async () => agg.timeseries(this.reader, await this.searchPacks(filter, 'calls'), opts));
  }

  models(filter: CallFilter): Promise<ModelStats[]> {
    return this.read(async () => agg.models(this.reader, await this.searchPacks(filter, 'calls')));
  }

  errors(filter: CallFilter): Promise<ErrorGroup[]> {
    return this.read(async () => agg.errors(this.reader, await this.searchPacks(filter, 'calls')));
  }

  filterValues(filter: CallFilter = {}): Promise<FilterValues> {
    return this.read(async () => agg.filterValues(this.reader, await this.searchPacks(filter, 'calls')));
  }

  costs(filter: CallFilter, opts: { by: CostDimension }): Promise<CostBreakdown> {
    return this.read(async () => costs.costs(this.reader, await this.searchPacks(filter, 'calls'), opts));
  }

  costTimeseries(filter: CallFilter, opts: CostTimeseriesOptions): Promise<CostTimeseries> {
    return this.read(async () => costs.costTimeseries(this.reader, await this.searchPacks(filter, 'calls'), opts));
  }

  async repriceCalls(price: CallRepricer, filter: CallFilter = {}, opts: RepriceOptions = {}): Promise<RepriceResult> {
    checkRepricer(price);
    if (opts.dryRun === true) this.assertOpen();
    else this.assertWritable();
    try {
      return await repriceCalls(this.writer, price, await this.searchPacks(filter, 'calls'), opts);
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError('write_failed', `cannot reprice calls in ${this.path}: ${firstLine(err)}`, { cause: err });
    }
  }

  insertAlert(alert: AlertRecord): Promise<void> {
    return this.write(() => alerts.insertAlert(this.writer, alert));
  }

  listAlerts(filter: AlertFilter, page: PageRequest = {}): Promise<Page<AlertRecord>> {
    return this.read(() => alerts.listAlerts(this.reader, filter, page));
  }

  getAlert(id: string): Promise<AlertRecord | null> {
    return this.read(() => alerts.getAlert(this.reader, id));
  }

  insertAnnotation(annotation: AnnotationRecord): Promise<void> {
    return this.write(() => annotations.insertAnnotation(this.writer, annotation));
  }

  listAnnotations(filter: AnnotationFilter, page: PageRequest = {}): Promise<Page<AnnotationRecord>> {
    return this.read(() => annotations.listAnnotations(this.reader, filter, page));
  }

  annotationTimeseries(filter: AnnotationFilter, opts: AnnotationTimeseriesOptions): Promise<AnnotationTimeseries> {
    return this.read(() => annotations.annotationTimeseries(this.reader, filter, opts));
  }

  private async write(fn: () => Promise<void>): Promise<void> {
    this.assertWritable();
    try {
      await fn();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError('write_failed', `cannot write to database ${this.path}: ${firstLine(err)}`, { cause: err });
    }
  }

  stats(): Promise<StoreStats> {
    return this.read(async () => {
      // Only the tables this file's schema version has (an old file may predate some).
      const present = new Set(
        (
          await this.reader.all("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'main'")
        ).map((r) => str(r, 't')),
      );
      const names = TABLES.filter((t) => present.has(t));
      const rows = await this.reader.all(names.map((t) => `SELECT '${t}' AS t, count(*) AS n FROM ${t}`).join(' UNION ALL '));
      const tables: Record<string, number> = {};
      for (const r of rows) tables[str(r, 't') ?? ''] = int(r, 'n');
      return {
        path: this.path,
        schema_version: this.cfg.version,
        tables,
        file_bytes: fileSize(this.path),
        wal_bytes: fileSize(`${this.path}.wal`),
        bodies_bytes: this.cfg.packs === null ? 0 : packBytes(packDirOf(this.path)),
        retention: this.cfg.retention === false ? false : { ...this.cfg.retention },
      };
    });
  }

  private async maybeRetention(): Promise<void> {
    if (this.cfg.retention === false) return;
    if (Date.now() - this.lastRetention < STORE_CAPS.retentionEveryMs) return;
    await this.applyRetention();
  }

  async applyRetention(now?: Micros): Promise<RetentionResult> {
    this.assertOpen();
    const policy = this.cfg.retention;
    const none: RetentionResult = { reference: null, calls_deleted: 0, exchanges_deleted: 0, turns_deleted: 0, bodies_dropped: 0 };
    if (policy === false || this.cfg.readOnly) return none;
    this.lastRetention = Date.now();
    // Schema version 2 made the turns table (a test may open a version-1 file).
    const hasTurns = this.cfg.version >= 2;
    return this.writer.exclusive(async (conn) => {
      try {
        let ref = now;
        if (ref === undefined) {
          const r = (
            await conn.runAndReadAll(
              `SELECT greatest((SELECT epoch_us(max(request_start)) FROM calls), (SELECT epoch_us(max(request_start)) FROM exchanges)${
                hasTurns ? ', (SELECT epoch_us(max(start_time)) FROM turns)' : ''
              }) AS t`,
            )
          ).getRowObjectsJS()[0];
          const newest = r ? num(r, 't') : null;
          if (newest === null) return none;
          // Never later than the wall clock: a bogus future timestamp in a capture must not wipe the store.
          ref = Math.min(newest, Date.now() * 1000);
        }
        if (!Number.isSafeInteger(ref)) throw new StoreError('invalid_argument', 'retention reference must be integer µs');
        const cutoff = (days: number): bigint => BigInt(Math.round(ref! - days * DAY_US));
        await conn.run('BEGIN TRANSACTION');
        try {
          const calls = await conn.run('DELETE FROM calls WHERE request_start < make_timestamp($1::BIGINT)', [
            cutoff(policy.callsDays),
          ]);
          const exchanges = await conn.run('DELETE FROM exchanges WHERE request_start < make_timestamp($1::BIGINT)', [
            cutoff(policy.exchangesDays),
          ]);
          const turnsDeleted = hasTurns
            ? (await conn.run('DELETE FROM turns WHERE start_time < make_timestamp($1::BIGINT)', [cutoff(policy.turnsDays ?? policy.callsDays)]))
                .rowsChanged
            : 0;
          if (this.cfg.version >= 4) {
            // Scores and alert history live as long as the calls they are about (uncounted in the
            // result: RetentionResult names the tables a user sizes retention by).
            await conn.run('DELETE FROM annotations WHERE ts < make_timestamp($1::BIGINT)', [cutoff(policy.callsDays)]);
            await conn.run('DELETE FROM alerts WHERE fired_at < make_timestamp($1::BIGINT)', [cutoff(policy.callsDays)]);
          }
          // Migration 7 keeps bodies as bytes; a file opened at an older version (tests) lacks them.
          const bytes = this.cfg.version >= 7 ? 'request_body_bytes = NULL, response_body_bytes = NULL, ' : '';
          // Migration 8: a row no longer points into a pack; the pack goes once no row does (below).
          const refs =
            this.cfg.version >= 8
              ? 'body_pack = NULL, request_body_at = NULL, request_body_len = NULL, response_body_at = NULL, response_body_len = NULL, '
              : '';
          const bodies = await conn.run(
            `UPDATE exchanges SET ${bytes}${refs}request_body = NULL, response_body = NULL, response_events = NULL, bodies_expired = TRUE
             WHERE request_start < make_timestamp($1::BIGINT) AND NOT bodies_expired`,
            [cutoff(policy.bodiesDays)],
          );
          await conn.run('COMMIT');
          // After the commit: a crash in between leaves packs no row points at, deleted on open.
          const packs = this.cfg.packs;
          if (packs?.writer && (bodies.rowsChanged > 0 || exchanges.rowsChanged > 0)) {
            await packs.reader.forget(await reconcilePacks(conn, packs.writer));
          }
          return {
            reference: isoMicros(ref),
            calls_deleted: calls.rowsChanged,
            exchanges_deleted: exchanges.rowsChanged,
            turns_deleted: turnsDeleted,
            bodies_dropped: bodies.rowsChanged,
          };
        } catch (err) {
          await conn.run('ROLLBACK').catch(() => undefined);
          throw err;
        }
      } catch (err) {
        if (err instanceof StoreError) throw err;
        throw new StoreError('write_failed', `retention failed on ${this.path}: ${firstLine(err)}`, { cause: err });
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let queued work finish, then release the file (DuckDB checkpoints the WAL on close).
    await this.writer.exclusive(async () => undefined).catch(() => undefined);
    await this.reader.exclusive(async () => undefined).catch(() => undefined);
    this.writer.close();
    this.reader.close();
    this.instance.closeSync();
    await this.cfg.packs?.writer?.closeActive().catch(() => undefined);
    await this.cfg.packs?.reader.forget().catch(() => undefined);
    this.cfg.onClose();
  }
}

/** Append a batch's bodies to the packs (durable on return) and point its rows at them; the
 * finisher cuts them off again when no row of the batch was stored (a capture stored twice would
 * otherwise leave its bodies twice, pointed at by nothing). */
async function stageBodies(packs: PackWriter, rows: ExchangeRow[]): Promise<(storedAny: boolean) => Promise<void>> {
  const mark = await packs.mark();
  const refs = await packs.append(rows.map((r) => ({ request: r.requestBody, response: r.responseBody })));
  rows.forEach((r, i) => (r.refs = refs[i] ?? null));
  return async (storedAny) => {
    if (!storedAny) await packs.cutBack(mark);
  };
}

/**
 * Append `rows` through an appender and close it. When the flush fails (a duplicate key), the
 * rows stay buffered in the appender, and closing it, or its finalizer at garbage collection,
 * would flush them again into whatever transaction this connection runs by then, aborting it at
 * random: clear the buffer first (seen as "Current transaction is aborted" in later batches).
 */
async function appendRows<R>(conn: DuckDBConnection, table: string, catalog: string | null, cols: ColumnSpec<R>[], rows: R[]): Promise<void> {
  const appender = await conn.createAppender(table, null, catalog);
  try {
    for (const row of rows) appendRow(appender, cols, row);
    appender.flushSync();
  } catch (err) {
    appender.clear();
    try {
      appender.closeSync();
    } catch {
      // The first error is the one to report.
    }
    throw err;
  }
  appender.closeSync();
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
