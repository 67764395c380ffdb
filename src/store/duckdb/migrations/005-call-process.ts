/**
 * Version 5: the process that made a call (issue 9 item 2). Sources that know it (eBPF: the
 * process whose TLS library handled the bytes) set `process {pid, comm, exe}` on the record;
 * captured packets do not say, so these columns stay NULL for them.
 *
 * - `process_comm` is what filters, breakdowns and metric labels use (src/metrics/dimensions.ts
 *   `process`): a program name is stable across restarts, a pid is not.
 * - `process_pid` and `process_exe` are kept for the call list and detail, and so a filter can pick
 *   one running instance (`pid`).
 * Rows stored before are filled from their record JSON (none has a process unless an earlier
 * llmtap wrote one there).
 */
import type { Migration } from './types.js';

export const migration005: Migration = {
  version: 5,
  name: 'call process',
  up: [
    'ALTER TABLE calls ADD COLUMN process_pid INTEGER',
    'ALTER TABLE calls ADD COLUMN process_comm VARCHAR',
    'ALTER TABLE calls ADD COLUMN process_exe VARCHAR',
    `UPDATE calls SET process_pid = TRY_CAST(json_extract_string(record, '$.process.pid') AS INTEGER),
       process_comm = json_extract_string(record, '$.process.comm'),
       process_exe = json_extract_string(record, '$.process.exe')
     WHERE json_extract(record, '$.process') IS NOT NULL`,
  ],
};
