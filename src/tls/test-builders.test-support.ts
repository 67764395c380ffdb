/**
 * Test builders: TLS handshake messages, records and whole encrypted conversations (TLS 1.3 and
 * TLS 1.2 AEAD) sealed with node:crypto, with the key log lines that open them. The key schedule
 * is ours (checked against RFC 8448 in keys.test.ts); sealing is written here independently of
 * cipher.ts, so a mistake in one is not mirrored in the other. Not used by production code.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { tls12KeyBlock, tls13NextSecret, tls13TrafficKeys, type Tls12DirectionKeys, type TrafficKeys } from './keys.js';
import { tls12Suite, tls13Suite, type Aead, type Tls12AeadSuite, type Tls13Suite } from './suites.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.length))));
}

const u16 = (n: number): Uint8Array => Uint8Array.of(n >> 8, n & 0xff);
const u24 = (n: number): Uint8Array => Uint8Array.of(n >> 16, (n >> 8) & 0xff, n & 0xff);
const vec8 = (b: Uint8Array): Uint8Array => concat([Uint8Array.of(b.length), b]);
const vec16 = (b: Uint8Array): Uint8Array => concat([u16(b.length), b]);
const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

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

export interface Conversation {
  /** Each direction's bytes, one entry per TLS record (in send order). */
  client: Uint8Array[];
  server: Uint8Array[];
  /** Both directions' records in the order they were sent. */
  wire: { from: 'client' | 'server'; bytes: Uint8Array }[];
  keylog: string;
  clientRandom: Uint8Array;
}

export interface Tls13Spec {
  suite?: number;
  alpn?: string;
  sni?: string;
  /** Application data, in order, each from one side. */
  messages: { from: 'client' | 'server'; data: Uint8Array }[];
  /** KeyUpdate by the server before its message number k. */
  serverKeyUpdateBefore?: number;
}

/** Two record lists whose push also appends to the shared send order. */
function recorder(): Pick<Conversation, 'client' | 'server' | 'wire'> {
  const wire: Conversation['wire'] = [];
  const side = (from: 'client' | 'server'): Uint8Array[] => {
    const list: Uint8Array[] = [];
    const push = list.push.bind(list);
    list.push = (...items: Uint8Array[]): number => {
      for (const bytes of items) wire.push({ from, bytes });
      return push(...items);
    };
    return list;
  };
  return { client: side('client'), server: side('server'), wire };
}

const secret = (n: number): Uint8Array => Uint8Array.from(randomBytes(n));

/** A complete TLS 1.3 connection with random secrets and the key log naming them. */
export function tls13Conversation(spec: Tls13Spec): Conversation {
  const suite = tls13Suite(spec.suite ?? 0x1301)!;
  const hashLen = suite.hash === 'sha384' ? 48 : 32;
  const clientRandom = secret(32);
  const s = { ch: secret(hashLen), sh: secret(hashLen), ca: secret(hashLen), sa: secret(hashLen) };
  const { client, server, wire } = recorder();
  client.push(
    record(22, clientHello({ random: clientRandom, sni: spec.sni ?? 'api.example.test', alpn: spec.alpn === undefined ? [] : [spec.alpn], suites: [suite.id], tls13: true }), 0x0301),
  );
  server.push(record(22, serverHello({ random: secret(32), suite: suite.id, tls13: true })));
  server.push(CCS);
  const sHs = new Tls13Sealer(suite, s.sh);
  server.push(sHs.seal(22, encryptedExtensions(spec.alpn)));
  server.push(sHs.seal(22, handshake(11, new Uint8Array(900).fill(7)))); // a "certificate"
  server.push(sHs.seal(22, FINISHED(hashLen)));
  client.push(CCS);
  const cHs = new Tls13Sealer(suite, s.ch);
  client.push(cHs.seal(22, FINISHED(hashLen)));
  const cApp = new Tls13Sealer(suite, s.ca);
  const sApp = new Tls13Sealer(suite, s.sa);
  spec.messages.forEach((m, k) => {
    if (m.from === 'client') client.push(cApp.seal(23, m.data));
    else {
      if (spec.serverKeyUpdateBefore === k) {
        server.push(sApp.seal(22, KEY_UPDATE));
        sApp.keyUpdate();
      }
      server.push(sApp.seal(23, m.data, 3));
    }
  });
  const r = hex(clientRandom);
  const keylog = [
    `CLIENT_HANDSHAKE_TRAFFIC_SECRET ${r} ${hex(s.ch)}`,
    `SERVER_HANDSHAKE_TRAFFIC_SECRET ${r} ${hex(s.sh)}`,
    `CLIENT_TRAFFIC_SECRET_0 ${r} ${hex(s.ca)}`,
    `SERVER_TRAFFIC_SECRET_0 ${r} ${hex(s.sa)}`,
    '',
  ].join('\n');
  return { client, server, wire, keylog, clientRandom };
}

export interface Tls12Spec {
  suite?: number;
  alpn?: string;
  messages: { from: 'client' | 'server'; data: Uint8Array }[];
  /** Resume this earlier session: same master secret, session id echoed, no key log line. */
  resume?: { sessionId: Uint8Array; masterSecret: Uint8Array };
  sessionId?: Uint8Array;
}

/** A complete TLS 1.2 AEAD connection (full or abbreviated handshake). */
export function tls12Conversation(spec: Tls12Spec): Conversation & { masterSecret: Uint8Array; sessionId: Uint8Array } {
  const suite = tls12Suite(spec.suite ?? 0xc02f) as Tls12AeadSuite;
  const clientRandom = secret(32);
  const serverRandom = secret(32);
  const masterSecret = spec.resume?.masterSecret ?? secret(48);
  const sessionId = spec.resume?.sessionId ?? spec.sessionId ?? secret(32);
  const { client, server, wire } = recorder();
  client.push(
    record(
      22,
      clientHello({ random: clientRandom, sessionId: spec.resume?.sessionId ?? new Uint8Array(0), alpn: spec.alpn === undefined ? [] : [spec.alpn, 'http/1.1'], suites: [suite.id] }),
      0x0301,
    ),
  );
  const hello = serverHello({ random: serverRandom, sessionId, suite: suite.id, ...(spec.alpn === undefined ? {} : { alpn: spec.alpn }) });
  const block = tls12KeyBlock(suite, 0x0303, masterSecret, clientRandom, serverRandom);
  const cSeal = new Tls12Sealer(suite, block.client);
  const sSeal = new Tls12Sealer(suite, block.server);
  if (spec.resume === undefined) {
    server.push(record(22, concat([hello, handshake(11, new Uint8Array(1200).fill(9)), handshake(14, new Uint8Array(0))])));
    client.push(record(22, handshake(16, new Uint8Array(33).fill(4))));
    client.push(CCS, cSeal.seal(22, FINISHED(12)));
    server.push(CCS, sSeal.seal(22, FINISHED(12)));
  } else {
    server.push(record(22, hello), CCS, sSeal.seal(22, FINISHED(12)));
    client.push(CCS, cSeal.seal(22, FINISHED(12)));
  }
  for (const m of spec.messages) (m.from === 'client' ? client : server).push((m.from === 'client' ? cSeal : sSeal).seal(23, m.data));
  const keylog = spec.resume === undefined ? `CLIENT_RANDOM ${hex(clientRandom)} ${hex(masterSecret)}\n` : '';
  return { client, server, wire, keylog, clientRandom, masterSecret, sessionId };
}

export const text = (s: string): Uint8Array => ascii(s);
