/**
 * Synchronous, streaming access to Node's native zlib and brotli decoders.
 *
 * Why internals: Node's zlib has no public API that is both synchronous and streaming. The
 * stream classes are asynchronous (output arrives on a later tick, which would lose the link
 * between a packet and the bytes it produced), and the `*Sync` functions take a whole buffer.
 * `_processChunk(chunk, flag)` is synchronous but closes the handle after one call (checked on
 * Node 20.20). So this file drives the native handle directly, exactly as Node's own
 * `processChunkSync` in lib/zlib.js does:
 *   handle.writeSync(flush, in, inOff, inLen, out, outOff, outLen) fills `_writeState` with
 *   [availOutAfter, availInAfter]; errors arrive synchronously through `handle.onerror`.
 * This is the ONLY place that touches these internals; `native-zlib.test.ts` fails loudly if a
 * Node upgrade changes them. Measured on this machine: ~1.4 GB/s of gzip output with 1400-byte
 * input pieces, about 5x fflate (pure JS), which is why native is used for gzip/deflate too.
 */
import zlib from 'node:zlib';

/** The shape of the internal handle we rely on (lib/zlib.js, src/node_zlib.cc). */
interface NativeHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  /** Back to the start of a stream (inflateReset; brotli re-creates its state). */
  reset(): void;
  close(): void;
  onerror: (message: string, errno: number, code: string) => void;
}

interface ZlibInternals {
  _handle?: NativeHandle | null;
  _writeState?: Uint32Array;
}

export type NativeKind = 'gunzip' | 'inflate' | 'inflateRaw' | 'brotli';

/** Output slab size: Node's own default zlib chunk (zlib.constants.Z_DEFAULT_CHUNK, 16 KiB).
 * Outputs are views into the slab, so small outputs share one allocation. */
const SLAB = 16 * 1024;
const EMPTY = new Uint8Array(0);

function makeStream(kind: NativeKind): zlib.Gunzip | zlib.Inflate | zlib.InflateRaw | zlib.BrotliDecompress {
  // chunkSize 64 (the minimum) because we never use the stream's own output buffer.
  switch (kind) {
    case 'gunzip':
      return zlib.createGunzip({ chunkSize: 64 });
    case 'inflate':
      return zlib.createInflate({ chunkSize: 64 });
    case 'inflateRaw':
      return zlib.createInflateRaw({ chunkSize: 64 });
    case 'brotli':
      return zlib.createBrotliDecompress({ chunkSize: 64 });
  }
}

/** Thrown only at construction, when the Node internals are not what this file expects. */
export class NativeZlibUnavailable extends Error {}

/** A native handle with the stream that owns it and its write-state array. */
interface NativeSet {
  readonly handle: NativeHandle;
  readonly state: Uint32Array;
  /** Keeps the owning stream object alive as long as the handle is in use. */
  readonly owner: unknown;
}

/**
 * Handles of finished decoders, reset and ready, per kind. Making one goes through
 * zlib.createGunzip's Transform/Duplex set-up and a fresh inflate state (~30 µs warm; 247 of them
 * in the 200 MB bench: 7–9 ms against 1–5 ms pooled, micro-benchmark), and drops ~40 KB of native
 * memory on the GC per body; a reset (inflateReset) costs nearly nothing. A few per kind cover the
 * bodies being decoded at once on a busy capture; beyond that handles are freed.
 */
const idle: Record<NativeKind, NativeSet[]> = { gunzip: [], inflate: [], inflateRaw: [], brotli: [] };
const MAX_IDLE_PER_KIND = 8;

function openNative(kind: NativeKind): NativeSet {
  const stream = makeStream(kind);
  const internals = stream as unknown as ZlibInternals;
  const handle = internals._handle;
  const state = internals._writeState;
  if (!handle || typeof handle.writeSync !== 'function' || typeof handle.reset !== 'function' || !(state instanceof Uint32Array)) {
    throw new NativeZlibUnavailable('node:zlib internals changed: _handle.writeSync/reset/_writeState missing');
  }
  return { handle, state, owner: stream };
}

