/**
 * The worker threads of one run (DESIGN §1, §8 "pool"): starts them, posts each round to every
 * worker (a worker with nothing in a round still answers, so that its watermark moves), counts the
 * rounds in flight for backpressure, and turns a worker's failure into one error instead of a hang.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DoneMessage, FromWorker, ToWorker, WorkerInit } from './messages.js';

/** A worker failed (a bug, or it ran out of memory): the run stops with what it had committed. */
export class WorkerFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerFailure';
  }
}

/**
 * The worker's script: the compiled worker-entry.js beside this module. Run from TypeScript
 * sources (vitest), there is none beside it: the build's copy is used (tests build first).
 */
export function workerEntry(): URL {
  const here = new URL('./worker-entry.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../dist/src/workers/worker-entry.js', import.meta.url);
}

export interface PoolEvents {
  /** A worker finished a round (or the finish, round -1). */
  done(worker: number, msg: DoneMessage): void;
}

export class WorkerPool {
  private readonly workers: Worker[];
  /** Per round posted and not yet answered by every worker: answers still missing, bytes posted. */
  private readonly missing = new Map<number, { left: number; bytes: number }>();
  private bytes = 0;
  private nextRound = 0;
  private failure: Error | null = null;
  /** Workers that answered the finish (they exit then, which is no failure). */
  private readonly ended = new Set<number>();
  private waiters: { resolve(): void; reject(e: Error): void }[] = [];
  private finishing: { left: number; resolve(): void; reject(e: Error): void } | null = null;
  private finished = false;

  constructor(
    readonly size: number,
    init: Omit<WorkerInit, 'index'>,
    private readonly events: PoolEvents,
    entry: URL = workerEntry(),
  ) {
    this.workers = [];
    for (let index = 0; index < size; index++) {
      const w = new Worker(entry, { workerData: { ...init, index } satisfies WorkerInit });
      w.on('message', (m: FromWorker) => this.onMessage(index, m));
      w.on('error', (err: Error) => this.fail(`worker ${index + 1} of ${size} failed: ${err.message}`));
      w.on('exit', (code) => {
        if (!this.ended.has(index) || code !== 0) this.fail(`worker ${index + 1} of ${size} exited (code ${code}) before the end of input`);
      });
      this.workers.push(w);
    }
  }

  /** Rounds posted and not yet answered by every worker. */
  get inFlight(): number {
    return this.missing.size;
  }

  /** Packet bytes of those rounds. */
  get inFlightBytes(): number {
    return this.bytes;
  }

  get failed(): Error | null {
    return this.failure;
  }

  /** Posts one round: `make(i)` gives worker i's message and the buffers to transfer. */
  postRound(make: (worker: number, round: number) => { msg: ToWorker; transfer: ArrayBuffer[]; bytes: number }): number {
    this.throwIfFailed();
    const round = this.nextRound++;
    const entry = { left: this.size, bytes: 0 };
    this.missing.set(round, entry);
    for (let i = 0; i < this.size; i++) {
      const { msg, transfer, bytes } = make(i, round);
      entry.bytes += bytes;
      this.workers[i]!.postMessage(msg, transfer);
    }
    this.bytes += entry.bytes;
    return round;
  }

  /** Resolves once `full()` is false (it changes as rounds are answered); rejects if a worker fails. */
  async room(full: () => boolean): Promise<void> {
    while (full()) {
      this.throwIfFailed();
      await new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    }
    this.throwIfFailed();
  }

  /** Sends the finish to every worker and resolves once each has answered it. */
  async finish(msg: ToWorker): Promise<void> {
    this.throwIfFailed();
    const all = new Promise<void>((resolve, reject) => {
      this.finishing = { left: this.size, resolve, reject };
    });
    for (const w of this.workers) w.postMessage(msg);
    await all;
  }

  /** Stops every worker (after the finish, or on failure). */
  async close(): Promise<void> {
    this.finished = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private onMessage(worker: number, m: FromWorker): void {
    if (this.failure !== null) return;
    if (m.type === 'failed') return this.fail(`worker ${worker + 1} of ${this.size} failed: ${m.message}`);
    try {
      this.events.done(worker, m);
    } catch (err) {
      // The main thread's consumer threw (a store or writer error): stop with that error.
      return this.fail(err instanceof Error ? err.message : String(err), err);
    }
    if (m.round === -1) {
      this.ended.add(worker);
      const f = this.finishing;
      if (f !== null && --f.left === 0) {
        this.finished = true;
        this.finishing = null;
        f.resolve();
      }
      return;
    }
    const entry = this.missing.get(m.round);
    if (entry === undefined) return;
    if (--entry.left === 0) {
      this.missing.delete(m.round);
      this.bytes -= entry.bytes;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w.resolve();
    }
  }

  private fail(message: string, cause?: unknown): void {
    if (this.failure !== null || this.finished) return;
    this.failure = cause instanceof Error ? cause : new WorkerFailure(message);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(this.failure);
    this.finishing?.reject(this.failure);
    this.finishing = null;
    for (const w of this.workers) void w.terminate();
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }
}
