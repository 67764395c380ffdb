/**
 * TLS secrets from NSS key log files (the `SSLKEYLOGFILE` format, documented by NSS and by the
 * IETF draft draft-ietf-tls-keylogfile): one `<label> <client_random hex> <secret hex>` per line.
 *
 * - TLS ≤ 1.2: `CLIENT_RANDOM` gives the 48-byte master secret.
 * - TLS 1.3: `CLIENT_HANDSHAKE_TRAFFIC_SECRET`, `SERVER_HANDSHAKE_TRAFFIC_SECRET`,
 *   `CLIENT_TRAFFIC_SECRET_0`, `SERVER_TRAFFIC_SECRET_0` and `CLIENT_EARLY_TRAFFIC_SECRET` (0-RTT).
 * - `EXPORTER_SECRET`, `EARLY_EXPORTER_SECRET`, `ECH_SECRET`, `ECH_CONFIG`, `RSA` and labels we do
 *   not know are ignored (counted in `stats.ignoredLines`); comments (`#`) and blank lines too.
 * - A malformed line is counted (`stats.badLines`, anomaly `tls_keylog_bad_line`), never thrown;
 *   its text is never echoed anywhere: it may hold a secret.
 *
 * Secrets are kept only as bytes in this map, never logged, never put in records.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AnomalySink } from '../core/anomalies.js';
import { followKeyLogFile, type FollowOptions, type KeyLogFollower } from './keylog-follow.js';

export type { FollowOptions, KeyLogFollower } from './keylog-follow.js';

/** What a key log knows about one connection, by its ClientHello random. */
export interface SessionSecrets {
  /** TLS ≤ 1.2 master secret (48 bytes). */
  masterSecret?: Uint8Array;
  clientEarly?: Uint8Array;
  clientHandshake?: Uint8Array;
  serverHandshake?: Uint8Array;
  clientTraffic0?: Uint8Array;
  serverTraffic0?: Uint8Array;
}

type SecretField = keyof SessionSecrets;

