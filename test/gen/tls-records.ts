/**
 * TLS record and handshake builders for tests and generators: handshake messages, plaintext
 * records, and TLS 1.3 / TLS 1.2 AEAD record sealing with node:crypto. The key schedule is the
 * project's own (src/tls/keys.ts, checked against RFC 8448 in keys.test.ts); sealing is written
 * here independently of src/tls/cipher.ts, so a mistake in one is not mirrored in the other.
 * Moved from src/tls/test-builders.test-support.ts (which re-exports it) so that the bench, built
 * from test/gen, uses the same builders as the unit tests. Not used by production code.
 */
import { createCipheriv } from 'node:crypto';
import { tls13NextSecret, tls13TrafficKeys, type Tls12DirectionKeys, type TrafficKeys } from '../../src/tls/keys.js';
import type { Aead, Tls12AeadSuite, Tls13Suite } from '../../src/tls/suites.js';
import { concat as concatList } from './http-wire.js';

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  return concatList([...parts]);
}

const u16 = (n: number): Uint8Array => Uint8Array.of(n >> 8, n & 0xff);
const u24 = (n: number): Uint8Array => Uint8Array.of(n >> 16, (n >> 8) & 0xff, n & 0xff);
const u32 = (n: number): Uint8Array => Uint8Array.of(n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
const vec8 = (b: Uint8Array): Uint8Array => concat([Uint8Array.of(b.length), b]);
const vec16 = (b: Uint8Array): Uint8Array => concat([u16(b.length), b]);
const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

export const text = (s: string): Uint8Array => ascii(s);

export function handshake(type: number, body: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(type), u24(body.length), body]);
}

export function record(type: number, body: Uint8Array, version = 0x0303): Uint8Array {
  return concat([Uint8Array.of(type), u16(version), u16(body.length), body]);
}

function ext(type: number, data: Uint8Array): Uint8Array {
  return concat([u16(type), vec16(data)]);
}

function alpnExt(names: readonly string[]): Uint8Array {
  return ext(16, vec16(concat(names.map((n) => vec8(ascii(n))))));
}

export interface ClientHelloSpec {
  random: Uint8Array;
  sessionId?: Uint8Array;
  sni?: string;
  alpn?: string[];
  suites: number[];
  tls13?: boolean;
  earlyData?: boolean;
  ticket?: Uint8Array;
}

export function clientHello(s: ClientHelloSpec): Uint8Array {
  const exts: Uint8Array[] = [];
  if (s.sni !== undefined) exts.push(ext(0, vec16(concat([Uint8Array.of(0), vec16(ascii(s.sni))]))));
  if (s.alpn !== undefined) exts.push(alpnExt(s.alpn));
  // A GREASE version first, as Chrome sends (RFC 8701).
  if (s.tls13 === true) exts.push(ext(43, vec8(concat([u16(0x7a7a), u16(0x0304), u16(0x0303)]))));
  if (s.earlyData === true) exts.push(ext(42, new Uint8Array(0)));
  if (s.ticket !== undefined) exts.push(ext(35, s.ticket));
  const body = concat([
    u16(0x0303),
    s.random,
    vec8(s.sessionId ?? new Uint8Array(0)),
    vec16(concat([u16(0x0a0a), ...s.suites.map(u16)])),
    vec8(Uint8Array.of(0)),
    vec16(concat(exts)),
  ]);
  return handshake(1, body);
}

export interface ServerHelloSpec {
  random: Uint8Array;
  sessionId?: Uint8Array;
  suite: number;
  tls13?: boolean;
  alpn?: string;
  /** Legacy version for TLS ≤ 1.2 (default 0x0303). */
  version?: number;
}

export function serverHello(s: ServerHelloSpec): Uint8Array {
  const exts: Uint8Array[] = [];
  if (s.tls13 === true) exts.push(ext(43, u16(0x0304)));
  if (s.alpn !== undefined) exts.push(alpnExt([s.alpn]));
  const body = concat([u16(s.version ?? 0x0303), s.random, vec8(s.sessionId ?? new Uint8Array(0)), u16(s.suite), Uint8Array.of(0), vec16(concat(exts))]);
  return handshake(2, body);
}

