/**
 * Test builders: whole encrypted TLS conversations (TLS 1.3 and TLS 1.2 AEAD) with random secrets
 * and the key log lines that open them. The record and handshake builders and the sealers live in
 * test/gen/tls-records.ts (shared with the bench's TLS workload) and are re-exported here. Not
 * used by production code.
 */
import { randomBytes } from 'node:crypto';
import {
  CCS,
  clientHello,
  concat,
  encryptedExtensions,
  FINISHED,
  handshake,
  KEY_UPDATE,
  record,
  serverHello,
  Tls12Sealer,
  Tls13Sealer,
} from '../../test/gen/tls-records.js';
import { tls12KeyBlock } from './keys.js';
import { tls12Suite, tls13Suite, type Tls12AeadSuite } from './suites.js';

export {
  CCS,
  clientHello,
  concat,
  encryptedExtensions,
  FINISHED,
  handshake,
  KEY_UPDATE,
  newSessionTicket13,
  record,
  serverHello,
  text,
  Tls12Sealer,
  Tls13Sealer,
  type ClientHelloSpec,
  type ServerHelloSpec,
} from '../../test/gen/tls-records.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

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

