/**
 * Runs one agent CLI invocation to its end, with a clean environment: only what the test gives
 * it (no proxy, no real keys, no user config from the machine running the tests).
 */
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import type { ClientCommand } from './install.js';

/** One prompt takes about a second against the local server; a minute means the CLI is waiting
 * for something it will not get (a login, a host it cannot reach). */
export const CLIENT_TIMEOUT_MS = 90_000;
/** Output kept per stream: the CLIs print a few lines; a runaway must not fill memory. */
const MAX_OUTPUT_CHARS = 256 * 1024;

export interface ClientRun {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export function runClient(cmd: ClientCommand, args: string[], cwd: string, env: Record<string, string>): Promise<ClientRun> {
  // PATH: this node first (Codex's launcher is a node script), then the system's, for the shell
  // the agent runs its tool command in.
  const fullEnv = { PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`, LANG: 'C.UTF-8', TERM: 'dumb', ...env };
  return new Promise((resolve) => {
    const child = spawn(cmd.file, [...cmd.prefix, ...args], { cwd, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      if (stdout.length < MAX_OUTPUT_CHARS) stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < MAX_OUTPUT_CHARS) stderr += s;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, CLIENT_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr: `${stderr}\nspawn failed: ${err.message}`, timedOut });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** One line for assertion messages: how the run ended and the tail of what it printed. */
export function describeRun(run: ClientRun): string {
  const tail = (s: string): string => s.slice(-2_000);
  return `exit ${run.code ?? run.signal}${run.timedOut ? ' (timed out)' : ''}\nstdout: ${tail(run.stdout)}\nstderr: ${tail(run.stderr)}`;
}
