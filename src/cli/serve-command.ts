import { existsSync } from 'node:fs';
import { resolveConfig, type ConfigOption } from './config-options.js';
import { UserError } from './errors.js';
import { healthOf } from './health.js';
import { tokenOptions } from './replay-command.js';
import { DEFAULT_DB_PATH, openServing, untilInterrupted } from './serving.js';

export interface ServeCommandOptions extends ConfigOption {
  db?: string;
  listen?: string;
  token?: string;
  insecureNoToken?: boolean;
  retention?: boolean;
}

/** `llmtap serve --db PATH`: browse an existing database. */
export async function runServe(o: ServeCommandOptions): Promise<void> {
  const config = await resolveConfig(o);
  const db = config.db ?? DEFAULT_DB_PATH;
  if (!existsSync(db)) throw new UserError(`no database at ${db} (make one with: llmtap replay FILE --db ${db})`);
  const serving = await openServing({
    db,
    retention: config.retention,
    listen: config.listen ?? '127.0.0.1:3000',
    ...tokenOptions(o),
    health: () => healthOf(null, null),
  });
  process.stderr.write(`llmtap: serving ${serving.dbPath} at ${serving.url ?? '?'} until interrupted (Ctrl-C)\n`);
  await untilInterrupted();
  await serving.close();
}
