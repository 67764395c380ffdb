import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HandshakeReader,
  parseClientHello,
  parseEncryptedExtensions,
  parseServerHello,
  type HandshakeMessage,
} from './handshake.js';
import { MAX_PARSED_HANDSHAKE } from './limits.js';
import { clientHello, concat, encryptedExtensions, handshake, serverHello } from './test-builders.test-support.js';

const RANDOM = Uint8Array.from({ length: 32 }, (_v, i) => i);
const HRR_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');

describe('ClientHello / ServerHello / EncryptedExtensions', () => {
  it('ClientHello: random, session id, SNI, ALPN offered, supported_versions and suites without GREASE, early_data, ticket', () => {
    const msg = clientHello({
      random: RANDOM,
      sessionId: Uint8Array.of(9, 9),
      sni: 'api.openai.com',
      alpn: ['h2', 'http/1.1'],
      suites: [0x1301, 0xc02f],
      tls13: true,
      earlyData: true,
      ticket: Uint8Array.of(1, 2, 3),
    });
    const ch = parseClientHello(msg.subarray(4))!;
    expect(ch).toEqual({
      legacyVersion: 0x0303,
      random: RANDOM,
      sessionId: Uint8Array.of(9, 9),
      cipherSuites: [0x1301, 0xc02f],
      sni: 'api.openai.com',
      alpn: ['h2', 'http/1.1'],
      versions: [0x0304, 0x0303],
      earlyData: true,
      ticket: Uint8Array.of(1, 2, 3),
    });
  });

  it('ServerHello: TLS 1.3 by supported_versions, TLS 1.2 with ALPN, HelloRetryRequest by its random', () => {
    expect(parseServerHello(serverHello({ random: RANDOM, suite: 0x1302, tls13: true }).subarray(4))).toMatchObject({ version: 0x0304, cipherSuite: 0x1302, helloRetryRequest: false, alpn: null });
    expect(parseServerHello(serverHello({ random: RANDOM, suite: 0xc02f, alpn: 'h2' }).subarray(4))).toMatchObject({ version: 0x0303, alpn: 'h2' });
    expect(parseServerHello(serverHello({ random: HRR_RANDOM, suite: 0x1301, tls13: true }).subarray(4))?.helloRetryRequest).toBe(true);
  });

  it('EncryptedExtensions: the ALPN chosen', () => {
    expect(parseEncryptedExtensions(encryptedExtensions('h2').subarray(4))).toEqual({ alpn: 'h2', earlyData: false });
    expect(parseEncryptedExtensions(encryptedExtensions().subarray(4))).toEqual({ alpn: null, earlyData: false });
  });

  it('truncated hellos are null, and no input throws', () => {
    const ch = clientHello({ random: RANDOM, suites: [0x1301], sni: 'x', tls13: true }).subarray(4);
    // version 2 + random 32 + session id 1 + suites 2+4 (one is GREASE) + compression 2: where the
    // extensions begin, a complete ClientHello (extensions are optional before TLS 1.3).
    const extensionsAt = 43;
    for (let k = 0; k < ch.length; k++) {
      if (k === extensionsAt) expect(parseClientHello(ch.subarray(0, k))?.sni).toBeNull();
      else expect(parseClientHello(ch.subarray(0, k)), `cut at ${k}`).toBeNull();
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        parseClientHello(b);
        parseServerHello(b);
        parseEncryptedExtensions(b);
      }),
    );
  });
});

describe('HandshakeReader', () => {
  const collect = (chunks: Uint8Array[]): { msgs: { type: number; body: string | null }[]; tooLarge: number } => {
    const out: { type: number; body: string | null }[] = [];
    let tooLarge = 0;
    const r = new HandshakeReader(
      (m: HandshakeMessage) => out.push({ type: m.type, body: m.body === null ? null : Buffer.from(m.body).toString('hex') }),
      () => tooLarge++,
    );
    for (const c of chunks) r.push(c);
    return { msgs: out, tooLarge };
  };

  it('the same messages whole, split at every offset and byte by byte; bodies only for the messages we read', () => {
    const stream = concat([
      serverHello({ random: RANDOM, suite: 0x1301, tls13: true }),
      handshake(11, new Uint8Array(50).fill(7)), // certificate: skipped
      encryptedExtensions('h2'),
      handshake(20, new Uint8Array(32)),
      handshake(14, new Uint8Array(0)),
    ]);
    const whole = collect([stream]);
    expect(whole.msgs.map((m) => [m.type, m.body !== null])).toEqual([
      [2, true],
      [11, false],
      [8, true],
      [20, false],
      [14, false],
    ]);
    for (let k = 0; k <= stream.length; k++) expect(collect([stream.subarray(0, k), stream.subarray(k)]).msgs, `split at ${k}`).toEqual(whole.msgs);
    expect(collect(Array.from(stream, (_b, k) => stream.subarray(k, k + 1))).msgs).toEqual(whole.msgs);
  });

  it('a message we read but larger than the cap is skipped and counted', () => {
    const big = handshake(1, new Uint8Array(MAX_PARSED_HANDSHAKE + 1));
    for (const chunks of [[big], [big.subarray(0, 100), big.subarray(100)]]) {
      const r = collect(chunks);
      expect(r.msgs).toEqual([{ type: 1, body: null }]);
      expect(r.tooLarge).toBe(1);
    }
  });
});
