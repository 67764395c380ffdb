/**
 * The store's public entry (DESIGN §6): callers import `openStore` and the types from here and
 * never a database client. Today the only backend is the embedded DuckDB file.
 */
import { openDuckDbStore } from './duckdb/duckdb-store.js';
import type { Store, StoreOptions } from './types.js';

export * from './types.js';
export { capBodyText, capEvents } from './caps.js';

/** Open (creating and migrating when needed) the database at `opts.path`. Throws StoreError. */
export function openStore(opts: StoreOptions): Promise<Store> {
  return openDuckDbStore(opts);
}
