/**
 * The built `llmtap` command as a long-running child process inside a network namespace (`ip
 * netns exec NS node bin/llmtap.js ARGS`), or in the test's own namespace with `ns` null: the
 * same contract as test/cli/cli-process.ts's CliProcess (stderr collected, waited on for a line,
 * Ctrl-C), which can only start llmtap in the test's namespace.
 *
 * `ip netns exec` execs the command (ip-netns(8)), so the child's pid is node's own: SIGINT
 * reaches llmtap itself, as Ctrl-C would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cli } from '../cli/cli-process.js';

/** llmtap reaches its "serving"/"capturing" lines in a few seconds; a minute means it hangs (a
 * generous bound for two shared cores, not a timing assertion). */
const LINE_TIMEOUT_MS = 60_000;
/** After Ctrl-C: the capture flushes and the store commits in well under this; then SIGKILL. */
const EXIT_TIMEOUT_MS = 30_000;

export class NsCliProcess {
  readonly child: ChildProcess;
  stderr = '';
  stdout = '';
  private readonly exited: Promise<number | null>;

  /** `env`: llmtap's environment (a test may give it a PATH holding only one capture tool). */
  constructor(ns: string | null, args: string[], env: NodeJS.ProcessEnv = process.env) {
    const argv = [process.execPath, cli, ...args];
    this.child = ns === null ? spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env }) : spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  private running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
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

  /** Ctrl-C; resolves with the exit code (null when it had to be killed after EXIT_TIMEOUT_MS). */
  async interrupt(): Promise<number | null> {
    if (this.running()) this.child.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      this.exited,
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), EXIT_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (code !== 'timeout') return code;
    this.stderr += `\n[test] no exit ${EXIT_TIMEOUT_MS} ms after SIGINT: killed\n`;
    await this.kill();
    return null;
  }

  /** For cleanup after a failed test: ends the process if it still runs. */
  async kill(): Promise<void> {
    if (this.running()) this.child.kill('SIGKILL');
    await this.exited;
  }
}
