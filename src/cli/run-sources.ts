/**
 * The sources of `llmtap run` (run-command.ts): a capture file, a live interface (a tcpdump
 * child) or a probes listener, each feeding its pipeline (in-thread, or its worker pool) and
 * keeping its own counters for the health API and the summary.
 */
import type { CaptureFileSummary } from '../capture/capture-parser.js';
import { readCaptureFrames } from '../capture/file-reader.js';
import { defaultSnaplen } from '../capture/live-tcpdump-text.js';
import type { CapturedFrame } from '../capture/types.js';
import { readCaptureStream } from '../capture/stream-reader.js';
import type { FilePipelineSource, InterfacePipelineSource, PipelineConfig, PipelineSourceConfig, ProbesPipelineSource } from '../config/types.js';
import type { Micros } from '../core/time.js';
import { Pacer, type PaceClock } from '../pipeline/pacing.js';
import { createCapturePipeline, replayFile, replayStream } from '../pipeline/replay.js';
import { PipelineStats, type LiveCaptureCounters } from '../pipeline/stats.js';
import type { ParallelCapture, ParallelSource } from '../workers/parallel-pipeline.js';
import { UserError } from './errors.js';
import { newSourceCounters, StatsRollup, type SourceCounters } from './health.js';
import type { PipelineRun, RunPipelineOptions } from './run-pipeline.js';
import { statSync } from 'node:fs';

/** A live interface silent this long moves its clock by the wall clock (capture-command IDLE_MS). */
const IDLE_MS = 200;
/** A wait on the store longer than this held tcpdump back (capture-command STALL_MS). */
const STALL_MS = 100;
/** A probe silent this long moves its clock on (collect-command PROBE_IDLE_MS). */
const PROBE_IDLE_MS = 1_000;

/** Thrown into a file source's read when the run is stopped (Ctrl-C). */
export class StopRequested extends Error {}

