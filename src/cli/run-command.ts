/**
 * `llmtap run --config FILE`: every pipeline of the configuration's `pipelines:` section (issue 6
 * item 3; docs/live.md "Pipelines") into one set of outputs (`openPipelineRun`: JSONL, store,
 * API, console, metrics, alerts, turns).
 *
 * A command of its own rather than `capture` without `-i`: pipelines may hold no interface at all
 * (files, probes), so the command must not need tcpdump, and `capture`'s flags (`-i`,
 * `--bpf-filter`, `--snaplen`) describe one interface; the one-source commands (`replay`,
 * `capture`, `collect`) stay the one-pipeline case with their flags.
 *
 * Isolation: each pipeline with 2 or more workers has its own worker pool and its own queue
 * (`queue.bytes`/`rounds`): a flooding file in one pipeline fills only its own queue and waits
 * for its own workers, while another pipeline's packets go to other threads. What stays shared
 * is the main thread: reading and dispatching every source, the merge, the turn tracker, JSONL,
 * the metrics and the store's writes (DESIGN §1 "main thread"). So a flood still delays the
 * others by the main-thread work of its records and by the store's batches (one store, one
 * writer): docs/live.md gives the measured delay. A pipeline with `workers: 1` runs on the main
 * thread and has no queue of its own.
 *
 * One capture clock: the turn tracker and the live windows move with the newest clock of all
 * sources (as `collect` does across probes). Pipelines whose clocks disagree (an old capture
 * beside a live interface) close each other's turns early: run them in separate processes.
 */
import type { CaptureFileSummary } from '../capture/capture-parser.js';
import { readCaptureFrames } from '../capture/file-reader.js';
import { defaultSnaplen } from '../capture/live-tcpdump-text.js';
import type { CapturedFrame } from '../capture/types.js';
import { readCaptureStream } from '../capture/stream-reader.js';
import type { FilePipelineSource, InterfacePipelineSource, PipelineConfig, PipelineSourceConfig, ProbesPipelineSource } from '../config/types.js';
import type { Micros } from '../core/time.js';
import { Pacer, type PaceClock } from '../pipeline/pacing.js';
import { createCapturePipeline, replayFile, replayStream, type ReplaySummary } from '../pipeline/replay.js';
import { PipelineStats, type LiveCaptureCounters } from '../pipeline/stats.js';
import type { ParallelCapture, ParallelSource } from '../workers/parallel-pipeline.js';
import { resolveWorkers } from '../workers/worker-count.js';
import { resolveConfig } from './config-options.js';
import { UserError } from './errors.js';
import { newSourceCounters, sourceHealthOf, StatsRollup, type SourceCounters } from './health.js';
import { formatRunSummary, openPipelineRun, type OutputCommandOptions, type PipelineRun, type RunPipelineOptions, type WorkerRunOptions } from './run-pipeline.js';
import { statSync } from 'node:fs';

export interface RunCommandOptions extends Omit<OutputCommandOptions, 'source'> {
  exitAfterDrain?: boolean;
}

/** As capture-command and collect-command: the store is flushed, idle live sources' clocks move
 * and worker pools get what their dispatchers hold, every TICK_MS of wall clock. */
const TICK_MS = 200;
/** A live interface silent this long moves its clock by the wall clock (capture-command IDLE_MS). */
const IDLE_MS = 200;
/** A wait on the store longer than this held tcpdump back (capture-command STALL_MS). */
const STALL_MS = 100;
/** A probe silent this long moves its clock on (collect-command PROBE_IDLE_MS). */
const PROBE_IDLE_MS = 1_000;

/** Thrown into a file source's read when the run is stopped (Ctrl-C). */
class StopRequested extends Error {}

