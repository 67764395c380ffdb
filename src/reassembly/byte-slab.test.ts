import { describe, expect, it } from 'vitest';
import { copyBytes } from './byte-slab.js';

describe('copyBytes', () => {
  it('returns independent copies of the requested range', () => {
    const src = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const a = copyBytes(src, 1, 4);
    const b = copyBytes(src, 0, 6);
    src.fill(9);
    expect([...a]).toEqual([2, 3, 4]);
    expect([...b]).toEqual([1, 2, 3, 4, 5, 6]);
    a.fill(7);
    expect([...b]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('keeps copies intact across slab boundaries and for large ranges', () => {
    const copies: { bytes: Uint8Array; value: number }[] = [];
    for (let i = 0; i < 300; i++) {
      const len = (i * 7919) % 20_000; // some past the own-buffer threshold, some zero
      const src = new Uint8Array(len).fill(i & 0xff);
      copies.push({ bytes: copyBytes(src, 0, len), value: i & 0xff });
      src.fill(0xee);
    }
    for (const c of copies) expect(c.bytes.every((x) => x === c.value)).toBe(true);
  });
});
