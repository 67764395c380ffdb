/**
 * Streaming zstd decoding (RFC 8878) with fzstd, guarded by a frame walker.
 *
 * fzstd allocates each frame's whole window up front and shifts it on every block, so a frame
 * that declares a 2 GiB window would cost 2 GiB of memory and time. The walker below reads frame
 * and block headers ahead of fzstd (it never decodes) and refuses frames whose Window_Size
 * exceeds 8 MiB: RFC 9659 §3 makes 8 MB the limit for the "zstd" HTTP content coding, so no
 * conforming server sends more.
 */
import { createRequire } from 'node:module';
import type { Decompress } from 'fzstd';

/** fzstd, loaded on the first zstd body: few captures have one, and loading it costs every
 * start ~5 ms of CPU. Its CommonJS build (package.json "require" export) loads synchronously,
 * as decoding must. */
let fzstd: typeof import('fzstd') | null = null;
function loadFzstd(): typeof import('fzstd') {
  fzstd ??= createRequire(import.meta.url)('fzstd') as typeof import('fzstd');
  return fzstd;
}

/** RFC 9659 §3: Window_Size limit for zstd content coding. */
export const ZSTD_MAX_WINDOW = 8 * 1024 * 1024;

/** Largest input piece handed to fzstd at once. A 4-byte RLE block can expand to 128 KiB
 * (RFC 8878 §3.1.1.2.4), so 256 input bytes produce at most ~8 MiB before we check the cap. */
const FEED_SLICE = 256;

const enum W {
  Magic,
  SkipSize,
  Skip,
  Header,
  Block,
  BlockBody,
  Checksum,
}

/** Walks zstd frame structure (RFC 8878 §3.1) to learn each frame's Window_Size. */
class FrameWalker {
  error: 'window' | 'format' | null = null;
  private st = W.Magic;
  private acc = 0; // bytes collected for the current fixed-size field
  private buf = new Uint8Array(18); // max frame header: 4 magic + 1 FHD + 1 WD + 4 dict + 8 FCS
  private need = 4; // bytes the current field needs
  private skip = 0; // bytes left to skip (skippable frame / block body)
  private checksum = false;

  feed(data: Uint8Array): void {
    let i = 0;
    while (i < data.length && this.error === null) {
      if (this.st === W.Skip || this.st === W.BlockBody) {
        const n = Math.min(this.skip, data.length - i);
        this.skip -= n;
        i += n;
        if (this.skip === 0) this.afterSkip();
        continue;
      }
      this.buf[this.acc++] = data[i++]!;
      if (this.st === W.Header && this.acc === 5) this.need = 5 + headerRest(this.buf[4]!);
      if (this.acc >= this.need) this.field();
    }
  }

  private afterSkip(): void {
    if (this.st === W.Skip) this.expect(W.Magic, 4);
    else if (this.lastBlock) {
      if (this.checksum) this.expect(W.Checksum, 4);
      else this.expect(W.Magic, 4);
    } else this.expect(W.Block, 3);
  }

  private lastBlock = false;

  private expect(st: W, need: number): void {
    this.st = st;
    this.need = need;
    this.acc = 0;
  }