/** What every source of the run shares. */
export interface RunContext {
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
export interface PipelineRuntime {
  config: PipelineConfig;
  workers: number;
  /** Its worker pool (null: in-thread). */
  parallel: ParallelCapture | null;
  captures: Map<ParallelSource, CaptureFileSummary>;
  sources: SourceRuntime[];
}

export interface SourceRuntime {
  counters: SourceCounters;
  /** Reads the source to its end (a file) or until stopped (live). */
  run(): Promise<void>;
  stop(): void;
  /** A live source's idle tick: moves its clocks by the wall clock and reports each (a probes
   * source has one per probe, named by the probe's uuid, the `source` of its records). */
  idle?(moved: (source: string, clock: Micros) => void): void;
  /** Copies the in-thread pipeline's counters into `counters`. */
  sync(): void;
  /** What the health API lists for this source, when not just `counters`: a probes source lists
   * its listener, then each probe (as `llmtap collect` does). */
  health?(): SourceCounters[];
  /** The summary's extra words (drops). */
  detail(): string;
}

export function openSource(ctx: RunContext, p: PipelineRuntime, s: PipelineSourceConfig, poolStats: PipelineStats | null): SourceRuntime {
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
            // This file's clock: turns of the other sources wait on theirs.
            await ctx.run.tick(own.stats.lastTs, { source: s.id });
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
          parallel.chunkEnd(() => ctx.run.tick(now, { source: s.id }));
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
    await ctx.run.tick(now, { source: s.id });
    if (performance.now() - lastChunkAt >= STALL_MS) backpressure.stalls++;
  };
  return {
    counters: c,
    sync: own?.sync ?? (() => undefined),
    detail: () => {
      const d = c.drops();
      const v = (x: number | null): string => (x === null ? 'unknown' : x.toLocaleString('en-US'));
      return `, drops: kernel ${v(d.kernel)}, interface ${v(d.interface)}, llmtap ${v(d.pipeline)}${backpressure.stalls > 0 ? `, held ${capture?.tool ?? 'tcpdump'} back ${backpressure.stalls} times` : ''}`;
    },
    stop: () => {
      stopped = true;
      void capture?.stop();
    },
    idle: (moved) => {
      // dumpcap hands packets over up to 250 ms late (live-capture-tool.ts): stay behind that too.
      const quietMs = IDLE_MS + (capture?.deliveryLagMs ?? 0);
      if (clocked === null || performance.now() - lastChunkAt < quietMs) return;
      clocked.advanceTo((Date.now() - quietMs) * 1000);
      if (clocked.clock !== null) moved(s.id, clocked.clock);
    },
    run: async () => {
      const { startLiveCapture, LiveCaptureError } = await import('../capture/live-tcpdump.js');
      try {
        capture = await startLiveCapture({
          iface: s.iface,
          snaplen: s.snaplen ?? defaultSnaplen(s.iface),
          tool: s.capture_tool,
          ...(s.bpf_filter !== null ? { filter: s.bpf_filter } : {}),
          ...(s.buffer_size_kib !== null ? { bufferKib: s.buffer_size_kib } : {}),
        });
      } catch (err) {
        if (err instanceof LiveCaptureError) throw new UserError(`pipeline ${p.config.name}, source ${s.id}: ${err.message}`);
        throw err;
      }
      if (stopped) void capture.stop();
      if (!ctx.quiet) ctx.run.log(`capturing on ${s.iface}${capture.linkType ? ` (${capture.linkType})` : ''}${capture.tool === 'dumpcap' ? ' through dumpcap' : ''} for pipeline ${p.config.name}`);
      const name = `${capture.tool} -i ${s.iface}`;
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
            parallel.chunkEnd(() => ctx.run.tick(now, { source: s.id }));
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
  /** Its health entry: packets and bytes of its batches, calls, first/last packet. */
  counters: SourceCounters;
  /** Its in-thread pipeline's counters (absent on workers). */
  stats?: PipelineStats;
  finish?: (capture: CaptureFileSummary) => void;
  arrivedAt: number;
  clockAtArrival: Micros | null;
}

function probesSource(ctx: RunContext, p: PipelineRuntime, s: ProbesPipelineSource, poolStats: PipelineStats | null): SourceRuntime {
  // The listener's counters: the summary's line for the source, the sum of its probes'.
  const c = newSourceCounters(s.id, 'probe', p.config.name);
  ctx.bySource.set(s.id, c);
  const probes = new Map<string, ProbeEntry>();
  const dropped = { batches: 0, packets: 0 };
  c.drops = () => ({ kernel: null, interface: null, pipeline: dropped.packets + (poolStats?.pipelineDrops ?? 0) });
  let listener: import('../capture/probe-source.js').ProbeListener | null = null;
  let stopped = false;
  const started = performance.now();
  return {
    counters: c,
    sync: () => {
      let packets = 0;
      let bytes = 0;
      let calls = 0;
      for (const e of probes.values()) {
        const pc = e.counters;
        // In-thread, a probe's pipeline times its packets; on workers, counting() does.
        if (e.stats) {
          pc.firstTs = e.stats.firstTs;
          pc.lastTs = e.stats.lastTs;
        }
        packets += pc.packets;
        bytes += pc.bytes;
        calls += pc.calls;
        if (pc.firstTs !== null && (c.firstTs === null || pc.firstTs < c.firstTs)) c.firstTs = pc.firstTs;
        if (pc.lastTs !== null && (c.lastTs === null || pc.lastTs > c.lastTs)) c.lastTs = pc.lastTs;
      }
      c.packets = packets;
      c.bytes = bytes;
      c.calls = calls;
    },
    health: () => {
      // As collect-command's sourceEntries: the listener holds only what no probe owns (refused
      // batches, the pool's drops), so a sum over the entries counts every packet once.
      const listenerEntry: SourceCounters = { ...c, packets: 0, bytes: 0, calls: 0, firstTs: null, lastTs: null };
      const each = [...probes.values()].map((e) => ({ ...e.counters, state: c.state, error: c.error }));
      return [listenerEntry, ...each];
    },
    detail: () => `, ${probes.size} probes, dropped ${dropped.batches.toLocaleString('en-US')} batches (${dropped.packets.toLocaleString('en-US')} packets)`,
    stop: () => {
      stopped = true;
      listener?.close();
    },
    idle: (moved) => {
      const now = performance.now();
      for (const [id, e] of probes) {
        const idleMs = now - e.arrivedAt;
        if (idleMs < PROBE_IDLE_MS || e.clockAtArrival === null) continue;
        e.pipeline.advanceTo(e.clockAtArrival + Math.floor((idleMs - PROBE_IDLE_MS) * 1000));
        // Each probe on its own clock: probe hosts' clocks need not agree.
        const t = e.pipeline.clock;
        if (t !== null) moved(id, t);
      }
    },
    run: async () => {
      const { listenForProbes, checkProbeEndpoint, ProbeListenError } = await import('../capture/probe-source.js');
      const { forEachProbeFrame, wellFormedProbeBatches } = await import('../capture/probe-batch.js');
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
        // A probe's uuid is the source id on its records (issue 6 item 4); its calls count on
        // its own counters (unless another source of the run has that id already).
        const counters = newSourceCounters(id, 'probe', p.config.name);
        counters.drops = () => ({ kernel: null, interface: null, pipeline: 0 });
        if (!ctx.bySource.has(id)) ctx.bySource.set(id, counters);
        if (p.parallel !== null) {
          e = { pipeline: p.parallel.source(id), counters, arrivedAt: 0, clockAtArrival: null };
        } else {
          const stats = new PipelineStats();
          ctx.rollup.add(stats);
          const pl = createCapturePipeline({ ...ctx.inThread, source: id, stats });
          e = { pipeline: pl, counters, stats, finish: (cap) => void pl.finish(cap, started), arrivedAt: 0, clockAtArrival: null };
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
      for await (const { batch, header } of wellFormedProbeBatches(listener.messages, refuse)) {
        const e = probeFor(header.probeId);
        if (e === null) {
          refuse('probe_too_many_probes', header.count);
          continue;
        }
        forEachProbeFrame(batch, header.count, p.parallel === null ? e.pipeline.onFrame : counting(e.counters, e.pipeline.onFrame));
        if (p.parallel === null) {
          e.counters.packets += header.count;
          e.counters.bytes += batch.length;
        }
        e.arrivedAt = performance.now();
        e.clockAtArrival = e.pipeline.clock;
        const now = e.pipeline.clock;
        // The probe's own clock (its uuid is its records' source).
        const clock = { source: header.probeId };
        if (p.parallel !== null) {
          p.parallel.chunkEnd(() => ctx.run.tick(now, clock));
          await p.parallel.afterChunk();
          await ctx.run.tick(null);
        } else await ctx.run.tick(now, clock);
      }
      const empty: CaptureFileSummary = { format: 'pcap', packets: 0, bytes: 0, truncatedAt: null, stoppedAt: null, interfaces: [] };
      for (const e of probes.values()) e.finish?.(empty);
    },
  };
}

export function addLive(a: LiveCaptureCounters | null, b: LiveCaptureCounters): LiveCaptureCounters {
  if (a === null) return b;
  const plus = (x: number | null, y: number | null): number | null => (x === null ? y : y === null ? x : x + y);
  return { kernel: plus(a.kernel, b.kernel), interface: plus(a.interface, b.interface), stalls: a.stalls + b.stalls, pipeline: 0 };
}

export function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

