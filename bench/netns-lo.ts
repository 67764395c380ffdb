/**
 * A throw-away network namespace whose only interface is its own loopback, for the live-capture
 * benchmark (bench/live.ts). The load generator injects made-up LLM traffic (public server
 * addresses, 10.20/16 clients) onto `lo`: inside a fresh namespace there is no route anywhere and
 * forwarding is off (a new namespace starts with net.ipv4.ip_forward = 0), so not one of those
 * packets can leave the machine, and no other program's loopback traffic (other tests, the
 * servers of a shared machine) mixes into the capture being measured.
 *
 * The same cleanup guarantees as test/e2e/netns.ts: the namespace is named after the benchmark's
 * pid, namespaces of killed runs (pid gone) are swept at the next start, and destroy() kills what
 * still runs inside and deletes it (its lo goes with it). Idempotent, never throws.
 */
import { execFileSync, spawnSync } from 'node:child_process';

const NS_PREFIX = 'llmtap-bench-';
/** Bound on every `ip` command. */
const CMD_TIMEOUT_MS = 15_000;

function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', timeout: CMD_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function destroyNamespace(ns: string): void {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: CMD_TIMEOUT_MS });
  for (const p of (r.stdout ?? '').split(/\s+/)) {
    const pid = Number(p);
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already exited
      }
    }
  }
  spawnSync('ip', ['netns', 'del', ns], { timeout: CMD_TIMEOUT_MS });
}

function sweepStale(): void {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: CMD_TIMEOUT_MS });
  for (const line of (r.stdout ?? '').split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${NS_PREFIX}(\\d+)-lo$`).exec(name);
    if (m && !pidAlive(Number(m[1]))) destroyNamespace(name);
  }
}

export interface LoopbackNamespace {
  readonly name: string;
  /** `ip netns exec NAME cmd args…` as an argv, for spawn. */
  argv(cmd: string, args: string[]): string[];
  destroy(): void;
}

/** Creates the namespace with its lo up. Needs root (CAP_SYS_ADMIN, ip-netns(8)). */
export function createLoopbackNamespace(): LoopbackNamespace {
  sweepStale();
  const name = `${NS_PREFIX}${process.pid}-lo`;
  let destroyed = false;
  const ns: LoopbackNamespace = {
    name,
    argv: (cmd, args) => ['ip', 'netns', 'exec', name, cmd, ...args],
    destroy: () => {
      if (destroyed) return;
      destroyed = true;
      destroyNamespace(name);
    },
  };
  try {
    ip(['netns', 'add', name]);
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    ns.destroy();
    throw err;
  }
  return ns;
}
