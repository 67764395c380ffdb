/**
 * Protocol sniffing for one connection: holds the first bytes until they tell TLS, HTTP/2 or
 * HTTP/1.1 apart, then hands everything held (in arrival order, with the original capture times)
 * and all later bytes to the sink for that protocol.
 *
 * - TLS: a handshake record, content type 22 and version major 3 (RFC 8446 §5.1; SSL 3.0 to TLS
 *   1.3 all say 3.x). On a connection joined mid-way any record type 20..23 counts: the handshake
 *   is long gone.
 * - HTTP/2 with prior knowledge: the client preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (RFC 9113
 *   §3.4), on either direction when the roles were guessed; or, the server speaking first, its
 *   SETTINGS frame; or, joined mid-way, bytes that start with a run of plausible frames.
 * - Anything else is HTTP/1.1: the HTTP/1 sink already names what is not HTTP (http_not_http).
 *
 * The decision needs at most the 24 bytes of the preface from the client, so bytes pile up only
 * while the client is silent (a server speaking first, a one-sided capture). They are held up to
 * SNIFF_LIMIT, then HTTP/1 is chosen (`sniff_undecided`), whose resynchronisation copes.
 */
import type { AnomalySink } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';
import type { ConnectionInfo, Dir, StreamSink, StreamSinkFactory } from '../reassembly/types.js';
import { CLIENT_PREFACE, FrameType, framesAtStart } from './h2/frames.js';

export interface SniffFactories {
  h1: StreamSinkFactory;
  h2: StreamSinkFactory;
  /** Omitted inside TLS (decrypted bytes are never TLS again) or without key material. */
  tls?: StreamSinkFactory;
  anomalies: AnomalySink;
}

/**
 * Bytes held per connection before choosing: 64 KiB covers a server's first flight before the
 * client speaks (an HTTP/2 SETTINGS frame, a banner) and one default-size HTTP/2 frame with the
 * header after it (9 + 16384 + 9), which is what a mid-way join needs to confirm frames.
 */
export const SNIFF_LIMIT = 64 * 1024;

type Choice = 'h1' | 'h2' | 'tls';

type Held =
  | { kind: 'data'; dir: Dir; data: Uint8Array; ts: Micros }
  | { kind: 'gap'; dir: Dir; bytes: number; ts: Micros }
  | { kind: 'swap'; info: ConnectionInfo };

export function createSniffingSink(info: ConnectionInfo, f: SniffFactories): StreamSink {
  return new SniffingSink(info, f);
}

/**
 * The sink for bytes decrypted from a TLS connection whose handshake selected `alpn` (RFC 7301):
 * "h2" is HTTP/2 (RFC 9113 §3.2), "http/1.1" and "http/1.0" HTTP/1; with no ALPN (or another
 * protocol) the bytes themselves decide, HTTP/2 with prior knowledge being possible over TLS too.
 */
export function sinkForAlpn(alpn: string | null, info: ConnectionInfo, f: Omit<SniffFactories, 'tls'>): StreamSink {
  if (alpn === 'h2') return f.h2(info);
  if (alpn === 'http/1.1' || alpn === 'http/1.0') return f.h1(info);
  return createSniffingSink(info, { h1: f.h1, h2: f.h2, anomalies: f.anomalies });
}

class SniffingSink implements StreamSink {
  private target: StreamSink | null = null;
  private held: Held[] = [];
  private heldBytes = 0;
  /** The first bytes of each direction (copies, up to SNIFF_LIMIT together). */
  private readonly heads: [Uint8Array[], Uint8Array[]] = [[], []];
  private readonly headLen: [number, number] = [0, 0];
  /** A gap came before any byte of this direction: its first bytes are not its start. */
  private readonly startLost: [boolean, boolean] = [false, false];
  private info: ConnectionInfo;

  constructor(
    private readonly initialInfo: ConnectionInfo,
    private readonly f: SniffFactories,
  ) {
    this.info = initialInfo;
  }