  private field(): void {
    const b = this.buf;
    switch (this.st) {
      case W.Magic: {
        const magic = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
        if (magic === 0xfd2fb528) {
          this.st = W.Header; // keep the 4 magic bytes; FHD comes next
          this.need = 5;
        } else if ((magic & 0xfffffff0) === 0x184d2a50) {
          this.expect(W.SkipSize, 4);
        } else {
          this.error = 'format';
        }
        return;
      }
      case W.SkipSize:
        this.skip = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
        this.st = W.Skip;
        this.acc = 0;
        if (this.skip === 0) this.expect(W.Magic, 4);
        return;
      case W.Header: {
        const fhd = b[4]!;
        const single = (fhd >> 5) & 1;
        this.checksum = ((fhd >> 2) & 1) === 1;
        if (fhd & 8) {
          this.error = 'format'; // reserved bit (RFC 8878 §3.1.1.1.1)
          return;
        }
        let window: number;
        if (!single) {
          const wd = b[5]!;
          const base = 2 ** (10 + (wd >> 3));
          window = base + (base / 8) * (wd & 7);
        } else {
          // Single segment: Window_Size = Frame_Content_Size.
          const fcsFlag = fhd >> 6;
          const fcsBytes = fcsFlag === 0 ? 1 : 1 << fcsFlag;
          let fcs = 0;
          const start = this.need - fcsBytes;
          for (let k = fcsBytes - 1; k >= 0; k--) fcs = fcs * 256 + b[start + k]!;
          if (fcsBytes === 2) fcs += 256;
          window = fcs;
        }
        if (window > ZSTD_MAX_WINDOW) {
          this.error = 'window';
          return;
        }
        this.expect(W.Block, 3);
        return;
      }
      case W.Block: {
        const h = b[0]! | (b[1]! << 8) | (b[2]! << 16);
        this.lastBlock = (h & 1) === 1;
        const type = (h >> 1) & 3;
        const size = h >>> 3;
        if (type === 3) {
          this.error = 'format';
          return;
        }
        this.skip = type === 1 ? 1 : size;
        this.st = W.BlockBody;
        this.acc = 0;
        if (this.skip === 0) this.afterSkip();
        return;
      }
      case W.Checksum:
        this.expect(W.Magic, 4);
        return;
      default:
        return;
    }
  }

  /** True when the input so far ends on a frame boundary. */
  get atBoundary(): boolean {
    return this.st === W.Magic && this.acc === 0;
  }
}

/** Bytes of frame header after the FHD byte (RFC 8878 §3.1.1.1). */
function headerRest(fhd: number): number {
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const dictFlag = fhd & 3;
  const dictBytes = dictFlag === 3 ? 4 : dictFlag;
  const fcsBytes = fcsFlag === 0 ? single : 1 << fcsFlag;
  return (single ? 0 : 1) + dictBytes + fcsBytes;
}

export class ZstdDecoder {
  error: string | null = null;
  windowTooLarge = false;
  private readonly walker = new FrameWalker();
  private readonly inner: Decompress;
  private sink: Uint8Array[] = [];
  private produced = 0;
  private sawInput = false;

  constructor() {
    this.inner = new (loadFzstd().Decompress)((chunk: Uint8Array) => {
      if (chunk.length > 0) {
        this.sink.push(chunk);
        this.produced += chunk.length;
      }
    });
  }

  /** Same contract as NativeDecoder.write. */
  write(input: Uint8Array, maxOut: number, out: Uint8Array[]): number {
    if (this.error !== null || input.length === 0) return 0;
    this.sawInput = true;
    this.sink = out;
    this.produced = 0;
    for (let off = 0; off < input.length && this.error === null; off += FEED_SLICE) {
      const piece = input.subarray(off, Math.min(input.length, off + FEED_SLICE));
      this.walker.feed(piece);
      if (this.walker.error !== null) {
        this.windowTooLarge = this.walker.error === 'window';
        this.error = this.windowTooLarge ? 'zstd window larger than 8 MiB' : 'invalid zstd frame';
        break;
      }
      try {
        // fzstd keeps pieces that do not complete a block (Decompress.push), and the input may
        // be lent for this call only (StreamSink.onData): hand it a copy.
        this.inner.push(piece.slice());
      } catch (e) {
        this.error = e instanceof Error ? e.message : 'invalid zstd data';
      }
      if (this.produced > maxOut) break;
    }
    return this.produced;
  }

  /** True when the input ended cleanly at a frame boundary. */
  finish(): boolean {
    if (this.error !== null) return false;
    return !this.sawInput || this.walker.atBoundary;
  }
}
