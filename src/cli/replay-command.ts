import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { Pacer, parsePace, type PaceClock } from '../pipeline/pacing.js';
import { replayFile, type ReplaySummary } from '../pipeline/replay.js';
import type { PipelineStats } from '../pipeline/stats.js';
import type { StoreSink } from '../pipeline/store-sink.js';
import { UserError } from './errors.js';
import { ProgressBar } from './progress.js';
import { formatRunSummary, openPipelineRun, type OutputCommandOptions, type PipelineRun } from './run-pipeline.js';
import { resolveWorkers } from '../workers/worker-count.js';

export { tokenOptions } from './run-pipeline.js';

export interface ReplayCommandOptions extends OutputCommandOptions {
  /** `--pace capture|FACTOR`; absent: as fast as possible. */
  pace?: string;
}

/**
 * While paced, every TICK_MS what waits for the store is committed, so calls reach the API and
 * the console's live feed as they complete, as in a live capture (docs/live.md "Time"; 200 ms is
 * capture-command's tick, for the same reason: at most 5 small commits a second).
 *
 * Unlike a live capture, the capture clock is NOT moved by the wall clock in idle gaps: it moves
 * with the packets, exactly as unpaced. Turns close when the tracker's clock passes their grace
 * (turn-tracker.ts), and the unpaced run moves that clock only with the calls (after writing
 * each) and after each read; a wall-clock tick would close a turn before the next call instead
 * of after it (another JSONL order), or even make a call that completes after its turn's grace
 * `agent_call_late` instead of joining it. Pacing changes when records appear, never which.
 */
const TICK_MS = 200;

/** The `--pace` flag as a factor, or null for as fast as possible. Bad values: exit 2, one line
 * (as the other flags: capture-command's intFlag, listen-address). */
export function paceFactor(value: string | undefined): number | null {
  if (value === undefined) return null;
  const f = parsePace(value);
  if (f === null) {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    throw new UserError(`--pace takes "capture" or a speed factor above 0, e.g. 10 (ten times faster) or 0.5 (half speed) (got "${shown}")`, 2);
  }
  return f;
}

/**
 * `llmtap replay FILE`: with only --jsonl, a pure conversion; otherwise the calls and exchanges
 * go into the database, the API serves them while the file drains and, unless
 * --exit-after-drain, afterwards until interrupted. With --pace, packets are replayed at their
 * capture times (scaled) and calls reach the store and API as they complete, as when live.
 */
export async function runReplay(file: string, o: ReplayCommandOptions, paceClock?: PaceClock): Promise<void> {
  const factor = paceFactor(o.pace);
  const run = await openPipelineRun(o, { sourceId: o.source ?? basename(file) });
  const { stats } = run;
  const bar = o.quiet ? null : ProgressBar.forStderr(basename(file));
  const pacer = factor === null ? null : new Pacer(factor, paceClock);
  // `--workers 1` (and "auto" on a small file) is the in-thread pipeline, unchanged.
  const workers = resolveWorkers(run.config.workers, { fileBytes: fileSize(file) });
  const posted: { flushPending(): void }[] = [];
  const ticker = pacer === null ? null : startPacedTicks(run, pacer, bar, posted);
  const onProgress = bar ? { onProgress: (done: number, total: number) => bar.update(done, total, `${stats.calls} calls`) } : {};
  let summary: ReplaySummary;
  try {
    if (workers > 1) {
      const { replayFileParallel } = await import('../workers/parallel-replay.js');
      summary = await replayFileParallel(file, {
        ...run.workerOptions(workers, false),
        ...onProgress,
        ...(pacer ? { pacer } : {}),
        onParallel: (p) => void posted.push(p),
      });
    } else {
      summary = await replayFile(file, { ...run.pipeline, ...onProgress, ...(pacer ? { pacer } : {}) });
    }
    ticker?.stop();
    await run.endOfInput(summary.lastPacketTs);
  } catch (err) {
    ticker?.stop();
    bar?.clear();
    return run.fail(err);
  }
  bar?.clear();
  run.source.state = 'drained';
  if (!o.quiet) process.stderr.write(formatSummary(file, summary, run.sink, run.agents(), stats.undecryptedTls));
  await run.close({ serveAfter: true, drainedLine: 'capture drained' });
}

/** The wall-clock ticks of a paced replay (see TICK_MS). A store failure stops the replay. */
function startPacedTicks(run: PipelineRun, pacer: Pacer, bar: ProgressBar | null, workers: { flushPending(): void }[]): { stop(): void } {
  const timer = setInterval(() => {
    // With workers, the frames handed over since the last round go to them now.
    try {
      for (const w of workers) w.flushPending();
    } catch (err) {
      pacer.abort(err);
    }
    const { stats } = run;
    const reached = pacer.captureNow();
    if (bar && reached !== null && stats.firstTs !== null) {
      bar.update(stats.bytesRead, stats.totalBytes, `${stats.calls} calls, ${((reached - stats.firstTs) / 1e6).toFixed(1)} s of capture`);
    }
    run.tick(null, { flush: true }).catch((err: unknown) => pacer.abort(err));
  }, TICK_MS);
  return { stop: () => clearInterval(timer) };
}

/** The file's size for "auto" workers; unknown (not a regular file, unreadable) counts as small:
 * the reader reports a missing file itself. */
function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

export function formatSummary(
  file: string,
  s: ReplaySummary,
  sink: StoreSink | null = null,
  agents: { turns: number; sessions: number } | null = null,
  undecrypted: PipelineStats['undecryptedTls'] | null = null,
): string {
  return formatRunSummary(`llmtap replay ${file}`, s, sink, agents, undecrypted);
}
