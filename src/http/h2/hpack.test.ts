import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../../../test/corpus.js';
import { HpackDecoder } from './hpack.js';
import { HpackTestEncoder } from './hpack-encoder.test-support.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));

describe('HPACK decoder: RFC 7541 Appendix C', () => {
  it('decodes C.4 (requests with Huffman) sharing one dynamic table', () => {
    const d = new HpackDecoder({ complete: true });
    expect(d.decode(hex('828684418cf1e3c2e5f23a6ba0ab90f4ff')).headers).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
    expect(d.decode(hex('828684be5886a8eb10649cbf')).headers).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ]);
    const third = d.decode(hex('828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf'));
    expect(third.headers).toEqual([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/index.html'],
      [':authority', 'www.example.com'],
      ['custom-key', 'custom-value'],
    ]);
    expect(third.failed).toBe(false);
    // §C.4.3: three entries, 164 octets.
    expect([d.tableLength, d.tableSize]).toEqual([3, 164]);
  });
});

interface Story {
  cases: { seqno: number; wire: string; header_table_size?: number; headers: Record<string, string>[] }[];
}

const storyDirs = ['go-hpack', 'nghttp2', 'nghttp2-change-table-size'];

describe.skipIf(!corpusDir)('HPACK decoder: hpack-test-case stories', () => {
  for (const dir of storyDirs) {
    it(`decodes every ${dir} story to its headers`, () => {
      const base = join(corpusDir!, 'hpack-test-case', dir);
      const files = readdirSync(base).filter((f) => f.endsWith('.json'));
      expect(files.length).toBeGreaterThan(15);
      let cases = 0;
      for (const f of files) {
        const story = JSON.parse(readFileSync(join(base, f), 'utf8')) as Story;
        const d = new HpackDecoder({ complete: true });
        for (const c of story.cases) {
          const r = d.decode(hex(c.wire));
          const want = c.headers.map((h) => Object.entries(h)[0]!);
          expect({ story: `${dir}/${f}#${c.seqno}`, headers: r.headers, failed: r.failed, unknown: r.unknownFields }).toEqual({
            story: `${dir}/${f}#${c.seqno}`,
            headers: want,
            failed: false,
            unknown: 0,
          });
          cases++;
        }
      }
      expect(cases).toBeGreaterThan(100);
    });
  }
});

describe('HPACK decoder: unknown and damaged state', () => {
  it('joined mid-way: dynamic references are unknown, later inserts resolve', () => {
    const enc = new HpackTestEncoder();
    // The encoder has state we never saw.
    enc.encode([['x-secret-state', 'seen before we joined']]);
    const d = new HpackDecoder({ complete: false });
    const r = d.decode(enc.encode([[':method', 'POST'], ['x-secret-state', 'seen before we joined'], ['content-type', 'application/json']]));
    expect(r.headers).toEqual([
      [':method', 'POST'],
      ['content-type', 'application/json'],
    ]);
    expect([r.unknownFields, r.failed]).toEqual([1, false]);
    // content-type was inserted in that block: the next block's reference resolves.
    const r2 = d.decode(enc.encode([['content-type', 'application/json']]));
    expect([r2.headers, r2.unknownFields]).toEqual([[['content-type', 'application/json']], 0]);
  });

  it('a corrupt block fails alone: the next blocks decode without wrong headers', () => {
    const enc = new HpackTestEncoder();
    const d = new HpackDecoder({ complete: true });
    d.decode(enc.encode([['x-a', '1']]));
    // Literal with indexing, new name, Huffman value with bad padding.
    const bad = d.decode(Uint8Array.of(0x40, 0x01, 0x62, 0x81, 0x00));
    expect(bad.failed).toBe(true);
    expect(bad.anomalies).toContain('h2_hpack_bad_huffman');
    // The encoder (which never saw the damage) refers to x-a: unknown, never another header.
    const r = d.decode(enc.encode([[':status', '200'], ['x-a', '1']]));
    expect(r.headers).toEqual([[':status', '200']]);
    expect(r.unknownFields).toBe(1);
  });

  it('with the whole history, an index past the table is an error', () => {
    const d = new HpackDecoder({ complete: true });
    const r = d.decode(Uint8Array.of(0x82, 0xbf));
    expect([r.headers, r.failed, r.anomalies]).toEqual([[[':method', 'GET']], true, ['h2_hpack_bad_index']]);
  });

  it('caps the header list and the table size', () => {
    const d = new HpackDecoder({ complete: true, limits: { maxHeaderListSize: 100, maxTableSize: 8192 } });
    const enc = new HpackTestEncoder();
    const r = d.decode(enc.encode([['a', 'x'.repeat(40)], ['b', 'y'.repeat(40)], ['c', '1']]));
    expect(r.headers.map(([n]) => n)).toEqual(['a']);
    expect(r.anomalies).toEqual(['h2_header_list_too_large']);
    // The dropped fields were still inserted: the encoder's references still resolve.
    expect(d.decode(enc.encode([['c', '1']])).headers).toEqual([['c', '1']]);
    // Size update past the hard cap (§6.3 says over the SETTINGS value is an error).
    const big = d.decode(Uint8Array.of(0x3f, 0xe1, 0xff, 0x03));
    expect([big.failed, big.anomalies]).toEqual([true, ['h2_hpack_bad_table_size']]);
  });

  it('evicts oldest first when the table is full (§4.4)', () => {
    const d = new HpackDecoder({ complete: true });
    const enc = new HpackTestEncoder();
    d.decode(enc.encode([['x-size', '0']]));
    // 0x20: size update to 0 empties the table; then one back to 4096 (two updates may open a block).
    const r = d.decode(Uint8Array.of(0x20, 0x3f, 0xe1, 0x1f));
    expect(r.failed).toBe(false);
    expect(d.tableLength).toBe(0);
    // A 4096 table holds at most 4096 / (1+1+32) = 120 one-byte entries.
    const d2 = new HpackDecoder({ complete: true });
    for (let i = 0; i < 200; i++) d2.decode(Uint8Array.of(0x40, 0x01, 0x6b, 0x01, 0x30 + (i % 10)));
    expect(d2.tableLength).toBe(120);
    expect(d2.decode(Uint8Array.of(0x80 | 62)).headers).toEqual([['k', String(199 % 10)]]);
  });

  it('never throws on garbage and stays bounded', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 8 }), fc.boolean(), (blocks, complete) => {
        const d = new HpackDecoder({ complete, limits: { maxTableSize: 4096 } });
        for (const b of blocks) {
          const r = d.decode(b);
          expect(Array.isArray(r.headers)).toBe(true);
        }
        expect(d.tableSize).toBeLessThanOrEqual(4096);
      }),
      { numRuns: 300 },
    );
  });
});
