/**
 * Handshake messages (RFC 8446 §4, RFC 5246 §7.4): type(1) ‖ length(3) ‖ body, possibly split
 * over records and several in one record. The reader hands on every message's type; the body only
 * for the messages we read (ClientHello, ServerHello, NewSessionTicket, EncryptedExtensions),
 * buffered up to MAX_PARSED_HANDSHAKE; other bodies (certificates) are skipped without buffering.
 *
 * The parsers read ClientHello (random, session id, SNI, ALPN offered, supported_versions, cipher
 * suites, early_data, session ticket), ServerHello (random, suite, version with
 * supported_versions, HelloRetryRequest, ALPN, encrypt_then_mac) and EncryptedExtensions (ALPN,
 * early_data). A parser returns null on malformed input; it never throws.
 */
import { MAX_PARSED_HANDSHAKE } from './limits.js';

export const HS_HELLO_REQUEST = 0;
export const HS_CLIENT_HELLO = 1;
export const HS_SERVER_HELLO = 2;
export const HS_NEW_SESSION_TICKET = 4;
export const HS_END_OF_EARLY_DATA = 5;
export const HS_ENCRYPTED_EXTENSIONS = 8;
export const HS_FINISHED = 20;
export const HS_KEY_UPDATE = 24;

const PARSED: ReadonlySet<number> = new Set([HS_CLIENT_HELLO, HS_SERVER_HELLO, HS_NEW_SESSION_TICKET, HS_ENCRYPTED_EXTENSIONS]);

/** Extension numbers (IANA "TLS ExtensionType Values"). */
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const EXT_ENCRYPT_THEN_MAC = 22;
const EXT_SESSION_TICKET = 35;
const EXT_EARLY_DATA = 42;
const EXT_SUPPORTED_VERSIONS = 43;

/** ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3). */
const HRR_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');

export interface HandshakeMessage {
  type: number;
  /** The body for the messages we parse (a copy or a view valid during the call), else null. */
  body: Uint8Array | null;
}

export class HandshakeReader {
  private header = new Uint8Array(4);
  private headerHave = 0;
  private type = -1;
  private remaining = 0;
  private body: Uint8Array | null = null;
  private bodyHave = 0;
  private skipping = false;

  constructor(
    private readonly onMessage: (m: HandshakeMessage) => void,
    private readonly onTooLarge: () => void,
  ) {}

  /** True in the middle of a message (TLS 1.3 forbids a key change there, RFC 8446 §5.1). */
  get midMessage(): boolean {
    return this.headerHave > 0 || this.remaining > 0 || this.type >= 0;
  }

  push(data: Uint8Array): void {
    let at = 0;
    while (at < data.length) {
      if (this.type < 0) {
        // Whole message in view: hand it on without copying.
        if (this.headerHave === 0 && data.length - at >= 4) {
          const len = (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!;
          if (data.length - at - 4 >= len) {
            const type = data[at]!;
            this.onMessage({ type, body: PARSED.has(type) && len <= MAX_PARSED_HANDSHAKE ? data.subarray(at + 4, at + 4 + len) : null });
            if (PARSED.has(type) && len > MAX_PARSED_HANDSHAKE) this.onTooLarge();
            at += 4 + len;
            continue;
          }
        }
        const n = Math.min(4 - this.headerHave, data.length - at);
        this.header.set(data.subarray(at, at + n), this.headerHave);
        this.headerHave += n;
        at += n;
        if (this.headerHave < 4) return;
        this.start();
        if (this.remaining === 0) this.finish();
        continue;
      }
      const n = Math.min(this.remaining, data.length - at);
      if (!this.skipping) this.body!.set(data.subarray(at, at + n), this.bodyHave);
      this.bodyHave += n;
      this.remaining -= n;
      at += n;
      if (this.remaining === 0) this.finish();
    }
  }

  private start(): void {
    this.type = this.header[0]!;
    this.remaining = (this.header[1]! << 16) | (this.header[2]! << 8) | this.header[3]!;
    this.bodyHave = 0;
    this.skipping = !PARSED.has(this.type) || this.remaining > MAX_PARSED_HANDSHAKE;
    if (PARSED.has(this.type) && this.remaining > MAX_PARSED_HANDSHAKE) this.onTooLarge();
    this.body = this.skipping ? null : new Uint8Array(this.remaining);
  }

  private finish(): void {
    const type = this.type;
    const body = this.skipping ? null : this.body;
    this.type = -1;
    this.headerHave = 0;
    this.body = null;
    this.onMessage({ type, body });
  }
}

/** A bounds-checked reader: any overrun sets `ok` false and returns zeros. */
class Cursor {
  ok = true;
  constructor(
    private readonly b: Uint8Array,
    public at = 0,
    private readonly end = b.length,
  ) {}

