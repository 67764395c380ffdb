/**
 * One DuckDB connection used by one caller at a time. @duckdb/node-api runs queries on worker
 * threads and a connection must not run two at once, so calls queue on a promise chain.
 */
import type { DuckDBConnection, DuckDBValue, JS } from '@duckdb/node-api';

export type Row = Record<string, JS>;

export class SerialConnection {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(readonly conn: DuckDBConnection) {}

  /** Run `fn` with the connection once every earlier caller is done. */
  exclusive<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
    const p = this.tail.then(() => fn(this.conn));
    this.tail = p.catch(() => undefined);
    return p;
  }

  all(sql: string, params: DuckDBValue[] = []): Promise<Row[]> {
    return this.exclusive(async (c) => (await c.runAndReadAll(sql, params)).getRowObjectsJS());
  }

  close(): void {
    this.conn.closeSync();
  }
}

// Typed reads of result cells: DuckDB returns BIGINT/HUGEINT as bigint, DOUBLE as number.

export function num(row: Row, key: string): number | null {
  const v = row[key];
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return null;
}

export function int(row: Row, key: string): number {
  return num(row, key) ?? 0;
}

export function str(row: Row, key: string): string | null {
  const v = row[key];
  return typeof v === 'string' ? v : null;
}

export function bool(row: Row, key: string): boolean {
  return row[key] === true;
}

export function numList(row: Row, key: string): (number | null)[] {
  const v = row[key];
  if (!Array.isArray(v)) return [];
  return v.map((x) => (typeof x === 'number' ? x : typeof x === 'bigint' ? Number(x) : null));
}
