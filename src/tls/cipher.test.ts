import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Tls12CbcDecryptor, Tls13Decryptor } from './cipher.js';
import { tls13TrafficKeys } from './keys.js';
import { tls12Suite, tls13Suite, type Tls12CbcSuite } from './suites.js';
import { concat, Tls13Sealer } from './test-builders.test-support.js';

/** MAC-then-encrypt CBC sealing (RFC 5246 §6.2.3.2; TLS 1.0 chains the IV, RFC 2246 §6.2.3.2). */
function cbcSealer(suite: Tls12CbcSuite, macKey: Uint8Array, key: Uint8Array, iv0: Uint8Array, version: number) {
  let seq = 0;
  let chained = iv0;
  return (type: number, content: Uint8Array): Uint8Array => {
    const s = Buffer.alloc(8);
    s.writeUInt32BE(seq++, 4);
    const mac = createHmac(suite.macHash, macKey)
      .update(concat([s, Uint8Array.of(type, version >> 8, version & 0xff, content.length >> 8, content.length & 0xff), content]))
      .digest();
    const unpadded = content.length + mac.length + 1;
    const padLen = (16 - (unpadded % 16)) % 16;
    const plain = concat([content, mac, new Uint8Array(padLen + 1).fill(padLen)]);
    const explicit = version > 0x0301;
    const iv = explicit ? Uint8Array.from(randomBytes(16)) : chained;
    const c = createCipheriv(suite.algorithm, key, iv);
    c.setAutoPadding(false);
    const ct = concat([c.update(plain), c.final()]);
    chained = ct.subarray(ct.length - 16);
    return explicit ? concat([iv, ct]) : ct;
  };
}

describe('CBC MAC-then-encrypt (no encrypt_then_mac)', () => {
  it.each([
    ['TLS 1.0, chained IV, HMAC-SHA1', 0x0301, 0xc013],
    ['TLS 1.1, explicit IV, HMAC-SHA1', 0x0302, 0x002f],
    ['TLS 1.2, explicit IV, HMAC-SHA384', 0x0303, 0xc028],
  ])('%s: records decrypt in order; a flipped bit fails without consuming the sequence number', (_n, version, id) => {
    const suite = tls12Suite(id) as Tls12CbcSuite;
    const macKey = Uint8Array.from(randomBytes(suite.macLen));
    const key = Uint8Array.from(randomBytes(suite.keyLen));
    const iv = Uint8Array.from(randomBytes(16));
    const seal = cbcSealer(suite, macKey, key, iv, version);
    const d = new Tls12CbcDecryptor(suite, { macKey, key, iv: version === 0x0301 ? iv : new Uint8Array(0) }, version, false);
    const first = seal(23, Buffer.from('hello'));
    const second = seal(23, Buffer.from('x'.repeat(40)));
    expect(Buffer.from(d.decrypt(23, version, first)!.data).toString()).toBe('hello');
    const bad = Uint8Array.from(second);
    bad[bad.length - 20]! ^= 1;
    expect(d.decrypt(23, version, bad)).toBeNull();
    expect(d.decrypt(23, version, second.subarray(0, second.length - 1))).toBeNull();
    expect(Buffer.from(d.decrypt(23, version, second)!.data).toString()).toBe('x'.repeat(40));
  });
});

describe('TLS 1.3 record protection', () => {
  it('strips the padding and returns the inner content type; a tampered record fails without consuming the sequence', () => {
    const suite = tls13Suite(0x1303)!;
    const secret = Uint8Array.from(randomBytes(32));
    const sealer = new Tls13Sealer(suite, secret);
    const d = new Tls13Decryptor(suite, tls13TrafficKeys(suite, secret));
    const a = sealer.seal(23, Buffer.from('abc'), 10).subarray(5);
    const b = sealer.seal(21, Uint8Array.of(1, 0)).subarray(5);
    const bad = Uint8Array.from(a);
    bad[0]! ^= 0x80;
    expect(d.decrypt(23, 0x0303, bad)).toBeNull();
    expect(d.decrypt(23, 0x0303, a)).toEqual({ type: 23, data: Buffer.from('abc') });
    expect(d.decrypt(23, 0x0303, b)).toEqual({ type: 21, data: Buffer.from([1, 0]) });
    // The header is authenticated too (RFC 8446 §5.2: additional_data is the record header).
    const c = sealer.seal(23, Buffer.from('d')).subarray(5);
    expect(d.decrypt(23, 0x0301, c)).toBeNull();
  });
});
