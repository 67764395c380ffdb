/**
 * JSONL output (`--jsonl PATH|-`). Writes are synchronous and batched: the replay loop produces
 * records faster than an async stream would drain them, and a synchronous write is the simplest
 * backpressure there is (memory stays at one batch).
 */
import { closeSync, openSync, writeSync } from 'node:fs';

/** 256 KiB per write: large enough that syscalls cost nothing next to JSON.stringify. */
const BATCH_BYTES = 256 * 1024;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

export class JsonlWriter {
  private readonly fd: number;
  private readonly ownsFd: boolean;
  private parts: string[] = [];
  private pending = 0;
  records = 0;

  /** `-` writes to standard output. */
  constructor(path: string) {
    if (path === '-') {
      this.fd = 1;
      this.ownsFd = false;
    } else {
      this.fd = openSync(path, 'w');
      this.ownsFd = true;
    }
  }

  write(record: object): void {
    const line = JSON.stringify(record);
    this.parts.push(line, '\n');
    this.pending += line.length + 1;
    this.records++;
    if (this.pending >= BATCH_BYTES) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    const buf = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.pending = 0;
    let off = 0;
    while (off < buf.length) {
      try {
        off += writeSync(this.fd, buf, off, buf.length - off);
      } catch (err) {
        // A non-blocking pipe on stdout answers EAGAIN when the reader is slow: wait and retry.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        Atomics.wait(sleeper, 0, 0, 2);
      }
    }
  }

  close(): void {
    this.flush();
    if (this.ownsFd) closeSync(this.fd);
  }
}
