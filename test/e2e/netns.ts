/**
 * A throw-away network lab for the end-to-end test. Two network namespaces, joined by veth pairs
 * with a 1500-byte MTU, addressed from a private /29 that exists only on those pairs (no packet
 * of the test can leave this machine):
 *
 *   host (clients, tcpdump) ── hostIf ═ routerA ── [router ns] ── routerB ═ serverIf ── [server ns]
 *
 * The router forwards between the two and drops packets at random (iptables `statistic` in its
 * FORWARD chain). The capture point is hostIf, so
 * - a client→server packet is captured and THEN dropped: the capture holds it and its TCP
 *   retransmission (duplicate data);
 * - a server→client packet is dropped BEFORE the capture point: the capture has a hole that the
 *   retransmission fills later, after segments that follow it (out of order).
 * Drops in the server's own OUTPUT chain would not do that: netfilter then fails the send and TCP
 * simply sends the segment again later, in order.
 *
 * Deleting the veth pairs and the namespaces removes the routes and the namespaces' iptables
 * rules with them: nothing is left on the host.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import ts from 'typescript';
import { repoRoot } from '../corpus.js';
import { terminate } from './tcpdump.js';

/** Namespaces of this test are named PREFIX + the pid of the test process that made them + a
 * role, so a later run can tell a leftover of a killed run (its pid is gone) from a concurrent
 * run's. */
const NS_PREFIX = 'llmtap-e2e-';
/** Ethernet's MTU (RFC 894), what a real NIC path segments to. */
export const LAB_MTU = 1500;
/** Bound on every `ip`/`iptables` command. */
const CMD_TIMEOUT_MS = 15_000;
/** How long the server in the namespace may take to print that it listens. */
const SERVER_START_TIMEOUT_MS = 15_000;

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: CMD_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
}

