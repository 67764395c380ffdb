/**
 * The generators' HTTP/1.1 traffic inside TLS 1.3, as a real HTTPS client and server put it on
 * the wire, with the NSS key log lines (SSLKEYLOGFILE) that open it:
 *   client: ClientHello (cleartext, record version 0x0301 as stacks send it, RFC 8446 §5.1)
 *   server: ServerHello, change_cipher_spec (middlebox compatibility, RFC 8446 §D.4), then
 *           EncryptedExtensions (ALPN http/1.1) ‖ Certificate ‖ CertificateVerify ‖ Finished
 *           sealed under the server handshake secret
 *   client: change_cipher_spec, Finished under the client handshake secret, then its request
 *   server: two NewSessionTickets (OpenSSL's default, SSL_CTX_set_num_tickets) before its answer
 * then every application write in its own records of at most 2^14 bytes (RFC 8446 §5.1), so an
 * SSE event is one small record and a 150 KB request body ten full ones.
 *
 * Secrets are drawn from the seeded PRNG (same seed, same bytes); the record keys come from the
 * project's key schedule (src/tls/keys.ts via tls-records.ts's sealer).
 */
import type { Micros } from '../../src/core/time.js';
import { tls13Suite, type Tls13Suite } from '../../src/tls/suites.js';
import { type Session, type SessionSpec, SERVER_FOR, generateExchange } from './llm-traffic.js';
import type { GeneratedExchange } from './llm-common.js';
import { Rng } from './rng.js';
import { buildConnection, type ExchangeWire, type TimedPiece } from './tcp-conversation.js';
import {
  CCS,
  clientHello,
  concat,
  encryptedExtensions,
  FINISHED,
  handshake,
  newSessionTicket13,
  record,
  serverHello,
  Tls13Sealer,
} from './tls-records.js';

/** TLS_AES_128_GCM_SHA256 (RFC 8446 §B.4): what curl, Node and Python negotiate with the
 * providers' edges on x86 with AES-NI. */
export const TLS_AES_128_GCM_SHA256 = 0x1301;

/** Largest TLSInnerPlaintext content: 2^14 bytes (RFC 8446 §5.1). */
export const MAX_RECORD_PLAINTEXT = 16384;

const CONTENT_HANDSHAKE = 22;
const CONTENT_APPLICATION_DATA = 23;
const HS_CERTIFICATE = 11;
const HS_CERTIFICATE_VERIFY = 15;

export interface Tls13Secrets {
  clientRandom: Uint8Array;
  serverRandom: Uint8Array;
  clientHandshake: Uint8Array;
  serverHandshake: Uint8Array;
  clientTraffic0: Uint8Array;
  serverTraffic0: Uint8Array;
}

function bytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const v = rng.u32();
    for (let k = 0; k < 4 && i + k < n; k++) out[i + k] = (v >>> (8 * k)) & 0xff;
  }
  return out;
}

