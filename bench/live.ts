/**
 * `node dist/bench/live.js`: the highest packet rate on loopback that `llmtap capture -i lo`
 * follows with zero drops (issue 6: "the highest packet rate on loopback (from a load generator)
 * that llmtap follows with zero drops for a minute"; target ≥ 100,000 packets/s).
 *
 * Load generator: tcpreplay (apt package `tcpreplay`) replays the benchmark workload
 * (bench/workload.ts: agent sessions over the four wire APIs, 1448-byte segments, SSE) onto `lo`
 * at `--pps R`, looping the file; `--unique-ip` rewrites the addresses on every loop
 * (tcpreplay(1)), so each loop is new connections to reassembly, not retransmissions of the last.
 * Everything runs inside a fresh network namespace (bench/netns-lo.ts): its `lo` carries only
 * the generated traffic, and no generated packet can leave the machine.
 *
 * A trial at rate R passes when, as llmtap reports them: tcpdump's kernel drops (ps_drop) and
 * interface drops (ps_ifdrop) are 0, llmtap's own drops are 0, and llmtap found every call sent
 * (calls per loop, from an offline replay of the same file, × loops). Packets captured against
 * packets sent is shown beside them. The search: trials of `--trial-s` seconds from `--start-pps`, doubling
 * while they pass (up to `--max-pps`), halving while they fail, then `--steps` bisections between
 * the best pass and the lowest failure; then the best rate is confirmed by a `--confirm-s` run
 * (stepping down by a fifth while a confirmation fails, at most twice).
 *
 * The rate reported is what tcpreplay achieved (its "Rated: … pps"), not what was asked: on a
 * busy machine the generator itself can fall short, and the table says so.
 *
 * Options: --base-mb N (workload per loop, default 20; cached in bench/out/ like run.ts's),
 * --trial-s S (10), --confirm-s S (60), --start-pps R (50000), --max-pps R (400000),
 * --min-pps R (5000), --steps N (3), --rates R1,R2,… (just these trials, no search or
 * confirmation), --snaplen N, --buffer-size KiB, --workers N (passed to llmtap capture),
 * --db (store into a fresh DuckDB file instead of counting JSONL on a pipe), --pps-multi N
 * (tcpreplay packets per timer tick), --filter EXPR (the capture filter, default "tcp").
 *
 * Needs root (network namespace, packet capture), tcpdump, tcpreplay and ip; prints why and exits
 * 0 otherwise, so `npm run bench` still reports the rest.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { findLlmtapCapture } from '../src/capture/live-llmtap-capture-text.js';
import { findRepoRoot } from '../test/gen/repo-root.js';
import { createLoopbackNamespace, type LoopbackNamespace } from './netns-lo.js';
import { type WorkloadMeta, cachedWorkload, writeWorkload } from './workload.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const num = (name: string, fallback: number): number => {
  const v = opt(name);
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} ${v ?? ''}: expected a positive number`);
  return n;
};

const baseMb = num('--base-mb', 20);
const trialS = num('--trial-s', 10);
const confirmS = num('--confirm-s', 60);
const startPps = num('--start-pps', 50_000);
const maxPps = num('--max-pps', 400_000);
const minPps = num('--min-pps', 5_000);
const steps = num('--steps', 3);
const useDb = args.includes('--db');
const explicitRates = opt('--rates')
  ?.split(',')
  .map((s) => Number(s))
  .filter((n) => Number.isFinite(n) && n > 0);
const passThrough = (['--snaplen', '--buffer-size', '--workers'] as const).flatMap((f) => (opt(f) !== undefined ? [f, opt(f)!] : []));
const ppsMulti = opt('--pps-multi');
/** `--capture-tool llmtap-capture|tcpdump|dumpcap`: passed to llmtap; for tcpdump and dumpcap
 * llmtap also runs with only that program on its PATH (a directory holding one link to it) and
 * without the built llmtap-capture (LLMTAP_CAPTURE_PROGRAM empty), as on a host with only that
 * tool. Default: llmtap's automatic choice (src/capture/live-capture-tool.ts: llmtap-capture when
 * built, then tcpdump). */
