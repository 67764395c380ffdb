/**
 * Following a key log file while it grows (live capture): TLS clients append a few lines per
 * connection as they handshake. We read from the last offset on every fs.watch event and on a
 * poll (fs.watch is unreliable on network and container file systems, and absent on some), keep
 * an unfinished last line until its LF arrives, and start over when the file is truncated or
 * replaced by a shorter one (a client that reopens it without O_APPEND).
 */
import { watch, type FSWatcher } from 'node:fs';
import { open } from 'node:fs/promises';

export interface FollowOptions {
  /** Poll period. 250 ms: a new connection's keys arrive well within a TCP round trip or two of
   * a WAN handshake, and the sink holds ciphertext meanwhile (MAX_WAITING_CIPHERTEXT). */
  intervalMs?: number;
  /** Use fs.watch too (default true); the poll runs either way. */
  watch?: boolean;
}

export interface KeyLogFollower {
  /** Settles after the first read (the file's present content, or its absence). */
  readonly ready: Promise<void>;
  /** Reads what was appended since the last read (tests call it instead of waiting). */
  poll(): Promise<void>;
  stop(): void;
}

const DEFAULT_INTERVAL_MS = 250;
/** Bytes read per read call: 1 MiB, many thousands of lines. */
const READ_CHUNK = 1024 * 1024;
/** An unfinished line longer than this is not a key log line (the longest, a TLS 1.3 SHA-384
 * secret, is ~170 characters; ECH_CONFIG lines can be a few hundred): 64 KiB, then dropped. */
const MAX_PARTIAL_LINE = 64 * 1024;

export function followKeyLogFile(path: string, onLine: (line: string) => void, opts: FollowOptions, onBadLine: () => void): KeyLogFollower {
  let offset = 0;
  let partial = '';
  let stopped = false;
  let chain: Promise<void> = Promise.resolve();
  let watcher: FSWatcher | null = null;

  const readOnce = async (): Promise<void> => {
    if (stopped) return;
    let fh;
    try {
      fh = await open(path, 'r');
    } catch {
      return; // Not there yet (or unreadable): the next poll tries again.
    }
    try {
      const { size } = await fh.stat();
      if (size < offset) {
        offset = 0;
        partial = '';
      }
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      while (offset < size && !stopped) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(READ_CHUNK, size - offset), offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        feed(buf.toString('latin1', 0, bytesRead));
      }
    } catch {
      // A read error mid-way: keep the offset, the next poll resumes there.
    } finally {
      await fh.close().catch(() => undefined);
    }
  };

  const feed = (text: string): void => {
    let start = 0;
    let nl = text.indexOf('\n');
    while (nl >= 0) {
      const line = partial + text.slice(start, nl);
      partial = '';
      onLine(line);
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    partial += text.slice(start);
    if (partial.length > MAX_PARTIAL_LINE) {
      partial = '';
      onBadLine();
    }
  };

  const poll = (): Promise<void> => {
    chain = chain.then(readOnce);
    return chain;
  };

  const ready = poll();
  const timer = setInterval(() => void poll(), Math.max(1, opts.intervalMs ?? DEFAULT_INTERVAL_MS));
  timer.unref();
  if (opts.watch !== false) {
    try {
      watcher = watch(path, { persistent: false }, () => void poll());
      watcher.on('error', () => {
        watcher?.close();
        watcher = null;
      });
    } catch {
      watcher = null; // No file yet, or no fs.watch here: the poll covers it.
    }
  }

  return {
    ready,
    poll,
    stop: () => {
      stopped = true;
      clearInterval(timer);
      watcher?.close();
      watcher = null;
    },
  };
}
