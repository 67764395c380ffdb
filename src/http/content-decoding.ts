/**
 * Content-Encoding decoding (RFC 9110 §8.4), streaming and synchronous: each `push` returns the
 * decoded bytes that input produced, so the HTTP layer can stamp them with the capture time of
 * the packet that carried it (TTFT of gzipped SSE depends on it).
 *
 * Codings: gzip / x-gzip (RFC 1952, multi-member), deflate (RFC 9110 §8.4.1.2 says zlib-wrapped
 * RFC 1950, but servers also send raw RFC 1951 and browsers accept both: the first two bytes
 * decide), br (RFC 7932, native), zstd (RFC 8878, fzstd), identity. A list such as "gzip, br"
 * was applied left to right, so it is decoded right to left.
 *
 * Never throws on bad input: corrupt data counts `http_bad_content_encoding` and keeps what was
 * decoded before; output beyond `capBytes` counts `http_decompressed_too_large` and stops
 * decoding (decompression bombs cost at most the cap plus one slab); unknown codings count
 * `http_unknown_content_encoding` and pass the bytes through undecoded.
 */
import type { AnomalySink } from '../core/anomalies.js';
import { NativeDecoder, type NativeKind } from './coding/native-zlib.js';
import { ZstdDecoder } from './coding/zstd.js';

export interface ContentDecoder {
  /** Decoded output produced by this input (possibly none). */
  push(data: Uint8Array): Uint8Array[];
  /**
   * End of the body. `bodyIncomplete`: the body itself was cut short (connection closed, gap),
   * so a truncated compressed stream is expected and not counted as bad encoding.
   */
  end(bodyIncomplete?: boolean): Uint8Array[];
  /** Decoding failed part-way (corrupt input). Output of earlier pushes was kept; the push that
   * hit the damage returns nothing from native codings (node reports no output count for a
   * failed write). */
  readonly failed: boolean;
  /** Output reached `capBytes` and was cut there. */
  readonly capped: boolean;
  /** False when the coding was unknown and bytes passed through as sent. */
  readonly decoding: boolean;
}

/** One decoding step of a stack. */
interface Stage {
  write(input: Uint8Array, maxOut: number, out: Uint8Array[]): number;
  /** End of input; returns false when the stream was incomplete or broken. */
  finish(out: Uint8Array[], maxOut: number): boolean;
  readonly error: string | null;
  close(): void;
  /** Set when the failure was a resource limit rather than corruption. */
  readonly windowTooLarge?: boolean;
}

class NativeStage implements Stage {
  private readonly d: NativeDecoder;
  constructor(kind: NativeKind) {
    this.d = new NativeDecoder(kind);
  }
  get error(): string | null {
    return this.d.error;
  }
  write(input: Uint8Array, maxOut: number, out: Uint8Array[]): number {
    return this.d.write(input, maxOut, out);
  }
  finish(out: Uint8Array[], maxOut: number): boolean {
    return this.d.finish(out, maxOut);
  }
  close(): void {
    this.d.close();
  }
}

/** "deflate": zlib-wrapped or raw, decided by the first two bytes (RFC 1950 §2.2: CM = 8 and
 * the 16-bit header is a multiple of 31). Buffers at most one byte before deciding. */
class DeflateStage implements Stage {
  private d: NativeDecoder | null = null;
  private first: number = -1;
  get error(): string | null {
    return this.d?.error ?? null;
  }
  write(input: Uint8Array, maxOut: number, out: Uint8Array[]): number {
    if (this.d) return this.d.write(input, maxOut, out);
    if (input.length === 0) return 0;
    if (this.first < 0 && input.length === 1) {
      this.first = input[0]!;
      return 0;
    }
    const b0 = this.first >= 0 ? this.first : input[0]!;
    const b1 = this.first >= 0 ? input[0]! : input[1]!;
    const zlibWrapped = (b0 & 0x0f) === 8 && (b0 >> 4) <= 7 && ((b0 << 8) | b1) % 31 === 0;
    this.d = new NativeDecoder(zlibWrapped ? 'inflate' : 'inflateRaw');
    let n = 0;
    if (this.first >= 0) n += this.d.write(Uint8Array.of(this.first), maxOut, out);
    return n + this.d.write(input, maxOut - n, out);
  }
  finish(out: Uint8Array[], maxOut: number): boolean {
    if (!this.d) return this.first < 0; // an empty body is a fine (empty) stream
    return this.d.finish(out, maxOut);
  }
  close(): void {
    this.d?.close();
  }
}

class ZstdStage implements Stage {
  private readonly d = new ZstdDecoder();
  get error(): string | null {
    return this.d.error;
  }
  get windowTooLarge(): boolean {
    return this.d.windowTooLarge;
  }
  write(input: Uint8Array, maxOut: number, out: Uint8Array[]): number {
    return this.d.write(input, maxOut, out);
  }
  finish(): boolean {
    return this.d.finish();
  }
  close(): void {
    // Pure JS: nothing to free.
  }
}