/** What every source of the run shares. */
interface RunContext {
  run: PipelineRun;
  rollup: StatsRollup;
  /** Counters by record `source` (a probe's uuid names its probes source's counters). */
  bySource: Map<string, SourceCounters>;
  /** The in-thread pipeline options, with calls counted per source. */
  inThread: RunPipelineOptions;
  paceClock: PaceClock | undefined;
  quiet: boolean;
}

/** One pipeline of the configuration, running. */
interface PipelineRuntime {
  config: PipelineConfig;
  workers: number;
  /** Its worker pool (null: in-thread). */
  parallel: ParallelCapture | null;
  captures: Map<ParallelSource, CaptureFileSummary>;
  sources: SourceRuntime[];
}

interface SourceRuntime {
  counters: SourceCounters;
  /** Reads the source to its end (a file) or until stopped (live). */
  run(): Promise<void>;
  stop(): void;
  /** A live source's idle tick: moves its clock by the wall clock; its clock. */
  idle?(): Micros | null;
  /** Copies the in-thread pipeline's counters into `counters`. */
  sync(): void;
  /** The summary's extra words (drops). */
  detail(): string;
}

export async function runPipelines(o: RunCommandOptions, paceClock?: PaceClock): Promise<void> {
  const config = await resolveConfig(o);
  if (config.pipelines.length === 0) {
    throw new UserError(
      `${config.path ?? 'no configuration file (--config FILE or LLMTAP_CONFIG)'}: no pipelines to run: add a pipelines: section (docs/configuration.md "pipelines"), or use replay, capture or collect`,
      2,
    );
  }
  const live = config.pipelines.some((p) => p.sources.some((s) => s.kind !== 'file'));
  const counters: SourceCounters[] = [];
  let rollup: StatsRollup | null = null;
  const run = await openPipelineRun(
    { ...o, exitAfterDrain: o.exitAfterDrain ?? false },
    {
      sourceId: 'pipelines',
      followKeyLog: live,
      sources: () => {
        syncAll();
        return counters.map(sourceHealthOf);
      },
    },
  );
  rollup = new StatsRollup(run.stats, live);
  const bySource = new Map<string, SourceCounters>();
  const countCall = (source: string): void => {
    const c = bySource.get(source);
    if (c !== undefined) c.calls++;
  };
  const base = run.pipeline;
  const ctx: RunContext = {
    run,
    rollup,
    bySource,
    inThread: {
      ...base,
      onCall: (r, ex, call) => {
        countCall(r.source);
        base.onCall(r, ex, call);
      },
    },
    paceClock,
    quiet: o.quiet === true,
  };
  const pipelines: PipelineRuntime[] = [];
  const syncAll = (): void => {
    for (const p of pipelines) for (const s of p.sources) s.sync();
    rollup?.refresh();
  };
  try {
    for (const pc of config.pipelines) pipelines.push(await openPipeline(ctx, pc, config.workers, (r) => countCall(r)));
    for (const p of pipelines) for (const s of p.sources) counters.push(s.counters);
  } catch (err) {
    for (const p of pipelines) await p.parallel?.close();
    return run.fail(err);
  }
  if (!o.quiet) {
    for (const p of pipelines) {
      process.stderr.write(`llmtap: pipeline ${p.config.name}: ${describePool(p)}; ${p.sources.map((s) => `${s.counters.id} (${s.counters.kind})`).join(', ')}\n`);
    }
  }

  const started = performance.now();
  let failure: unknown = null;
  const stopAll = (): void => {
    for (const p of pipelines) for (const s of p.sources) s.stop();
  };
  const fail = (err: unknown): void => {
    failure ??= err;
    stopAll();
  };
  process.once('SIGINT', stopAll);
  process.once('SIGTERM', stopAll);
  const timer = setInterval(() => {
    if (failure !== null) return;
    let now: Micros | null = null;
    try {
      for (const p of pipelines) {
        p.parallel?.flushPending();
        for (const s of p.sources) {
          const t = s.idle?.() ?? null;
          if (t !== null && (now === null || t > now)) now = t;
        }
      }
    } catch (err) {
      // A worker failed: stop everything; the sources' loops end and the run reports it.
      fail(err);
      return;
    }
    syncAll();
    run.tick(now, { flush: true }).catch(fail);
  }, TICK_MS);

  try {
    await Promise.all(pipelines.map((p) => runPipeline(p, fail)));
    clearInterval(timer);
    if (failure !== null) throw failure;
    syncAll();
    await run.endOfInput(run.stats.lastTs);
  } catch (err) {
    clearInterval(timer);
    stopAll();
    for (const p of pipelines) await p.parallel?.close();
    return run.fail(err);
  } finally {
    process.off('SIGINT', stopAll);
    process.off('SIGTERM', stopAll);
  }
  run.source.state = live ? 'stopped' : 'drained';
  syncAll();
  if (!o.quiet) process.stderr.write(summaryText(config.path ?? '', run, pipelines, started));
  await run.close({ serveAfter: !live, drainedLine: 'pipelines drained' });
}

