/**
 * Record decryption, one object per direction and key (sequence numbers are per direction and
 * restart at 0 with every new key: RFC 5246 §6.1, RFC 8446 §5.3). A record that does not
 * authenticate returns null and does not consume a sequence number (so a caller may try another
 * key, as for TLS 1.3 early data); the caller decides what a failure means.
 *
 * - TLS 1.3 (RFC 8446 §5.2-5.4): nonce = iv ⊕ seq, AAD = the record header, inner plaintext =
 *   content ‖ type ‖ zero padding.
 * - TLS 1.2 AEAD: GCM (RFC 5288 §3) and CCM (RFC 6655 §3): nonce = fixed IV(4) ‖ explicit(8) sent
 *   first in the record; ChaCha20-Poly1305 (RFC 7905 §2): nonce = IV(12) ⊕ seq, nothing sent.
 *   AAD = seq ‖ type ‖ version ‖ plaintext length (RFC 5246 §6.2.3.3).
 * - TLS 1.0-1.2 CBC (RFC 5246 §6.2.3.2): MAC-then-encrypt with HMAC over seq ‖ type ‖ version ‖
 *   length ‖ content, or encrypt-then-MAC when negotiated (RFC 7366). TLS 1.0 chains the IV
 *   across records (RFC 2246 §6.2.3.2); 1.1+ send it first in each record.
 */
import { createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import type { Tls12DirectionKeys, TrafficKeys } from './keys.js';
import { TLS10 } from './keys.js';
import type { Aead, Tls12AeadSuite, Tls12CbcSuite, Tls13Suite } from './suites.js';

export interface Decrypted {
  /** Content type: the record's, or TLS 1.3's inner type. */
  type: number;
  data: Uint8Array;
}

export interface RecordDecryptor {
  decrypt(type: number, version: number, fragment: Uint8Array): Decrypted | null;
}

/** Content types (RFC 8446 §5.1). */
export const CT_CHANGE_CIPHER_SPEC = 20;
export const CT_ALERT = 21;
export const CT_HANDSHAKE = 22;
export const CT_APPLICATION_DATA = 23;

function seqBytes(seq: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, Math.floor(seq / 0x1_0000_0000));
  v.setUint32(4, seq >>> 0);
  return b;
}

function xorSeq(iv: Uint8Array, seq: number): Uint8Array {
  const nonce = Uint8Array.from(iv);
  const s = seqBytes(seq);
  for (let i = 0; i < 8; i++) nonce[nonce.length - 8 + i]! ^= s[i]!;
  return nonce;
}

