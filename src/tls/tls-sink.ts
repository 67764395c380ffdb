/**
 * TLS decryption between TCP reassembly and HTTP (DESIGN §1-2): a StreamSink that reads the TLS
 * records of both directions, follows the handshake, decrypts with secrets from a key log, and
 * hands the application bytes, each with the capture time of the packet that completed its record,
 * to an inner StreamSink (HTTP/1.1 or HTTP/2) chosen once ALPN is known.
 *
 * - Roles come from the handshake: the side that sent the ClientHello is the client, whatever
 *   reassembly guessed. The inner sink gets its own ConnectionInfo with those roles, so a later
 *   role swap by reassembly does not reach it.
 * - TLS 1.2: keys from CLIENT_RANDOM (or a remembered session id / ticket on resumption), each
 *   direction switching at its ChangeCipherSpec. TLS 1.3: handshake keys after ServerHello,
 *   application keys after each side's Finished, KeyUpdate, 0-RTT with CLIENT_EARLY_TRAFFIC_SECRET
 *   (records the server rejected are skipped, as the server does).
 * - A connection that cannot be decrypted is reported once (`onUndecrypted`, anomaly
 *   `tls_<reason>`) with what the handshake showed (SNI, ALPN offered, version, suite); never
 *   silently dropped. Once a direction has yielded plaintext, a later failure (bad record, gap,
 *   `tls_decrypt_failed`) stops that direction only and tells the inner sink with onGap.
 * - Never throws on bad bytes; every buffer has a cap (limits.ts).
 */
import type { AnomalySink } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';
import { Dir, type ConnectionInfo, type StreamSink } from '../reassembly/types.js';
import {
  CT_ALERT,
  CT_APPLICATION_DATA,
  CT_CHANGE_CIPHER_SPEC,
  CT_HANDSHAKE,
  Tls12AeadDecryptor,
  Tls12CbcDecryptor,
  Tls13Decryptor,
  type Decrypted,
  type RecordDecryptor,
} from './cipher.js';
import {
  HandshakeReader,
  HS_CLIENT_HELLO,
  HS_ENCRYPTED_EXTENSIONS,
  HS_END_OF_EARLY_DATA,
  HS_FINISHED,
  HS_KEY_UPDATE,
  HS_NEW_SESSION_TICKET,
  HS_SERVER_HELLO,
  parseClientHello,
  parseEncryptedExtensions,
  parseServerHello,
  parseTls12Ticket,
  versionName,
  type ClientHelloInfo,
  type HandshakeMessage,
  type ServerHelloInfo,
} from './handshake.js';
import type { KeyLog, SessionSecrets } from './keylog.js';
import { TLS10, TLS12, TLS13, tls12KeyBlock, tls13NextSecret, tls13TrafficKeys, type Tls12DirectionKeys } from './keys.js';
import { MAX_PENDING_PLAINTEXT, MAX_SKIPPED_EARLY_RECORDS, MAX_WAITING_CIPHERTEXT } from './limits.js';
import { RecordReader, type RecordError } from './records.js';
import { suiteName, tls12Suite, tls13Suite, type Tls12Suite, type Tls13Suite } from './suites.js';

export { looksLikeTls } from './records.js';

export type UndecryptedReason = 'no_keys' | 'unsupported_cipher' | 'mid_stream' | 'decrypt_failed';

/** What the handshake showed about a connection we could not decrypt. */
export interface UndecryptedFacts {
  sni: string | null;
  alpn: string[];
  version: string | null;
  cipher: string | null;
  reason: UndecryptedReason;
}

export interface TlsSinkDeps {
  /** Secrets by client_random. */
  keys: KeyLog;
  /** The HTTP layer for the decrypted bytes: HTTP/1.1 or HTTP/2 by ALPN (null: none negotiated). */
  inner(info: ConnectionInfo, alpn: string | null): StreamSink;
  anomalies: AnomalySink;
  onUndecrypted?(info: ConnectionInfo, facts: UndecryptedFacts): void;
}

interface WaitingRecord {
  type: number;
  version: number;
  fragment: Uint8Array;
  ts: Micros;
}

type Tls13Phase = 'none' | 'handshake' | 'application';