/** Runs a pipeline's sources together; a pool finishes once all of them have ended. */
async function runPipeline(p: PipelineRuntime, fail: (err: unknown) => void): Promise<void> {
  await Promise.all(
    p.sources.map(async (s) => {
      s.counters.state = 'running';
      try {
        await s.run();
        if (s.counters.state === 'running') s.counters.state = s.counters.kind === 'file' ? 'drained' : 'stopped';
      } catch (err) {
        if (err instanceof StopRequested) {
          s.counters.state = 'stopped';
          return;
        }
        s.counters.state = 'error';
        s.counters.error = err instanceof Error ? err.message : String(err);
        fail(err);
      }
    }),
  );
  await p.parallel?.finish(p.captures);
}

async function openPipeline(ctx: RunContext, pc: PipelineConfig, defaultWorkers: number | 'auto', countCall: (source: string) => void): Promise<PipelineRuntime> {
  const live = pc.sources.some((s) => s.kind !== 'file');
  const fileBytes = pc.sources.reduce((n, s) => n + (s.kind === 'file' ? sizeOf(s.path) : 0), 0);
  const workers = resolveWorkers(pc.workers ?? defaultWorkers, live ? {} : { fileBytes });
  let parallel: ParallelCapture | null = null;
  let poolStats: PipelineStats | null = null;
  if (workers > 1) {
    const { ParallelCapture } = await import('../workers/parallel-pipeline.js');
    poolStats = new PipelineStats();
    ctx.rollup.add(poolStats);
    const w: WorkerRunOptions = ctx.run.workerOptions(workers, live);
    const paced = pc.sources.some((s) => s.kind === 'file' && s.pace !== null);
    parallel = new ParallelCapture({
      ...w,
      stats: poolStats,
      queueBytes: pc.queue.bytes,
      queueRounds: pc.queue.rounds,
      ...(paced ? { paced } : {}),
      outputs: {
        ...w.outputs,
        onCall: (r, stored, input) => {
          countCall(r.source);
          w.outputs.onCall(r, stored, input);
        },
      },
    });
  }
  const rt: PipelineRuntime = { config: pc, workers, parallel, captures: new Map(), sources: [] };
  for (const s of pc.sources) rt.sources.push(openSource(ctx, rt, s, poolStats));
  return rt;
}

function openSource(ctx: RunContext, p: PipelineRuntime, s: PipelineSourceConfig, poolStats: PipelineStats | null): SourceRuntime {
  switch (s.kind) {
    case 'file':
      return fileSource(ctx, p, s);
    case 'interface':
      return interfaceSource(ctx, p, s, poolStats);
    case 'probes':
      return probesSource(ctx, p, s, poolStats);
  }
}

