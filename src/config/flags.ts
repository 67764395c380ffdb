/**
 * Command-line flags override the configuration file (DESIGN §6: flags > file > environment >
 * defaults). A pure function, so the commands apply it once after loading and tests pin it.
 *
 * Flag → key:
 *   --db PATH                  db
 *   --listen ADDR              listen
 *   --no-retention             retention: false
 *   --fingerprint-salt SALT    fingerprint_salt
 *   --no-turns                 turns.enabled: false
 *   --turn-idle-timeout DUR    turns.idle_timeout_ms
 *   --stall-threshold DUR      turns.stall_threshold_ms
 *   --loop-threshold N         turns.loop_threshold
 *   --otlp-endpoint URL        otlp.endpoint (otlp enabled with its defaults when the file has none)
 *   --workers N|auto           workers
 * Durations on flags are seconds ("90") or a duration ("90s", "15m").
 */
import type { LlmtapConfig } from './types.js';
import { parseDuration } from './duration.js';
import { ConfigError } from './errors.js';
import { DEFAULTS } from './defaults.js';

/** Commander's option names for the flags above, so a command's parsed options can be passed
 * as they are. `retention` and `turns` are `--no-…` flags: commander sets them true when the
 * flag is absent, so only `false` overrides the file. */
export interface ConfigFlags {
  db?: string | undefined;
  listen?: string | undefined;
  retention?: boolean | undefined;
  fingerprintSalt?: string | undefined;
  turns?: boolean | undefined;
  turnIdleTimeout?: string | undefined;
  stallThreshold?: string | undefined;
  loopThreshold?: string | undefined;
  otlpEndpoint?: string | undefined;
  workers?: string | undefined;
}

/** The configuration with the given flags applied; throws ConfigError naming the flag. */
export function applyFlags(config: LlmtapConfig, flags: ConfigFlags): LlmtapConfig {
  const out: LlmtapConfig = { ...config, turns: { ...config.turns } };
  if (flags.db !== undefined) out.db = nonEmpty(flags.db, '--db');
  if (flags.listen !== undefined) out.listen = nonEmpty(flags.listen, '--listen');
  if (flags.retention === false) out.retention = false;
  if (flags.fingerprintSalt !== undefined) out.fingerprint_salt = nonEmpty(flags.fingerprintSalt, '--fingerprint-salt');
  if (flags.turns === false) out.turns.enabled = false;
  if (flags.turnIdleTimeout !== undefined) out.turns.idle_timeout_ms = durationFlag(flags.turnIdleTimeout, '--turn-idle-timeout');
  if (flags.stallThreshold !== undefined) out.turns.stall_threshold_ms = durationFlag(flags.stallThreshold, '--stall-threshold');
  if (flags.loopThreshold !== undefined) {
    const n = Number(flags.loopThreshold);
    if (!Number.isInteger(n) || n < 2) throw new ConfigError(`--loop-threshold takes a whole number of at least 2 (got "${clip(flags.loopThreshold)}")`);
    out.turns.loop_threshold = n;
  }
  if (flags.workers !== undefined) out.workers = workersFlag(flags.workers);
  if (flags.otlpEndpoint !== undefined) {
    const endpoint = otlpEndpoint(flags.otlpEndpoint);
    out.otlp =
      config.otlp !== null
        ? { ...config.otlp, endpoint }
        : { endpoint, headers: {}, traces: true, metrics: true, ...DEFAULTS.otlp };
  }
  return out;
}

function nonEmpty(v: string, flag: string): string {
  if (v.trim() === '') throw new ConfigError(`${flag} takes a value (got an empty one)`);
  return v;
}

function durationFlag(v: string, flag: string): number {
  const r = parseDuration(v);
  if (!r.ok) throw new ConfigError(`${flag}: ${r.message}`);
  return r.ms;
}

/** Not quoted back: an endpoint URL may carry credentials. */
function otlpEndpoint(v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ConfigError('--otlp-endpoint takes an http:// or https:// URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError('--otlp-endpoint takes an http:// or https:// URL');
  if (/\/v1\/(traces|metrics|logs)\/?$/.test(u.pathname)) {
    throw new ConfigError('--otlp-endpoint takes the base URL of the receiver (…/v1/traces and …/v1/metrics are appended)');
  }
  return v.replace(/\/+$/, '');
}

function workersFlag(v: string): number | 'auto' {
  if (v.trim() === 'auto') return 'auto';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > DEFAULTS.max_workers) {
    throw new ConfigError(`--workers takes "auto" or a whole number from 1 to ${DEFAULTS.max_workers} (got "${clip(v)}")`);
  }
  return n;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
