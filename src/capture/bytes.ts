/**
 * Unsigned integer reads from a byte array, both byte orders. Plain functions on Uint8Array (no
 * DataView per packet): V8 inlines them on the per-packet path. Callers check bounds first.
 */
export function u16be(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function u16le(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

export function u32be(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function u32le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

export type U16Reader = (b: Uint8Array, o: number) => number;
export type U32Reader = (b: Uint8Array, o: number) => number;

/** `0x` + lower-case hex of up to `max` leading bytes (for one-line error messages). */
export function hexPrefix(b: Uint8Array, max: number): string {
  let s = '0x';
  const n = Math.min(max, b.length);
  for (let i = 0; i < n; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}

/**
 * b[start..end) as a view on the same memory: what `subarray` does, minus its species-constructor
 * lookup (measurably cheaper in V8 before warm-up, never slower); it runs once or twice per packet.
 * Callers guarantee start <= end within b.
 */
export function view(b: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset + start, end - start);
}
