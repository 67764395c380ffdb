import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { idleHandles, NativeDecoder, type NativeKind } from './native-zlib.js';

/** Fails loudly if a Node upgrade changes the zlib internals NativeDecoder drives. */
describe('node:zlib internals used by NativeDecoder', () => {
  it('still exposes _handle.writeSync, reset, _writeState and a synchronous onerror', () => {
    const s = zlib.createGunzip() as unknown as { _handle: { writeSync: unknown; reset: unknown; onerror: unknown }; _writeState: unknown };
    expect(typeof s._handle.writeSync).toBe('function');
    expect(typeof s._handle.reset).toBe('function');
    expect(typeof s._handle.onerror).toBe('function');
    expect(s._writeState).toBeInstanceOf(Uint32Array);
  });

  for (const [kind, compress] of [
    ['gunzip', zlib.gzipSync],
    ['inflate', zlib.deflateSync],
    ['inflateRaw', zlib.deflateRawSync],
    ['brotli', zlib.brotliCompressSync],
  ] as const) {
    it(`${kind}: decodes synchronously across many writes and finishes cleanly`, () => {
      const text = Buffer.from('streaming synchronous decode '.repeat(500));
      const packed = compress(text);
      const d = new NativeDecoder(kind);
      const out: Uint8Array[] = [];
      for (let i = 0; i < packed.length; i += 7) d.write(packed.subarray(i, i + 7), Infinity, out);
      expect(d.finish(out, Infinity)).toBe(true);
      expect(Buffer.concat(out).equals(text)).toBe(true);
    });

    it(`${kind}: reports corrupt input synchronously, without an async 'error' event`, () => {
      const d = new NativeDecoder(kind);
      const out: Uint8Array[] = [];
      d.write(Buffer.from([0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8, 0xf7, 0xf6, 0xf5, 0xf4]), Infinity, out);
      // Brotli may need more bytes to notice; finishing must then report the broken stream.
      const ok = d.error === null ? d.finish(out, Infinity) : false;
      expect(ok).toBe(false);
      expect(d.error).not.toBeNull();
    });
  }

  it('reports a cut-short stream on finish', () => {
    const packed = zlib.gzipSync(Buffer.from('x'.repeat(1000)));
    const d = new NativeDecoder('gunzip');
    d.write(packed.subarray(0, packed.length - 5), Infinity, []);
    expect(d.finish([], Infinity)).toBe(false);
  });

  describe('handle reuse', () => {
    const packers: [NativeKind, (b: Buffer) => Buffer][] = [
      ['gunzip', zlib.gzipSync],
      ['inflate', zlib.deflateSync],
      ['inflateRaw', zlib.deflateRawSync],
      ['brotli', zlib.brotliCompressSync],
    ];
    for (const [kind, compress] of packers) {
      it(`${kind}: a decoder left mid-stream hands on a handle that starts the next stream afresh`, () => {
        const first = compress(Buffer.from('first body, never finished '.repeat(300)));
        const second = Buffer.from('second body '.repeat(400));
        const a = new NativeDecoder(kind);
        a.write(first.subarray(0, first.length >> 1), Infinity, []);
        a.close();
        const before = idleHandles(kind);
        expect(before).toBeGreaterThan(0);
        const b = new NativeDecoder(kind);
        expect(idleHandles(kind)).toBe(before - 1);
        const out: Uint8Array[] = [];
        b.write(compress(second), Infinity, out);
        expect(b.finish(out, Infinity)).toBe(true);
        expect(Buffer.concat(out).equals(second)).toBe(true);
        expect(b.error).toBeNull();
      });
    }

    it('a handle that saw an error is not kept, and the next decoder is unaffected', () => {
      const bad = new NativeDecoder('gunzip');
      const idleBefore = idleHandles('gunzip') + 1; // `bad` took one if there was one
      bad.write(Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), Infinity, []);
      bad.finish([], Infinity);
      expect(bad.error).not.toBeNull();
      expect(idleHandles('gunzip')).toBeLessThan(idleBefore);
      const text = Buffer.from('after an error '.repeat(100));
      const good = new NativeDecoder('gunzip');
      const out: Uint8Array[] = [];
      good.write(zlib.gzipSync(text), Infinity, out);
      expect(good.finish(out, Infinity)).toBe(true);
      expect(Buffer.concat(out).equals(text)).toBe(true);
    });

    it('keeps a bounded number of idle handles', () => {
      const many = Array.from({ length: 20 }, () => new NativeDecoder('inflate'));
      for (const d of many) d.close();
      expect(idleHandles('inflate')).toBeLessThanOrEqual(8);
    });
  });
});
