/**
 * replayFile / replayStream (src/pipeline/replay.ts) with the per-connection stages on worker
 * threads: same inputs, same summary, records handed over in the same order.
 */
import { readCaptureFrames } from '../capture/file-reader.js';
import { readCaptureStream } from '../capture/stream-reader.js';
import type { CaptureFileSummary } from '../capture/capture-parser.js';
import type { Micros } from '../core/time.js';
import type { Pacer } from '../pipeline/pacing.js';
import { statsBaseline, summaryOf, type ReplaySummary } from '../pipeline/replay.js';
import { ParallelCapture, type ParallelOptions, type ParallelSource } from './parallel-pipeline.js';

export interface ParallelReplayOptions extends ParallelOptions {
  source: string;
  onProgress?(bytesRead: number, totalBytes: number): void;
  /** Awaited after each read (backpressure from the store). */
  afterChunk?(): Promise<void> | void;
  /** What a single pipeline's caller does after each read, with the capture time of the last
   * packet read (the turn tracker's and the observers' clock): run once the records of the
   * packets read so far are released, before any later one. */
  atChunkEnd?(lastTs: Micros | null): Promise<void> | void;
  pacer?: Pacer;
  /** The run's dispatcher, once made (a paced replay's ticks post what waits; a live source's
   * idle timer moves its clock). */
  onParallel?(p: ParallelCapture, source: ParallelSource): void;
}

function chunkEnd(p: ParallelCapture, opts: ParallelReplayOptions): void {
  const at = opts.atChunkEnd;
  if (at === undefined) return;
  const lastTs = p.stats.lastTs;
  p.chunkEnd(() => at(lastTs));
}

export async function replayFileParallel(path: string, opts: ParallelReplayOptions): Promise<ReplaySummary> {
  const pacer = opts.pacer;
  return runParallel({ ...opts, ...(pacer ? { paced: true } : {}) }, (p, src) =>
    readCaptureFrames(path, pacer ? pacer.wrap(src.onFrame, p.stats.anomalies) : src.onFrame, {
      anomalies: p.stats.anomalies,
      onInterface: src.onInterface,
      onProgress: (done, total) => {
        p.stats.bytesRead = done;
        p.stats.totalBytes = total;
        opts.onProgress?.(done, total);
      },
      afterChunk: async () => {
        if (pacer) await pacer.drain();
        await afterRead(p, opts);
      },
      onSecrets: src.onSecrets,
    }),
  );
}

/** One source on its own dispatcher and pool: `read` reads the input into it; the summary speaks
 * of that input. */
async function runParallel(
  opts: ParallelReplayOptions,
  read: (p: ParallelCapture, src: ParallelSource) => Promise<CaptureFileSummary>,
): Promise<ReplaySummary> {
  const started = performance.now();
  const p = new ParallelCapture(opts);
  const at = statsBaseline(p.stats);
  const src = p.source(opts.source);
  opts.onParallel?.(p, src);
  try {
    const capture = await read(p, src);
    await p.finish(new Map([[src, capture]]));
    return summaryOf(capture, p.stats, started, p.stats.lastTs, at);
  } finally {
    await p.close();
  }
}

/** After each read: the records so far are released, then the pool and the caller get room. */
async function afterRead(p: ParallelCapture, opts: ParallelReplayOptions): Promise<void> {
  chunkEnd(p, opts);
  await p.afterChunk();
  await opts.afterChunk?.();
}

export interface ParallelStreamOptions extends ParallelReplayOptions {
  name: string;
}

export async function replayStreamParallel(chunks: AsyncIterable<Uint8Array>, opts: ParallelStreamOptions): Promise<ReplaySummary> {
  return runParallel(opts, (p, src) =>
    readCaptureStream(chunks, src.onFrame, {
      name: opts.name,
      anomalies: p.stats.anomalies,
      onInterface: src.onInterface,
      onBytes: (done) => {
        p.stats.bytesRead = done;
      },
      afterChunk: () => afterRead(p, opts),
      onSecrets: src.onSecrets,
    }),
  );
}
