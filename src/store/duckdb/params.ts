/**
 * Bound parameters for one statement. Every user value reaches SQL only as `$n` with an explicit
 * cast (a JS number bound against a VARCHAR column would make DuckDB cast the column instead, and
 * fail); SQL text is built only from constants in this directory.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import { listValue } from './node-api.js';

export class Params {
  readonly values: DuckDBValue[] = [];

  private add(v: DuckDBValue, cast: string): string {
    this.values.push(v);
    return `$${this.values.length}::${cast}`;
  }

  str(v: string): string {
    return this.add(String(v), 'VARCHAR');
  }

  int(v: number): string {
    return this.add(v, 'INTEGER');
  }

  big(v: number): string {
    return this.add(BigInt(v), 'BIGINT');
  }

  /** A TIMESTAMP from µs since the epoch. */
  ts(micros: number): string {
    return `make_timestamp(${this.big(micros)})`;
  }

  /** A VARCHAR[] list: one parameter however many values (`IN (SELECT unnest(…))`). */
  strList(values: readonly string[]): string {
    return this.add(listValue(values.map(String)), 'VARCHAR[]');
  }

  /** `expr IN ($1, $2, …)` over strings. */
  inStr(expr: string, values: readonly string[]): string {
    return `${expr} IN (${values.map((v) => this.str(v)).join(', ')})`;
  }
}