/** One physical direction of the connection (the bytes one endpoint sends). */
class Side {
  role: 'client' | 'server' | null = null;
  decryptor: RecordDecryptor | null = null;
  /** TLS 1.3 0-RTT key (client), until EndOfEarlyData. */
  early: RecordDecryptor | null = null;
  earlySkipped = 0;
  phase13: Tls13Phase = 'none';
  /** TLS 1.3 current application traffic secret (for KeyUpdate). */
  appSecret: Uint8Array | null = null;
  /** Saw ChangeCipherSpec (TLS 1.2) but the keys are not known yet. */
  awaitingKeys = false;
  /** Records held until keys (or the ServerHello) arrive, in order. */
  waiting: WaitingRecord[] = [];
  dead = false;
  /** Records decrypted in this direction. */
  decrypted = 0;
  readonly reader: RecordReader;
  readonly hs: HandshakeReader;
  ts: Micros = 0;

  constructor(sink: TlsSink) {
    this.reader = new RecordReader(
      (type, version, fragment, ts) => sink.onRecord(this, type, version, fragment, ts),
      (e) => sink.onRecordError(this, e),
    );
    this.hs = new HandshakeReader(
      (m) => sink.onHandshake(this, m),
      () => sink.anomalies.add('tls_handshake_too_large'),
    );
  }
}

class TlsSink implements StreamSink {
  readonly anomalies: AnomalySink;
  /** Indexed by the direction label reassembly currently uses. */
  private sides: [Side, Side];
  private ch: ClientHelloInfo | null = null;
  private sh: ServerHelloInfo | null = null;
  private suite13: Tls13Suite | null = null;
  private suite12: Tls12Suite | null = null;
  private secrets13: Readonly<SessionSecrets> | null = null;
  private keys12: { client: Tls12DirectionKeys; server: Tls12DirectionKeys; masterSecret: Uint8Array } | null = null;
  /** TLS 1.3: waiting for the key log to name this connection's handshake secrets. */
  private awaiting13 = false;
  private keyLogVersion = -1;
  private waitingBytes = 0;
  private alpn: string | null = null;
  private alpnKnown = false;
  private inner: StreamSink | null = null;
  private pendingPlain: { side: Side; data: Uint8Array; ts: Micros }[] = [];
  private pendingBytes = 0;
  private ticket12: Uint8Array | null = null;
  private sessionRemembered = false;
  /** Given up on the whole connection (reported as undecrypted). */
  private stopped = false;
  private closed = false;

  constructor(
    private readonly info: ConnectionInfo,
    private readonly deps: TlsSinkDeps,
  ) {
    this.anomalies = deps.anomalies;
    this.sides = [new Side(this), new Side(this)];
  }

  // ---- StreamSink ----

  onData(dir: Dir, data: Uint8Array, ts: Micros): void {
    if (this.stopped || this.closed) return;
    const side = this.sides[dir];
    if (side.dead) return;
    side.reader.push(data, ts);
  }

  onGap(dir: Dir, bytes: number, ts: Micros): void {
    if (this.stopped || this.closed) return;
    const side = this.sides[dir];
    if (side.dead) return;
    this.anomalies.add('tls_gap');
    // Record boundaries and sequence numbers are lost: this direction cannot be read further.
    if (!this.delivered()) {
      if (side.decryptor === null || this.ch === null) {
        this.giveUp('mid_stream');
        return;
      }
    }
    this.killSide(side, bytes, ts);
  }

  onRolesSwapped(): void {
    // The inner sink has its own ConnectionInfo with the roles the handshake showed; only our
    // labels move.
    this.sides = [this.sides[1], this.sides[0]];
  }

