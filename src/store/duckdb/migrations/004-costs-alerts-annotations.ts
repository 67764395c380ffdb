/**
 * Version 4: cost breakdowns, alert history and annotations (issue 5).
 *
 * - calls gain `cost_status` (priced | unpriced | estimated: the cost page counts unpriced calls
 *   instead of showing them as $0) and `attributes` (the record's attribute map as JSON, so a
 *   breakdown by a configured attribute reads a small column, not the whole record). Rows stored
 *   before are filled from their record JSON.
 * - alerts (created in version 2 with few columns) gain what the history filters and shows.
 * - annotations (version 2: id, target, created_at, author, text) gain the score itself and the
 *   time it belongs to; `text` keeps the comment ('' when none) because it is NOT NULL.
 */
import type { Migration } from './types.js';

export const migration004: Migration = {
  version: 4,
  name: 'costs, alerts, annotations',
  up: [
    'ALTER TABLE calls ADD COLUMN cost_status VARCHAR',
    'ALTER TABLE calls ADD COLUMN attributes VARCHAR',
    `UPDATE calls SET cost_status = json_extract_string(record, '$.cost_status'),
       attributes = coalesce(json_extract(record, '$.attributes')::VARCHAR, '{}')`,
    'ALTER TABLE alerts ADD COLUMN rule_kind VARCHAR',
    'ALTER TABLE alerts ADD COLUMN state VARCHAR',
    'ALTER TABLE alerts ADD COLUMN metric VARCHAR',
    'ALTER TABLE annotations ADD COLUMN name VARCHAR',
    'ALTER TABLE annotations ADD COLUMN value DOUBLE',
    'ALTER TABLE annotations ADD COLUMN label VARCHAR',
    'ALTER TABLE annotations ADD COLUMN ts TIMESTAMP',
    'ALTER TABLE annotations ADD COLUMN record VARCHAR',
  ],
};
