/**
 * Version 8: exchange bodies in pack files beside the database (issue 6; duckdb/packs.ts). A row
 * keeps where its bodies lie: the pack (both bodies of a row are in one), and each body's byte
 * offset and length (a NULL length: no body). In-memory stores, and files written by an older
 * llmtap, keep bodies in the columns of migration 7 / 1; reads take whichever is set.
 *
 * New columns, as migration 7 did (DuckDB 1.5 replays ADD COLUMN from its WAL; a rewrite of every
 * stored body would make the upgrade as slow as the store is big): older rows stay as they are.
 */
import type { Migration } from './types.js';

export const migration008: Migration = {
  version: 8,
  name: 'exchange bodies in pack files',
  up: [
    'ALTER TABLE exchanges ADD COLUMN body_pack INTEGER',
    'ALTER TABLE exchanges ADD COLUMN request_body_at BIGINT',
    'ALTER TABLE exchanges ADD COLUMN request_body_len INTEGER',
    'ALTER TABLE exchanges ADD COLUMN response_body_at BIGINT',
    'ALTER TABLE exchanges ADD COLUMN response_body_len INTEGER',
  ],
};
