/**
 * Version 7: exchange bodies as bytes (issue 6). The pipeline holds a body as UTF-8 bytes; into a
 * VARCHAR column it had to become a JS string only to be encoded back to UTF-8 for DuckDB, which
 * then checked it was valid UTF-8 again. Into a BLOB column the bytes go as they are (the store
 * makes sure they are valid UTF-8, duckdb-store.ts capBody) and read back decoded, so the API
 * returns the same text.
 *
 * New columns rather than a change of type: DuckDB 1.5 cannot replay `ALTER COLUMN … TYPE BLOB
 * USING encode(…)` from its write-ahead log (a crash before the next checkpoint left a file that
 * would not open), and rewriting every stored body would make the upgrade as slow as the store is
 * big. Rows stored before keep their text in `request_body` / `response_body`; new rows leave
 * those NULL. Reads take whichever is set (columns.ts bodyText, filters.ts bodyText).
 */
import type { Migration } from './types.js';

export const migration007: Migration = {
  version: 7,
  name: 'exchange bodies as bytes',
  up: ['ALTER TABLE exchanges ADD COLUMN request_body_bytes BLOB', 'ALTER TABLE exchanges ADD COLUMN response_body_bytes BLOB'],
};
