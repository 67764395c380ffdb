/**
 * replayFile / replayStream (src/pipeline/replay.ts) with the per-connection stages on worker
 * threads: same inputs, same summary, records handed over in the same order.
 */
import { readCaptureFrames } from '../capture/file-reader.js';
import { readCaptureStream } from '../capture/stream-reader.js';
import type { CaptureFileSummary } from '../capture/capture-parser.js';
import type { Micros } from '../core/time.js';
import type { Pacer } from '../pipeline/pacing.js';
import type { ReplaySummary } from '../pipeline/replay.js';
import type { PipelineStats } from '../pipeline/stats.js';
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

interface Baseline {
  tcpSegments: number;
  exchanges: number;
  calls: number;
  other: number;
}

function baseline(s: PipelineStats): Baseline {
  return { tcpSegments: s.tcpSegments, exchanges: s.exchanges, calls: s.calls, other: s.otherExchanges };
}

/** The summary a single pipeline's finish() gives, from the run's counters. */
export function summaryOf(capture: CaptureFileSummary, s: PipelineStats, at: Baseline, started: number, lastTs: number | null): ReplaySummary {
  return {
    capture,
    packets: capture.packets,
    captureBytes: capture.bytes,
    tcpSegments: s.tcpSegments - at.tcpSegments,
    connections: s.connections,
    exchanges: s.exchanges - at.exchanges,
    calls: s.calls - at.calls,
    otherExchanges: s.otherExchanges - at.other,
    anomalies: s.anomalies.entries(),
    elapsedMs: performance.now() - started,
    firstPacketTs: s.firstTs,
    lastPacketTs: lastTs,
  };
}

function chunkEnd(p: ParallelCapture, opts: ParallelReplayOptions): void {
  const at = opts.atChunkEnd;
  if (at === undefined) return;
  const lastTs = p.stats.lastTs;
  p.chunkEnd(() => at(lastTs));
}

export async function replayFileParallel(path: string, opts: ParallelReplayOptions): Promise<ReplaySummary> {
  const started = performance.now();
  const p = new ParallelCapture({ ...opts, ...(opts.pacer ? { paced: true } : {}) });
  const at = baseline(p.stats);
  const src = p.source(opts.source);
  opts.onParallel?.(p, src);
  const pacer = opts.pacer;
  try {
    const capture = await readCaptureFrames(path, pacer ? pacer.wrap(src.onFrame, p.stats.anomalies) : src.onFrame, {
      anomalies: p.stats.anomalies,
      onInterface: src.onInterface,
      onProgress: (done, total) => {
        p.stats.bytesRead = done;
        p.stats.totalBytes = total;
        opts.onProgress?.(done, total);
      },
      afterChunk: async () => {
        if (pacer) await pacer.drain();
        chunkEnd(p, opts);
        await p.afterChunk();
        await opts.afterChunk?.();
      },
      onSecrets: src.onSecrets,
    });
    await p.finish(new Map([[src, capture]]));
    return summaryOf(capture, p.stats, at, started, p.stats.lastTs);
  } finally {
    await p.close();
  }
}

export interface ParallelStreamOptions extends ParallelReplayOptions {
  name: string;
}

export async function replayStreamParallel(chunks: AsyncIterable<Uint8Array>, opts: ParallelStreamOptions): Promise<ReplaySummary> {
  const started = performance.now();
  const p = new ParallelCapture(opts);
  const at = baseline(p.stats);
  const src = p.source(opts.source);
  opts.onParallel?.(p, src);
  try {
    const capture = await readCaptureStream(chunks, src.onFrame, {
      name: opts.name,
      anomalies: p.stats.anomalies,
      onInterface: src.onInterface,
      onBytes: (done) => {
        p.stats.bytesRead = done;
      },
      afterChunk: async () => {
        chunkEnd(p, opts);
        await p.afterChunk();
        await opts.afterChunk?.();
      },
      onSecrets: src.onSecrets,
    });
    await p.finish(new Map([[src, capture]]));
    return summaryOf(capture, p.stats, at, started, p.stats.lastTs);
  } finally {
    await p.close();
  }
}
