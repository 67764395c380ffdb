/**
 * The configuration a command runs with (DESIGN §6): `--config FILE` (else `LLMTAP_CONFIG`, else
 * defaults), then the command's own flags on top. A bad file or flag is one line and exit 1.
 */
import { defaultConfig } from '../config/defaults.js';
import { ConfigError } from '../config/errors.js';
import { applyFlags, type ConfigFlags } from '../config/flags.js';
import type { LlmtapConfig } from '../config/types.js';
import { UserError } from './errors.js';

export interface ConfigOption {
  config?: string;
}

export async function resolveConfig(o: ConfigOption & ConfigFlags, env: NodeJS.ProcessEnv = process.env): Promise<LlmtapConfig> {
  try {
    const fromEnv = env['LLMTAP_CONFIG'];
    const path = o.config !== undefined && o.config !== '' ? o.config : fromEnv !== undefined && fromEnv !== '' ? fromEnv : null;
    // The YAML parser and the validator load only when there is a file to read.
    const base = path === null ? defaultConfig(env) : (await import('../config/load.js')).loadConfig(path, env);
    return applyFlags(base, o);
  } catch (err) {
    if (err instanceof ConfigError) throw new UserError(err.message);
    throw err;
  }
}