/** One connection's randoms and traffic secrets (hash-length, RFC 8446 §7.1), from `rng`. */
export function drawTls13Secrets(rng: Rng, suite: Tls13Suite): Tls13Secrets {
  const h = suite.hash === 'sha384' ? 48 : 32;
  return {
    clientRandom: bytes(rng, 32),
    serverRandom: bytes(rng, 32),
    clientHandshake: bytes(rng, h),
    serverHandshake: bytes(rng, h),
    clientTraffic0: bytes(rng, h),
    serverTraffic0: bytes(rng, h),
  };
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

/** The four NSS key log lines a TLS 1.3 client writes for one connection. */
export function tls13KeyLogLines(s: Tls13Secrets): string {
  const r = hex(s.clientRandom);
  return (
    `CLIENT_HANDSHAKE_TRAFFIC_SECRET ${r} ${hex(s.clientHandshake)}\n` +
    `SERVER_HANDSHAKE_TRAFFIC_SECRET ${r} ${hex(s.serverHandshake)}\n` +
    `CLIENT_TRAFFIC_SECRET_0 ${r} ${hex(s.clientTraffic0)}\n` +
    `SERVER_TRAFFIC_SECRET_0 ${r} ${hex(s.serverTraffic0)}\n`
  );
}

export interface TlsWrapOptions {
  /** A TLS 1.3 cipher suite id; default TLS_AES_128_GCM_SHA256. */
  suite?: number;
  /** server_name in the ClientHello (the Host the requests name). */
  sni: string;
  /** ALPN offered and chosen; default http/1.1 (the generators speak HTTP/1.1). */
  alpn?: string;
}

export interface TlsWrapped {
  /** The handshake as a first exchange (ClientHello → server flight), then the given exchanges
   * with every piece sealed. */
  exchanges: ExchangeWire[];
  keylog: string;
  /** TLS records written (handshake and application). */
  records: number;
}

/** `wires` (one connection's exchanges, in order) inside TLS 1.3; the ClientHello leaves at
 * `helloAt`, which must be before the first request. */
export function wrapTls13(rng: Rng, wires: readonly ExchangeWire[], helloAt: Micros, o: TlsWrapOptions): TlsWrapped {
  const suite = tls13Suite(o.suite ?? TLS_AES_128_GCM_SHA256);
  if (suite === undefined) throw new Error(`not a TLS 1.3 cipher suite: 0x${(o.suite ?? 0).toString(16)}`);
  const alpn = o.alpn ?? 'http/1.1';
  const s = drawTls13Secrets(rng, suite);
  const hashLen = suite.hash === 'sha384' ? 48 : 32;
  let records = 0;

  const hello = record(CONTENT_HANDSHAKE, clientHello({ random: s.clientRandom, sni: o.sni, alpn: [alpn], suites: [suite.id], tls13: true }), 0x0301);
  const serverHs = new Tls13Sealer(suite, s.serverHandshake);
  // A leaf and an intermediate certificate (ECDSA P-256, as the providers' edges serve): ~2.5 KB.
  const certificate = handshake(HS_CERTIFICATE, bytes(rng, 2_500));
  const certificateVerify = handshake(HS_CERTIFICATE_VERIFY, bytes(rng, 76));
  const flight = concat([
    record(CONTENT_HANDSHAKE, serverHello({ random: s.serverRandom, suite: suite.id, tls13: true })),
    CCS,
    serverHs.seal(CONTENT_HANDSHAKE, concat([encryptedExtensions(alpn), certificate, certificateVerify, FINISHED(hashLen)])),
  ]);
  const clientFinished = concat([CCS, new Tls13Sealer(suite, s.clientHandshake).seal(CONTENT_HANDSHAKE, FINISHED(hashLen))]);
  records += 6;

  const clientApp = new Tls13Sealer(suite, s.clientTraffic0);
  const serverApp = new Tls13Sealer(suite, s.serverTraffic0);
  const tickets = concat(
    [0, 1].map((n) => serverApp.seal(CONTENT_HANDSHAKE, newSessionTicket13(7200, rng.u32(), Uint8Array.of(n), bytes(rng, 192)))),
  );
  records += 2;

  // One write → records of at most 2^14 bytes, sent together.
  const sealWrite = (sealer: Tls13Sealer, data: Uint8Array): Uint8Array => {
    const out: Uint8Array[] = [];
    for (let off = 0; off < data.length; off += MAX_RECORD_PLAINTEXT) {
      out.push(sealer.seal(CONTENT_APPLICATION_DATA, data.subarray(off, off + MAX_RECORD_PLAINTEXT)));
      records++;
    }
    return concat(out);
  };
  const sealPieces = (sealer: Tls13Sealer, pieces: readonly TimedPiece[], prefix: Uint8Array | null): TimedPiece[] =>
    pieces.map((p, i) => {
      const sealed = sealWrite(sealer, p.data);
      return { at: p.at, data: i === 0 && prefix !== null ? concat([prefix, sealed]) : sealed };
    });

  const exchanges: ExchangeWire[] = [{ request: [{ at: helloAt, data: hello }], response: [{ at: helloAt, data: flight }] }];
  wires.forEach((w, i) => {
    exchanges.push({
      request: sealPieces(clientApp, w.request, i === 0 ? clientFinished : null),
      response: sealPieces(serverApp, w.response, i === 0 ? tickets : null),
    });
  });
  return { exchanges, keylog: tls13KeyLogLines(s), records };
}

export interface TlsSessionSpec extends SessionSpec {
  tls?: Omit<TlsWrapOptions, 'sni'> & { sni?: string };
}

export interface TlsSession extends Session {
  keylog: string;
  records: number;
}

/**
 * `buildSession` (llm-traffic.ts) over HTTPS: the same calls drawn from the same seed (so the same
 * requests and answers as the plaintext session), on port 443 by default, each one handshake
 * round trip later. SNI defaults to the first call's Host. TLS randomness comes from a stream
 * forked off the seed, so it shifts no other value.
 */
export function buildTlsSession(spec: TlsSessionSpec): TlsSession {
  const rng = new Rng(spec.seed);
  const rtt = spec.tcp?.rttUs ?? 20_000;
  const first = spec.calls[0];
  const server = spec.server ?? { ip: first ? SERVER_FOR[first.api] : '192.0.2.1', port: 443 };
  // ClientHello right after the TCP handshake; the first request once the server's flight is in.
  const tcpReady = spec.start + (spec.tcp?.handshake === false ? 0 : rtt + 100);
  let at = tcpReady + rtt + 1_000;
  const exchanges: GeneratedExchange[] = [];
  spec.calls.forEach((c, i) => {
    if (c.interruptAfter !== undefined && i !== spec.calls.length - 1) throw new Error('an interrupted call must be the last on its connection');
    const ex = generateExchange(rng.fork(), { ...c, at });
    exchanges.push(ex);
    at = ex.end + Math.round(rng.around(spec.thinkUs ?? 1_500_000, 0.6));
  });
  const tlsRng = new Rng(spec.seed ^ 0x746c7331); // "tls1"
  const sni = spec.tls?.sni ?? exchanges[0]?.expected.host ?? 'api.example.test';
  const wrapped = wrapTls13(
    tlsRng,
    exchanges.map((e) => e.wire),
    tcpReady,
    { sni, ...(spec.tls?.suite === undefined ? {} : { suite: spec.tls.suite }), ...(spec.tls?.alpn === undefined ? {} : { alpn: spec.tls.alpn }) },
  );
  const interrupted = spec.calls[spec.calls.length - 1]?.interruptAfter !== undefined;
  const connection = buildConnection({
    ...spec.tcp,
    client: spec.client,
    server,
    start: spec.start,
    seed: spec.seed,
    close: spec.tcp?.close ?? (interrupted ? 'server-rst' : 'client-fin'),
    exchanges: wrapped.exchanges,
  });
  // The handshake is exchange 0 of the connection. Times are those of the packets that complete
  // each piece's last record, which is what the pipeline stamps on decrypted bytes.
  connection.exchanges.shift();
  exchanges.forEach((ex, i) => {
    const t = connection.exchanges[i]!;
    const e = ex.expected;
    e.requestStart = t.requestStart;
    e.responseStart = t.responseStart;
    e.responseEnd = t.responseEnd;
    if (ex.firstContentPiece !== null) e.firstEventAt = t.responsePieceDone[ex.firstContentPiece] ?? null;
    if (ex.lastContentPiece !== null) e.lastEventAt = t.responsePieceDone[ex.lastContentPiece] ?? null;
  });
  return { connection, exchanges, keylog: wrapped.keylog, records: wrapped.records };
}
