/**
 * Version 6: the source an alert came from. A rule on calls runs once per source (its own window
 * and clock, src/alerts/rule-engine.ts), so in `llmtap collect` with many probes or `llmtap run`
 * with several pipelines an incident belongs to one source; `source` says which, and the alert
 * history filters on it. NULL for rules on scores, budgets (spend is shared by every source) and
 * the sources past the clock cap that share one clock.
 *
 * Rows stored before are filled from their record JSON: an earlier llmtap wrote no source there,
 * so they stay NULL (which source raised them is not known).
 */
import type { Migration } from './types.js';

export const migration006: Migration = {
  version: 6,
  name: 'alert source',
  up: [
    'ALTER TABLE alerts ADD COLUMN source VARCHAR',
    `UPDATE alerts SET source = json_extract_string(record, '$.source') WHERE json_extract(record, '$.source') IS NOT NULL`,
  ],
};
