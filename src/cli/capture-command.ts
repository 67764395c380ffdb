/**
 * `llmtap capture -i IFACE`: live capture (DESIGN §1–2). tcpdump, the separately privileged
 * capture process, writes pcap into a pipe; the same pipeline as `replay` reads it; calls reach
 * JSONL, the store, the API and the console while the capture runs. Ctrl-C (or SIGTERM) stops
 * tcpdump, reads what it had captured, flushes turns, store and exports, prints the summary with
 * the drop counters and exits 0: nothing already seen is lost.
 */
import type { SourceHealth } from '../api/types.js';
import { LiveCaptureError, startLiveCapture, type LiveCapture } from '../capture/live-tcpdump.js';
import { CAPTURE_TOOLS, parseCaptureTool, type CaptureTool } from '../capture/live-capture-tool.js';
import { defaultSnaplen, type TcpdumpCounters } from '../capture/live-tcpdump-text.js';
import { PCAP_MAX_SNAPLEN } from '../capture/capture-parser.js';
import type { Micros } from '../core/time.js';
import { replayStream, type ReplaySummary } from '../pipeline/replay.js';
import type { PipelineStats } from '../pipeline/stats.js';
import { resolveWorkers } from '../workers/worker-count.js';
import { intFlag, UserError } from './errors.js';
import { formatRunSummary, openPipelineRun, type OutputCommandOptions, type PipelineRun } from './run-pipeline.js';

export interface CaptureCommandOptions extends Omit<OutputCommandOptions, 'exitAfterDrain'> {
  interface: string;
  bpfFilter?: string;
  snaplen?: string;
  /** tcpdump's capture buffer, KiB (`-B`). */
  bufferSize?: string;
  /** `--capture-tool tcpdump|dumpcap|auto` (live-capture-tool.ts); default auto. */
  captureTool?: string;
}

/**
 * The wall-clock tick (DESIGN §1: "an idle live source advances by wall clock"). Every
 * TICK_MS what waits for the store is written (a live capture commits at most 5 batches a
 * second, ~1 ms each in DuckDB, instead of waiting for the store's 1 s batch bound), so a call
 * shows in the API within about TICK_MS of its last response packet, busy or not. When no bytes
 * came for IDLE_MS, the capture clock also moves to the wall clock minus IDLE_MS (a packet
 * captured before that would have reached the pipe already: immediate mode hands each packet
 * over at once), so turns time out, windows slide and alert rules run with no traffic.
 */
const TICK_MS = 200;
const IDLE_MS = 200;
/** A wait on the pipeline longer than this is a stall: the packets that came meanwhile waited in
 * the reader thread (up to 64 MiB, live-tcpdump-worker.ts), then in tcpdump's pipe and the kernel
 * ring; counted and shown. */
const STALL_MS = 100;