/** Counts a frame on its source's counters, then hands it on (sources of one pool share its stats). */
function counting(c: SourceCounters, next: (f: CapturedFrame) => void): (f: CapturedFrame) => void {
  return (f) => {
    c.packets++;
    c.bytes += f.end - f.start;
    c.firstTs ??= f.ts;
    if (c.lastTs === null || f.ts > c.lastTs) c.lastTs = f.ts;
    next(f);
  };
}

/** An in-thread source's own counters (a flow table sets `connections` outright: one per source). */
function ownStats(ctx: RunContext, c: SourceCounters): { stats: PipelineStats; sync(): void } {
  const stats = new PipelineStats();
  ctx.rollup.add(stats);
  return {
    stats,
    sync: () => {
      c.packets = stats.packets;
      c.bytes = stats.captureBytes;
      c.firstTs = stats.firstTs;
      c.lastTs = stats.lastTs;
      if (c.progress !== null) c.progress = { done: stats.bytesRead, total: stats.totalBytes };
    },
  };
}

function fileSource(ctx: RunContext, p: PipelineRuntime, s: FilePipelineSource): SourceRuntime {
  const c = newSourceCounters(s.id, 'file', p.config.name);
  ctx.bySource.set(s.id, c);
  const pacer = s.pace === null ? null : new Pacer(s.pace, ctx.paceClock);
  let stopping = false;
  const stop = (): void => {
    stopping = true;
    pacer?.abort(new StopRequested('stopped'));
  };
  const detail = (): string => (s.pace === null ? '' : `, paced ×${s.pace}`);
  const parallel = p.parallel;
  if (parallel === null) {
    const own = ownStats(ctx, c);
    return {
      counters: c,
      stop,
      sync: own.sync,
      detail,
      run: async () => {
        await replayFile(s.path, {
          ...ctx.inThread,
          source: s.id,
          stats: own.stats,
          ...(pacer ? { pacer } : {}),
          afterChunk: async () => {
            if (stopping) throw new StopRequested('stopped');
            await ctx.run.tick(own.stats.lastTs);
          },
        });
      },
    };
  }
  const src = parallel.source(s.id);
  const onFrame = counting(c, src.onFrame);
  return {
    counters: c,
    stop,
    sync: () => undefined,
    detail,
    run: async () => {
      const capture = await readCaptureFrames(s.path, pacer ? pacer.wrap(onFrame, parallel.stats.anomalies) : onFrame, {
        anomalies: parallel.stats.anomalies,
        onInterface: src.onInterface,
        onSecrets: src.onSecrets,
        onProgress: (done, total) => {
          c.progress = { done, total };
        },
        afterChunk: async () => {
          if (pacer) await pacer.drain();
          if (stopping) throw new StopRequested('stopped');
          // As replayFileParallel: the clock moves where this read's records end; the store and
          // this pipeline's own queue hold the reader back.
          const now = c.lastTs;
          parallel.chunkEnd(() => ctx.run.tick(now));
          await parallel.afterChunk();
          await ctx.run.tick(null);
        },
      });
      p.captures.set(src, capture);
    },
  };
}

