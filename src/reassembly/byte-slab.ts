/**
 * Copies of segment payloads (the capture buffer is reused, so every byte kept must be copied).
 * One `new Uint8Array` per segment costs an ArrayBuffer allocation each; carving copies out of a
 * shared 64 KiB slab costs only a view, 2–3× faster for MSS-sized segments (measured on Node 20).
 * The price is the one Node's own sockets pay (each read is a slice of a 64 KiB buffer): a view
 * kept alive keeps its whole slab alive.
 */

/** Slab size: what libuv asks Node for per socket read (64 KiB, uv__read in src/unix/stream.c). */
const SLAB_BYTES = 64 * 1024;
/** Larger copies get their own buffer, so one big segment does not waste the rest of a slab. */
const OWN_BUFFER_FROM = 16 * 1024;

let slab = new Uint8Array(SLAB_BYTES);
let used = 0;

/** A fresh copy of src[from, to) that the caller owns (nothing else writes to it). */
export function copyBytes(src: Uint8Array, from: number, to: number): Uint8Array {
  const n = to - from;
  if (n >= OWN_BUFFER_FROM) return src.slice(from, to);
  if (n > SLAB_BYTES - used) {
    slab = new Uint8Array(SLAB_BYTES);
    used = 0;
  }
  const out = slab.subarray(used, used + n);
  out.set(src.subarray(from, to));
  used += n;
  return out;
}