/** AEAD open; null when the tag does not verify (or the input is too short). */
export function aeadOpen(aead: Aead, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer | null {
  if (sealed.length < aead.tagLen) return null;
  const ct = sealed.subarray(0, sealed.length - aead.tagLen);
  const tag = sealed.subarray(sealed.length - aead.tagLen);
  try {
    switch (aead.mode) {
      case 'ccm': {
        const d = createDecipheriv(aead.algorithm, key, nonce, { authTagLength: aead.tagLen });
        d.setAuthTag(tag);
        d.setAAD(aad, { plaintextLength: ct.length });
        const out = d.update(ct);
        d.final();
        return out;
      }
      case 'gcm': {
        const d = createDecipheriv(aead.algorithm, key, nonce, { authTagLength: aead.tagLen });
        d.setAAD(aad);
        d.setAuthTag(tag);
        const out = d.update(ct);
        const rest = d.final();
        return rest.length === 0 ? out : Buffer.concat([out, rest]);
      }
      case 'chacha': {
        const d = createDecipheriv(aead.algorithm, key, nonce, { authTagLength: aead.tagLen });
        d.setAAD(aad, { plaintextLength: ct.length });
        d.setAuthTag(tag);
        const out = d.update(ct);
        const rest = d.final();
        return rest.length === 0 ? out : Buffer.concat([out, rest]);
      }
    }
  } catch {
    return null;
  }
}

export class Tls13Decryptor implements RecordDecryptor {
  private seq = 0;

  constructor(
    private readonly suite: Tls13Suite,
    private readonly keys: TrafficKeys,
  ) {}

  decrypt(type: number, version: number, fragment: Uint8Array): Decrypted | null {
    const aad = Uint8Array.of(type, version >> 8, version & 0xff, fragment.length >> 8, fragment.length & 0xff);
    const plain = aeadOpen(this.suite.aead, this.keys.key, xorSeq(this.keys.iv, this.seq), aad, fragment);
    if (plain === null) return null;
    // Strip the zero padding; the last non-zero byte is the real content type (§5.4).
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    if (end < 0) return null;
    this.seq++;
    return { type: plain[end]!, data: plain.subarray(0, end) };
  }
}

export class Tls12AeadDecryptor implements RecordDecryptor {
  private seq = 0;

  constructor(
    private readonly suite: Tls12AeadSuite,
    private readonly keys: Tls12DirectionKeys,
  ) {}

  decrypt(type: number, version: number, fragment: Uint8Array): Decrypted | null {
    const { aead, explicitNonceLen } = this.suite;
    const plainLen = fragment.length - explicitNonceLen - aead.tagLen;
    if (plainLen < 0) return null;
    const nonce =
      explicitNonceLen === 0
        ? xorSeq(this.keys.iv, this.seq)
        : concat2(this.keys.iv, fragment.subarray(0, explicitNonceLen));
    const aad = new Uint8Array(13);
    aad.set(seqBytes(this.seq), 0);
    aad[8] = type;
    aad[9] = version >> 8;
    aad[10] = version & 0xff;
    aad[11] = plainLen >> 8;
    aad[12] = plainLen & 0xff;
    const plain = aeadOpen(aead, this.keys.key, nonce, aad, fragment.subarray(explicitNonceLen));
    if (plain === null) return null;
    this.seq++;
    return { type, data: plain };
  }
}

export class Tls12CbcDecryptor implements RecordDecryptor {
  private seq = 0;
  /** TLS 1.0: the IV of the next record is the last ciphertext block of this one. */
  private chainedIv: Uint8Array;

  constructor(
    private readonly suite: Tls12CbcSuite,
    private readonly keys: Tls12DirectionKeys,
    private readonly version: number,
    private readonly encryptThenMac: boolean,
  ) {
    this.chainedIv = keys.iv;
  }

  decrypt(type: number, version: number, fragment: Uint8Array): Decrypted | null {
    const { macLen } = this.suite;
    const explicitIv = this.version > TLS10;
    let body = fragment;
    if (this.encryptThenMac) {
      if (fragment.length < macLen) return null;
      body = fragment.subarray(0, fragment.length - macLen);
      const mac = this.mac(type, version, body);
      if (!timingSafeEqual(mac, fragment.subarray(fragment.length - macLen))) return null;
    }
    const ivLen = explicitIv ? 16 : 0;
    const ct = body.subarray(ivLen);
    if (ct.length === 0 || ct.length % 16 !== 0) return null;
    const iv = explicitIv ? body.subarray(0, 16) : this.chainedIv;
    let plain: Buffer;
    try {
      const d = createDecipheriv(this.suite.algorithm, this.keys.key, iv);
      d.setAutoPadding(false);
      plain = Buffer.concat([d.update(ct), d.final()]);
    } catch {
      return null;
    }
    const padLen = plain[plain.length - 1]!;
    const contentEnd = plain.length - padLen - 1 - (this.encryptThenMac ? 0 : macLen);
    if (contentEnd < 0) return null;
    for (let i = plain.length - padLen - 1; i < plain.length; i++) if (plain[i] !== padLen) return null;
    const content = plain.subarray(0, contentEnd);
    if (!this.encryptThenMac) {
      const mac = this.mac(type, version, content);
      if (!timingSafeEqual(mac, plain.subarray(contentEnd, contentEnd + macLen))) return null;
    }
    if (!explicitIv) this.chainedIv = Uint8Array.from(ct.subarray(ct.length - 16));
    this.seq++;
    return { type, data: content };
  }

  private mac(type: number, version: number, data: Uint8Array): Buffer {
    const h = createHmac(this.suite.macHash, this.keys.macKey);
    h.update(seqBytes(this.seq));
    h.update(Uint8Array.of(type, version >> 8, version & 0xff, data.length >> 8, data.length & 0xff));
    h.update(data);
    return h.digest();
  }
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
