import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bodyBytes, bodyText, type HttpBody } from './types.js';

function body(parts: Uint8Array[]): HttpBody {
  return {
    chunks: parts.map((data, i) => ({ data, ts: i })),
    size: parts.reduce((n, p) => n + p.length, 0),
    wireBytes: 0,
    contentEncoding: null,
    truncated: false,
    incomplete: false,
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

/** `bytes` cut at `cuts`, as separate arrays or as adjacent views of one buffer. */
function split(bytes: Uint8Array, cuts: number[], adjacent: boolean): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...at, bytes.length]) {
    parts.push(adjacent ? bytes.subarray(prev, c) : bytes.slice(prev, c));
    prev = c;
  }
  return parts;
}

describe('bodyBytes', () => {
  it('returns the concatenation of the chunks, split anywhere, adjacent in one buffer or not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), (bytes, cuts, adjacent) => {
        const parts = split(bytes, cuts, adjacent);
        expect([...bodyBytes(body(parts))]).toEqual([...concat(parts)]);
      }),
    );
  });

  it('does not copy chunks that lie end to end in one buffer', () => {
    const buf = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const whole = bodyBytes(body([buf.subarray(0, 2), buf.subarray(2, 5), buf.subarray(5)]));
    expect(whole.buffer).toBe(buf.buffer);
    expect([...whole]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('copies chunks of one buffer that are not adjacent', () => {
    const buf = new Uint8Array([1, 2, 3, 4, 5, 6]);
    expect([...bodyBytes(body([buf.subarray(0, 2), buf.subarray(3, 5)]))]).toEqual([1, 2, 4, 5]);
  });
});

describe('bodyText', () => {
  const whatwg = new TextDecoder('utf-8', { fatal: false });

  it('decodes as the WHATWG UTF-8 decoder does (BOM dropped, invalid bytes replaced)', () => {
    const tricky = fc.constantFrom(0xef, 0xbb, 0xbf, 0xc0, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0, 0xff, 0x80, 0x41, 0x0a);
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), tricky), { maxLength: 64 }), fc.array(fc.nat(), { maxLength: 4 }), (codes, cuts) => {
        const bytes = Uint8Array.from(codes);
        expect(bodyText(body(split(bytes, cuts, false)))).toBe(whatwg.decode(bytes));
      }),
      { numRuns: 3000 },
    );
    const bom = Uint8Array.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]);
    expect(bodyText(body([bom]))).toBe('{}');
    expect(bodyText(body([]))).toBe('');
  });
});
