import { existsSync } from 'node:fs';
import type { AlertRecord, AnnotationRecord } from '../core/record.js';
import type { Store } from '../store/index.js';
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
  // Scores posted here drive the configured alert rules on scores (docs/alerts.md: with no
  // capture, the scores' own times are the clock). serve decodes no calls: no budgets, no OTLP.
  const log = (line: string): void => void process.stderr.write(`llmtap: ${line}\n`);
  let store: Store | null = null;
  let alertWrites: Promise<void> = Promise.resolve();
  const onAlert = (a: AlertRecord): void => {
    // One write after another: a resolution must not overtake its firing.
    alertWrites = alertWrites
      .then(() => store?.insertAlert(a))
      .catch((err: unknown) => log(`cannot store alert ${a.id} (${a.rule}): ${err instanceof Error ? err.message : String(err)}`));
  };
  const telemetry =
    config.alerts.length > 0 ? (await import('./telemetry.js')).openTelemetry({ ...config, otlp: null, budgets: [] }, { log, onAlert }) : null;
  const serving = await openServing({
    db,
    retention: config.retention,
    listen: config.listen ?? '127.0.0.1:3000',
    ...tokenOptions(o),
    health: () => healthOf(null, null, telemetry),
    ...(telemetry ? { onAnnotation: (a: AnnotationRecord) => telemetry.observers.onAnnotation(a) } : {}),
  });
  store = serving.store;
  process.stderr.write(`llmtap: serving ${serving.dbPath} at ${serving.url ?? '?'} until interrupted (Ctrl-C)\n`);
  await untilInterrupted();
  await telemetry?.close();
  await alertWrites;
  await serving.close();
}
