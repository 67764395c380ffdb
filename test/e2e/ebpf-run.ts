/**
 * Helpers for the eBPF end-to-end test and bench: `llmtap ebpf` as a user runs it (started,
 * waited for until its probes are attached, stopped with SIGINT), and the real clients it
 * observes, each reporting its own pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LlmCallRecord } from '../../src/core/record.js';
import { repoRoot } from '../corpus.js';
import { ANTHROPIC_TEST_KEY, OPENAI_TEST_KEY, type SdkView } from './sdk-calls.js';
export { userView } from './user-view.js';

/** bpftrace verifies ~10 s per probed file (src/ebpf/bpftrace-script.ts); libssl + node ≈ 21 s
 * here. Four minutes means it hangs. */
const START_TIMEOUT_MS = 240_000;
/** After SIGINT llmtap stops bpftrace (< 1 s), flushes and exits. */
const STOP_TIMEOUT_MS = 60_000;
/** A client run is a few seconds over loopback. */
const CLIENT_TIMEOUT_MS = 120_000;

/** The comms the clients give themselves, so that the probes' --comm filter picks them out. */
export const SDK_COMM = 'llmtap-sdk';
export const PY_COMM = 'llmtap-e2e-py';

export interface EbpfRun {
  readonly child: ChildProcess;
  /** SIGINT, then the records written and the summary. */
  stop(): Promise<{ code: number | null; stderr: string; calls: LlmCallRecord[]; text: string }>;
}

/** `llmtap ebpf --jsonl OUT …args`, resolved once it says its probes are attached. */
export async function startEbpf(out: string, args: string[]): Promise<EbpfRun> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'llmtap.js'), 'ebpf', '--jsonl', out, ...args], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`llmtap ebpf not ready in ${START_TIMEOUT_MS / 1000} s: ${stderr}`)), START_TIMEOUT_MS);
    child.stderr!.on('data', (s: string) => {
      if (stderr.length < 1 << 20) stderr += s;
      if (stderr.includes('Ctrl-C to stop')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`llmtap ebpf exited ${code}: ${stderr}`));
    });
  });
  return {
    child,
    stop: async () => {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const code = await exited;
      clearTimeout(timer);
      const text = readFileSync(out, 'utf8');
      const calls = text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as { kind?: unknown })
        .filter((r): r is LlmCallRecord => r.kind === 'llm_call');
      return { code, stderr, calls, text };
    },
  };
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string; pid: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout = stdout.length < 1 << 22 ? stdout + s : stdout));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = stderr.length < 1 << 20 ? stderr + s : stderr));
    const timer = setTimeout(() => child.kill('SIGKILL'), CLIENT_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, pid: child.pid ?? -1 });
    });
  });
}

/** The official SDKs' calls (sdk-calls.ts, through keylog-clients.ts's runner) in a child node. */
export async function runSdkWithPid(main: string, openAiBase: string, anthropicBase: string, caCert: string | null): Promise<{ pid: number; views: SdkView[] }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['NODE_OPTIONS'];
  if (caCert !== null) env['NODE_EXTRA_CA_CERTS'] = caCert;
  // --title sets the kernel comm (libuv: prctl PR_SET_NAME): `llmtap ebpf --comm SDK_COMM` then
  // watches this client and not every node on a shared host.
  const r = await run(process.execPath, ['--dns-result-order=ipv4first', `--title=${SDK_COMM}`, main, openAiBase, anthropicBase], env);
  if (r.code !== 0) throw new Error(`SDK child exited ${r.code}: ${r.stderr}`);
  return { pid: r.pid, views: JSON.parse(r.stdout) as SdkView[] };
}

export interface PythonRun {
  pid: number;
  ids: (string | null)[];
  /** SSL_write_ex calls that failed with WANT_WRITE/WANT_READ and were retried. */
  retries: number;
  /** Bytes of the retried request (head and body) as sent once. */
  rawBytes: number;
}

/** test/e2e/ebpf_py_client.py: urllib calls and one retried large write. */
export async function runPythonClient(base: string, caFile: string | null): Promise<PythonRun> {
  const env = { ...process.env, OPENAI_TEST_KEY, ANTHROPIC_TEST_KEY };
  const r = await run('python3', [join(repoRoot, 'test', 'e2e', 'ebpf_py_client.py'), base, caFile ?? '-'], env);
  if (r.code !== 0) throw new Error(`python client exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as PythonRun;
}


