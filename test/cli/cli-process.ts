/**
 * The built `llmtap` command as a long-running child process, the way a user runs it: started
 * with arguments and an environment, its stderr collected, waited on for a line, stopped with
 * Ctrl-C (SIGINT).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../corpus.js';

export const cli = join(repoRoot, 'bin', 'llmtap.js');

/** A replay or a serve of the demo capture reaches its "serving" line in well under 10 s; a
 * minute means it hangs (a generous bound for two shared cores, not a timing assertion). */
const LINE_TIMEOUT_MS = 60_000;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `llmtap ARGS` to its end. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): CliRun {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export class CliProcess {
  readonly child: ChildProcess;
  stderr = '';
  stdout = '';
  private exited: Promise<number | null>;

  constructor(args: string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Resolves with the first match of `re` in stderr; rejects if the process exits first. */
  waitFor(re: RegExp): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = re.exec(this.stderr);
        if (m) {
          cleanup();
          resolve(m);
        }
        return m !== null;
      };
      const onData = (): void => void check();
      const onExit = (code: number | null): void => {
        if (check()) return;
        cleanup();
        reject(new Error(`llmtap exited ${String(code)} before ${String(re)}:\n${this.stderr}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${String(re)} within ${LINE_TIMEOUT_MS} ms:\n${this.stderr}`));
      }, LINE_TIMEOUT_MS);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.child.stderr?.off('data', onData);
        this.child.off('exit', onExit);
      };
      this.child.stderr?.on('data', onData);
      this.child.once('exit', onExit);
      check();
    });
  }

  /** Ctrl-C; resolves with the exit code. */
  async interrupt(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGINT');
    return this.exited;
  }

  /** For cleanup after a failed test: ends the process if it still runs. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
