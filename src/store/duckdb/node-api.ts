/**
 * @duckdb/node-api, loaded with `require`. It is CommonJS (124 files); an ESM `import` of it
 * first runs Node's CJS export lexer over every file it re-exports, and measured ~300 ms of CPU
 * against ~120 ms for `require` (Node 20, bench machine) — a fixed cost of every `--db` run.
 * Store modules take the package's values from here; its types they may import directly.
 */
import { createRequire } from 'node:module';
import type * as DuckDB from '@duckdb/node-api';

const duckdb = createRequire(import.meta.url)('@duckdb/node-api') as typeof DuckDB;

export const DuckDBInstance = duckdb.DuckDBInstance;
export type DuckDBInstance = DuckDB.DuckDBInstance;
export const DuckDBTimestampValue = duckdb.DuckDBTimestampValue;
export type DuckDBTimestampValue = DuckDB.DuckDBTimestampValue;
export const listValue = duckdb.listValue;
export const blobValue = duckdb.blobValue;