function interfaceSource(ctx: RunContext, p: PipelineRuntime, s: InterfacePipelineSource, poolStats: PipelineStats | null): SourceRuntime {
  const c = newSourceCounters(s.id, 'interface', p.config.name);
  ctx.bySource.set(s.id, c);
  type Live = import('../capture/live-tcpdump.js').LiveCapture;
  let capture: Live | null = null;
  let stopped = false;
  const backpressure = { stalls: 0 };
  let clocked: { readonly clock: Micros | null; advanceTo(now: Micros): void } | null = null;
  let lastChunkAt = performance.now();
  const counts = (): { kernel: number | null; interface: number | null } => {
    const k = capture?.counters();
    return { kernel: k?.kernel ?? null, interface: k?.interface ?? null };
  };
  c.drops = () => ({ ...counts(), pipeline: poolStats?.pipelineDrops ?? 0 });
  const own = p.parallel === null ? ownStats(ctx, c) : null;
  const mine = (): LiveCaptureCounters => ({ ...counts(), stalls: backpressure.stalls, pipeline: 0 });
  if (own) own.stats.liveCounters = mine;
  else if (poolStats !== null) {
    // The pool's stats speak for all its interfaces: their counters add up.
    const before = poolStats.liveCounters;
    poolStats.liveCounters = () => addLive(before?.() ?? null, mine());
  }
  const waitForStore = async (now: Micros | null): Promise<void> => {
    lastChunkAt = performance.now();
    await ctx.run.tick(now);
    if (performance.now() - lastChunkAt >= STALL_MS) backpressure.stalls++;
  };
  return {
    counters: c,
    sync: own?.sync ?? (() => undefined),
    detail: () => {
      const d = c.drops();
      const v = (x: number | null): string => (x === null ? 'unknown' : x.toLocaleString('en-US'));
      return `, drops: kernel ${v(d.kernel)}, interface ${v(d.interface)}, llmtap ${v(d.pipeline)}${backpressure.stalls > 0 ? `, held tcpdump back ${backpressure.stalls} times` : ''}`;
    },
    stop: () => {
      stopped = true;
      void capture?.stop();
    },
    idle: () => {
      if (clocked === null || performance.now() - lastChunkAt < IDLE_MS) return null;
      clocked.advanceTo((Date.now() - IDLE_MS) * 1000);
      return clocked.clock;
    },
    run: async () => {
      const { startLiveCapture, LiveCaptureError } = await import('../capture/live-tcpdump.js');
      try {
        capture = await startLiveCapture({
          iface: s.iface,
          snaplen: s.snaplen ?? defaultSnaplen(s.iface),
          ...(s.bpf_filter !== null ? { filter: s.bpf_filter } : {}),
          ...(s.buffer_size_kib !== null ? { bufferKib: s.buffer_size_kib } : {}),
        });
      } catch (err) {
        if (err instanceof LiveCaptureError) throw new UserError(`pipeline ${p.config.name}, source ${s.id}: ${err.message}`);
        throw err;
      }
      if (stopped) void capture.stop();
      if (!ctx.quiet) ctx.run.log(`capturing on ${s.iface}${capture.linkType ? ` (${capture.linkType})` : ''} for pipeline ${p.config.name}`);
      const name = `tcpdump -i ${s.iface}`;
      const parallel = p.parallel;
      if (parallel === null) {
        const stats = own!.stats;
        await replayStream(capture.bytes, {
          ...ctx.inThread,
          source: s.id,
          stats,
          name,
          onPipeline: (pl) => {
            clocked = pl;
          },
          afterChunk: () => waitForStore(stats.lastTs),
        });
      } else {
        const src = parallel.source(s.id);
        clocked = src;
        const result = await readCaptureStream(capture.bytes, counting(c, src.onFrame), {
          name,
          anomalies: parallel.stats.anomalies,
          onInterface: src.onInterface,
          onSecrets: src.onSecrets,
          afterChunk: async () => {
            const now = c.lastTs;
            // A full queue drops (counted), it never holds tcpdump back; the store may.
            parallel.chunkEnd(() => ctx.run.tick(now));
            await parallel.afterChunk();
            await waitForStore(null);
          },
        });
        p.captures.set(src, result);
      }
      const died = await capture.ended;
      if (died !== null) {
        c.state = 'error';
        c.error = died;
        throw new UserError(`pipeline ${p.config.name}, source ${s.id}: ${died}`);
      }
    },
  };
}

interface ProbeEntry {
  pipeline: { readonly clock: Micros | null; onFrame(f: CapturedFrame): void; advanceTo(now: Micros): void };
  finish?: (capture: CaptureFileSummary) => void;
  arrivedAt: number;
  clockAtArrival: Micros | null;
}

