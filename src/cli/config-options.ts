/**
 * The configuration a command runs with (DESIGN §6): `--config FILE` (else `LLMTAP_CONFIG`, else
 * defaults), then the command's own flags on top. A bad file or flag is one line and exit 1.
 */
import { applyFlags, type ConfigFlags } from '../config/flags.js';
import { configPath, loadConfig } from '../config/load.js';
import { ConfigError } from '../config/errors.js';
import type { LlmtapConfig } from '../config/types.js';
import { UserError } from './errors.js';

export interface ConfigOption {
  config?: string;
}

export function resolveConfig(o: ConfigOption & ConfigFlags): LlmtapConfig {
  try {
    return applyFlags(loadConfig(configPath(o.config)), o);
  } catch (err) {
    if (err instanceof ConfigError) throw new UserError(err.message);
    throw err;
  }
}
