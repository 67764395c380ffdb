/**
 * The privileged probe process (issue 9 item 1), the way `capture` runs tcpdump: bpftrace loads
 * the generated program (root, or CAP_BPF + CAP_PERFMON, plus CAP_SYS_ADMIN where the kernel
 * asks it of uprobes and CAP_DAC_READ_SEARCH to open other users' files) and prints events on
 * its stdout, which llmtap reads with no privilege of its own: run bpftrace through sudo or give
 * it the capabilities (`setcap cap_bpf,cap_perfmon,cap_sys_admin+ep $(command -v bpftrace)`) and
 * `--bpftrace` names it. One child per set of files: files found later get a child of their own.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpftraceEnv } from './bpftrace-script.js';

/** bpftrace's verifier walk takes ~10 s per probed file (bpftrace-script.ts); a set of many files
 * on a slow machine takes minutes. Beyond this it is reported as hanging. */
export const START_TIMEOUT_MS = 300_000;
/** After SIGINT bpftrace detaches and exits at once; beyond this it is killed. */
const STOP_TIMEOUT_MS = 10_000;
/** stderr kept for error messages. */
const MAX_STDERR_KEEP = 8 * 1024;

/** bpftrace's stderr lines that are not errors (seen with 0.17 on kernel 6.x: memlock is
 * accounted by the memory cgroup since 5.11, and detaching without tracefs mounted). */
const NOISE = [/couldn't set RLIMIT_MEMLOCK/, /uprobe_events\): No such file/, /failed to detach probe/, /WARNING: .*integers of different signs/, /^\s+(while|if) \(/, /^\s+~+\s*$/];

export interface ProbeSet {
  /** Resolves once every probe is attached (the BEGIN line came); rejects with why it failed. */
  readonly ready: Promise<void>;
  /** Null when stopped, else why bpftrace ended. */
  readonly ended: Promise<string | null>;
  stop(): Promise<void>;
}

export interface ProbeSetOptions {
  bpftrace: string;
  script: string;
  /** stdout text (latin1: one char per byte, comm is bytes), in pipe-sized pieces. */
  onText(text: string): void;
  env?: NodeJS.ProcessEnv;
}

/** Starts bpftrace on the script; `isReady` says when the caller's parser has seen the READY line
 * in what onText gave it. */
export function startProbeSet(o: ProbeSetOptions, isReady: () => boolean): ProbeSet {
  const dir = mkdtempSync(join(tmpdir(), 'llmtap-ebpf-'));
  const file = join(dir, 'probes.bt');
  writeFileSync(file, o.script, { mode: 0o600 });
  // -B line: each event line leaves at once (a live view), not when a 4 KiB buffer fills.
  const child = spawn(o.bpftrace, ['-B', 'line', file], { stdio: ['ignore', 'pipe', 'pipe'], env: bpftraceEnv(o.env ?? process.env) });
  let kept = '';
  let stopping = false;
  let onReady: (() => void) | null = null;
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (t: string) => {
    o.onText(t);
    if (onReady !== null && isReady()) onReady();
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (t: string) => {
    for (const line of t.split('\n')) {
      if (line.trim() === '' || NOISE.some((r) => r.test(line))) continue;
      if (kept.length < MAX_STDERR_KEEP) kept += `${line}\n`;
    }
  });
  const ended = new Promise<string | null>((resolve) => {
    child.once('error', (err) => resolve(`cannot run ${o.bpftrace}: ${err.message}`));
    child.once('exit', (code, signal) => {
      rmSync(dir, { recursive: true, force: true });
      if (stopping) return resolve(null);
      const why = kept.trim().split('\n').slice(0, 3).join('; ');
      resolve(`bpftrace exited (${code ?? signal})${why ? `: ${why}` : ''}`);
    });
  });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bpftrace did not attach its probes within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    onReady = () => {
      onReady = null;
      clearTimeout(timer);
      resolve();
    };
    void ended.then((why) => {
      clearTimeout(timer);
      reject(new Error(why ?? 'bpftrace stopped before its probes were attached'));
    });
  });
  ready.catch(() => undefined);
  return {
    ready,
    ended,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      stopping = true;
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await ended;
      clearTimeout(t);
    },
  };
}
