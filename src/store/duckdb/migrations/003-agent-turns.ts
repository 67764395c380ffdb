/**
 * Version 3: agent turns and sessions (issue 4). Calls gain `agent_role` (main | subagent |
 * auxiliary); turns gain typed columns for what their list filters, sorts and sums (sessions are
 * computed from them in SQL, see duckdb/turns.ts), the previews `q` searches, and the steps as
 * JSON apart from the record (a turn's timeline can be long; lists parse it, but never search it).
 *
 * Columns are added, not a table recreated: rows stored before stay, with NULL in the new columns.
 */
import type { Migration } from './types.js';

export const migration003: Migration = {
  version: 3,
  name: 'agent turns',
  up: [
    'ALTER TABLE calls ADD COLUMN agent_role VARCHAR',
    'ALTER TABLE turns ADD COLUMN source VARCHAR',
    'ALTER TABLE turns ADD COLUMN duration_ms DOUBLE',
    'ALTER TABLE turns ADD COLUMN call_count INTEGER',
    'ALTER TABLE turns ADD COLUMN tool_call_count INTEGER',
    'ALTER TABLE turns ADD COLUMN input_tokens BIGINT',
    'ALTER TABLE turns ADD COLUMN output_tokens BIGINT',
    'ALTER TABLE turns ADD COLUMN cache_read_tokens BIGINT',
    'ALTER TABLE turns ADD COLUMN cache_write_tokens BIGINT',
    'ALTER TABLE turns ADD COLUMN reasoning_tokens BIGINT',
    'ALTER TABLE turns ADD COLUMN usage_estimated BOOLEAN',
    'ALTER TABLE turns ADD COLUMN cost_usd DOUBLE',
    'ALTER TABLE turns ADD COLUMN stall_count INTEGER',
    'ALTER TABLE turns ADD COLUMN loop_count INTEGER',
    'ALTER TABLE turns ADD COLUMN user_preview VARCHAR',
    'ALTER TABLE turns ADD COLUMN final_preview VARCHAR',
    'ALTER TABLE turns ADD COLUMN steps VARCHAR',
  ],
};
