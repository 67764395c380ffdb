/**
 * The cipher suites we can decrypt, by IANA number (IANA "TLS Cipher Suites" registry). Key
 * exchange and authentication do not matter to a key log reader: the secrets come from the log.
 *
 * TLS 1.3 (RFC 8446 §B.4): all five. TLS 1.2: AES-GCM (RFC 5288, RFC 5289), ChaCha20-Poly1305
 * (RFC 7905), AES-CCM and CCM_8 (RFC 6655, RFC 7251), and AES-CBC with HMAC-SHA1/SHA256/SHA384
 * (RFC 5246, RFC 5289; also TLS 1.0/1.1).
 */

import type { CipherCCMTypes, CipherChaCha20Poly1305Types, CipherGCMTypes } from 'node:crypto';

export type HashName = 'sha256' | 'sha384';

/** An AEAD with its node:crypto cipher name. */
export type Aead =
  | { mode: 'gcm'; algorithm: CipherGCMTypes; keyLen: number; tagLen: number }
  | { mode: 'ccm'; algorithm: CipherCCMTypes; keyLen: number; tagLen: number }
  | { mode: 'chacha'; algorithm: CipherChaCha20Poly1305Types; keyLen: number; tagLen: number };

export interface Tls13Suite {
  version: 'tls13';
  id: number;
  name: string;
  aead: Aead;
  hash: HashName;
}

export interface Tls12AeadSuite {
  version: 'tls12';
  kind: 'aead';
  id: number;
  name: string;
  aead: Aead;
  /** Implicit part of the nonce from the key block: 4 bytes (GCM, CCM), 12 (ChaCha20). */
  fixedIvLen: number;
  /** Nonce bytes sent in each record: 8 (GCM, CCM), 0 (ChaCha20, RFC 7905 §2). */
  explicitNonceLen: number;
  prfHash: HashName;
}

export interface Tls12CbcSuite {
  version: 'tls12';
  kind: 'cbc';
  id: number;
  name: string;
  /** node:crypto cipher name. */
  algorithm: string;
  keyLen: number;
  macHash: 'sha1' | 'sha256' | 'sha384';
  macLen: number;
  /** PRF hash in TLS 1.2 (TLS 1.0/1.1 use MD5 ‖ SHA-1 whatever the suite). */
  prfHash: HashName;
}

export type Tls12Suite = Tls12AeadSuite | Tls12CbcSuite;

const AES128_GCM: Aead = { algorithm: 'aes-128-gcm', mode: 'gcm', keyLen: 16, tagLen: 16 };
const AES256_GCM: Aead = { algorithm: 'aes-256-gcm', mode: 'gcm', keyLen: 32, tagLen: 16 };
const CHACHA: Aead = { algorithm: 'chacha20-poly1305', mode: 'chacha', keyLen: 32, tagLen: 16 };
const AES128_CCM: Aead = { algorithm: 'aes-128-ccm', mode: 'ccm', keyLen: 16, tagLen: 16 };
const AES256_CCM: Aead = { algorithm: 'aes-256-ccm', mode: 'ccm', keyLen: 32, tagLen: 16 };
const AES128_CCM8: Aead = { algorithm: 'aes-128-ccm', mode: 'ccm', keyLen: 16, tagLen: 8 };
const AES256_CCM8: Aead = { algorithm: 'aes-256-ccm', mode: 'ccm', keyLen: 32, tagLen: 8 };

const TLS13: readonly Tls13Suite[] = [
  { version: 'tls13', id: 0x1301, name: 'TLS_AES_128_GCM_SHA256', aead: AES128_GCM, hash: 'sha256' },
  { version: 'tls13', id: 0x1302, name: 'TLS_AES_256_GCM_SHA384', aead: AES256_GCM, hash: 'sha384' },
  { version: 'tls13', id: 0x1303, name: 'TLS_CHACHA20_POLY1305_SHA256', aead: CHACHA, hash: 'sha256' },
  { version: 'tls13', id: 0x1304, name: 'TLS_AES_128_CCM_SHA256', aead: AES128_CCM, hash: 'sha256' },
  { version: 'tls13', id: 0x1305, name: 'TLS_AES_128_CCM_8_SHA256', aead: AES128_CCM8, hash: 'sha256' },
];

function gcm(id: number, name: string): Tls12AeadSuite {
  const is256 = name.includes('AES_256');
  return {
    version: 'tls12', kind: 'aead', id, name, aead: is256 ? AES256_GCM : AES128_GCM,
    fixedIvLen: 4, explicitNonceLen: 8, prfHash: name.endsWith('SHA384') ? 'sha384' : 'sha256',
  };
}

function ccm(id: number, name: string): Tls12AeadSuite {
  const is256 = name.includes('AES_256');
  const eight = name.endsWith('_8');
  const aead = eight ? (is256 ? AES256_CCM8 : AES128_CCM8) : is256 ? AES256_CCM : AES128_CCM;
  return { version: 'tls12', kind: 'aead', id, name, aead, fixedIvLen: 4, explicitNonceLen: 8, prfHash: 'sha256' };
}

