/**
 * tcpdump run from a reader thread (live-tcpdump-worker.ts), seen from the main thread as a small
 * child-process surface: its pcap bytes, its stderr text, its exit, and signals for it. The thread
 * drains the pipe while the main thread decodes, so a stall of the main thread no longer backs up
 * into the kernel ring (the reason is in live-tcpdump-worker.ts).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** workerData of the reader thread. */
export interface ThreadStart {
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export type FromThread =
  | { t: 'data'; bytes: Uint8Array }
  | { t: 'end' }
  | { t: 'stdout-error'; message: string }
  | { t: 'stderr'; text: string }
  | { t: 'stderr-closed' }
  | { t: 'spawned' }
  | { t: 'spawn-error'; message: string }
  | { t: 'exit'; code: number | null; signal: NodeJS.Signals | null };

export type ToThread = { t: 'kill'; signal: NodeJS.Signals } | { t: 'ack'; bytes: number };

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  spawnError: Error | null;
}

export interface ThreadedChild {
  /** tcpdump's stdout, in the order written; ends after its last byte. */
  readonly stdout: AsyncIterable<Uint8Array>;
  onStderr(listener: (text: string) => void): void;
  /** Resolves once tcpdump exited (or could not be started). */
  readonly exit: Promise<ChildExit>;
  /** Resolves once tcpdump's stderr closed (its last words were delivered). */
  readonly stderrClosed: Promise<void>;
  readonly exited: boolean;
  kill(signal: NodeJS.Signals): void;
}

/** Consumed bytes are acknowledged in steps of this many (one message per step, not per chunk),
 * and whenever the queue runs empty (the thread then resumes reading at once if it had paused). */
const ACK_STEP = 1024 * 1024;

/** The compiled worker beside this module; from TypeScript sources (vitest) the build's copy
 * (as src/workers/pool.ts does). */
function workerUrl(): URL {
  const here = new URL('./live-tcpdump-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../dist/src/capture/live-tcpdump-worker.js', import.meta.url);
}

export function spawnThreaded(cmd: string, args: string[], env: NodeJS.ProcessEnv): ThreadedChild {
  const worker = new Worker(workerUrl(), { workerData: { cmd, args, env } satisfies ThreadStart });
  // tcpdump's end ends the thread; the thread never keeps llmtap alive on its own.
  worker.unref();
  const queue: Uint8Array[] = [];
  let ended = false;
  let streamError: Error | null = null;
  let wake: (() => void) | null = null;
  let unacked = 0;
  const stderrListeners: ((text: string) => void)[] = [];
  let exited = false;
  let resolveExit!: (e: ChildExit) => void;
  const exit = new Promise<ChildExit>((resolve) => {
    resolveExit = resolve;
  });
  let resolveStderr!: () => void;
  const stderrClosed = new Promise<void>((resolve) => {
    resolveStderr = resolve;
  });
  const finishStream = (err: Error | null): void => {
    ended = true;
    streamError ??= err;
    wake?.();
  };
  const finish = (e: ChildExit): void => {
    exited = true;
    resolveExit(e);
  };

  worker.on('message', (m: FromThread) => {
    switch (m.t) {
      case 'data':
        queue.push(m.bytes);
        wake?.();
        break;
      case 'end':
        finishStream(null);
        break;
      case 'stdout-error':
        finishStream(new Error(`tcpdump's output: ${m.message}`));
        break;
      case 'stderr':
        for (const l of stderrListeners) l(m.text);
        break;
      case 'stderr-closed':
        resolveStderr();
        break;
      case 'spawned':
        break;
      case 'spawn-error':
        // Node reports a failed spawn as 'error' without 'exit'; nothing will come on stdout.
        resolveStderr();
        finishStream(null);
        finish({ code: null, signal: null, spawnError: new Error(m.message) });
        break;
      case 'exit':
        finish({ code: m.code, signal: m.signal, spawnError: null });
        break;
    }
  });
  // The thread itself failed (it should not: it only copies bytes): tcpdump is gone with it.
  worker.once('error', (err) => {
    resolveStderr();
    finishStream(err);
    finish({ code: null, signal: null, spawnError: err });
  });
  worker.once('exit', () => {
    resolveStderr();
    finishStream(null);
    finish({ code: null, signal: null, spawnError: new Error('the capture reader thread ended') });
  });

  const ack = (force: boolean): void => {
    if (unacked === 0 || (!force && unacked < ACK_STEP)) return;
    worker.postMessage({ t: 'ack', bytes: unacked } satisfies ToThread);
    unacked = 0;
  };
  const stdout: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({
      next: async (): Promise<IteratorResult<Uint8Array>> => {
        while (queue.length === 0) {
          if (ended) {
            if (streamError !== null) throw streamError;
            return { done: true, value: undefined };
          }
          ack(true);
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = null;
        }
        const value = queue.shift()!;
        unacked += value.length;
        ack(false);
        return { done: false, value };
      },
    }),
  };
  return {
    stdout,
    onStderr: (l) => void stderrListeners.push(l),
    exit,
    stderrClosed,
    get exited() {
      return exited;
    },
    kill: (signal) => {
      if (!exited) worker.postMessage({ t: 'kill', signal } satisfies ToThread);
    },
  };
}
