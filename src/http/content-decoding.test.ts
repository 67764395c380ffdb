import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import { createContentDecoder, parseContentCodings } from './content-decoding.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const sseText = readFileSync(join(fixtures, 'sse-sample.txt'));
const zstdStream = readFileSync(join(fixtures, 'sse-sample.stream.zst'));
const zstdSingle = readFileSync(join(fixtures, 'sse-sample.single.zst'));
const MiB = 1024 * 1024;

function decodeAll(encoding: string | null, pieces: Uint8Array[], cap = 64 * MiB) {
  const anomalies = new AnomalyCounter();
  const d = createContentDecoder(encoding, cap, anomalies);
  const out: Uint8Array[] = [];
  for (const p of pieces) out.push(...d.push(p));
  out.push(...d.end());
  return { data: Buffer.concat(out), anomalies, d };
}

function splitAt(buf: Uint8Array, at: number): Uint8Array[] {
  return [buf.subarray(0, at), buf.subarray(at)];
}

function bytesOneByOne(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < buf.length; i++) out.push(buf.subarray(i, i + 1));
  return out;
}

const cases: [string, Uint8Array][] = [
  ['gzip', zlib.gzipSync(sseText)],
  ['x-gzip', zlib.gzipSync(sseText)],
  ['deflate', zlib.deflateSync(sseText)], // zlib-wrapped, as RFC 9110 says
  ['deflate', zlib.deflateRawSync(sseText)], // raw, as some servers send and browsers accept
  ['br', zlib.brotliCompressSync(sseText)],
  ['zstd', zstdStream],
  ['zstd', zstdSingle],
  ['gzip, br', zlib.brotliCompressSync(zlib.gzipSync(sseText))], // gzip applied first, then br
  ['identity', sseText],
  ['GZIP', zlib.gzipSync(sseText)], // coding names are case-insensitive (RFC 9110 §8.4.1)
  [' gzip , identity ', zlib.gzipSync(sseText)],
];

