/**
 * Versioned schema migrations: `schema_migrations` records every version applied; each pending
 * migration runs in its own transaction, so a crash mid-migration leaves the previous version.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { StoreError } from '../types.js';
import type { Migration } from './migrations/index.js';

export async function schemaVersion(conn: DuckDBConnection): Promise<number> {
  const exists = await conn.runAndReadAll(
    "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'schema_migrations' AND table_schema = 'main'",
  );
  if (Number(exists.getRowObjectsJS()[0]?.n ?? 0) === 0) return 0;
  const r = await conn.runAndReadAll('SELECT coalesce(max(version), 0) AS v FROM schema_migrations');
  return Number(r.getRowObjectsJS()[0]?.v ?? 0);
}

/** Bring the database to the last of `migrations`; returns the resulting version. */
export async function migrate(conn: DuckDBConnection, migrations: readonly Migration[]): Promise<number> {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list out of order at ${m.version}`);
  });
  const latest = migrations.length;
  await conn.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp
  )`);
  const current = await schemaVersion(conn);
  if (current > latest) {
    throw new StoreError(
      'migration_failed',
      `database schema is version ${current}, newer than this llmtap knows (${latest}): upgrade llmtap`,
    );
  }
  for (const m of migrations.slice(current)) {
    await conn.run('BEGIN TRANSACTION');
    try {
      for (const sql of m.up) await conn.run(sql);
      await conn.run('INSERT INTO schema_migrations (version, name) VALUES ($1::INTEGER, $2::VARCHAR)', [m.version, m.name]);
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw new StoreError('migration_failed', `schema migration ${m.version} (${m.name}) failed: ${firstLine(err)}`, {
        cause: err,
      });
    }
  }
  return latest;
}

/** DuckDB messages span lines (LINE 1: …, candidate lists); errors we show are one line. */
export function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return (msg.split('\n')[0] ?? msg).trim();
}