/** Resets a handle whose decoder is done with it and keeps it for the next one; a handle that
 * cannot be reset cleanly is closed instead. */
function release(kind: NativeKind, set: NativeSet): void {
  const pool = idle[kind];
  let failed = false;
  set.handle.onerror = () => {
    failed = true;
  };
  if (pool.length < MAX_IDLE_PER_KIND) {
    set.handle.reset();
    if (!failed) {
      pool.push(set);
      return;
    }
  }
  closeHandle(set.handle);
}

function closeHandle(handle: NativeHandle): void {
  try {
    handle.close();
  } catch {
    // Already closed by Node after an error: nothing to free.
  }
}

/** Number of idle handles kept for `kind` (tests). */
export function idleHandles(kind: NativeKind): number {
  return idle[kind].length;
}

export class NativeDecoder {
  /** Error message from the native decoder, or null. After an error the decoder is closed. */
  error: string | null = null;
  private readonly set: NativeSet;
  private readonly handle: NativeHandle;
  private readonly state: Uint32Array;
  private readonly processFlag: number;
  private readonly finishFlag: number;
  private slab: Uint8Array = EMPTY;
  private slabOff = 0;
  private closed = false;

  constructor(readonly kind: NativeKind) {
    const set = idle[kind].pop() ?? openNative(kind);
    this.set = set;
    this.handle = set.handle;
    this.state = set.state;
    // Replaces zlibOnError, which would destroy the stream and emit 'error' on a later tick.
    this.handle.onerror = (message: string) => {
      this.error = message || 'decompression failed';
    };
    if (kind === 'brotli') {
      this.processFlag = zlib.constants.BROTLI_OPERATION_PROCESS;
      this.finishFlag = zlib.constants.BROTLI_OPERATION_FINISH;
    } else {
      this.processFlag = zlib.constants.Z_SYNC_FLUSH;
      this.finishFlag = zlib.constants.Z_FINISH;
    }
  }

  /**
   * Feeds `input`; appends decoded pieces to `out`. Stops once more than `maxOut` bytes were
   * produced by this call (the caller trims and stops: a decompression bomb costs at most
   * `maxOut` + one slab). Returns the number of bytes produced.
   */
  write(input: Uint8Array, maxOut: number, out: Uint8Array[]): number {
    return this.run(this.processFlag, input, maxOut, out);
  }

  /**
   * Signals end of input. Returns true when the compressed stream ended cleanly; false when it
   * was cut short ("unexpected end of file") or had failed before.
   */
  finish(out: Uint8Array[], maxOut: number): boolean {
    if (this.closed) return this.error === null;
    this.run(this.finishFlag, EMPTY, maxOut, out);
    const ok = this.error === null;
    this.close();
    return ok;
  }

  /** Done with the decoder: its handle goes back to the pool, or is freed after an error (Node
   * may have closed it already, and its state is not worth trusting). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.error === null) release(this.kind, this.set);
    else closeHandle(this.handle);
  }

  private run(flush: number, input: Uint8Array, maxOut: number, out: Uint8Array[]): number {
    if (this.closed || this.error !== null) return 0;
    let inOff = 0;
    let inLen = input.length;
    let produced = 0;
    while (true) {
      if (this.slabOff >= this.slab.length) {
        this.slab = Buffer.allocUnsafe(SLAB);
        this.slabOff = 0;
      }
      const room = this.slab.length - this.slabOff;
      this.handle.writeSync(flush, input, inOff, inLen, this.slab, this.slabOff, room);
      if (this.error !== null) {
        this.close();
        return produced;
      }
      const availOut = this.state[0]!;
      const availIn = this.state[1]!;
      const have = room - availOut;
      if (have > 0) {
        out.push(this.slab.subarray(this.slabOff, this.slabOff + have));
        this.slabOff += have;
        produced += have;
      }
      inOff += inLen - availIn;
      inLen = availIn;
      // availOut === 0: the slab filled, there may be more output (same rule as processChunkSync).
      if (availOut !== 0) return produced;
      if (produced > maxOut) return produced;
    }
  }
}