describe('createContentDecoder', () => {
  for (const [encoding, packed] of cases) {
    it(`${encoding} (${packed.length} B): same output whole, split at every offset, and byte by byte`, () => {
      const whole = decodeAll(encoding, [packed]);
      expect(whole.data.equals(sseText)).toBe(true);
      expect(whole.anomalies.total).toBe(0);
      for (let at = 0; at <= packed.length; at++) {
        const r = decodeAll(encoding, splitAt(packed, at));
        expect(r.data.equals(sseText), `split at ${at}`).toBe(true);
        expect(r.anomalies.total).toBe(0);
      }
      expect(decodeAll(encoding, bytesOneByOne(packed)).data.equals(sseText)).toBe(true);
    });
  }

  it('decodes output as input arrives (a flushed gzip stream yields each event on its packet)', async () => {
    const gz = zlib.createGzip();
    const pending: Buffer[] = [];
    gz.on('data', (c: Buffer) => pending.push(c));
    const events = ['data: one\n\n', 'data: two\n\n', 'data: three\n\n'];
    const packets: Buffer[] = [];
    for (const e of events) {
      gz.write(e);
      await new Promise<void>((resolve) => gz.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
      packets.push(Buffer.concat(pending.splice(0)));
    }
    gz.destroy();
    expect(packets.every((p) => p.length > 0)).toBe(true);
    const d = createContentDecoder('gzip', MiB, new AnomalyCounter());
    const perPacket = packets.map((p) => Buffer.concat(d.push(p)).toString());
    expect(perPacket).toEqual(events);
  });

  it('gzip with several members (RFC 1952 §2.2), members split across pushes', () => {
    const a = zlib.gzipSync(Buffer.from('first member; '));
    const b = zlib.gzipSync(Buffer.from('second member'));
    const both = Buffer.concat([a, b]);
    for (let at = 0; at <= both.length; at++) {
      const r = decodeAll('gzip', splitAt(both, at));
      expect(r.data.toString()).toBe('first member; second member');
      expect(r.anomalies.total).toBe(0);
    }
  });

  it('zstd with two frames and a skippable frame between them', () => {
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
    const multi = Buffer.concat([zstdStream, skippable, zstdSingle]);
    const expected = Buffer.concat([sseText, sseText]);
    for (let at = 0; at <= multi.length; at += 3) {
      const r = decodeAll('zstd', splitAt(multi, at));
      expect(r.data.equals(expected), `split at ${at}`).toBe(true);
      expect(r.anomalies.total).toBe(0);
    }
  });

  it('null, empty and identity pass bytes through untouched', () => {
    for (const enc of [null, '', 'identity']) {
      const r = decodeAll(enc, [sseText.subarray(0, 10), sseText.subarray(10)]);
      expect(r.data.equals(sseText)).toBe(true);
      expect(r.d.decoding).toBe(true);
    }
  });

  it('unknown coding: counts http_unknown_content_encoding and passes bytes through', () => {
    const r = decodeAll('compress', [sseText]);
    expect(r.data.equals(sseText)).toBe(true);
    expect(r.d.decoding).toBe(false);
    expect(r.anomalies.get('http_unknown_content_encoding')).toBe(1);
  });

  it('corrupt input: http_bad_content_encoding, keeps the output decoded before the damage', () => {
    const first = zlib.gzipSync(sseText);
    const second = Buffer.from(zlib.gzipSync(Buffer.from('never seen')));
    second[3] = 0xff; // FLG with reserved bits set: RFC 1952 §2.3.1 says reject
    second[4] = 0xff;
    const both = Buffer.concat([first, second]);
    // The damage arrives in a later push than the good member: node:zlib reports no output
    // position for a write that fails, so output is kept per push, not per byte.
    for (const at of [first.length - 3, first.length]) {
      const r = decodeAll('gzip', splitAt(both, at));
      expect(r.d.failed).toBe(true);
      expect(r.anomalies.get('http_bad_content_encoding')).toBe(1);
      expect(r.data.equals(sseText)).toBe(true);
    }
  });

  for (const enc of ['gzip', 'br', 'zstd', 'deflate']) {
    it(`${enc}: a stream cut short is bad encoding unless the body itself was incomplete`, () => {
      const packed =
        enc === 'zstd' ? zstdStream : enc === 'br' ? zlib.brotliCompressSync(sseText) : enc === 'gzip' ? zlib.gzipSync(sseText) : zlib.deflateSync(sseText);
      const cut = packed.subarray(0, packed.length - 6);
      const a1 = new AnomalyCounter();
      const d1 = createContentDecoder(enc, MiB, a1);
      d1.push(cut);
      d1.end();
      expect(a1.get('http_bad_content_encoding')).toBe(1);
      expect(d1.failed).toBe(true);
      const a2 = new AnomalyCounter();
      const d2 = createContentDecoder(enc, MiB, a2);
      d2.push(cut);
      d2.end(true);
      expect(a2.total).toBe(0);
    });
  }

  describe('decompression bombs stop at the cap (http_decompressed_too_large)', () => {
    const zeros = Buffer.alloc(64 * MiB);
    const bombs: [string, Uint8Array][] = [
      ['gzip', zlib.gzipSync(zeros, { level: 9 })],
      ['br', zlib.brotliCompressSync(zeros)],
      ['deflate', zlib.deflateRawSync(zeros, { level: 9 })],
      ['zstd', readFileSync(join(fixtures, 'zeros-64MiB.stream.zst'))],
      ['gzip, gzip', zlib.gzipSync(zlib.gzipSync(zeros, { level: 9 }), { level: 9 })],
    ];
    for (const [enc, bomb] of bombs) {
      it(`${enc}: ${bomb.length} B inflating to 64 MiB, cap 1 MiB`, () => {
        const anomalies = new AnomalyCounter();
        const d = createContentDecoder(enc, MiB, anomalies);
        let total = 0;
        for (let i = 0; i < bomb.length; i += 1400) {
          for (const o of d.push(bomb.subarray(i, i + 1400))) total += o.length;
        }
        for (const o of d.end()) total += o.length;
        expect(total).toBe(MiB);
        expect(d.capped).toBe(true);
        expect(d.failed).toBe(false);
        expect(anomalies.get('http_decompressed_too_large')).toBe(1);
      });
    }
  });

  it('zstd frame declaring a window above 8 MiB (RFC 9659) is refused before allocation', () => {
    // Magic, FHD 0 (windowed, no checksum), Window_Descriptor exponent 21: 2^31 bytes.
    const frame = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 21 << 3, 0x01, 0x00, 0x00, 0x41]);
    const r = decodeAll('zstd', [frame]);
    expect(r.d.failed).toBe(true);
    expect(r.anomalies.get('http_zstd_window_too_large')).toBe(1);
    expect(r.data.length).toBe(0);
  });

  it('parseContentCodings lists codings in decoding order', () => {
    expect(parseContentCodings('gzip, br')).toEqual(['br', 'gzip']);
    expect(parseContentCodings(' identity ')).toEqual([]);
    expect(parseContentCodings(null)).toEqual([]);
  });

  it('random bytes under every coding never throw and respect the cap', () => {
    const encodings = ['gzip', 'deflate', 'br', 'zstd', 'gzip, br', 'zstd, deflate', 'bogus', null];
    fc.assert(
      fc.property(
        fc.constantFrom(...encodings),
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
        fc.boolean(),
        (enc, pieces, incomplete) => {
          const anomalies = new AnomalyCounter();
          const d = createContentDecoder(enc, 4096, anomalies);
          let total = 0;
          for (const p of pieces) for (const o of d.push(p)) total += o.length;
          for (const o of d.end(incomplete)) total += o.length;
          expect(total).toBeLessThanOrEqual(4096);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('random mutations of valid streams never throw', () => {
    const valid: [string, Uint8Array][] = [
      ['gzip', zlib.gzipSync(sseText)],
      ['br', zlib.brotliCompressSync(sseText)],
      ['zstd', zstdStream],
      ['zstd', zstdSingle],
      ['deflate', zlib.deflateSync(sseText)],
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(),
        ([enc, packed], flips, cut) => {
          const bad = Buffer.from(packed);
          for (const [pos, v] of flips) bad[pos % bad.length] = v;
          const at = cut % (bad.length + 1);
          const r = decodeAll(enc, splitAt(bad, at), 16 * 1024);
          expect(r.data.length).toBeLessThanOrEqual(16 * 1024);
        },
      ),
      { numRuns: 400 },
    );
  });
});