function probesSource(ctx: RunContext, p: PipelineRuntime, s: ProbesPipelineSource, poolStats: PipelineStats | null): SourceRuntime {
  const c = newSourceCounters(s.id, 'probe', p.config.name);
  ctx.bySource.set(s.id, c);
  const probes = new Map<string, ProbeEntry>();
  const dropped = { batches: 0, packets: 0 };
  c.drops = () => ({ kernel: null, interface: null, pipeline: dropped.packets + (poolStats?.pipelineDrops ?? 0) });
  let listener: import('../capture/probe-source.js').ProbeListener | null = null;
  let stopped = false;
  const started = performance.now();
  // The probes' own pipelines' counters, for the per-source view (packets come from the batches).
  const probeStats: PipelineStats[] = [];
  return {
    counters: c,
    sync: () => {
      for (const st of probeStats) {
        if (st.firstTs !== null && (c.firstTs === null || st.firstTs < c.firstTs)) c.firstTs = st.firstTs;
        if (st.lastTs !== null && (c.lastTs === null || st.lastTs > c.lastTs)) c.lastTs = st.lastTs;
      }
    },
    detail: () => `, ${probes.size} probes, dropped ${dropped.batches.toLocaleString('en-US')} batches (${dropped.packets.toLocaleString('en-US')} packets)`,
    stop: () => {
      stopped = true;
      listener?.close();
    },
    idle: () => {
      const now = performance.now();
      let max: Micros | null = null;
      for (const e of probes.values()) {
        const idleMs = now - e.arrivedAt;
        if (idleMs >= PROBE_IDLE_MS && e.clockAtArrival !== null) e.pipeline.advanceTo(e.clockAtArrival + Math.floor((idleMs - PROBE_IDLE_MS) * 1000));
        const t = e.pipeline.clock;
        if (t !== null && (max === null || t > max)) max = t;
      }
      return max;
    },
    run: async () => {
      const { listenForProbes, checkProbeEndpoint, ProbeListenError } = await import('../capture/probe-source.js');
      const { checkProbeBatch, forEachProbeFrame } = await import('../capture/probe-batch.js');
      const { MAX_PROBES } = await import('./collect-command.js');
      if (checkProbeEndpoint(s.listen) === null) throw new UserError(`pipeline ${p.config.name}, source ${s.id}: ${s.listen}: expected tcp://HOST:PORT, e.g. tcp://0.0.0.0:5556`);
      try {
        listener = await listenForProbes(s.listen);
      } catch (err) {
        if (err instanceof ProbeListenError) throw new UserError(`pipeline ${p.config.name}, source ${s.id}: ${err.message}`);
        throw err;
      }
      if (stopped) listener.close();
      if (!ctx.quiet) ctx.run.log(`collecting probe batches on ${listener.endpoint} for pipeline ${p.config.name}`);
      const anomalies = (poolStats ?? ctx.run.stats).anomalies;
      const probeFor = (id: string): ProbeEntry | null => {
        let e = probes.get(id);
        if (e !== undefined) return e;
        if (probes.size >= MAX_PROBES) return null;
        // A probe's uuid is the source id on its records (issue 6 item 4); its calls count here.
        if (!ctx.bySource.has(id)) ctx.bySource.set(id, c);
        if (p.parallel !== null) {
          e = { pipeline: p.parallel.source(id), arrivedAt: 0, clockAtArrival: null };
        } else {
          const stats = new PipelineStats();
          ctx.rollup.add(stats);
          probeStats.push(stats);
          const pl = createCapturePipeline({ ...ctx.inThread, source: id, stats });
          e = { pipeline: pl, finish: (cap) => void pl.finish(cap, started), arrivedAt: 0, clockAtArrival: null };
        }
        probes.set(id, e);
        if (!ctx.quiet) ctx.run.log(`probe ${id} connected (pipeline ${p.config.name})`);
        return e;
      };
      const refuse = (problem: string, packets = 0): void => {
        anomalies.add(problem);
        dropped.batches++;
        dropped.packets += packets;
      };
      for await (const parts of listener.messages) {
        if (parts.length !== 1) {
          refuse('probe_multipart');
          continue;
        }
        const batch = parts[0]!;
        const check = checkProbeBatch(batch);
        if (!check.ok) {
          refuse(check.problem);
          continue;
        }
        const e = probeFor(check.header.probeId);
        if (e === null) {
          refuse('probe_too_many_probes', check.header.count);
          continue;
        }
        forEachProbeFrame(batch, check.header.count, p.parallel === null ? e.pipeline.onFrame : counting(c, e.pipeline.onFrame));
        if (p.parallel === null) {
          c.packets += check.header.count;
          c.bytes += batch.length;
        }
        e.arrivedAt = performance.now();
        e.clockAtArrival = e.pipeline.clock;
        const now = e.pipeline.clock;
        if (p.parallel !== null) {
          p.parallel.chunkEnd(() => ctx.run.tick(now));
          await p.parallel.afterChunk();
          await ctx.run.tick(null);
        } else await ctx.run.tick(now);
      }
      const empty: CaptureFileSummary = { format: 'pcap', packets: 0, bytes: 0, truncatedAt: null, stoppedAt: null, interfaces: [] };
      for (const e of probes.values()) e.finish?.(empty);
    },
  };
}

