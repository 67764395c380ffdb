/**
 * JSONL output (`--jsonl PATH|-`). Writes are synchronous and batched: the replay loop produces
 * records faster than an async stream would drain them, and a synchronous write is the simplest
 * backpressure there is (memory stays at one batch).
 */
import { closeSync, openSync, writeSync } from 'node:fs';

/** 256 KiB per write: large enough that syscalls cost nothing next to JSON.stringify. */
const BATCH_BYTES = 256 * 1024;
/** The batch buffer, reused for every batch: room for a batch plus a large record encoded in
 * the worst case (3 UTF-8 bytes per UTF-16 unit). Larger lines are written on their own. */
const BUFFER_BYTES = 4 * BATCH_BYTES;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

export class JsonlWriter {
  private readonly fd: number;
  private readonly ownsFd: boolean;
  /** Lines are encoded straight into one reused buffer: no joined string, and no new buffer
   * (fresh memory, external to V8's heap) per batch. */
  private readonly buf = Buffer.allocUnsafe(BUFFER_BYTES);
  private pos = 0;
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
    this.records++;
    const most = 3 * line.length + 1;
    if (this.pos + most > this.buf.length) {
      this.flush();
      if (most > this.buf.length) {
        this.writeAll(Buffer.from(`${line}\n`, 'utf8'));
        return;
      }
    }
    this.pos += this.buf.write(line, this.pos, 'utf8');
    this.buf[this.pos++] = 0x0a;
    if (this.pos >= BATCH_BYTES) this.flush();
  }

  flush(): void {
    if (this.pos === 0) return;
    const n = this.pos;
    this.pos = 0;
    this.writeAll(this.buf.subarray(0, n));
  }

  private writeAll(buf: Uint8Array): void {
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