  onClose(ts: Micros, reason: 'fin' | 'rst' | 'idle' | 'eof' | 'evicted'): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.stopped) {
      this.retryKeys();
      if (this.isAwaitingKeys()) {
        if (!this.delivered()) this.giveUp('no_keys');
        else for (const s of this.sides) if (s.awaitingKeys) this.noApplicationSecret(s);
      }
    }
    if (!this.stopped && this.pendingPlain.length > 0) this.createInner();
    this.inner?.onClose(ts, reason);
  }

  // ---- records ----

  onRecordError(side: Side, e: RecordError): void {
    this.anomalies.add(e);
    if (!this.delivered() && this.ch === null) {
      this.giveUp('mid_stream');
      return;
    }
    this.killSide(side, 0, side.ts);
  }

  onRecord(side: Side, type: number, version: number, fragment: Uint8Array, ts: Micros): void {
    if (this.stopped || side.dead) return;
    side.ts = ts;
    if (this.isAwaitingKeys()) this.retryKeys();
    if (this.stopped || side.dead) return;
    if (side.waiting.length > 0 || this.mustWait(side, type)) {
      this.wait(side, type, version, fragment, ts);
      return;
    }
    if (side.decryptor === null || (this.suite13 !== null && type !== CT_APPLICATION_DATA)) {
      this.plainRecord(side, type, fragment);
      return;
    }
    const dec = side.decryptor.decrypt(type, version, fragment);
    if (dec !== null) {
      side.decrypted++;
      this.onDecrypted(side, dec, ts);
      return;
    }
    if (side.role === 'client' && side.phase13 === 'handshake' && this.ch?.earlyData === true) {
      const early = side.early?.decrypt(type, version, fragment) ?? null;
      if (early !== null) {
        side.decrypted++;
        this.onDecrypted(side, early, ts);
        return;
      }
      if (side.decrypted === 0 && side.earlySkipped < MAX_SKIPPED_EARLY_RECORDS) {
        // 0-RTT data the server rejected (or without its secret): the server skips it too.
        side.earlySkipped++;
        this.anomalies.add('tls_early_data_skipped');
        return;
      }
    }
    this.decryptFailed(side, fragment.length, ts);
  }

  /** Records that must be held: encrypted records whose keys (or ServerHello) are not in yet. */
  private mustWait(side: Side, type: number): boolean {
    if (side.awaitingKeys) return true;
    if (side.decryptor !== null) return false;
    if (this.ch === null) return false;
    // The client's ChangeCipherSpec delivered ahead of the ServerHello (reassembly hands the two
    // directions on independently): it means something only once the version is known.
    if (type === CT_CHANGE_CIPHER_SPEC) return this.sh === null && side.role === 'client';
    // TLS 1.3: encrypted records before this side's keys are set (client 0-RTT or Finished
    // before the ServerHello, or the key log has not named this connection yet).
    if (type !== CT_APPLICATION_DATA) return false;
    if (this.sh === null || this.sh.helloRetryRequest) return side.role === 'client';
    return this.awaiting13;
  }

  private wait(side: Side, type: number, version: number, fragment: Uint8Array, ts: Micros): void {
    this.waitingBytes += fragment.length;
    if (this.waitingBytes > MAX_WAITING_CIPHERTEXT) {
      if (this.delivered()) {
        this.anomalies.add('tls_waiting_too_long');
        this.killSide(side, fragment.length, ts);
      } else {
        this.giveUp('no_keys');
      }
      return;
    }
    side.waiting.push({ type, version, fragment: Uint8Array.from(fragment), ts });
  }

  private drain(side: Side): void {
    if (side.waiting.length === 0) return;
    const held = side.waiting;
    side.waiting = [];
    for (const r of held) {
      this.waitingBytes -= r.fragment.length;
      if (this.stopped || side.dead) return;
      this.onRecord(side, r.type, r.version, r.fragment, r.ts);
    }
  }

  private plainRecord(side: Side, type: number, fragment: Uint8Array): void {
    switch (type) {
      case CT_HANDSHAKE:
        side.hs.push(fragment);
        return;
      case CT_CHANGE_CIPHER_SPEC:
        // TLS 1.3 sends it only for middlebox compatibility (RFC 8446 §D.4): ignored.
        if (this.suite13 === null && !(this.sh?.version === TLS13)) this.changeCipherSpec(side);
        return;
      case CT_APPLICATION_DATA:
        if (this.ch === null) this.giveUp('mid_stream');
        else this.anomalies.add('tls_unexpected_record');
        return;
      default:
        return; // Plaintext alerts, heartbeats: nothing to read.
    }
  }

  private onDecrypted(side: Side, dec: Decrypted, ts: Micros): void {
    if (!this.sessionRemembered) this.rememberSession();
    switch (dec.type) {
      case CT_APPLICATION_DATA:
        if (dec.data.length > 0) this.deliver(side, dec.data, ts);
        return;
      case CT_HANDSHAKE:
        side.hs.push(dec.data);
        return;
      case CT_ALERT:
        // close_notify (level 1, description 0) is the orderly end; the TCP close follows.
        if (dec.data[0] === 2) this.anomalies.add('tls_fatal_alert');
        return;
      case CT_CHANGE_CIPHER_SPEC:
        // TLS 1.2 renegotiation: the new keys start after an encrypted ChangeCipherSpec.
        if (this.suite13 === null) this.changeCipherSpec(side);
        return;
      default:
        return;
    }
  }

  // ---- handshake ----

  onHandshake(side: Side, m: HandshakeMessage): void {
    if (this.stopped || side.dead) return;
    switch (m.type) {
      case HS_CLIENT_HELLO:
        return this.clientHello(side, m.body);
      case HS_SERVER_HELLO:
        return this.serverHello(side, m.body);
      case HS_ENCRYPTED_EXTENSIONS: {
        const ee = m.body === null ? null : parseEncryptedExtensions(m.body);
        if (ee === null) this.anomalies.add('tls_bad_handshake');
        this.setAlpn(ee?.alpn ?? null);
        return;
      }
      case HS_FINISHED:
        return this.finished(side);
      case HS_KEY_UPDATE:
        return this.keyUpdate(side);
      case HS_END_OF_EARLY_DATA:
        side.early = null;
        return;
      case HS_NEW_SESSION_TICKET:
        if (this.suite12 !== null && m.body !== null) this.ticket12 = parseTls12Ticket(m.body);
        return;
      default:
        return;
    }
  }

  private clientHello(side: Side, body: Uint8Array | null): void {
    const ch = body === null ? null : parseClientHello(body);
    if (ch === null) {
      this.anomalies.add('tls_bad_handshake');
      if (this.ch === null) this.giveUp('mid_stream');
      return;
    }
    if (this.ch !== null && this.sh !== null && !this.sh.helloRetryRequest) {
      // TLS 1.2 renegotiation (a new ClientHello under the old keys): new randoms, new keys at
      // the next ChangeCipherSpec.
      this.sh = null;
      this.keys12 = null;
    }
    this.ch = ch;
    side.role = 'client';
    const other = this.other(side);
    other.role ??= 'server';
  }

  private serverHello(side: Side, body: Uint8Array | null): void {
    const sh = body === null ? null : parseServerHello(body);
    if (sh === null) {
      this.anomalies.add('tls_bad_handshake');
      if (!this.delivered()) this.giveUp('mid_stream');
      return;
    }
    if (this.ch === null) {
      this.sh = sh;
      this.giveUp('mid_stream');
      return;
    }
    this.sh = sh;
    side.role = 'server';
    if (sh.helloRetryRequest) return; // A second ClientHello and the real ServerHello follow.
    if (sh.version === TLS13) {
      const suite = tls13Suite(sh.cipherSuite);
      if (suite === undefined) return this.giveUp('unsupported_cipher');
      this.suite13 = suite;
      this.startTls13();
      return;
    }
    const suite = tls12Suite(sh.cipherSuite);
    if (suite === undefined || sh.version < TLS10 || sh.version > TLS12) return this.giveUp('unsupported_cipher');
    this.suite12 = suite;
    this.setAlpn(sh.alpn);
    for (const s of this.sides) this.drain(s);
  }

  private startTls13(): void {
    const secrets = this.deps.keys.lookup(this.ch!.random);
    this.keyLogVersion = this.deps.keys.version;
    if (secrets?.clientHandshake === undefined || secrets.serverHandshake === undefined) {
      if (!this.deps.keys.mayGrow) return this.giveUp('no_keys');
      this.awaiting13 = true;
      return;
    }
    this.awaiting13 = false;
    this.secrets13 = secrets;
    const suite = this.suite13!;
    for (const s of this.sides) {
      if (s.dead) continue;
      const secret = s.role === 'client' ? secrets.clientHandshake : secrets.serverHandshake;
      s.decryptor = new Tls13Decryptor(suite, tls13TrafficKeys(suite, secret));
      s.phase13 = 'handshake';
      if (s.role === 'client' && secrets.clientEarly !== undefined && this.ch!.earlyData) {
        s.early = new Tls13Decryptor(suite, tls13TrafficKeys(suite, secrets.clientEarly));
      }
    }
    for (const s of this.sides) this.drain(s);
  }

  private finished(side: Side): void {
    if (this.suite13 === null || side.phase13 !== 'handshake') return;
    side.phase13 = 'application';
    side.early = null;
    this.installApplicationKey(side);
  }

  /** TLS 1.3 after a side's Finished. Key loggers write the application secrets after the
   * handshake ones, so a followed key log may not have them yet: then the side waits. */
  private installApplicationKey(side: Side): void {
    const suite = this.suite13!;
    const secrets = this.deps.keys.lookup(this.ch!.random) ?? this.secrets13;
    const secret = side.role === 'client' ? secrets?.clientTraffic0 : secrets?.serverTraffic0;
    if (secret === undefined) {
      if (this.deps.keys.mayGrow) {
        side.awaitingKeys = true;
        this.keyLogVersion = this.deps.keys.version;
        return;
      }
      if (!this.delivered()) this.giveUp('no_keys');
      else this.noApplicationSecret(side);
      return;
    }
    side.awaitingKeys = false;
    side.appSecret = secret;
    side.decryptor = new Tls13Decryptor(suite, tls13TrafficKeys(suite, secret));
  }

  private noApplicationSecret(side: Side): void {
    this.anomalies.add('tls_no_application_secret');
    this.killSide(side, 0, side.ts);
  }

  private keyUpdate(side: Side): void {
    if (this.suite13 === null || side.appSecret === null) return;
    side.appSecret = tls13NextSecret(this.suite13, side.appSecret);
    side.decryptor = new Tls13Decryptor(this.suite13, tls13TrafficKeys(this.suite13, side.appSecret));
  }

  private changeCipherSpec(side: Side): void {
    if (this.ch === null || this.sh === null || this.suite12 === null) {
      if (!this.delivered()) this.giveUp('mid_stream');
      return;
    }
    if (this.keys12 === null) this.deriveTls12();
    if (this.stopped) return;
    if (this.keys12 === null) {
      side.awaitingKeys = true;
      return;
    }
    this.activateTls12(side);
  }

  private deriveTls12(): void {
    const ch = this.ch!;
    const sh = this.sh!;
    const keys = this.deps.keys;
    this.keyLogVersion = keys.version;
    const resumedById = sh.sessionId.length > 0 && Buffer.from(sh.sessionId).equals(Buffer.from(ch.sessionId));
    const ms =
      keys.lookup(ch.random)?.masterSecret ??
      (resumedById ? keys.resumedSession('id', sh.sessionId) : undefined) ??
      keys.resumedSession('ticket', ch.ticket);
    if (ms === undefined) {
      if (!keys.mayGrow) this.giveUp('no_keys');
      return;
    }
    const block = tls12KeyBlock(this.suite12!, sh.version, ms, ch.random, sh.random);
    this.keys12 = { ...block, masterSecret: ms };
  }

  private activateTls12(side: Side): void {
    const suite = this.suite12!;
    const k = side.role === 'client' ? this.keys12!.client : this.keys12!.server;
    const version = this.sh!.version;
    side.awaitingKeys = false;
    side.decryptor =
      suite.kind === 'aead' ? new Tls12AeadDecryptor(suite, k) : new Tls12CbcDecryptor(suite, k, version, this.sh!.encryptThenMac);
  }

  private rememberSession(): void {
    this.sessionRemembered = true;
    if (this.keys12 === null) return;
    const ms = this.keys12.masterSecret;
    if (this.sh !== null && this.sh.sessionId.length > 0) this.deps.keys.rememberSession('id', this.sh.sessionId, ms);
    if (this.ticket12 !== null) this.deps.keys.rememberSession('ticket', this.ticket12, ms);
  }

  // ---- keys arriving late (followed key log) ----

  private isAwaitingKeys(): boolean {
    return this.awaiting13 || this.sides[0].awaitingKeys || this.sides[1].awaitingKeys;
  }

  private retryKeys(): void {
    if (!this.isAwaitingKeys() || this.deps.keys.version === this.keyLogVersion) return;
    if (this.awaiting13) {
      this.startTls13();
      return;
    }
    if (this.suite13 !== null) {
      for (const s of this.sides) {
        if (!s.awaitingKeys) continue;
        this.installApplicationKey(s);
        if (!s.awaitingKeys) this.drain(s);
      }
      return;
    }
    this.deriveTls12();
    if (this.keys12 === null) return;
    for (const s of this.sides) {
      if (!s.awaitingKeys) continue;
      this.activateTls12(s);
      this.drain(s);
    }
  }

  // ---- plaintext out ----

  private setAlpn(alpn: string | null): void {
    this.alpn = alpn;
    this.alpnKnown = true;
    if (this.pendingPlain.length > 0) this.createInner();
  }

  private deliver(side: Side, data: Uint8Array, ts: Micros): void {
    if (this.inner === null) {
      if (!this.alpnKnown && this.pendingBytes + data.length <= MAX_PENDING_PLAINTEXT) {
        this.pendingPlain.push({ side, data, ts });
        this.pendingBytes += data.length;
        return;
      }
      this.createInner();
    }
    this.inner!.onData(this.innerDir(side), data, ts);
  }

  private createInner(): void {
    if (this.inner !== null) return;
    const clientSide = this.sides.find((s) => s.role === 'client');
    const swapped = clientSide !== undefined && clientSide === this.sides[Dir.ServerToClient];
    const info: ConnectionInfo = {
      id: this.info.id,
      client: swapped ? this.info.server : this.info.client,
      server: swapped ? this.info.client : this.info.server,
      rolesGuessed: clientSide === undefined ? this.info.rolesGuessed : false,
    };
    const alpn = this.alpnKnown ? this.alpn : this.ch !== null && this.ch.alpn.length === 1 ? this.ch.alpn[0]! : null;
    const inner = this.deps.inner(info, alpn);
    this.inner = inner;
    const pending = this.pendingPlain;
    this.pendingPlain = [];
    this.pendingBytes = 0;
    for (const p of pending) inner.onData(this.innerDir(p.side), p.data, p.ts);
  }

  private innerDir(side: Side): Dir {
    return side.role === 'server' ? Dir.ServerToClient : Dir.ClientToServer;
  }

  // ---- failures ----

  /** Any application byte handed on (or held for the inner sink) so far. */
  private delivered(): boolean {
    return this.inner !== null || this.pendingPlain.length > 0;
  }

  private decryptFailed(side: Side, bytes: number, ts: Micros): void {
    if (this.sides[0].decrypted + this.sides[1].decrypted === 0) {
      this.giveUp('decrypt_failed');
      return;
    }
    this.anomalies.add('tls_decrypt_failed');
    this.killSide(side, bytes, ts);
  }

  /** This direction cannot be read further: stop it and tell the HTTP layer of the hole. */
  private killSide(side: Side, bytes: number, ts: Micros): void {
    if (side.dead) return;
    side.dead = true;
    side.reader.stop();
    for (const r of side.waiting) this.waitingBytes -= r.fragment.length;
    side.waiting = [];
    side.awaitingKeys = false;
    if (this.inner === null && this.pendingPlain.length > 0) this.createInner();
    this.inner?.onGap(this.innerDir(side), bytes, ts);
  }

  /** Nothing of this connection can be decrypted: report it once, with what the handshake showed. */
  private giveUp(reason: UndecryptedReason): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const s of this.sides) {
      s.reader.stop();
      s.waiting = [];
    }
    this.waitingBytes = 0;
    this.pendingPlain = [];
    this.pendingBytes = 0;
    this.anomalies.add(`tls_${reason}`);
    const sh = this.sh !== null && !this.sh.helloRetryRequest ? this.sh : null;
    this.deps.onUndecrypted?.(this.info, {
      sni: this.ch?.sni ?? null,
      alpn: this.ch?.alpn ?? [],
      version: sh !== null ? versionName(sh.version) : null,
      cipher: sh !== null ? suiteName(sh.cipherSuite) : null,
      reason,
    });
  }

  private other(side: Side): Side {
    return this.sides[0] === side ? this.sides[1] : this.sides[0];
  }
}

/** A StreamSink that decrypts one TLS connection into `deps.inner`. */
export function createTlsSink(info: ConnectionInfo, deps: TlsSinkDeps): StreamSink {
  return new TlsSink(info, deps);
}
