import { basename } from 'node:path';
import { replayFile, type ReplaySummary } from '../pipeline/replay.js';
import type { PipelineStats } from '../pipeline/stats.js';
import type { StoreSink } from '../pipeline/store-sink.js';
import { ProgressBar } from './progress.js';
import { formatRunSummary, openPipelineRun, type OutputCommandOptions } from './run-pipeline.js';

export { tokenOptions } from './run-pipeline.js';

export type ReplayCommandOptions = OutputCommandOptions;

/**
 * `llmtap replay FILE`: with only --jsonl, a pure conversion; otherwise the calls and exchanges
 * go into the database, the API serves them while the file drains and, unless
 * --exit-after-drain, afterwards until interrupted.
 */
export async function runReplay(file: string, o: ReplayCommandOptions): Promise<void> {
  const run = await openPipelineRun(o, { sourceId: o.source ?? basename(file) });
  const { stats } = run;
  const bar = o.quiet ? null : ProgressBar.forStderr(basename(file));
  let summary: ReplaySummary;
  try {
    summary = await replayFile(file, {
      ...run.pipeline,
      ...(bar ? { onProgress: (done: number, total: number) => bar.update(done, total, `${stats.calls} calls`) } : {}),
    });
    await run.endOfInput(summary.lastPacketTs);
  } catch (err) {
    bar?.clear();
    return run.fail(err);
  }
  bar?.clear();
  run.source.state = 'drained';
  if (!o.quiet) process.stderr.write(formatSummary(file, summary, run.sink, run.agents(), stats.undecryptedTls));
  await run.close({ serveAfter: true, drainedLine: 'capture drained' });
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
