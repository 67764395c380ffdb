/**
 * `llmtap top [--url URL] [--token T]`: the terminal dashboard (issue 9 item 3, docs/top.md). It
 * reads a running llmtap through its HTTP API, so it needs no privilege and no database.
 */
import { UserError } from './errors.js';

export interface TopCommandOptions {
  url?: string;
  token?: string;
  interval?: string;
  window?: string;
}

/** Refresh period bounds: faster than 4 per second only loads the server, slower than a minute
 * is not live. Default 2 s, about what top(1) and htop use (3 s and 1.5 s). */
const MIN_INTERVAL_S = 0.25;
const MAX_INTERVAL_S = 60;
const DEFAULT_INTERVAL_S = 2;

export async function runTop(o: TopCommandOptions): Promise<void> {
  if (!process.stdout.isTTY || !process.stdin.isTTY) {
    throw new UserError('top needs a terminal: it draws a live screen (standard input and output must be a TTY)');
  }
  const seconds = o.interval === undefined ? DEFAULT_INTERVAL_S : Number(o.interval);
  if (!Number.isFinite(seconds) || seconds < MIN_INTERVAL_S || seconds > MAX_INTERVAL_S) {
    throw new UserError(`--interval must be seconds between ${MIN_INTERVAL_S} and ${MAX_INTERVAL_S}`);
  }
  const window = o.window ?? '1m';
  if (!/^\d{1,6}(ms|s|m|h|d)$/.test(window)) throw new UserError('--window must be a duration such as 1m, 5m or 1h');
  const url = o.url ?? 'http://127.0.0.1:3000';
  try {
    // Checked here so a typo is one clear line, not a screen that never connects.
    const u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new UserError(`--url must be an http:// or https:// address of a running llmtap, not ${JSON.stringify(url.slice(0, 100))}`);
  }
  // Ink renders only the final frame when it believes it runs in CI (is-in-ci: CI or CI_*
  // variables set), which would leave a live dashboard blank. Standard input and output are a
  // terminal (checked above), so someone is watching: tell Ink so before it is loaded.
  process.env['CI'] = '0';
  const { runTopScreen } = await import('../top/run.js');
  process.exitCode = await runTopScreen({
    url,
    token: o.token ?? process.env['LLMTAP_TOKEN'],
    intervalMs: Math.round(seconds * 1000),
    window,
  });
}
