import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EOS, HUFFMAN_LENGTHS, huffmanCodes, huffmanDecode, huffmanEncode } from './huffman.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const dec = (b: Uint8Array): string | null => huffmanDecode(b, 0, b.length);

describe('HPACK Huffman code (RFC 7541 Appendix B)', () => {
  it('builds the codes the RFC prints from the code lengths', () => {
    // Rows of Appendix B: (sym, code as hex, length).
    const rows: [number, number, number][] = [
      [0, 0x1ff8, 13],
      [32, 0x14, 6],
      [48, 0x0, 5],
      [97, 0x3, 5],
      [116, 0x9, 5],
      [127, 0xffffffc, 28],
      [200, 0x3ffffe2, 26],
      [255, 0x3ffffee, 26],
      [EOS, 0x3fffffff, 30],
    ];
    for (const [sym, code, len] of rows) expect([sym, huffmanCodes()[sym], HUFFMAN_LENGTHS[sym]]).toEqual([sym, code, len]);
  });

  it('decodes the RFC examples (C.4.1, C.6.1)', () => {
    expect(dec(hex('f1e3c2e5f23a6ba0ab90f4ff'))).toBe('www.example.com');
    expect(dec(hex('a8eb10649cbf'))).toBe('no-cache');
    expect(dec(hex('25a849e95ba97d7f'))).toBe('custom-key');
    expect(dec(hex('6402'))).toBe('302');
  });

  it('rejects padding longer than 7 bits, padding with a zero bit, and EOS', () => {
    // 'a' (00011) then 11 bits of ones: more than 7 bits of padding.
    expect(dec(Uint8Array.of(0b00011111, 0xff))).toBeNull();
    // 'a' then padding 110.
    expect(dec(Uint8Array.of(0b00011110))).toBeNull();
    // EOS (30 ones) padded with two ones: a whole EOS symbol.
    expect(dec(Uint8Array.of(0xff, 0xff, 0xff, 0xff))).toBeNull();
    // An empty string is fine.
    expect(dec(new Uint8Array(0))).toBe('');
  });

  it('round-trips any octets', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = Buffer.from(bytes).toString('latin1');
        expect(dec(huffmanEncode(text))).toBe(text);
      }),
    );
  });

  it('never throws on garbage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const r = dec(bytes);
        expect(r === null || typeof r === 'string').toBe(true);
      }),
    );
  });
});
