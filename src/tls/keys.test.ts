import { describe, expect, it } from 'vitest';
import { hkdfExpandLabel, prf12, tls12KeyBlock, tls13NextSecret, tls13TrafficKeys } from './keys.js';
import { tls12Suite, tls13Suite } from './suites.js';

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// RFC 8448 §3 ("Simple 1-RTT Handshake"), TLS_AES_128_GCM_SHA256.
const RFC8448 = {
  clientHs: h('b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21'),
  serverHs: h('b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38'),
  serverAp: h('a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43'),
  handshakeSecret: h('1d c8 26 e9 36 06 aa 6f dc 0a ad c1 2f 74 1b 01 04 6a a6 b9 9f 69 1e d2 21 a9 f0 ca 04 3f be ac'),
  transcriptChSh: h('86 0c 06 ed c0 78 58 ee 8e 78 f0 e7 42 8c 58 ed d6 b4 3f 2c a3 e6 e9 5f 02 ed 06 3c f0 e1 ca d8'),
};

describe('TLS 1.3 key schedule (RFC 8448 §3 vectors)', () => {
  const suite = tls13Suite(0x1301)!;

  it('HKDF-Expand-Label derives the handshake traffic secrets from the handshake secret', () => {
    expect(hex(hkdfExpandLabel('sha256', RFC8448.handshakeSecret, 'c hs traffic', RFC8448.transcriptChSh, 32))).toBe(hex(RFC8448.clientHs));
    expect(hex(hkdfExpandLabel('sha256', RFC8448.handshakeSecret, 's hs traffic', RFC8448.transcriptChSh, 32))).toBe(hex(RFC8448.serverHs));
  });

  it('traffic keys: server and client handshake, server application', () => {
    expect(tls13TrafficKeys(suite, RFC8448.serverHs)).toEqual({ key: h('3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc'), iv: h('5d 31 3e b2 67 12 76 ee 13 00 0b 30') });
    expect(tls13TrafficKeys(suite, RFC8448.clientHs)).toEqual({ key: h('db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01'), iv: h('5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f') });
    expect(tls13TrafficKeys(suite, RFC8448.serverAp)).toEqual({ key: h('9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56'), iv: h('cf 78 2b 88 dd 83 54 9a ad f1 e9 84') });
  });

  it('KeyUpdate: the next secret is HKDF-Expand-Label(secret, "traffic upd", "", Hash.length) (RFC 8446 §7.2)', () => {
    const next = tls13NextSecret(suite, RFC8448.serverAp);
    expect(next.length).toBe(32);
    expect(hex(next)).toBe(hex(hkdfExpandLabel('sha256', RFC8448.serverAp, 'traffic upd', new Uint8Array(0), 32)));
    expect(hex(next)).not.toBe(hex(RFC8448.serverAp));
    expect(tls13NextSecret(tls13Suite(0x1302)!, h('00'.repeat(48))).length).toBe(48);
  });
});

describe('TLS 1.2 PRF and key block', () => {
  it('P_SHA256 matches the TLS working group test vector', () => {
    const out = prf12('sha256', h('9bbe436ba940f017b17652849a71db35'), 'test label', h('a0ba9f936cda311827a6f796ffd5198c'), 100);
    expect(hex(out)).toBe(
      'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66',
    );
  });

  it('cuts the key block per RFC 5246 §6.3: GCM 16-byte keys and 4-byte IVs, ChaCha 32 and 12, CBC MAC keys', () => {
    const ms = new Uint8Array(48).fill(1);
    const cr = new Uint8Array(32).fill(2);
    const sr = new Uint8Array(32).fill(3);
    const gcm = tls12KeyBlock(tls12Suite(0xc02f)!, 0x0303, ms, cr, sr);
    const whole = prf12('sha256', ms, 'key expansion', Buffer.concat([sr, cr]), 40);
    expect(hex(gcm.client.key)).toBe(hex(whole.subarray(0, 16)));
    expect(hex(gcm.server.key)).toBe(hex(whole.subarray(16, 32)));
    expect(hex(gcm.client.iv)).toBe(hex(whole.subarray(32, 36)));
    expect(hex(gcm.server.iv)).toBe(hex(whole.subarray(36, 40)));
    const chacha = tls12KeyBlock(tls12Suite(0xcca8)!, 0x0303, ms, cr, sr);
    expect([chacha.client.key.length, chacha.client.iv.length, chacha.client.macKey.length]).toEqual([32, 12, 0]);
    const cbc = tls12KeyBlock(tls12Suite(0xc013)!, 0x0303, ms, cr, sr);
    expect([cbc.client.macKey.length, cbc.client.key.length, cbc.client.iv.length]).toEqual([20, 16, 0]);
    // TLS 1.0 CBC takes its first IVs from the key block (RFC 2246 §6.3).
    expect(tls12KeyBlock(tls12Suite(0xc013)!, 0x0301, ms, cr, sr).server.iv.length).toBe(16);
  });
});
