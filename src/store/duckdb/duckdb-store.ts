/**
 * The embedded store (DESIGN §6): one DuckDB file. One connection writes (batches: appender into a
 * temp staging table, then one `INSERT OR IGNORE … SELECT` = one transaction), one reads; DuckDB's
 * MVCC lets reads run while a batch commits. Durability is DuckDB's write-ahead log: a batch whose
 * insert resolved is in the WAL, and a killed process's file reopens with every such batch.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { DuckDBInstance, listValue, type DuckDBConnection } from '@duckdb/node-api';
import type { LlmCallRecord } from '../../core/record.js';
import type { Micros } from '../../core/time.js';
import { isoMicros } from '../../core/time.js';
import { capBodyText, capEvents } from '../caps.js';
import type {
  CallDetail,
  CallFilter,
  CallListItem,
  ErrorGroup,
  ExchangeFilter,
  ExchangeListItem,
  FilterValues,
  ModelStats,
  Page,
  PageRequest,
  RetentionPolicy,
  RetentionResult,
  Store,
  StoredExchange,
  StoreOptions,
  StoreStats,
  Summary,
  TimeseriesOptions,
  TimeseriesResult,
} from '../types.js';
import { DEFAULT_RETENTION, STORE_CAPS, StoreError } from '../types.js';
import * as agg from './aggregates.js';
import {
  appendRow,
  CALL_COLUMNS,
  callListItem,
  callRecord,
  EXCHANGE_COLUMNS,
  EXCHANGE_DETAIL_SELECT,
  EXCHANGE_LIST_SELECT,
  exchangeListItem,
  storedExchange,
  toCallRow,
  toExchangeRow,
  type ColumnSpec,
} from './columns.js';
import { int, num, SerialConnection, str } from './connection.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { callConditions, exchangeConditions, whereClause } from './filters.js';
import { firstLine, migrate, schemaVersion } from './migrate.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';
import { Params } from './params.js';

const DAY_US = 86_400_000_000;
const CHECKPOINT_THRESHOLD = '256MB';
const TABLES = ['calls', 'exchanges', 'turns', 'alerts', 'annotations'] as const;

function checkRetention(r: RetentionPolicy | false | undefined): RetentionPolicy | false {
  if (r === false) return false;
  const policy = r ?? DEFAULT_RETENTION;
  for (const [k, v] of Object.entries(policy)) {
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) {
      throw new StoreError('invalid_argument', `retention ${k} must be a positive number of days`);
    }
  }
  return { ...policy };
}

/** Open the DuckDB store; `migrations` is for tests that build an older schema. */
export async function openDuckDbStore(opts: StoreOptions, migrations: readonly Migration[] = MIGRATIONS): Promise<Store> {
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
    return await openUnguarded(opts, migrations, retention, readOnly, key);
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
): Promise<Store> {
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(opts.path, {
      ...(readOnly ? { access_mode: 'READ_ONLY' } : {}),
      // DuckDB rewrites the last, partly filled row group at every checkpoint; at the default
      // 16 MiB of WAL that is every ~10k calls, and ingest measured 2× slower (bench/store.ts).
      // The cost of a bigger WAL is replay time when reopening after a crash (~1–2 s).
      checkpoint_threshold: CHECKPOINT_THRESHOLD,
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
    const store = new DuckDbStore(opts.path, instance, new SerialConnection(writer), new SerialConnection(reader), {
      retention,
      readOnly,
      version,
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
  onClose(): void;
}

function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return STORE_CAPS.pageDefault;
  return Math.min(STORE_CAPS.pageMax, Math.max(1, Math.trunc(limit)));
}

/** Keyset condition continuing after (t, id) in `order`. */
function afterCursor(p: Params, cursor: string | null | undefined, order: 'asc' | 'desc'): string | null {
  if (cursor === undefined || cursor === null || cursor === '') return null;
  const c = decodeCursor(cursor, order);
  const t = p.ts(c.t);
  const id = p.str(c.id);
  const op = order === 'desc' ? '<' : '>';
  // The first, redundant term is a plain range on request_start: zone maps skip row groups with it.
  return `request_start ${op}= ${t} AND (request_start ${op} ${t} OR (request_start = ${t} AND id ${op} ${id}))`;
}

function wrapRead(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  return new StoreError('read_failed', `database read failed: ${firstLine(err)}`, { cause: err });
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

/** Apply the store's caps to an exchange a caller built without them (DESIGN §7: caps on all). */
function capExchange(x: StoredExchange): StoredExchange {
  const req = x.request_body === null ? null : capBodyText(x.request_body);
  const res = x.response_body === null ? null : capBodyText(x.response_body);
  const ev = x.response_events === null ? null : capEvents(x.response_events);
  if (!req?.truncated && !res?.truncated && !ev?.truncated) return x;
  return {
    ...x,
    request_body: req ? req.text : null,
    request_body_truncated: x.request_body_truncated || (req?.truncated ?? false),
    response_body: res ? res.text : null,
    response_body_truncated: x.response_body_truncated || (res?.truncated ?? false),
    response_events: ev ? ev.events : null,
    response_events_total: Math.max(x.response_events_total, ev?.total ?? 0),
    response_events_truncated: x.response_events_truncated || (ev?.truncated ?? false),
  };
}

class DuckDbStore implements Store {
  private closed = false;
  private lastRetention = 0;

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

  private async insertBatch<R extends { start: number; id: string }>(
    table: string,
    cols: ColumnSpec<R>[],
    batch: R[],
  ): Promise<number> {
    // Time order within a batch keeps zone maps on request_start tight (range filters skip row groups).
    batch.sort((x, y) => x.start - y.start);
    const inserted = await this.writer.exclusive(async (conn) => {
      try {
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
    });
    await this.maybeRetention();
    return inserted;
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
  ): Promise<number | null> {
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
      if (rows.length > 0) {
        const appender = await conn.createAppender(table);
        try {
          for (const row of rows) appendRow(appender, cols, row);
          appender.flushSync();
        } finally {
          appender.closeSync();
        }
      }
      // The batch is durable once COMMIT returns (DuckDB syncs its WAL on commit).
      await conn.run('COMMIT');
      return rows.length;
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      // Inside a transaction DuckDB reports a refused append only as "transaction is aborted",
      // so any failure of the fast path is retried once the careful way, whose error is final.
      if (!skipExisting) return null;
      throw err;
    }
  }

  async insertCalls(records: LlmCallRecord[]): Promise<number> {
    this.assertWritable();
    if (records.length === 0) return 0;
    return this.insertBatch('calls', CALL_COLUMNS, dedupe(records).map(toCallRow));
  }

  async insertExchanges(records: StoredExchange[]): Promise<number> {
    this.assertWritable();
    if (records.length === 0) return 0;
    const rows = dedupe(records).map((x) => toExchangeRow(capExchange(x)));
    return this.insertBatch('exchanges', EXCHANGE_COLUMNS, rows);
  }

  async listCalls(filter: CallFilter, page: PageRequest = {}): Promise<Page<CallListItem>> {
    this.assertOpen();
    const limit = clampLimit(page.limit);
    const order = page.order === 'asc' ? 'asc' : 'desc';
    const p = new Params();
    const conds = callConditions(filter, p);
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
    const conds = exchangeConditions(filter, p);
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
      const rows = await this.reader.all(`SELECT ${EXCHANGE_DETAIL_SELECT} FROM exchanges WHERE id = $1::VARCHAR`, [
        String(id),
      ]);
      return rows[0] ? storedExchange(rows[0]) : null;
    } catch (err) {
      throw wrapRead(err);
    }
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
    return this.read(() => agg.summary(this.reader, filter));
  }

  timeseries(filter: CallFilter, opts: TimeseriesOptions): Promise<TimeseriesResult> {
    return this.read(() => agg.timeseries(this.reader, filter, opts));
  }

  models(filter: CallFilter): Promise<ModelStats[]> {
    return this.read(() => agg.models(this.reader, filter));
  }

  errors(filter: CallFilter): Promise<ErrorGroup[]> {
    return this.read(() => agg.errors(this.reader, filter));
  }

  filterValues(filter: CallFilter = {}): Promise<FilterValues> {
    return this.read(() => agg.filterValues(this.reader, filter));
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
    const none: RetentionResult = { reference: null, calls_deleted: 0, exchanges_deleted: 0, bodies_dropped: 0 };
    if (policy === false || this.cfg.readOnly) return none;
    this.lastRetention = Date.now();
    return this.writer.exclusive(async (conn) => {
      try {
        let ref = now;
        if (ref === undefined) {
          const r = (
            await conn.runAndReadAll(
              'SELECT greatest((SELECT epoch_us(max(request_start)) FROM calls), (SELECT epoch_us(max(request_start)) FROM exchanges)) AS t',
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
          const bodies = await conn.run(
            `UPDATE exchanges SET request_body = NULL, response_body = NULL, response_events = NULL, bodies_expired = TRUE
             WHERE request_start < make_timestamp($1::BIGINT) AND NOT bodies_expired`,
            [cutoff(policy.bodiesDays)],
          );
          await conn.run('COMMIT');
          return {
            reference: isoMicros(ref),
            calls_deleted: calls.rowsChanged,
            exchanges_deleted: exchanges.rowsChanged,
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
    this.cfg.onClose();
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
