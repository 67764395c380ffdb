/**
 * Small byte helpers shared by the streaming body parsers (sse.ts, ndjson.ts, json-array.ts) and
 * the HTTP/1 connection (asBuffer).
 * They keep the hot paths free of string building until a complete unit (line, element) is known.
 */

/** UTF-8 decode of `bytes[start, end)`. Node's Buffer decoder replaces invalid sequences with
 * U+FFFD (like the WHATWG "UTF-8 decode without BOM" the SSE spec asks for) and is several times
 * faster than TextDecoder on the short strings these parsers make. No copy: a Buffer view is made
 * over the same memory. */
export function utf8Slice(bytes: Uint8Array, start = 0, end = bytes.length): string {
  return asBuffer(bytes).toString('utf8', start, end);
}

/** `bytes` as a Buffer over the same memory (no copy), for Buffer's native indexOf/toString. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The unterminated tail of a stream: the pieces of a line (or element) that started in an earlier
 * chunk. Pieces are joined once when the unit completes, so a unit spread over many chunks costs
 * O(its size), never O(n^2).
 */
export class TailBuffer {
  private pieces: Uint8Array[] = [];
  /** Bytes held (or, when a cap made us stop keeping them, bytes seen). */
  length = 0;

  /** Keep a copy of `bytes`: only the unterminated end of a chunk comes here (at most one unit's
   * worth per chunk, so the copy is cheap), and copying lets callers reuse their buffers after
   * push() returns (a streaming decompressor's output buffer, an eBPF ring). */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.pieces.push(Uint8Array.prototype.slice.call(bytes));
    this.length += bytes.length;
  }

  /** Count bytes without keeping them (used while discarding an over-cap unit). */
  skip(n: number): void {
    this.length += n;
  }

  /** Tail + `last` as one contiguous array (a view when nothing was buffered). */
  join(last: Uint8Array): Uint8Array {
    if (this.pieces.length === 0) return last;
    const out = Buffer.allocUnsafe(this.length + last.length);
    let off = 0;
    for (const p of this.pieces) {
      out.set(p, off);
      off += p.length;
    }
    out.set(last, off);
    return out;
  }

  clear(): void {
    if (this.pieces.length !== 0) this.pieces = [];
    this.length = 0;
  }
}

export const LF = 0x0a;
export const CR = 0x0d;