  get left(): number {
    return this.end - this.at;
  }

  u8(): number {
    if (this.at + 1 > this.end) return this.bad();
    return this.b[this.at++]!;
  }

  u16(): number {
    if (this.at + 2 > this.end) return this.bad();
    const v = (this.b[this.at]! << 8) | this.b[this.at + 1]!;
    this.at += 2;
    return v;
  }

  bytes(n: number): Uint8Array {
    if (n < 0 || this.at + n > this.end) {
      this.bad();
      return new Uint8Array(0);
    }
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }

  /** A sub-cursor over the next `n` bytes. */
  sub(n: number): Cursor {
    if (n < 0 || this.at + n > this.end) {
      this.bad();
      return new Cursor(this.b, this.end, this.end);
    }
    const c = new Cursor(this.b, this.at, this.at + n);
    this.at += n;
    return c;
  }

  private bad(): 0 {
    this.ok = false;
    this.at = this.end;
    return 0;
  }
}

export interface ClientHelloInfo {
  legacyVersion: number;
  random: Uint8Array;
  sessionId: Uint8Array;
  cipherSuites: number[];
  sni: string | null;
  alpn: string[];
  /** supported_versions (TLS 1.3 clients), GREASE values left out. */
  versions: number[];
  earlyData: boolean;
  /** TLS 1.2 session ticket offered (RFC 5077), empty when none. */
  ticket: Uint8Array;
}

export interface ServerHelloInfo {
  /** Negotiated version: supported_versions when present, else legacy_version. */
  version: number;
  random: Uint8Array;
  sessionId: Uint8Array;
  cipherSuite: number;
  helloRetryRequest: boolean;
  alpn: string | null;
  encryptThenMac: boolean;
}

export interface EncryptedExtensionsInfo {
  alpn: string | null;
  earlyData: boolean;
}

/** GREASE values (RFC 8701) are 0x?A?A: ignored wherever they appear. */
function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');

function readExtensions(c: Cursor, each: (type: number, data: Cursor) => void): void {
  if (c.left === 0) return; // Extensions are optional before TLS 1.3.
  const ext = c.sub(c.u16());
  while (ext.ok && ext.left > 0) {
    const type = ext.u16();
    const data = ext.sub(ext.u16());
    if (!ext.ok) break;
    each(type, data);
  }
  if (!ext.ok) c.ok = false;
}

function readAlpnList(d: Cursor): string[] {
  const list = d.sub(d.u16());
  const out: string[] = [];
  while (list.ok && list.left > 0) {
    const name = list.bytes(list.u8());
    if (list.ok) out.push(latin1(name));
  }
  if (!list.ok) d.ok = false;
  return out;
}

export function parseClientHello(body: Uint8Array): ClientHelloInfo | null {
  const c = new Cursor(body);
  const legacyVersion = c.u16();
  const random = Uint8Array.from(c.bytes(32));
  const sessionId = Uint8Array.from(c.bytes(c.u8()));
  const suites = c.sub(c.u16());
  const cipherSuites: number[] = [];
  while (suites.ok && suites.left >= 2) {
    const s = suites.u16();
    if (!isGrease(s)) cipherSuites.push(s);
  }
  c.bytes(c.u8()); // compression methods
  const info: ClientHelloInfo = { legacyVersion, random, sessionId, cipherSuites, sni: null, alpn: [], versions: [], earlyData: false, ticket: new Uint8Array(0) };
  if (!c.ok || !suites.ok) return null;
  readExtensions(c, (type, d) => {
    switch (type) {
      case EXT_SERVER_NAME: {
        const list = d.sub(d.u16());
        while (list.ok && list.left > 0) {
          const kind = list.u8();
          const name = list.bytes(list.u16());
          if (list.ok && kind === 0 && info.sni === null) info.sni = latin1(name);
        }
        break;
      }
      case EXT_ALPN:
        info.alpn = readAlpnList(d);
        break;
      case EXT_SUPPORTED_VERSIONS: {
        const list = d.sub(d.u8());
        while (list.ok && list.left >= 2) {
          const v = list.u16();
          if (!isGrease(v)) info.versions.push(v);
        }
        break;
      }
      case EXT_EARLY_DATA:
        info.earlyData = true;
        break;
      case EXT_SESSION_TICKET:
        info.ticket = Uint8Array.from(d.bytes(d.left));
        break;
    }
  });
  return c.ok ? info : null;
}

export function parseServerHello(body: Uint8Array): ServerHelloInfo | null {
  const c = new Cursor(body);
  const legacyVersion = c.u16();
  const random = Uint8Array.from(c.bytes(32));
  const sessionId = Uint8Array.from(c.bytes(c.u8()));
  const cipherSuite = c.u16();
  c.u8(); // compression method
  if (!c.ok) return null;
  const info: ServerHelloInfo = {
    version: legacyVersion,
    random,
    sessionId,
    cipherSuite,
    helloRetryRequest: Buffer.from(random).equals(HRR_RANDOM),
    alpn: null,
    encryptThenMac: false,
  };
  readExtensions(c, (type, d) => {
    switch (type) {
      case EXT_SUPPORTED_VERSIONS:
        info.version = d.u16();
        break;
      case EXT_ALPN:
        info.alpn = readAlpnList(d)[0] ?? null;
        break;
      case EXT_ENCRYPT_THEN_MAC:
        info.encryptThenMac = true;
        break;
    }
  });
  return c.ok ? info : null;
}

export function parseEncryptedExtensions(body: Uint8Array): EncryptedExtensionsInfo | null {
  const c = new Cursor(body);
  const info: EncryptedExtensionsInfo = { alpn: null, earlyData: false };
  if (c.left < 2) return null;
  readExtensions(c, (type, d) => {
    if (type === EXT_ALPN) info.alpn = readAlpnList(d)[0] ?? null;
    else if (type === EXT_EARLY_DATA) info.earlyData = true;
  });
  return c.ok ? info : null;
}

/** TLS 1.2 NewSessionTicket (RFC 5077 §3.3): lifetime hint(4) ‖ ticket<0..2^16-1>. */
export function parseTls12Ticket(body: Uint8Array): Uint8Array | null {
  const c = new Cursor(body);
  c.bytes(4);
  const ticket = c.bytes(c.u16());
  return c.ok ? Uint8Array.from(ticket) : null;
}

/** Human name of a protocol version for reports. */
export function versionName(v: number): string {
  switch (v) {
    case 0x0300:
      return 'SSL 3.0';
    case 0x0301:
      return 'TLS 1.0';
    case 0x0302:
      return 'TLS 1.1';
    case 0x0303:
      return 'TLS 1.2';
    case 0x0304:
      return 'TLS 1.3';
    default:
      return `0x${v.toString(16).padStart(4, '0')}`;
  }
}