function stageFor(coding: string): Stage | null {
  switch (coding) {
    case 'gzip':
    case 'x-gzip': // RFC 9110 §8.4.1.3: recipients SHOULD treat x-gzip as gzip
      return new NativeStage('gunzip');
    case 'deflate':
      return new DeflateStage();
    case 'br':
      return new NativeStage('brotli');
    case 'zstd':
      return new ZstdStage();
    default:
      return null;
  }
}

/** Codings in decoding order (last applied first); identity and empty items dropped. */
export function parseContentCodings(encoding: string | null): string[] {
  if (!encoding) return [];
  const out: string[] = [];
  for (const item of encoding.split(',')) {
    const c = item.trim().toLowerCase();
    if (c !== '' && c !== 'identity') out.push(c);
  }
  return out.reverse();
}

export function createContentDecoder(
  encoding: string | null,
  capBytes: number,
  anomalies: AnomalySink,
): ContentDecoder {
  const codings = parseContentCodings(encoding);
  const stages: Stage[] = [];
  let known = true;
  for (const c of codings) {
    const s = stageFor(c);
    if (!s) {
      known = false;
      break;
    }
    stages.push(s);
  }
  if (!known) {
    for (const s of stages) s.close();
    anomalies.add('http_unknown_content_encoding');
    return new StackDecoder([], capBytes, anomalies, false, 'http_body_truncated');
  }
  return new StackDecoder(stages, capBytes, anomalies, true, 'http_decompressed_too_large');
}

class StackDecoder implements ContentDecoder {
  failed = false;
  capped = false;
  private emitted = 0;
  private done = false;

  constructor(
    private readonly stages: Stage[],
    private readonly cap: number,
    private readonly anomalies: AnomalySink,
    readonly decoding: boolean,
    /** Anomaly for hitting the cap: passthrough bytes are not "decompressed". */
    private readonly capAnomaly: string,
  ) {}

  push(data: Uint8Array): Uint8Array[] {
    if (this.done || this.failed || this.capped || data.length === 0) return [];
    return this.run([data], false, false);
  }

  end(bodyIncomplete = false): Uint8Array[] {
    if (this.done) return [];
    this.done = true;
    if (this.failed || this.capped) {
      this.closeAll();
      return [];
    }
    const out = this.run([], true, bodyIncomplete);
    this.closeAll();
    return out;
  }

  /**
   * Feeds `pieces` through every stage in order. A stage that stops early because it passed the
   * room left under the cap has dropped the rest of its input, so the decoder caps there.
   */
  private run(pieces: Uint8Array[], finish: boolean, bodyIncomplete: boolean): Uint8Array[] {
    let broken: Stage | null = null;
    let overCap = false;
    for (const stage of this.stages) {
      const next: Uint8Array[] = [];
      const room = this.cap - this.emitted;
      let produced = 0;
      for (const p of pieces) {
        produced += stage.write(p, room - produced, next);
        if (stage.error !== null || produced > room) break;
      }
      if (stage.error !== null) {
        if (broken === null) broken = stage;
      } else if (finish && produced <= room) {
        const before = next.length;
        const ok = stage.finish(next, room - produced);
        for (let i = before; i < next.length; i++) produced += next[i]!.length;
        // A cut-short stream is expected when the body itself was cut short.
        if (!ok && !bodyIncomplete && broken === null) broken = stage;
      }
      if (produced > room) overCap = true;
      pieces = next;
    }
    const out = this.limit(pieces, overCap);
    if (broken !== null && !this.capped) {
      this.failed = true;
      this.anomalies.add(broken.windowTooLarge ? 'http_zstd_window_too_large' : 'http_bad_content_encoding');
      this.closeAll();
    }
    return out;
  }

  private closeAll(): void {
    for (const s of this.stages) s.close();
  }

  /** Cuts the output at the cap; `overCap`: a stage already stopped at it. */
  private limit(pieces: Uint8Array[], overCap: boolean): Uint8Array[] {
    let total = 0;
    for (const p of pieces) total += p.length;
    if (!overCap && this.emitted + total <= this.cap) {
      this.emitted += total;
      return pieces;
    }
    const out: Uint8Array[] = [];
    for (const p of pieces) {
      const room = this.cap - this.emitted;
      if (room <= 0) break;
      const keep = p.length <= room ? p : p.subarray(0, room);
      out.push(keep);
      this.emitted += keep.length;
    }
    if (!this.capped) {
      this.capped = true;
      this.anomalies.add(this.capAnomaly);
      this.closeAll();
    }
    return out;
  }
}