function tryRun(cmd: string, args: string[]): boolean {
  try {
    run(cmd, args);
    return true;
  } catch {
    return false;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes namespaces left by earlier runs of this test that were killed before their cleanup
 * (their pid is gone), with the test servers still running in them. */
export function sweepStaleLabs(): void {
  let list = '';
  try {
    list = run('ip', ['netns', 'list']);
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${NS_PREFIX}(\\d+)-[a-z]+$`).exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    destroyNamespace(name);
  }
}

/** Kills what runs in a namespace of this test (its server), then deletes it. */
function destroyNamespace(ns: string): void {
  let pids = '';
  try {
    pids = run('ip', ['netns', 'pids', ns]);
  } catch {
    // namespace already gone
  }
  for (const p of pids.split(/\s+/)) {
    const pid = Number(p);
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already exited
      }
    }
  }
  tryRun('ip', ['netns', 'del', ns]);
}

export interface VethLab {
  /** Namespace of the server. */
  readonly serverNs: string;
  /** Namespace of the router that drops packets. */
  readonly routerNs: string;
  /** veth end on the host (the clients' side; capture here). */
  readonly hostIf: string;
  /** Router interfaces: A faces the host, B the server. */
  readonly routerA: string;
  readonly routerB: string;
  readonly hostIp: string;
  readonly serverIp: string;
  /** True when GSO was limited to one segment per packet on every veth end, so that packets are
   * MTU-sized as through a real NIC rather than veth's 64 KB GSO super-packets. */
  readonly segmented: boolean;
  /** `ip netns exec NS cmd args…` */
  exec(ns: string, cmd: string, args: string[]): string;
  /** Deletes the veth pairs, the namespaces and their iptables rules. Idempotent, never throws. */
  destroy(): void;
}

/** Picks a /29 in 10.213.0.0/16 from the pid (so concurrent runs differ) that no route on this
 * machine covers yet, and splits it into two /30s: host–router and router–server. */
function pickSubnet(): { hostIp: string; routerAIp: string; routerBIp: string; serverIp: string } {
  for (let attempt = 0; attempt < 64; attempt++) {
    const n = (process.pid + attempt * 7919) % (256 * 32);
    const base = `10.213.${n % 256}`;
    const first = Math.floor(n / 256) * 8;
    const ips = {
      hostIp: `${base}.${first + 1}`,
      routerAIp: `${base}.${first + 2}`,
      routerBIp: `${base}.${first + 5}`,
      serverIp: `${base}.${first + 6}`,
    };
    // `ip route show to match ADDR` lists every route that covers ADDR; only the default route
    // may (the more specific routes of the lab override it).
    const taken = [ips.hostIp, ips.serverIp].some((ip) =>
      run('ip', ['-4', 'route', 'show', 'to', 'match', ip])
        .split('\n')
        .some((l) => l.trim() !== '' && !l.startsWith('default')),
    );
    if (!taken) return ips;
  }
  throw new Error('no free /29 in 10.213.0.0/16 for the test lab');
}

export function createVethLab(): VethLab {
  sweepStaleLabs();
  const serverNs = `${NS_PREFIX}${process.pid}-server`;
  const routerNs = `${NS_PREFIX}${process.pid}-router`;
  // Interface names are limited to 15 bytes (IFNAMSIZ - 1).
  const tag = (process.pid % 1_000_000).toString(36);
  const hostIf = `lte${tag}h`;
  const routerA = `lte${tag}a`;
  const routerB = `lte${tag}b`;
  const serverIf = `lte${tag}s`;
  const { hostIp, routerAIp, routerBIp, serverIp } = pickSubnet();
  let destroyed = false;
  const lab: VethLab = {
    serverNs,
    routerNs,
    hostIf,
    routerA,
    routerB,
    hostIp,
    serverIp,
    segmented: false,
    exec: (ns, cmd, args) => run('ip', ['netns', 'exec', ns, cmd, ...args]),
    destroy: () => {
      if (destroyed) return;
      destroyed = true;
      // Deleting one end of a veth pair deletes both, at once; a namespace's own devices go
      // asynchronously after `ip netns del`, so delete the host end explicitly.
      tryRun('ip', ['link', 'del', hostIf]);
      destroyNamespace(serverNs);
      destroyNamespace(routerNs);
    },
  };
  try {
    run('ip', ['netns', 'add', routerNs]);
    run('ip', ['netns', 'add', serverNs]);
    run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', routerA, 'netns', routerNs]);
    run('ip', ['-n', routerNs, 'link', 'add', routerB, 'type', 'veth', 'peer', 'name', serverIf, 'netns', serverNs]);
    const ends: [string | null, string][] = [
      [null, hostIf],
      [routerNs, routerA],
      [routerNs, routerB],
      [serverNs, serverIf],
    ];
    const link = (ns: string | null, args: string[]): string[] => (ns === null ? args : ['-n', ns, ...args]);
    let segmented = true;
    for (const [ns, dev] of ends) {
      run('ip', link(ns, ['link', 'set', dev, 'mtu', String(LAB_MTU)]));
      // veth hands whole GSO packets (up to 64 KB) to its peer, and tcpdump would see those.
      // With one segment per GSO packet, TCP sends MSS-sized segments as through a real NIC.
      // Older kernels refuse to set this: the test then still runs, on bigger packets.
      segmented = tryRun('ip', link(ns, ['link', 'set', dev, 'gso_max_segs', '1'])) && segmented;
    }
    run('ip', ['addr', 'add', `${hostIp}/30`, 'dev', hostIf]);
    run('ip', ['-n', routerNs, 'addr', 'add', `${routerAIp}/30`, 'dev', routerA]);
    run('ip', ['-n', routerNs, 'addr', 'add', `${routerBIp}/30`, 'dev', routerB]);
    run('ip', ['-n', serverNs, 'addr', 'add', `${serverIp}/30`, 'dev', serverIf]);
    for (const [ns, dev] of ends) run('ip', link(ns, ['link', 'set', dev, 'up']));
    run('ip', ['-n', routerNs, 'link', 'set', 'lo', 'up']);
    run('ip', ['-n', serverNs, 'link', 'set', 'lo', 'up']);
    // Routes: host → server via the router (gone with hostIf); server → anything via the router.
    run('ip', ['route', 'add', `${serverIp}/32`, 'via', routerAIp, 'dev', hostIf]);
    run('ip', ['-n', serverNs, 'route', 'add', 'default', 'via', routerBIp]);
    // Forwarding is per namespace (net.ipv4.ip_forward); this sets it in the router's only.
    run('ip', ['netns', 'exec', routerNs, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
    return { ...lab, segmented };
  } catch (err) {
    lab.destroy();
    throw err;
  }
}

/** Makes the router drop forwarded TCP packets of `port` at random with `probability`, per
 * direction (iptables-extensions(8), `statistic --mode random`). */
export function addRandomDrops(lab: VethLab, port: number, probability: number): void {
  for (const [dev, portMatch] of [
    [lab.routerA, '--dport'],
    [lab.routerB, '--sport'],
  ] as const) {
    lab.exec(lab.routerNs, 'iptables', [
      '-A', 'FORWARD', '-i', dev, '-p', 'tcp', portMatch, String(port),
      '-m', 'statistic', '--mode', 'random', '--probability', String(probability),
      '-j', 'DROP',
    ]);
  }
}

/** Packets the router dropped so far: [client→server, server→client]. Read from the rule
 * counters (`iptables -L FORWARD -v -n -x`: packets first, `in` interface sixth). */
export function dropCounts(lab: VethLab): [number, number] {
  let toServer = 0;
  let toClient = 0;
  for (const line of lab.exec(lab.routerNs, 'iptables', ['-L', 'FORWARD', '-v', '-n', '-x']).split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[2] !== 'DROP') continue;
    if (cols[5] === lab.routerA) toServer += Number(cols[0]);
    if (cols[5] === lab.routerB) toClient += Number(cols[0]);
  }
  return [toServer, toClient];
}

export interface NsProcess {
  readonly child: ChildProcess;
  /** The first line the process printed on stdout. */
  readonly firstLine: string;
  /** SIGTERM, then SIGKILL after 5 s. Idempotent. */
  stop(): Promise<void>;
}

/** Starts `node script args…` inside the namespace and waits for its first stdout line. */
export async function spawnInNamespace(ns: string, script: string, args: string[]): Promise<NsProcess> {
  // `ip netns exec` execs the command, so the child's pid is node's own.
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    stderr += s;
  });
  const stop = (): Promise<void> => terminate(child, exited, 'SIGTERM', 5_000);
  try {
    const firstLine = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${script} did not start within ${SERVER_START_TIMEOUT_MS} ms: ${stderr}`)),
        SERVER_START_TIMEOUT_MS,
      );
      const rl = createInterface({ input: child.stdout! });
      rl.once('line', (line) => {
        clearTimeout(timer);
        rl.close();
        child.stdout!.resume(); // keep draining: a full pipe would block the server
        resolve(line);
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${script} exited before it was ready: ${stderr}`));
      });
    });
    return { child, firstLine, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The LLM server of llm-server.ts, started with plain node inside the namespace `ns` on `ip`: its
 * one file (node built-ins only) is transpiled into `dir` instead of depending on a TypeScript
 * loader in the namespace. Resolves when it listens, with the port it got.
 */
export async function startLlmServerInNamespace(ns: string, ip: string, dir: string): Promise<{ server: NsProcess; port: number }> {
  const script = join(dir, 'llm-server.mjs');
  const source = readFileSync(join(repoRoot, 'test', 'e2e', 'llm-server.ts'), 'utf8');
  writeFileSync(script, ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);
  const server = await spawnInNamespace(ns, script, ['--host', ip, '--port', '0']);
  const port = (JSON.parse(server.firstLine) as { listening: { port: number } }).listening.port;
  return { server, port };
}