const captureTool = opt('--capture-tool');
if (captureTool !== undefined && !['llmtap-capture', 'tcpdump', 'dumpcap'].includes(captureTool)) throw new Error(`--capture-tool ${captureTool}: expected llmtap-capture, tcpdump or dumpcap`);
/** The capture filter. On lo every packet passes the packet socket twice (its transmission and
 * its reception, both tagged with lo's ifindex), and both copies would take a ring slot before
 * libpcap discards the outgoing one in user space: llmtap adds `inbound` to the kernel filter on a
 * loopback device itself (loopbackFilter, src/capture/live-tcpdump-text.ts), so "tcp" and
 * "inbound and tcp" capture the same; before it did, the latter halved the ring's load. */
const filter = opt('--filter') ?? 'tcp';

/** llmtap reaches "capturing on lo" in 1–3 s; a wait this long means it failed. */
const START_TIMEOUT_MS = 60_000;
/** After the generator stops, llmtap may still be working through the pipe and the kernel ring:
 * it is done when its CPU time stops growing for DRAIN_QUIET_MS (checked every DRAIN_POLL_MS),
 * or after DRAIN_MAX_MS (then it is reported as lagging, and the trial still counts what came). */
const DRAIN_POLL_MS = 250;
const DRAIN_QUIET_MS = 750;
const DRAIN_MAX_MS = 60_000;
/** After Ctrl-C llmtap flushes and exits in about a second; this bounds a hang. */
const EXIT_TIMEOUT_MS = 60_000;
/** A confirmation that fails steps the rate down by this factor, at most CONFIRM_RETRIES times. */
const CONFIRM_BACKOFF = 0.8;
const CONFIRM_RETRIES = 2;
/** Clock ticks per second of /proc/PID/stat's utime/stime: USER_HZ, 100 on every Linux ABI
 * (proc(5), "(14) utime … measured in clock ticks (divide by sysconf(_SC_CLK_TCK))"). */
const CLK_TCK = 100;

const root = findRepoRoot();
process.chdir(root);
const llmtapBin = join(root, 'bin', 'llmtap.js');

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function fmtInt(n: number | null): string {
  return n === null ? '—' : Math.round(n).toLocaleString('en-US');
}

/** utime + stime of a process in seconds, or null when it is gone. */
function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may itself hold spaces.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

/** The pids of a process's children (proc(5), /proc/PID/task/TID/children). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/)) if (c) out.push(Number(c));
    }
  } catch {
    // gone
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Trial {
  targetPps: number;
  seconds: number;
  loops: number;
  /** tcpreplay's own report. */
  sent: number | null;
  failedSends: number | null;
  ratedPps: number | null;
  sendSeconds: number | null;
  /** llmtap's summary. */
  captured: number | null;
  kernelDrops: number | null;
  ifDrops: number | null;
  llmtapDrops: number | null;
  callsExpected: number;
  callsFound: number;
  /** CPU use over the send + drain window, % of one core. */
  llmtapCpu: number | null;
  tcpdumpCpu: number | null;
  /** How long after the generator stopped llmtap was still busy. */
  drainSeconds: number;
  /** Packets llmtap processed per CPU second of its own (captured ÷ its CPU time over the
   * window): its capacity on one core, which the machine's other load does not change the way
   * it changes the pass/fail verdict. */
  packetsPerCpuSecond: number | null;
  /** The 1-minute load average when the trial started (/proc/loadavg): on a shared machine the
   * verdict depends on it. */
  load: number | null;
  ok: boolean;
  why: string;
}

/** Reads a counter of llmtap's summary line ("drops: kernel 0, interface 0, llmtap 0 (tcpdump:
 * 1,234 captured, …)"); null when missing or "unknown". */
function summaryNumber(stderr: string, re: RegExp): number | null {
  const m = re.exec(stderr);
  if (!m || m[1] === undefined || m[1] === 'unknown') return null;
  return Number(m[1].replace(/,/g, ''));
}