export async function runCapture(o: CaptureCommandOptions): Promise<void> {
  const snaplen = intFlag(o.snaplen, '--snaplen', defaultSnaplen(o.interface), 64, PCAP_MAX_SNAPLEN);
  const bufferKib = o.bufferSize === undefined ? undefined : intFlag(o.bufferSize, '--buffer-size', 0, 1, 4 * 1024 * 1024);
  const tool = parseCaptureTool(o.captureTool);
  if (tool === null) throw new UserError(`--capture-tool ${o.captureTool ?? ''}: expected ${CAPTURE_TOOLS.join(', ')} or auto`);
  const iface = o.interface;
  let live: LiveCapture;
  try {
    live = await startLiveCapture({ iface, snaplen, tool, ...(o.bpfFilter !== undefined ? { filter: o.bpfFilter } : {}), ...(bufferKib !== undefined ? { bufferKib } : {}) });
  } catch (err) {
    if (err instanceof LiveCaptureError) throw new UserError(err.message);
    throw err;
  }
  const backpressure = { stalls: 0, waitedMs: 0 };
  let run: PipelineRun;
  try {
    run = await openPipelineRun(o, {
      sourceId: o.source ?? iface,
      describeSource: (s) => describeLive(s, live.counters(), run.stats.pipelineDrops),
      followKeyLog: true,
    });
  } catch (err) {
    await live.stop();
    throw err;
  }
  run.stats.liveCounters = () => {
    const c = live.counters();
    return { kernel: c.kernel, interface: c.interface, stalls: backpressure.stalls, pipeline: run.stats.pipelineDrops };
  };
  if (!o.quiet) {
    const how = live.tool === 'dumpcap' ? ' through dumpcap (its drop counters come when it stops)' : '';
    process.stderr.write(`llmtap: capturing on ${iface}${live.linkType ? ` (${live.linkType})` : ''}${how}; Ctrl-C to stop\n`);
  }

  /** What the idle timer moves: the in-thread pipeline, or the workers' dispatcher. */
  let pipeline: ClockedSource | null = null;
  const workers = resolveWorkers(run.config.workers);
  let lastChunkAt = performance.now();
  let failure: unknown = null;
  const stop = (): void => void live.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  /** With workers: what the dispatcher holds goes to them at each tick (live rounds are posted at
   * most every 20 ms after a read, so the last packets of a burst wait for this at worst). */
  let dispatcher: { flushPending(): void } | null = null;
  const timer = setInterval(() => {
    if (failure !== null) return;
    try {
      dispatcher?.flushPending();
    } catch (err) {
      // A worker failed: stop capturing; the read loop reports it.
      failure ??= err;
      stop();
      return;
    }
    // dumpcap hands packets over up to 250 ms late (its block timeout): stay behind that too.
    const quietMs = IDLE_MS + live.deliveryLagMs;
    const idle = performance.now() - lastChunkAt >= quietMs;
    let now: Micros | null = run.stats.lastTs;
    if (idle && pipeline !== null) {
      pipeline.advanceTo((Date.now() - quietMs) * 1000);
      now = pipeline.clock;
    }
    run.tick(now, { flush: true }).catch((err: unknown) => {
      // The store failed (disk full): stop capturing; what was committed stays.
      failure ??= err;
      stop();
    });
  }, TICK_MS);

  // Held back by the store after each chunk (the pipe then fills; counted as stalls).
  const waitForStore = async (now: Micros | null): Promise<void> => {
    lastChunkAt = performance.now();
    const t0 = lastChunkAt;
    await run.tick(now);
    const waited = performance.now() - t0;
    backpressure.waitedMs += waited;
    if (waited >= STALL_MS) backpressure.stalls++;
  };
  let summary: ReplaySummary;
  try {
    if (workers > 1) {
      // A full worker queue drops packets (counted) instead of holding tcpdump back.
      const { replayStreamParallel } = await import('../workers/parallel-replay.js');
      const { atChunkEnd, afterChunk: _storeOnly, ...opts } = run.workerOptions(workers, true);
      summary = await replayStreamParallel(live.bytes, {
        ...opts,
        name: `${live.tool} -i ${iface}`,
        onParallel: (p, src) => {
          pipeline = src;
          dispatcher = p;
        },
        ...(atChunkEnd ? { atChunkEnd } : {}),
        afterChunk: () => waitForStore(null),
      });
    } else {
      summary = await replayStream(live.bytes, {
        ...run.pipeline,
        name: `${live.tool} -i ${iface}`,
        onPipeline: (p) => {
          pipeline = p;
        },
        afterChunk: () => waitForStore(run.stats.lastTs),
      });
    }
    clearInterval(timer);
    if (failure !== null) throw failure;
    await run.endOfInput((pipeline as ClockedSource | null)?.clock ?? summary.lastPacketTs);
  } catch (err) {
    clearInterval(timer);
    await live.stop();
    return run.fail(err);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  // tcpdump died on its own (the interface went away): everything it wrote was read and stored.
  const died = await live.ended;
  run.source.state = died === null ? 'stopped' : 'error';
  run.source.error = died;
  if (!o.quiet) {
    process.stderr.write(
      formatRunSummary(`llmtap capture -i ${iface}`, summary, run.sink, run.agents(), run.stats.undecryptedTls, dropLines(live.counters(), backpressure, run.stats, live.tool)),
    );
  }
  await run.close({ serveAfter: false });
  if (died !== null) throw new UserError(died);
}

/** A source whose capture clock the idle timer moves (CapturePipeline, or ParallelSource). */
interface ClockedSource {
  readonly clock: Micros | null;
  advanceTo(now: Micros): void;
}

/** The health API's source entry for a live interface (the API shape has room for it).
 * `pipelineDrops`: packets dropped because the worker threads were behind (PipelineStats). */
export function describeLive(s: SourceHealth, c: TcpdumpCounters, pipelineDrops = 0): SourceHealth {
  return { ...s, kind: 'interface', progress: null, drops: { kernel: c.kernel, interface: c.interface, pipeline: pipelineDrops } };
}

export function dropLines(c: TcpdumpCounters, b: { stalls: number; waitedMs: number }, stats: Pick<PipelineStats, 'pipelineDrops'>, tool: CaptureTool = 'tcpdump'): string[] {
  const v = (x: number | null): string => (x === null ? 'unknown' : x.toLocaleString('en-US'));
  // dumpcap prints no ps_recv; it names what it lost itself (write failures, flushed at stop).
  const what = tool === 'dumpcap' ? `${v(c.captured)} captured, ${v(c.process ?? null)} lost in dumpcap` : `${v(c.captured)} captured, ${v(c.received)} received by filter`;
  const lines = [`  drops: kernel ${v(c.kernel)}, interface ${v(c.interface)}, llmtap ${v(stats.pipelineDrops)} (${tool}: ${what})`];
  if (b.stalls > 0) {
    lines.push(`  the pipeline held ${tool} back ${b.stalls.toLocaleString('en-US')} times (${(b.waitedMs / 1000).toFixed(1)} s) while the store caught up (packets waited in llmtap's reader, then in the kernel ring: kernel drops come from there)`);
  }
  return lines;
}