const LABELS: ReadonlyMap<string, SecretField> = new Map<string, SecretField>([
  ['CLIENT_RANDOM', 'masterSecret'],
  ['CLIENT_EARLY_TRAFFIC_SECRET', 'clientEarly'],
  ['CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'clientHandshake'],
  ['SERVER_HANDSHAKE_TRAFFIC_SECRET', 'serverHandshake'],
  ['CLIENT_TRAFFIC_SECRET_0', 'clientTraffic0'],
  ['SERVER_TRAFFIC_SECRET_0', 'serverTraffic0'],
]);

/** Well-formed lines we do not need (exporters, ECH, RSA pre-master secrets). */
const IGNORED_LABELS: ReadonlySet<string> = new Set(['EXPORTER_SECRET', 'EARLY_EXPORTER_SECRET', 'ECH_SECRET', 'ECH_CONFIG', 'RSA']);

/** pcapng Decryption Secrets Block type for TLS key log text (pcapng spec §4.7, "TLSK"). */
export const DSB_TLS_KEY_LOG = 0x544c534b;

/**
 * Connections remembered: 100 000 entries. One key log line set per TLS connection, ~400 bytes
 * each with the map's overhead, so ~40 MB at the cap; a connection needs its secrets only while
 * it is open, and at 100 new TLS connections per second that is over 15 minutes of history. The
 * oldest entry goes first (Map insertion order).
 */
export const DEFAULT_MAX_ENTRIES = 100_000;

/**
 * TLS 1.2 sessions remembered for resumption without a key log line (session id or ticket →
 * master secret, the way Wireshark does it): 10 000, about one per connection of a busy client
 * over a few minutes. The oldest goes first.
 */
export const MAX_RESUMABLE_SESSIONS = 10_000;

/** TLS 1.3 secrets are a hash length (32 or 48 bytes); TLS 1.2's master secret is 48 bytes. */
const SECRET_LENGTHS: ReadonlySet<number> = new Set([32, 48]);

export interface KeyLogOptions {
  maxEntries?: number;
  anomalies?: AnomalySink;
}

export interface KeyLogStats {
  /** Lines with a secret we keep. */
  secrets: number;
  badLines: number;
  ignoredLines: number;
  /** Entries dropped at the cap. */
  evicted: number;
}

export class KeyLog {
  readonly stats: KeyLogStats = { secrets: 0, badLines: 0, ignoredLines: 0, evicted: 0 };
  private readonly entries = new Map<string, SessionSecrets>();
  private readonly resumable = new Map<string, Uint8Array>();
  private readonly maxEntries: number;
  private readonly anomalies: AnomalySink | undefined;
  private changes = 0;
  private following = 0;

  constructor(opts: KeyLogOptions = {}) {
    this.maxEntries = Math.max(1, opts.maxEntries ?? DEFAULT_MAX_ENTRIES);
    this.anomalies = opts.anomalies;
  }

  /** Bumped whenever a secret is added: a sink waiting for keys looks again only then. */
  get version(): number {
    return this.changes;
  }

  /** Connections with at least one secret. */
  get size(): number {
    return this.entries.size;
  }

  /** True while a file is followed: secrets may still arrive for connections already seen. */
  get mayGrow(): boolean {
    return this.following > 0;
  }

  /** Adds every line of `text` (LF or CRLF). Returns the number of secrets added. */
  addText(text: string): number {
    let added = 0;
    let start = 0;
    while (start <= text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      if (this.addLine(text.slice(start, end))) added++;
      start = end + 1;
    }
    return added;
  }

  /** One line (without its LF). True when a secret was kept. */
  addLine(raw: string): boolean {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return false;
    const parts = line.split(/\s+/);
    const label = parts[0] ?? '';
    const field = LABELS.get(label);
    if (field === undefined) {
      if (IGNORED_LABELS.has(label) || (/^[A-Z0-9_]+$/.test(label) && parts.length === 3)) {
        this.stats.ignoredLines++;
        return false;
      }
      return this.bad();
    }
    if (parts.length !== 3) return this.bad();
    const random = parts[1]!.toLowerCase();
    const secretHex = parts[2]!;
    if (!/^[0-9a-f]{64}$/.test(random) || !/^(?:[0-9a-fA-F]{2})+$/.test(secretHex)) return this.bad();
    const secret = Uint8Array.from(Buffer.from(secretHex, 'hex'));
    if (!SECRET_LENGTHS.has(secret.length) || (field === 'masterSecret' && secret.length !== 48)) return this.bad();
    let entry = this.entries.get(random);
    if (entry === undefined) {
      if (this.entries.size >= this.maxEntries) this.evictOldest();
      entry = {};
      this.entries.set(random, entry);
    }
    entry[field] = secret;
    this.stats.secrets++;
    this.changes++;
    return true;
  }

  /**
   * A pcapng Decryption Secrets Block. Only TLS key logs ("TLSK") are read; other secret types
   * (WireGuard, ZigBee, OPC UA) return false and add nothing.
   */
  addDsb(type: number, data: Uint8Array): boolean {
    const text = secretsFromDsb(type, data);
    if (text === null) return false;
    this.addText(text);
    return true;
  }

  /** Reads a whole key log file now. Rejects (with the path, never the content) when unreadable. */
  async addFile(path: string): Promise<number> {
    return this.addText(await readFile(path, 'latin1'));
  }

  /**
   * Follows a key log file as it grows (live capture): reads what is there, then appended bytes,
   * on fs.watch events and on a poll (fs.watch misses changes on some file systems). `stop()` it.
   */
  followFile(path: string, opts: FollowOptions = {}): KeyLogFollower {
    this.following++;
    let stopped = false;
    const follower = followKeyLogFile(path, (line) => this.addLine(line), opts, () => this.bad());
    return {
      ready: follower.ready,
      poll: () => follower.poll(),
      stop: () => {
        if (stopped) return;
        stopped = true;
        this.following--;
        follower.stop();
      },
    };
  }

  /** Secrets of the connection whose ClientHello carried `clientRandom`. */
  lookup(clientRandom: Uint8Array): Readonly<SessionSecrets> | undefined {
    if (clientRandom.length !== 32) return undefined;
    return this.entries.get(Buffer.from(clientRandom.buffer, clientRandom.byteOffset, 32).toString('hex'));
  }

  /** TLS 1.2: remember a session's master secret under its session id or ticket. */
  rememberSession(kind: 'id' | 'ticket', id: Uint8Array, masterSecret: Uint8Array): void {
    if (id.length === 0) return;
    const key = sessionKey(kind, id);
    this.resumable.delete(key);
    if (this.resumable.size >= MAX_RESUMABLE_SESSIONS) {
      const oldest = this.resumable.keys().next();
      if (!oldest.done) this.resumable.delete(oldest.value);
    }
    this.resumable.set(key, masterSecret);
  }

  /** TLS 1.2: the master secret of a remembered session. */
  resumedSession(kind: 'id' | 'ticket', id: Uint8Array): Uint8Array | undefined {
    if (id.length === 0) return undefined;
    return this.resumable.get(sessionKey(kind, id));
  }

  private evictOldest(): void {
    const oldest = this.entries.keys().next();
    if (oldest.done) return;
    this.entries.delete(oldest.value);
    this.stats.evicted++;
    this.anomalies?.add('tls_keylog_evicted');
  }

  private bad(): false {
    this.stats.badLines++;
    this.anomalies?.add('tls_keylog_bad_line');
    return false;
  }
}

function sessionKey(kind: 'id' | 'ticket', id: Uint8Array): string {
  // Tickets can be kilobytes: key them by digest. Session ids are at most 32 bytes.
  if (kind === 'ticket') return `t:${createHash('sha256').update(id).digest('hex')}`;
  return `s:${Buffer.from(id.buffer, id.byteOffset, id.length).toString('hex')}`;
}

/**
 * The key log text in a pcapng Decryption Secrets Block, or null for another secrets type.
 * (The block's data is the key log file's bytes, pcapng spec §4.7.)
 */
export function secretsFromDsb(type: number, data: Uint8Array): string | null {
  if (type !== DSB_TLS_KEY_LOG) return null;
  return Buffer.from(data.buffer, data.byteOffset, data.length).toString('latin1');
}