function spawnIn(ns: LoopbackNamespace, cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const full = ns.argv(cmd, argv);
  // Found on the bench's PATH: `env` may hold a PATH of one capture tool (llmtapEnv).
  const exe = full[0]!.includes('/') ? full[0]! : spawnSync('sh', ['-c', `command -v ${full[0]!}`], { encoding: 'utf8' }).stdout.trim() || full[0]!;
  return spawn(exe, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
}

/** llmtap's environment: with --capture-tool tcpdump or dumpcap, a PATH of one directory holding
 * only that tool, and no llmtap-capture. */
function llmtapEnv(): NodeJS.ProcessEnv {
  if (captureTool === undefined || captureTool === 'llmtap-capture') return process.env;
  const dir = join(root, 'bench', 'out', `capture-tool-${captureTool}`);
  mkdirSync(dir, { recursive: true });
  const link = join(dir, captureTool);
  const target = spawnSync('sh', ['-c', `command -v ${captureTool}`], { encoding: 'utf8' }).stdout.trim();
  if (target === '') throw new Error(`--capture-tool ${captureTool}: not on PATH`);
  rmSync(link, { force: true });
  symlinkSync(target, link);
  return { ...process.env, PATH: dir, LLMTAP_CAPTURE_PROGRAM: '' };
}

async function runTrial(ns: LoopbackNamespace, pcap: string, meta: WorkloadMeta, perLoopCalls: number, targetPps: number, seconds: number): Promise<Trial> {
  const loops = Math.max(1, Math.round((targetPps * seconds) / meta.packets));
  const db = join(root, 'bench', 'out', `live-bench-${process.pid}.duckdb`);
  for (const f of [db, `${db}.wal`, `${db}.bodies`]) rmSync(f, { force: true, recursive: true });
  const sink = useDb ? ['--db', db, '--no-retention'] : ['--jsonl', '-'];
  const llmtap = spawnIn(ns, process.execPath, [llmtapBin, 'capture', '-i', 'lo', '--bpf-filter', filter, ...sink, ...passThrough, ...(captureTool !== undefined ? ['--capture-tool', captureTool] : [])], llmtapEnv());
  let stderr = '';
  llmtap.stderr!.setEncoding('utf8');
  llmtap.stderr!.on('data', (s: string) => {
    stderr = (stderr + s).slice(-50_000);
  });
  let callsFound = 0;
  let partial = '';
  llmtap.stdout!.setEncoding('utf8');
  llmtap.stdout!.on('data', (s: string) => {
    const lines = (partial + s).split('\n');
    partial = lines.pop()!;
    for (const l of lines) if (l.includes('"kind":"llm_call"')) callsFound++;
  });
  const exited = new Promise<number | null>((resolve) => llmtap.once('exit', (c) => resolve(c)));
  const load = loadAverage();
  const fail = (why: string): Trial => ({
    targetPps, seconds, loops, sent: null, failedSends: null, ratedPps: null, sendSeconds: null, captured: null, kernelDrops: null, ifDrops: null,
    llmtapDrops: null, callsExpected: perLoopCalls * loops, callsFound, llmtapCpu: null, tcpdumpCpu: null, drainSeconds: 0, packetsPerCpuSecond: null, load, ok: false, why,
  });
  try {
    const started = Date.now();
    while (!/capturing on lo/.test(stderr)) {
      if (llmtap.exitCode !== null || Date.now() - started > START_TIMEOUT_MS) return fail(`llmtap did not start: ${stderr.trim().split('\n').pop() ?? ''}`);
      await sleep(50);
    }
    const tcpdumpPid = childrenOf(llmtap.pid!)[0];
    const cpu0 = [cpuSeconds(llmtap.pid), cpuSeconds(tcpdumpPid)];
    const t0 = performance.now();

    const genArgs = ['-i', 'lo', '--pps', String(targetPps), '--loop', String(loops), '--unique-ip', '--preload-pcap', '--no-flow-stats'];
    if (ppsMulti !== undefined) genArgs.push('--pps-multi', ppsMulti);
    const gen = spawnIn(ns, 'tcpreplay', [...genArgs, pcap]);
    let genOut = '';
    for (const s of [gen.stdout!, gen.stderr!]) {
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        genOut = (genOut + d).slice(-20_000);
      });
    }
    const genCode = await new Promise<number | null>((resolve) => gen.once('exit', (c) => resolve(c)));
    const genDone = performance.now();
    const actual = /Actual: (\d+) packets \(\d+ bytes\) sent in ([\d.]+) seconds/.exec(genOut);
    const rated = /Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps/.exec(genOut);
    const failed = /Failed packets:\s+(\d+)/.exec(genOut);
    if (genCode !== 0 || !actual) return fail(`tcpreplay exited ${String(genCode)}: ${genOut.trim().split('\n').slice(-2).join(' | ')}`);

    // Drain: until llmtap's CPU time stops growing (it has caught up with the pipe and the ring).
    let last = cpuSeconds(llmtap.pid) ?? 0;
    let quietSince = performance.now();
    while (performance.now() - genDone < DRAIN_MAX_MS) {
      await sleep(DRAIN_POLL_MS);
      const now = cpuSeconds(llmtap.pid) ?? 0;
      // Less than 2% of a core over the poll: idle (the 200 ms store/clock tick costs ~nothing).
      if (now - last > (0.02 * DRAIN_POLL_MS) / 1000) quietSince = performance.now();
      last = now;
      if (performance.now() - quietSince >= DRAIN_QUIET_MS) break;
    }
    const drainEnd = quietSince;
    const cpu1 = [cpuSeconds(llmtap.pid), cpuSeconds(tcpdumpPid)];
    const wall = (drainEnd - t0) / 1000;
    const pct = (i: number): number | null => (cpu0[i] != null && cpu1[i] != null ? (100 * (cpu1[i]! - cpu0[i]!)) / wall : null);

    llmtap.kill('SIGINT');
    let exitTimer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      exited,
      new Promise<'timeout'>((resolve) => {
        exitTimer = setTimeout(() => resolve('timeout'), EXIT_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(exitTimer);
    if (code === 'timeout') {
      llmtap.kill('SIGKILL');
      return fail('llmtap did not exit after Ctrl-C');
    }
    if (partial.includes('"kind":"llm_call"')) callsFound++;
    if (useDb) callsFound = summaryNumber(stderr, /stored ([\d,]+) new calls/) ?? 0;
    const t: Trial = {
      targetPps,
      seconds,
      loops,
      sent: Number(actual[1]),
      failedSends: failed ? Number(failed[1]) : null,
      ratedPps: rated ? Number(rated[1]) : null,
      sendSeconds: Number(actual[2]),
      captured: summaryNumber(stderr, /(?:tcpdump|dumpcap|llmtap-capture): ([\d,]+|unknown) captured/),
      kernelDrops: summaryNumber(stderr, /drops: kernel ([\d,]+|unknown)/),
      ifDrops: summaryNumber(stderr, /, interface ([\d,]+|unknown)/),
      llmtapDrops: summaryNumber(stderr, /, llmtap ([\d,]+|unknown)/),
      callsExpected: perLoopCalls * loops,
      callsFound,
      llmtapCpu: pct(0),
      tcpdumpCpu: pct(1),
      drainSeconds: Math.max(0, (drainEnd - genDone) / 1000),
      packetsPerCpuSecond: null,
      load,
      ok: false,
      why: '',
    };
    const llmtapCpuS = cpu0[0] != null && cpu1[0] != null ? cpu1[0]! - cpu0[0]! : null;
    t.packetsPerCpuSecond = t.captured !== null && llmtapCpuS ? t.captured / llmtapCpuS : null;
    const problems: string[] = [];
    if (code !== 0) problems.push(`llmtap exited ${String(code)}`);
    if (t.failedSends) problems.push(`${t.failedSends} sends failed`);
    if (t.kernelDrops !== 0) problems.push(`kernel drops ${fmtInt(t.kernelDrops)}`);
    if (t.ifDrops !== 0) problems.push(`interface drops ${fmtInt(t.ifDrops)}`);
    if (t.llmtapDrops !== 0) problems.push(`llmtap drops ${fmtInt(t.llmtapDrops)}`);
    // Shown, not judged: the issue's bar is drops and calls. With the `inbound` filter tcpdump
    // consistently captures one packet fewer than tcpreplay reports sent, with no drop counted and
    // every call found (not explained yet; see the report).
    const notes: string[] = [];
    if (t.captured !== t.sent) notes.push(`captured ${fmtInt(t.captured)} of ${fmtInt(t.sent)}`);
    if (t.callsFound !== t.callsExpected) problems.push(`calls ${t.callsFound} of ${t.callsExpected}`);
    if (t.drainSeconds * 1000 >= DRAIN_MAX_MS) problems.push(`still busy ${DRAIN_MAX_MS / 1000} s after the generator stopped`);
    t.ok = problems.length === 0;
    const short = t.ratedPps !== null && t.ratedPps < 0.9 * targetPps ? `generator reached only ${fmtInt(t.ratedPps)} pps` : '';
    t.why = [...problems, ...notes, short].filter(Boolean).join('; ');
    return t;
  } finally {
    if (llmtap.exitCode === null && llmtap.signalCode === null) llmtap.kill('SIGKILL');
    for (const f of [db, `${db}.wal`, `${db}.bodies`]) rmSync(f, { force: true, recursive: true });
  }
}

function loadAverage(): number | null {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}

function row(kind: string, t: Trial): string {
  const pct = (x: number | null): string => (x === null ? '—' : `${x.toFixed(0)}%`);
  return `| ${kind} | ${t.load?.toFixed(1) ?? '—'} | ${fmtInt(t.targetPps)} | ${fmtInt(t.ratedPps)} | ${t.sendSeconds?.toFixed(1) ?? '—'} | ${fmtInt(t.sent)} | ${fmtInt(t.captured)} | ${fmtInt(t.kernelDrops)} | ${fmtInt(t.ifDrops)} | ${fmtInt(t.llmtapDrops)} | ${t.callsExpected} / ${t.callsFound} | ${pct(t.llmtapCpu)} | ${pct(t.tcpdumpCpu)} | ${fmtInt(t.packetsPerCpuSecond)} | ${t.drainSeconds.toFixed(1)} | ${t.ok ? 'pass' : 'FAIL'}${t.why ? `: ${t.why}` : ''} |`;
}

function workload(): { path: string; meta: WorkloadMeta } {
  const target = baseMb * 1024 * 1024;
  const path = join('bench', 'out', `llm-mix-${baseMb}mb.pcap`);
  mkdirSync(join('bench', 'out'), { recursive: true });
  const cached = cachedWorkload(path, target);
  if (cached) return { path, meta: cached };
  log(`generating ${path} (${baseMb} MB)…`);
  return { path, meta: writeWorkload(path, target) };
}

/** Calls llmtap finds in one loop of the file, offline: what every loop must yield live. */
function offlineCalls(path: string): number {
  const r = spawnSync(process.execPath, [llmtapBin, 'replay', path, '--jsonl', '-', '-q'], { encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`llmtap replay ${path} exited ${String(r.status)}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.includes('"kind":"llm_call"')).length;
}

async function main(): Promise<void> {
  const missing =
    process.getuid?.() !== 0 ? 'needs root (network namespace, packet capture)' : ([captureTool ?? 'tcpdump', 'tcpreplay', 'ip'].find((c) => (c === 'llmtap-capture' ? findLlmtapCapture() === null : !which(c))) ?? null);
  if (missing !== null) {
    const why = missing.startsWith('needs') ? missing : `missing ${missing} (apt-get install tcpdump tcpreplay iproute2)`;
    process.stdout.write(`## llmtap live capture benchmark\n\nskipped: ${why}\n`);
    return;
  }
  if (!existsSync(llmtapBin)) throw new Error(`${llmtapBin} missing: npm run build first`);
  const { path, meta } = workload();
  const perLoop = offlineCalls(path);
  log(`per loop: ${path}, ${fmtInt(meta.packets)} packets, ${fmtInt(meta.bytes)} bytes, ${perLoop} calls found offline (${meta.calls} generated)`);

  const ns = createLoopbackNamespace();
  const cleanup = (): void => ns.destroy();
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  const trials: [string, Trial][] = [];
  const trial = async (kind: string, pps: number, seconds: number): Promise<Trial> => {
    log(`${kind}: ${fmtInt(pps)} pps for ~${seconds} s…`);
    const t = await runTrial(ns, path, meta, perLoop, Math.round(pps), seconds);
    log(`  ${t.ok ? 'pass' : 'FAIL'}: rated ${fmtInt(t.ratedPps)} pps, kernel drops ${fmtInt(t.kernelDrops)}, calls ${t.callsFound}/${t.callsExpected}, llmtap CPU ${t.llmtapCpu?.toFixed(0) ?? '—'}%${t.why ? ` (${t.why})` : ''}`);
    trials.push([kind, t]);
    return t;
  };
  let best: Trial | null = null;
  let confirmed: Trial | null = null;
  try {
    if (explicitRates && explicitRates.length > 0) {
      for (const r of explicitRates) {
        const t = await trial('trial', r, trialS);
        if (t.ok && (best === null || t.targetPps > best.targetPps)) best = t;
      }
    } else {
      let lowFail: number | null = null;
      for (let r = startPps; r <= maxPps && r >= minPps; ) {
        const t = await trial('trial', r, trialS);
        if (t.ok) {
          best = t;
          if (lowFail !== null) break;
          r *= 2;
        } else {
          lowFail = r;
          if (best !== null) break;
          r /= 2;
        }
      }
      for (let i = 0; i < steps && best !== null && lowFail !== null && lowFail / best.targetPps > 1.1; i++) {
        const mid = Math.round((best.targetPps + lowFail) / 2);
        const t = await trial('bisect', mid, trialS);
        if (t.ok) best = t;
        else lowFail = mid;
      }
      let r = best?.targetPps ?? null;
      for (let i = 0; r !== null && i <= CONFIRM_RETRIES; i++, r *= CONFIRM_BACKOFF) {
        const t = await trial('confirm', r, confirmS);
        if (t.ok) {
          confirmed = t;
          break;
        }
      }
    }
  } finally {
    cleanup();
  }

  const out: string[] = [];
  out.push('## llmtap live capture benchmark (loopback)');
  out.push('');
  out.push(
    `Load: tcpreplay --pps R --loop N --unique-ip of \`${path}\` (${fmtInt(meta.packets)} packets, ${(meta.bytes / 1048576).toFixed(0)} MB, ${perLoop} calls per loop) onto lo of a private network namespace; ` +
      `\`llmtap capture -i lo --bpf-filter '${filter}' ${useDb ? '--db FILE' : '--jsonl -'}${passThrough.length ? ` ${passThrough.join(' ')}` : ''}\`${captureTool ? ` (capture process: ${captureTool})` : ''}. Node ${process.version}.`,
  );
  out.push('');
  out.push(
    '| run | load | asked pps | sent pps | send s | packets sent | captured | kernel drops | if drops | llmtap drops | calls expected / found | llmtap CPU | capture process CPU | packets per llmtap CPU-s | drain s | result |',
  );
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const [kind, t] of trials) out.push(row(kind, t));
  out.push('');
  if (explicitRates) out.push(best ? `Highest passing rate: ${fmtInt(best.ratedPps)} packets/s (trials only, not confirmed).` : 'No rate passed.');
  else if (confirmed)
    out.push(
      `Highest rate followed with zero drops for ${confirmed.sendSeconds?.toFixed(0)} s: ${fmtInt(confirmed.ratedPps)} packets/s (${confirmed.ratedPps !== null && confirmed.ratedPps >= 100_000 ? 'meets' : 'BELOW'} the issue's 100,000 packets/s target).`,
    );
  else out.push(`No rate was confirmed for ${confirmS} s${best ? ` (best ${trialS}-s trial: ${fmtInt(best.ratedPps)} packets/s)` : ''}.`);
  out.push(
    `Machine: ${availableParallelism()} cores; "load" is the 1-minute load average at the trial's start (other work on the machine takes cores from tcpreplay, tcpdump and llmtap alike).`,
  );
  out.push(
    'CPU is % of one core over the send and drain window; "packets per llmtap CPU-s" is packets captured ÷ llmtap\'s CPU seconds (its one-core capacity on this mix, whatever the load); "drain s" is how long llmtap stayed busy after the generator stopped (its lag behind the wire). Kernel drops on lo count received copies only (llmtap filters the sent ones out in the kernel).',
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((e: unknown) => {
  log(`live bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