export function encryptedExtensions(alpn?: string, earlyData = false): Uint8Array {
  const exts = [alpn === undefined ? new Uint8Array(0) : alpnExt([alpn]), earlyData ? ext(42, new Uint8Array(0)) : new Uint8Array(0)];
  return handshake(8, vec16(concat(exts)));
}

/** TLS 1.3 NewSessionTicket (RFC 8446 §4.6.1): lifetime(4) ‖ age_add(4) ‖ nonce<0..255> ‖
 * ticket<1..2^16-1> ‖ extensions<0..2^16-2>. */
export function newSessionTicket13(lifetimeS: number, ageAdd: number, nonce: Uint8Array, ticket: Uint8Array): Uint8Array {
  return handshake(4, concat([u32(lifetimeS), u32(ageAdd), vec8(nonce), vec16(ticket), u16(0)]));
}

export const FINISHED = (len = 32): Uint8Array => handshake(20, new Uint8Array(len).fill(0x46));
export const KEY_UPDATE = handshake(24, Uint8Array.of(0));
export const CCS = record(20, Uint8Array.of(1));

function seq8(seq: number): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), 0);
  b.writeUInt32BE(seq >>> 0, 4);
  return b;
}

function seal(aead: Aead, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plain: Uint8Array): Uint8Array {
  const opts = { authTagLength: aead.tagLen };
  const out = (c: { update(b: Uint8Array): Buffer; final(): Buffer; getAuthTag(): Buffer }): Uint8Array =>
    concat([c.update(plain), c.final(), c.getAuthTag()]);
  switch (aead.mode) {
    case 'ccm': {
      const c = createCipheriv(aead.algorithm, key, nonce, opts);
      c.setAAD(aad, { plaintextLength: plain.length });
      return out(c);
    }
    case 'gcm': {
      const c = createCipheriv(aead.algorithm, key, nonce, opts);
      c.setAAD(aad);
      return out(c);
    }
    case 'chacha': {
      const c = createCipheriv(aead.algorithm, key, nonce, opts);
      c.setAAD(aad, { plaintextLength: plain.length });
      return out(c);
    }
  }
}

/** Seals TLS 1.3 records with one traffic secret (and its KeyUpdate successors). */
export class Tls13Sealer {
  private seq = 0;
  private keys: TrafficKeys;

  constructor(
    readonly suite: Tls13Suite,
    private secret: Uint8Array,
  ) {
    this.keys = tls13TrafficKeys(suite, secret);
  }

  seal(innerType: number, data: Uint8Array, padding = 0): Uint8Array {
    const inner = concat([data, Uint8Array.of(innerType), new Uint8Array(padding)]);
    const len = inner.length + this.suite.aead.tagLen;
    const header = concat([Uint8Array.of(23, 3, 3), u16(len)]);
    const nonce = Uint8Array.from(this.keys.iv);
    const s = seq8(this.seq++);
    for (let i = 0; i < 8; i++) nonce[4 + i]! ^= s[i]!;
    return concat([header, seal(this.suite.aead, this.keys.key, nonce, header, inner)]);
  }

  keyUpdate(): void {
    this.secret = tls13NextSecret(this.suite, this.secret);
    this.keys = tls13TrafficKeys(this.suite, this.secret);
    this.seq = 0;
  }
}

/** Seals TLS 1.2 AEAD records for one direction. */
export class Tls12Sealer {
  private seq = 0;

  constructor(
    private readonly suite: Tls12AeadSuite,
    private readonly keys: Tls12DirectionKeys,
  ) {}

  seal(type: number, data: Uint8Array): Uint8Array {
    const s = seq8(this.seq);
    const aad = concat([s, Uint8Array.of(type, 3, 3), u16(data.length)]);
    let nonce: Uint8Array;
    let explicit: Uint8Array = new Uint8Array(0);
    if (this.suite.explicitNonceLen === 0) {
      nonce = Uint8Array.from(this.keys.iv);
      for (let i = 0; i < 8; i++) nonce[4 + i]! ^= s[i]!;
    } else {
      explicit = s;
      nonce = concat([this.keys.iv, explicit]);
    }
    this.seq++;
    return record(type, concat([explicit, seal(this.suite.aead, this.keys.key, nonce, aad, data)]));
  }
}
