import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_RECORD_BODY } from './limits.js';
import { looksLikeTls, RecordReader, type RecordError } from './records.js';
import { concat, record } from './test-builders.test-support.js';

interface Seen {
  records: { type: number; version: number; body: string; ts: number }[];
  errors: RecordError[];
}

function reader(): { r: RecordReader; seen: Seen } {
  const seen: Seen = { records: [], errors: [] };
  const r = new RecordReader(
    (type, version, fragment, ts) => seen.records.push({ type, version, body: Buffer.from(fragment).toString('hex'), ts }),
    (e) => seen.errors.push(e),
  );
  return { r, seen };
}

describe('looksLikeTls', () => {
  it('accepts the start of a ClientHello record, whatever the 3.x record version', () => {
    expect(looksLikeTls(Uint8Array.of(22, 3, 1, 0, 200, 1))).toBe(true);
    expect(looksLikeTls(Uint8Array.of(22, 3, 3, 2, 0, 1, 0, 1, 252))).toBe(true);
    expect(looksLikeTls(Uint8Array.of(22, 3, 0))).toBe(true);
  });

  it('rejects HTTP, h2c, other record types, absurd lengths, and too few bytes', () => {
    expect(looksLikeTls(Buffer.from('POST /v1/messages HTTP/1.1\r\n'))).toBe(false);
    expect(looksLikeTls(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'))).toBe(false);
    expect(looksLikeTls(Uint8Array.of(23, 3, 3, 0, 20, 1))).toBe(false);
    expect(looksLikeTls(Uint8Array.of(22, 3, 3, 0xff, 0xff, 1))).toBe(false);
    expect(looksLikeTls(Uint8Array.of(22, 3, 3, 0, 10, 11))).toBe(false); // a Certificate first
    expect(looksLikeTls(Uint8Array.of(22, 3))).toBe(false);
    expect(looksLikeTls(Uint8Array.of(22, 4, 1, 0, 10, 1))).toBe(false);
  });
});

describe('RecordReader', () => {
  const stream = concat([record(22, Uint8Array.of(1, 2, 3), 0x0301), record(20, Uint8Array.of(1)), record(23, new Uint8Array(300).fill(9)), record(21, Uint8Array.of(1, 0))]);

  it('the same records whole, split at every offset and byte by byte; each with the ts of the chunk that completed it', () => {
    const whole = reader();
    whole.r.push(stream, 0);
    expect(whole.seen.records.map((r) => [r.type, r.version, r.body.length / 2])).toEqual([
      [22, 0x0301, 3],
      [20, 0x0303, 1],
      [23, 0x0303, 300],
      [21, 0x0303, 2],
    ]);
    const ends: number[] = [];
    let at = 0;
    for (const r of whole.seen.records) ends.push((at += 5 + r.body.length / 2));
    for (let k = 0; k <= stream.length; k++) {
      const s = reader();
      s.r.push(stream.subarray(0, k), 1);
      s.r.push(stream.subarray(k), 2);
      expect(s.seen.records.map(({ ts: _ts, ...rest }) => rest)).toEqual(whole.seen.records.map(({ ts: _ts, ...rest }) => rest));
      expect(s.seen.records.map((r) => r.ts)).toEqual(ends.map((e) => (e <= k ? 1 : 2)));
      expect(s.r.buffered).toBe(0);
    }
    const bytewise = reader();
    stream.forEach((_b, k) => bytewise.r.push(stream.subarray(k, k + 1), k));
    expect(bytewise.seen.records.map((r) => r.ts)).toEqual(ends.map((e) => e - 1));
  });

  it('a record over 2^14 + 2048 bytes is an error, not a buffer', () => {
    const s = reader();
    s.r.push(Uint8Array.of(23, 3, 3, (MAX_RECORD_BODY + 1) >> 8, (MAX_RECORD_BODY + 1) & 0xff), 1);
    s.r.push(new Uint8Array(1000), 2);
    expect(s.seen.errors).toEqual(['tls_record_too_large']);
    expect(s.r.buffered).toBe(0);
    const max = reader();
    max.r.push(record(23, new Uint8Array(MAX_RECORD_BODY)), 1);
    expect(max.seen.records).toHaveLength(1);
  });

  it('bytes that are not TLS stop the reader', () => {
    const s = reader();
    s.r.push(concat([record(22, Uint8Array.of(1)), Buffer.from('GET / HTTP/1.1\r\n')]), 1);
    s.r.push(record(22, Uint8Array.of(2)), 2);
    expect(s.seen.records).toHaveLength(1);
    expect(s.seen.errors).toEqual(['tls_bad_record']);
    expect(s.r.isStopped).toBe(true);
  });

  it('garbage never throws and never holds more than one record', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 10 }), (chunks) => {
        const s = reader();
        chunks.forEach((c, k) => s.r.push(c, k));
        expect(s.r.buffered).toBeLessThanOrEqual(5 + MAX_RECORD_BODY);
      }),
    );
  });
});