function chacha(id: number, name: string): Tls12AeadSuite {
  return { version: 'tls12', kind: 'aead', id, name, aead: CHACHA, fixedIvLen: 12, explicitNonceLen: 0, prfHash: 'sha256' };
}

function cbc(id: number, name: string): Tls12CbcSuite {
  const is256 = name.includes('AES_256');
  const macHash = name.endsWith('SHA384') ? 'sha384' : name.endsWith('SHA256') ? 'sha256' : 'sha1';
  return {
    version: 'tls12', kind: 'cbc', id, name, algorithm: is256 ? 'aes-256-cbc' : 'aes-128-cbc', keyLen: is256 ? 32 : 16,
    macHash, macLen: macHash === 'sha384' ? 48 : macHash === 'sha256' ? 32 : 20,
    prfHash: macHash === 'sha384' ? 'sha384' : 'sha256',
  };
}

const TLS12: readonly Tls12Suite[] = [
  gcm(0x009c, 'TLS_RSA_WITH_AES_128_GCM_SHA256'),
  gcm(0x009d, 'TLS_RSA_WITH_AES_256_GCM_SHA384'),
  gcm(0x009e, 'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256'),
  gcm(0x009f, 'TLS_DHE_RSA_WITH_AES_256_GCM_SHA384'),
  gcm(0x00a2, 'TLS_DHE_DSS_WITH_AES_128_GCM_SHA256'),
  gcm(0x00a3, 'TLS_DHE_DSS_WITH_AES_256_GCM_SHA384'),
  gcm(0x00a8, 'TLS_PSK_WITH_AES_128_GCM_SHA256'),
  gcm(0x00a9, 'TLS_PSK_WITH_AES_256_GCM_SHA384'),
  gcm(0x00aa, 'TLS_DHE_PSK_WITH_AES_128_GCM_SHA256'),
  gcm(0x00ab, 'TLS_DHE_PSK_WITH_AES_256_GCM_SHA384'),
  gcm(0xc02b, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'),
  gcm(0xc02c, 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384'),
  gcm(0xc02f, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'),
  gcm(0xc030, 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'),
  chacha(0xcca8, 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256'),
  chacha(0xcca9, 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256'),
  chacha(0xccaa, 'TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256'),
  chacha(0xccab, 'TLS_PSK_WITH_CHACHA20_POLY1305_SHA256'),
  chacha(0xccac, 'TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256'),
  chacha(0xccad, 'TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256'),
  chacha(0xccae, 'TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256'),
  ccm(0xc09c, 'TLS_RSA_WITH_AES_128_CCM'),
  ccm(0xc09d, 'TLS_RSA_WITH_AES_256_CCM'),
  ccm(0xc09e, 'TLS_DHE_RSA_WITH_AES_128_CCM'),
  ccm(0xc09f, 'TLS_DHE_RSA_WITH_AES_256_CCM'),
  ccm(0xc0a0, 'TLS_RSA_WITH_AES_128_CCM_8'),
  ccm(0xc0a1, 'TLS_RSA_WITH_AES_256_CCM_8'),
  ccm(0xc0a2, 'TLS_DHE_RSA_WITH_AES_128_CCM_8'),
  ccm(0xc0a3, 'TLS_DHE_RSA_WITH_AES_256_CCM_8'),
  ccm(0xc0ac, 'TLS_ECDHE_ECDSA_WITH_AES_128_CCM'),
  ccm(0xc0ad, 'TLS_ECDHE_ECDSA_WITH_AES_256_CCM'),
  ccm(0xc0ae, 'TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8'),
  ccm(0xc0af, 'TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8'),
  cbc(0x002f, 'TLS_RSA_WITH_AES_128_CBC_SHA'),
  cbc(0x0035, 'TLS_RSA_WITH_AES_256_CBC_SHA'),
  cbc(0x003c, 'TLS_RSA_WITH_AES_128_CBC_SHA256'),
  cbc(0x003d, 'TLS_RSA_WITH_AES_256_CBC_SHA256'),
  cbc(0x0033, 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA'),
  cbc(0x0039, 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA'),
  cbc(0x0067, 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA256'),
  cbc(0x006b, 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA256'),
  cbc(0xc009, 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA'),
  cbc(0xc00a, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA'),
  cbc(0xc013, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA'),
  cbc(0xc014, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA'),
  cbc(0xc023, 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256'),
  cbc(0xc024, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384'),
  cbc(0xc027, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256'),
  cbc(0xc028, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384'),
];

const BY_ID_13 = new Map(TLS13.map((s) => [s.id, s]));
const BY_ID_12 = new Map(TLS12.map((s) => [s.id, s]));

export function tls13Suite(id: number): Tls13Suite | undefined {
  return BY_ID_13.get(id);
}

export function tls12Suite(id: number): Tls12Suite | undefined {
  return BY_ID_12.get(id);
}

/** IANA name when we know it, else the number in hex (for the "undecrypted" report). */
export function suiteName(id: number): string {
  return BY_ID_13.get(id)?.name ?? BY_ID_12.get(id)?.name ?? `0x${id.toString(16).padStart(4, '0')}`;
}

export const TLS13_SUITES: readonly Tls13Suite[] = TLS13;
export const TLS12_SUITES: readonly Tls12Suite[] = TLS12;
