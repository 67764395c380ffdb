/**
 * The `q` text search over bodies kept in pack files (packs.ts). SQL cannot read a pack, so the
 * store reads the bodies of the rows the other filters leave and lets DuckDB match them with the
 * very ILIKE the columns are searched with (its case folding is utf8proc's, which JS's
 * toLowerCase does not reproduce: İ, final sigma, Unicode versions). The matching ids then go
 * into the SQL condition (filters.ts PackSearched), so paging, counting and aggregates run as
 * before.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import { blobValue, listValue } from './node-api.js';
import { StoreError } from '../types.js';
import { num, str, type SerialConnection } from './connection.js';
import { rowRefs } from './columns.js';
import { containsPattern } from './filters.js';
import type { PackReader } from './packs.js';

/** Rows whose bodies are read per round (bounded memory: ≤ 2 × 320 KiB capped bodies each). */
const ROWS_PER_ROUND = 256;
/** The matching ids are held in memory and bound as one list: past this, narrow the search. */
export const PACKED_MATCHES_MAX = 1_000_000;

/**
 * Ids of exchanges with bodies in packs, among those `where` (over `exchanges`, with `values`)
 * selects, whose request or response body contains `q` (ILIKE, as filters.ts). Unreadable bodies
 * match nothing.
 */
export async function searchPackedBodies(
  db: SerialConnection,
  packs: PackReader,
  where: readonly string[],
  values: readonly DuckDBValue[],
  q: string,
): Promise<string[]> {
  const pattern = containsPattern(q);
  const matches: string[] = [];
  let after = '';
  for (;;) {
    const n = values.length;
    // Keyset on id: each round a fresh, short statement (no long-lived result on the connection).
    const rows = await db.all(
      `SELECT id, body_pack, request_body_at, request_body_len, response_body_at, response_body_len FROM exchanges
       WHERE body_pack IS NOT NULL AND id > $${n + 1}::VARCHAR${where.map((w) => ` AND ${w}`).join('')}
       ORDER BY id LIMIT ${ROWS_PER_ROUND}`,
      [...values, after],
    );
    if (rows.length === 0) return matches;
    const bodies: DuckDBValue[] = [];
    const owners: number[] = [];
    await Promise.all(
      rows.map(async (row, i) => {
        const refs = rowRefs(row);
        if (refs === null) return;
        for (const ref of [refs.request, refs.response]) {
          if (ref === null) continue;
          const b = await packs.read(refs.pack, ref);
          if (typeof b === 'string') continue;
          bodies.push(blobValue(b));
          owners.push(i);
        }
      }),
    );
    if (bodies.length > 0) {
      const hit = await db.all(
        `SELECT DISTINCT i FROM (SELECT unnest($1::BLOB[]) AS b, unnest($2::INTEGER[]) AS i)
         WHERE decode(b) ILIKE $3::VARCHAR ESCAPE '\\'`,
        [listValue(bodies), listValue(owners), pattern],
      );
      for (const h of hit) matches.push(str(rows[num(h, 'i') ?? -1] ?? {}, 'id') ?? '');
      if (matches.length > PACKED_MATCHES_MAX) {
        throw new StoreError(
          'invalid_argument',
          `filter q matches more than ${PACKED_MATCHES_MAX} stored bodies: narrow the search (from/to or other filters)`,
        );
      }
    }
    after = str(rows[rows.length - 1]!, 'id') ?? '';
  }
}