  onData(dir: Dir, data: Uint8Array, ts: Micros): void {
    if (this.target) return this.target.onData(dir, data, ts);
    if (data.length === 0) return;
    const copy = data.slice();
    this.held.push({ kind: 'data', dir, data: copy, ts });
    this.heldBytes += copy.length;
    this.heads[dir].push(copy);
    this.headLen[dir] += copy.length;
    const choice = this.decide(false);
    if (choice !== null) this.choose(choice);
    else if (this.heldBytes >= SNIFF_LIMIT) {
      this.f.anomalies.add('sniff_undecided');
      this.choose(this.decide(true) ?? 'h1');
    }
  }

  onGap(dir: Dir, bytes: number, ts: Micros): void {
    if (this.target) return this.target.onGap(dir, bytes, ts);
    if (this.headLen[dir] === 0) this.startLost[dir] = true;
    this.held.push({ kind: 'gap', dir, bytes, ts });
  }

  onRolesSwapped(info: ConnectionInfo): void {
    if (this.target) return this.target.onRolesSwapped?.(info);
    // Reassembly relabels the directions: what we hold per direction moves with them.
    this.info = info;
    this.heads.reverse();
    this.headLen.reverse();
    this.startLost.reverse();
    this.held.push({ kind: 'swap', info });
  }

  onClose(ts: Micros, reason: 'fin' | 'rst' | 'idle' | 'eof' | 'evicted'): void {
    if (!this.target) this.choose(this.decide(true) ?? 'h1');
    this.target!.onClose(ts, reason);
  }

  /** The protocol, or null to wait for more bytes (`final`: no more are coming). */
  private decide(final: boolean): Choice | null {
    const guessed = this.info.rolesGuessed || this.startLost[0] || this.startLost[1];
    let wait = false;
    for (const dir of [0, 1] as Dir[]) {
      if (this.headLen[dir] === 0) continue;
      const b = this.head(dir);
      const isClient = dir === 0;
      // TLS record header (RFC 8446 §5.1): type, then legacy version 3.x.
      if (b[0] === 22 || (guessed && b[0]! >= 20 && b[0]! <= 23)) {
        if (b.length < 2) {
          wait = true;
          continue;
        }
        if (b[1] === 3) return this.f.tls ? 'tls' : 'h1';
      }
      const n = Math.min(b.length, CLIENT_PREFACE.length);
      const prefacePrefix = Buffer.from(b.buffer, b.byteOffset, n).equals(CLIENT_PREFACE.subarray(0, n));
      if (prefacePrefix && (isClient || guessed)) {
        if (n === CLIENT_PREFACE.length) return 'h2';
        wait = true;
        continue;
      }
      // The server's first frame is SETTINGS (RFC 9113 §3.4); joined mid-way, any frames.
      if (!isClient || guessed) {
        const frames = framesAtStart(b);
        if (frames === 'yes' && (guessed || b[3] === FrameType.SETTINGS)) return 'h2';
        if (frames === 'more') {
          wait = true;
          continue;
        }
      }
      if (isClient && !guessed) return 'h1';
    }
    if (final) return 'h1';
    if (wait) return null;
    // Joined mid-way with bytes that are neither: HTTP/1 resynchronises on its own. Seen from
    // the start, wait for the client (a server that spoke first sent something else).
    return guessed && this.headLen[0] + this.headLen[1] > 0 ? 'h1' : null;
  }

  private head(dir: Dir): Uint8Array {
    const parts = this.heads[dir];
    if (parts.length > 1) this.heads[dir] = [Buffer.concat(parts)];
    return this.heads[dir][0]!;
  }

  private choose(choice: Choice): void {
    const factory = choice === 'h2' ? this.f.h2 : choice === 'tls' ? this.f.tls! : this.f.h1;
    const target = factory(this.initialInfo);
    this.target = target;
    const held = this.held;
    this.held = [];
    this.heads[0] = [];
    this.heads[1] = [];
    for (const h of held) {
      if (h.kind === 'data') target.onData(h.dir, h.data, h.ts);
      else if (h.kind === 'gap') target.onGap(h.dir, h.bytes, h.ts);
      else target.onRolesSwapped?.(h.info);
    }
  }
}
