/**
 * The eBPF source (issue 9 items 1–2): finds the TLS libraries to probe, runs bpftrace on them
 * (one child per set of files; files that appear later, found by a rescan of /proc every
 * RESCAN_MS, get a new child: a running bpftrace cannot add probes), parses its events, puts SSL
 * calls back into per-connection byte streams and hands them to the capture pipeline's HTTP
 * layer with the process that made them.
 *
 * Time: probe times are CLOCK_MONOTONIC (bpf_ktime_get_ns); Node's process.hrtime reads the same
 * clock (libuv uv_hrtime: clock_gettime(CLOCK_MONOTONIC)), so one offset taken at start maps them
 * to wall-clock µs. (A wall-clock step after start, NTP, is not followed: records keep the
 * start's mapping, which is what keeps durations right.)
 */
import { appendFileSync, existsSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { AnomalyCounter } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';
import type { CapturePipeline } from '../pipeline/replay.js';
import { generateScript, type ProbeTarget, type ScriptFilter } from './bpftrace-script.js';
import { startProbeSet, type ProbeSet } from './bpftrace-runner.js';
import { CallCollector, HOLD_US } from './call-collector.js';
import { ConnectionTable } from './connections.js';
import { LineSplitter, parseEventLine, type EbpfEvent, type MonoMicros } from './event-parser.js';
import { isLibssl, scanCandidates, TargetFinder, type Candidate } from './maps-scanner.js';
import { ProcessCache } from './process-info.js';

/** bpftrace drops what its perf rings still hold when it is stopped, and it prints slower than
 * the probes fill them (one formatted line per 160 bytes): on stop, its output is first read
 * until it has been quiet this long (the backlog is printed), for at most DRAIN_MAX_MS. */
const DRAIN_QUIET_MS = 500;
const DRAIN_MAX_MS = 30_000;
/** How often /proc is scanned for new TLS library files and exited processes. */
export const RESCAN_MS = 5_000;
/** bpftrace children at most: each holds its own BPF programs and perf rings (4 MiB per CPU). */
export const MAX_PROBE_SETS = 8;
/** Where distributions put the system libssl (Debian multiarch, Fedora/RHEL lib64, Alpine/Arch):
 * probed even when no running process maps it yet (a client started after llmtap). */
const SYSTEM_LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib64', '/lib64', '/usr/lib', '/lib'];

export function monoNowMicros(): MonoMicros {
  return Number(process.hrtime.bigint() / 1000n);
}

export interface EbpfSourceOptions {
  pipeline: CapturePipeline;
  anomalies: AnomalyCounter;
  pids: readonly number[];
  comms: readonly string[];
  /** Files to probe besides those found (a bundled libssl no process maps yet). */
  libssl: readonly string[];
  bpftrace: string;
  log(line: string): void;
  procRoot?: string;
  /** Executables to probe at start when they export SSL_read (the node on PATH). */
  executables?: readonly string[];
}

export interface EbpfCounters {
  probeSets: number;
  files: string[];
  lostEvents: number;
  connections: number;
  events: number;
}

export class EbpfSource {
  private readonly collector: CallCollector;
  private readonly table: ConnectionTable;
  private readonly processes: ProcessCache;
  private readonly finder = new TargetFinder();
  private readonly sets: ProbeSet[] = [];
  /** realpath → probed (or failed: not tried again). */
  private readonly probed = new Set<string>();
  private readonly offsetUs: number;
  private readonly filter: ScriptFilter;
  private readySeen = 0;
  private lost = 0;
  private events = 0;
  private lastMono: MonoMicros = 0;
  private lastTextAt = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: EbpfSourceOptions) {
    this.collector = new CallCollector(o.anomalies);
    this.processes = new ProcessCache(o.procRoot);
    this.offsetUs = Date.now() * 1000 - monoNowMicros();
    this.table = new ConnectionTable({
      open: (info) => o.pipeline.openConnection(info),
      processOf: (pid) => this.processes.get(pid),
      toWall: (m) => this.toWall(m),
      anomalies: o.anomalies,
    });
    // llmtap's own TLS (webhooks, OTLP over https) is not a workload: its pid is left out.
    this.filter = { pids: o.pids, comms: o.comms, excludePid: process.pid };
  }

  toWall(m: MonoMicros): Micros {
    return m + this.offsetUs;
  }

  counters(): EbpfCounters {
    return { probeSets: this.sets.length, files: [...this.probed], lostEvents: this.lost, connections: this.table.opened, events: this.events };
  }

  /** Finds the files, starts the first bpftrace and resolves once its probes are attached. */
  async start(): Promise<void> {
    const targets = this.newTargets(this.initialCandidates());
    if (targets.length === 0) throw new Error('no OpenSSL library found to probe (no libssl.so in the usual places, no running process mapping one); name one with --libssl PATH');
    await this.startSet(targets);
    this.timer = setInterval(() => void this.rescan(), RESCAN_MS);
    this.timer.unref();
  }

  /** Calls whose hold is over go to their connections; the pipeline's clock moves to what has
   * been released (the wall clock minus the hold when idle). */
  tick(now: MonoMicros = monoNowMicros()): void {
    for (const c of this.collector.release(now)) {
      this.lastMono = Math.max(this.lastMono, c.mono);
      this.table.add(c);
    }
    this.o.pipeline.advanceTo(this.toWall(now - HOLD_US));
  }

  /** Stops every bpftrace, hands over everything held and closes the connections. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const t0 = performance.now();
    while (performance.now() - this.lastTextAt < DRAIN_QUIET_MS && performance.now() - t0 < DRAIN_MAX_MS) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await Promise.all(this.sets.map((s) => s.stop()));
    for (const c of this.collector.drain()) this.table.add(c);
    const now = monoNowMicros();
    this.table.closeAll(now);
    this.o.pipeline.advanceTo(this.toWall(now));
  }

  /** Resolves with why a bpftrace child died on its own (null: stopped). */
  ended(): Promise<string | null> {
    return Promise.race(this.sets.map((s) => s.ended));
  }

  private onEvent(e: EbpfEvent): void {
    this.events++;
    switch (e.kind) {
      case 'comm':
        this.processes.noteComm(e.pid, e.comm);
        return;
      case 'ready':
        this.readySeen++;
        return;
      case 'lost':
        this.lost += e.count;
        this.o.anomalies.add('ebpf_events_lost', e.count);
        return;
      default:
        this.collector.add(e, monoNowMicros());
    }
  }

  private async startSet(targets: ProbeTarget[]): Promise<void> {
    for (const t of targets) this.probed.add(t.path);
    if (this.sets.length >= MAX_PROBE_SETS) {
      this.o.anomalies.add('ebpf_probe_sets_capped');
      this.o.log(`not probing ${targets.map((t) => t.path).join(', ')}: already ${MAX_PROBE_SETS} bpftrace processes (restart llmtap ebpf to probe them all in one)`);
      return;
    }
    const lines = new LineSplitter(this.o.anomalies);
    // LLMTAP_EBPF_DUMP=FILE: bpftrace's raw output appended to FILE, for bug reports (it holds
    // plaintext, secrets included: a debugging aid only).
    const dump = process.env['LLMTAP_EBPF_DUMP'];
    const before = this.readySeen;
    const set = startProbeSet(
      {
        bpftrace: this.o.bpftrace,
        script: generateScript(targets, this.filter),
        onText: (t) => {
          this.lastTextAt = performance.now();
          if (dump !== undefined && dump !== '') appendFileSync(dump, t, 'latin1');
          lines.push(t, (line) => {
            const e = parseEventLine(line, this.o.anomalies);
            if (e !== null) this.onEvent(e);
          });
        },
      },
      () => this.readySeen > before,
    );
    this.sets.push(set);
    this.o.log(`probing ${targets.map((t) => t.path).join(', ')} (bpftrace verifies the probes: ~10 s per file)`);
    await set.ready;
  }

  private initialCandidates(): Candidate[] {
    const out: Candidate[] = [];
    for (const p of this.o.libssl) out.push({ path: p, pid: 0, exe: false });
    for (const dir of SYSTEM_LIB_DIRS) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const n of names) if (isLibssl(join(dir, n))) out.push({ path: join(dir, n), pid: 0, exe: false });
    }
    for (const p of this.o.executables ?? []) if (existsSync(p)) out.push({ path: p, pid: 0, exe: true });
    out.push(...scanCandidates(this.o.procRoot).candidates);
    return out;
  }

  /** The probe targets among candidates not probed yet, one per real file. */
  private newTargets(cands: Candidate[]): ProbeTarget[] {
    const out = new Map<string, ProbeTarget>();
    for (const c of cands) {
      let real: string;
      try {
        real = realpathSync(c.path);
      } catch {
        continue;
      }
      if (this.probed.has(real) || out.has(real)) continue;
      const t = this.finder.target({ ...c, path: real });
      if (t !== null) out.set(real, t);
    }
    return [...out.values()];
  }

  private async rescan(): Promise<void> {
    const procRoot = this.o.procRoot ?? '/proc';
    this.table.expire(monoNowMicros(), (pid) => existsSync(`${procRoot}/${pid}`));
    const targets = this.newTargets(scanCandidates(this.o.procRoot).candidates);
    if (targets.length === 0) return;
    try {
      await this.startSet(targets);
    } catch (err) {
      this.o.log(`cannot probe ${targets.map((t) => t.path).join(', ')}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
