/**
 * How many worker threads a run gets (`--workers N|auto`, config `workers:`). Measurements behind
 * "auto" are in docs/workers.md.
 */
import { availableParallelism } from 'node:os';

/**
 * Below this a file is replayed in-thread under "auto": starting a worker loads the pipeline's
 * modules again in a fresh isolate (~0.15 s of CPU each, measured), more than a few MB of
 * capture takes to decode.
 */
export const AUTO_MIN_FILE_BYTES = 64 * 1024 * 1024;
/**
 * Workers under "auto" at most: the main thread (reading, dispatching, merging, JSONL, turns, the
 * store) is the bottleneck beyond a few workers (docs/workers.md).
 */
export const AUTO_MAX_WORKERS = 4;

export interface WorkloadHint {
  /** A file's size in bytes; undefined for a live source. */
  fileBytes?: number;
  /** Cores this process may use (default: os.availableParallelism()). */
  cores?: number;
}

/**
 * "auto": one core stays with the main thread, the others take workers (at most
 * AUTO_MAX_WORKERS); with fewer than 2 workers' worth of cores, or a small file, in-thread.
 */
export function resolveWorkers(setting: number | 'auto', hint: WorkloadHint = {}): number {
  if (setting !== 'auto') return setting;
  const cores = hint.cores ?? availableParallelism();
  const spare = Math.min(AUTO_MAX_WORKERS, cores - 1);
  if (spare < 2) return 1;
  if (hint.fileBytes !== undefined && hint.fileBytes < AUTO_MIN_FILE_BYTES) return 1;
  return spare;
}
