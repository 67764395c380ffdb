/**
 * Key schedules, with node:crypto HMAC only.
 *
 * TLS 1.2 (RFC 5246 §5, §6.3): key_block = PRF(master_secret, "key expansion", server_random ‖
 * client_random), cut into client MAC key, server MAC key, client key, server key, client IV,
 * server IV. TLS 1.0/1.1 (RFC 2246 §5, RFC 4346 §5) use the MD5 ⊕ SHA-1 PRF.
 *
 * TLS 1.3 (RFC 8446 §7.1, §7.3): key = HKDF-Expand-Label(secret, "key", "", key_length),
 * iv = HKDF-Expand-Label(secret, "iv", "", 12); KeyUpdate (§7.2): next secret =
 * HKDF-Expand-Label(secret, "traffic upd", "", Hash.length).
 */
import { createHmac } from 'node:crypto';
import type { HashName, Tls12Suite, Tls13Suite } from './suites.js';

export const HASH_LEN: Readonly<Record<HashName, number>> = { sha256: 32, sha384: 48 };

function hmac(hash: string, key: Uint8Array, ...data: Uint8Array[]): Buffer {
  const h = createHmac(hash, key);
  for (const d of data) h.update(d);
  return h.digest();
}

/** P_hash (RFC 5246 §5): HMAC chained over A(i) until `length` bytes. */
function pHash(hash: string, secret: Uint8Array, seed: Uint8Array, length: number): Buffer {
  const out = Buffer.alloc(length);
  let a: Uint8Array = seed;
  let at = 0;
  while (at < length) {
    a = hmac(hash, secret, a);
    const block = hmac(hash, secret, a, seed);
    block.copy(out, at, 0, Math.min(block.length, length - at));
    at += block.length;
  }
  return out;
}

/** TLS 1.2 PRF(secret, label, seed) with the suite's hash. */
export function prf12(hash: HashName, secret: Uint8Array, label: string, seed: Uint8Array, length: number): Buffer {
  return pHash(hash, secret, Buffer.concat([Buffer.from(label, 'latin1'), seed]), length);
}

/** TLS 1.0/1.1 PRF: P_MD5(S1, …) ⊕ P_SHA1(S2, …), S1 and S2 the (overlapping) halves. */
export function prf10(secret: Uint8Array, label: string, seed: Uint8Array, length: number): Buffer {
  const half = Math.ceil(secret.length / 2);
  const s1 = secret.subarray(0, half);
  const s2 = secret.subarray(secret.length - half);
  const labelSeed = Buffer.concat([Buffer.from(label, 'latin1'), seed]);
  const md5 = pHash('md5', s1, labelSeed, length);
  const sha1 = pHash('sha1', s2, labelSeed, length);
  for (let i = 0; i < length; i++) md5[i] = md5[i]! ^ sha1[i]!;
  return md5;
}

/** One direction's keys from the TLS 1.2 key block. */
export interface Tls12DirectionKeys {
  macKey: Uint8Array;
  key: Uint8Array;
  /** Fixed IV (AEAD) or TLS 1.0 CBC's initial IV; empty otherwise. */
  iv: Uint8Array;
}

/** Protocol version numbers on the wire. */
export const TLS10 = 0x0301;
export const TLS11 = 0x0302;
export const TLS12 = 0x0303;
export const TLS13 = 0x0304;

export function tls12KeyBlock(
  suite: Tls12Suite,
  version: number,
  masterSecret: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
): { client: Tls12DirectionKeys; server: Tls12DirectionKeys } {
  const macLen = suite.kind === 'cbc' ? suite.macLen : 0;
  const keyLen = suite.kind === 'cbc' ? suite.keyLen : suite.aead.keyLen;
  // CBC: only TLS 1.0 takes its IVs from the key block (RFC 2246 §6.3); 1.1+ send one per record.
  const ivLen = suite.kind === 'cbc' ? (version <= TLS10 ? 16 : 0) : suite.fixedIvLen;
  const length = 2 * (macLen + keyLen + ivLen);
  const seed = Buffer.concat([serverRandom, clientRandom]);
  const block =
    version >= TLS12 ? prf12(suite.prfHash, masterSecret, 'key expansion', seed, length) : prf10(masterSecret, 'key expansion', seed, length);
  let at = 0;
  const take = (n: number): Uint8Array => {
    const out = new Uint8Array(block.subarray(at, at + n));
    at += n;
    return out;
  };
  const clientMac = take(macLen);
  const serverMac = take(macLen);
  const clientKey = take(keyLen);
  const serverKey = take(keyLen);
  const clientIv = take(ivLen);
  const serverIv = take(ivLen);
  return {
    client: { macKey: clientMac, key: clientKey, iv: clientIv },
    server: { macKey: serverMac, key: serverKey, iv: serverIv },
  };
}

/** HKDF-Expand (RFC 5869 §2.3). */
export function hkdfExpand(hash: HashName, prk: Uint8Array, info: Uint8Array, length: number): Buffer {
  const out = Buffer.alloc(length);
  let t: Uint8Array = new Uint8Array(0);
  let at = 0;
  for (let i = 1; at < length; i++) {
    t = hmac(hash, prk, t, info, Uint8Array.of(i));
    Buffer.from(t.buffer, t.byteOffset, t.length).copy(out, at, 0, Math.min(t.length, length - at));
    at += t.length;
  }
  return out;
}

/** HKDF-Expand-Label (RFC 8446 §7.1): info = length ‖ "tls13 " + label ‖ context. */
export function hkdfExpandLabel(hash: HashName, secret: Uint8Array, label: string, context: Uint8Array, length: number): Buffer {
  const fullLabel = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([
    Uint8Array.of(length >> 8, length & 0xff, fullLabel.length),
    fullLabel,
    Uint8Array.of(context.length),
    context,
  ]);
  return hkdfExpand(hash, secret, info, length);
}

export interface TrafficKeys {
  key: Uint8Array;
  iv: Uint8Array;
}

/** Record protection keys from a TLS 1.3 traffic secret (RFC 8446 §7.3). */
export function tls13TrafficKeys(suite: Tls13Suite, secret: Uint8Array): TrafficKeys {
  const empty = new Uint8Array(0);
  return {
    key: hkdfExpandLabel(suite.hash, secret, 'key', empty, suite.aead.keyLen),
    iv: hkdfExpandLabel(suite.hash, secret, 'iv', empty, 12),
  };
}

/** The next application traffic secret after a KeyUpdate (RFC 8446 §7.2). */
export function tls13NextSecret(suite: Tls13Suite, secret: Uint8Array): Buffer {
  return hkdfExpandLabel(suite.hash, secret, 'traffic upd', new Uint8Array(0), HASH_LEN[suite.hash]);
}
