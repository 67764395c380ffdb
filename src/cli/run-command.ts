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
 * A capture clock per source for agent turns (DESIGN §1 "a watermark per source"): each source
 * (a file, an interface, each probe of a probes source) ticks the turn tracker with its own
 * clock, so pipelines whose clocks disagree (an old capture beside a live interface, probe hosts
 * whose clocks drift) do not close each other's turns (agents/source-clocks.ts). The metric
 * windows, alert rules and budget periods keep a clock per source too (docs/live.md).
 */
import type { PipelineConfig } from '../config/types.js';
import type { Micros } from '../core/time.js';
import { type PaceClock } from '../pipeline/pacing.js';
import { summaryOf } from '../pipeline/replay.js';
import { PipelineStats } from '../pipeline/stats.js';
import type { ParallelCapture } from '../workers/parallel-pipeline.js';
import { resolveWorkers } from '../workers/worker-count.js';
import { resolveConfig } from './config-options.js';
import { UserError } from './errors.js';
import { sourceHealthOf, StatsRollup, type SourceCounters } from './health.js';
import { formatRunSummary, openPipelineRun, type OutputCommandOptions, type PipelineRun, type WorkerRunOptions } from './run-pipeline.js';
import { openSource, sizeOf, StopRequested, type PipelineRuntime, type RunContext } from './run-sources.js';

export interface RunCommandOptions extends Omit<OutputCommandOptions, 'source'> {
  exitAfterDrain?: boolean;
}

/** As capture-command and collect-command: the store is flushed, idle live sources' clocks move
 * and worker pools get what their dispatchers hold, every TICK_MS of wall clock. */
const TICK_MS = 200;

export async function runPipelines(o: RunCommandOptions, paceClock?: PaceClock): Promise<void> {
  const config = await resolveConfig(o);
  if (config.pipelines.length === 0) {
    throw new UserError(
      `${config.path ?? 'no configuration file (--config FILE or LLMTAP_CONFIG)'}: no pipelines to run: add a pipelines: section (docs/configuration.md "pipelines"), or use replay, capture or collect`,
      2,
    );
  }
  const live = config.pipelines.some((p) => p.sources.some((s) => s.kind !== 'file'));
  let rollup: StatsRollup | null = null;
  const run = await openPipelineRun(
    { ...o, exitAfterDrain: o.exitAfterDrain ?? false },
    {
      sourceId: 'pipelines',
      followKeyLog: live,
      sources: () => {
        syncAll();
        return pipelines.flatMap((p) => p.sources.flatMap((s) => s.health?.() ?? [s.counters])).map(sourceHealthOf);
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
    const moved: { source: string; clock: Micros }[] = [];
    try {
      for (const p of pipelines) {
        p.parallel?.flushPending();
        for (const s of p.sources) s.idle?.((source, clock) => moved.push({ source, clock }));
      }
    } catch (err) {
      // A worker failed: stop everything; the sources' loops end and the run reports it.
      fail(err);
      return;
    }
    syncAll();
    // Each idle source's clock moves its own turns; the first tick starts the store's flush and
    // the others join it (turns they close are written at the next tick).
    let ticked: Promise<void> | null = null;
    for (const m of moved) ticked = run.tick(m.clock, { flush: true, source: m.source });
    (ticked ?? run.tick(null, { flush: true })).catch(fail);
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
  const capture = { format: 'pcap' as const, packets: s.packets, bytes: s.captureBytes, truncatedAt: null, stoppedAt: null, interfaces: [] };
  const totals = summaryOf(capture, s, started, s.lastTs);
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