function addLive(a: LiveCaptureCounters | null, b: LiveCaptureCounters): LiveCaptureCounters {
  if (a === null) return b;
  const plus = (x: number | null, y: number | null): number | null => (x === null ? y : y === null ? x : x + y);
  return { kernel: plus(a.kernel, b.kernel), interface: plus(a.interface, b.interface), stalls: a.stalls + b.stalls, pipeline: 0 };
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function describePool(p: PipelineRuntime): string {
  if (p.parallel === null) return 'workers 1: on the main thread';
  const mib = p.config.queue.bytes / (1024 * 1024);
  return `${p.workers} workers, queue ${mib >= 1 ? `${+mib.toFixed(1)} MiB` : `${Math.round(p.config.queue.bytes / 1024)} KiB`} / ${p.config.queue.rounds.toLocaleString('en-US')} rounds`;
}

/** The end-of-run summary: the totals, then each pipeline and its sources. */
function summaryText(configPath: string, run: PipelineRun, pipelines: PipelineRuntime[], started: number): string {
  const s = run.stats;
  const n = (x: number): string => x.toLocaleString('en-US');
  const sources = pipelines.reduce((k, p) => k + p.sources.length, 0);
  const totals: ReplaySummary = {
    capture: { format: 'pcap', packets: s.packets, bytes: s.captureBytes, truncatedAt: null, stoppedAt: null, interfaces: [] },
    packets: s.packets,
    captureBytes: s.captureBytes,
    tcpSegments: s.tcpSegments,
    connections: s.connections,
    exchanges: s.exchanges,
    calls: s.calls,
    otherExchanges: s.otherExchanges,
    anomalies: s.anomalies.entries(),
    elapsedMs: performance.now() - started,
    firstPacketTs: s.firstTs,
    lastPacketTs: s.lastTs,
  };
  const lines: string[] = [];
  for (const p of pipelines) {
    lines.push(`  pipeline ${p.config.name} (${describePool(p)}):`);
    for (const src of p.sources) {
      const c = src.counters;
      lines.push(`    ${c.id} (${c.kind}): ${n(c.packets)} packets, ${n(c.calls)} calls, ${c.state}${src.detail()}${c.error ? `: ${c.error}` : ''}`);
    }
  }
  const text = formatRunSummary(`llmtap run ${configPath}`, totals, run.sink, run.agents(), s.undecryptedTls, lines);
  return text.replace(' (pcap)\n', ` (${n(pipelines.length)} pipelines, ${n(sources)} sources)\n`);
}
