/**
 * Secrets never reach any output (DESIGN §7). Everything that leaves the pipeline (headers, query
 * strings, bodies, generated text) passes through here first.
 */
import { hash } from 'node:crypto';
import type { HeaderList } from '../http/types.js';

export const REDACTED = '[REDACTED]';

/** Headers whose whole value is a credential. */
const SECRET_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key', // Azure OpenAI
  'x-goog-api-key',
  'cookie',
  'set-cookie',
  'x-amz-security-token',
  'x-amz-signature',
  'x-auth-token',
  'x-csrf-token',
  'x-goog-iam-authorization-token',
  'ocp-apim-subscription-key', // Azure API Management
  'cf-access-token',
]);

/** True for a header whose whole value is a credential (names compared case-insensitively). The
 * configuration refuses to turn such a header into an attribute (src/config/schema.ts). */
export function isSecretHeader(name: string): boolean {
  return SECRET_HEADERS.has(name.toLowerCase());
}

/** Query parameters whose value is a credential (Gemini's `key=`, AWS presigned URLs, …). */
const SECRET_QUERY_PARAMS = new Set([
  'key',
  'api_key',
  'apikey',
  'api-key',
  'access_token',
  'token',
  'auth',
  'sig',
  'signature',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'x-goog-signature',
  'x-goog-credential',
]);

/**
 * Key-shaped strings anywhere in text: provider key prefixes (OpenAI `sk-`, `sk-proj-`, Anthropic
 * `sk-ant-`, Google `AIza`, AWS access key ids, GitHub, Slack, Hugging Face, Groq, xAI, Stripe-like
 * `rk_`/`pk_live`), bearer tokens and JWTs. Lengths are the providers' documented minimums, kept
 * loose so that a new key format with a known prefix is still caught.
 */
const KEY_PATTERN = new RegExp(
  // One leading \b for every alternative: V8 then tries the alternatives only at word starts.
  // A lookbehind for the bearer prefix (tried at every position) made this 5× slower, and stored
  // bodies run through it whole (16 M characters: 612 ms against ~110 ms).
  String.raw`\b(?:` +
    [
      String.raw`sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}`,
      String.raw`AIza[0-9A-Za-z_\-]{30,}`,
      String.raw`(?:AKIA|ASIA)[0-9A-Z]{16}\b`,
      String.raw`gh[pousr]_[A-Za-z0-9]{30,}`,
      String.raw`github_pat_[A-Za-z0-9_]{30,}`,
      String.raw`xox[abposr]-[A-Za-z0-9\-]{10,}`,
      String.raw`hf_[A-Za-z0-9]{30,}`,
      String.raw`gsk_[A-Za-z0-9]{30,}`,
      String.raw`xai-[A-Za-z0-9]{30,}`,
      String.raw`(?:rk|sk|pk)_(?:live|test)_[A-Za-z0-9]{16,}`,
      String.raw`eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}`,
      // The prefix is kept (group 1); only the token after it is replaced.
      String.raw`([Bb]earer\s)[A-Za-z0-9._~+/\-]{16,}=*`,
    ].join('|') +
    ')',
  'g',
);

/** KEY_PATTERN's source, for tests that hold the fast path below to the pattern itself. */
export const KEY_PATTERN_SOURCE = KEY_PATTERN.source;

const replaceKey = (_match: string, bearer: string | undefined): string => (bearer === undefined ? REDACTED : bearer + REDACTED);

const code = (s: string): number => s.charCodeAt(0);
const LOWER_K = code('k');
const LOWER_P = code('p');
const LOWER_R = code('r');
const LOWER_S = code('s');
const UPPER_I = code('I');
const UPPER_K = code('K');
const UPPER_S = code('S');

/** Whether `t` holds `s` ending just before index `i`. */
function endsAt(t: string, i: number, s: string): boolean {
  return i >= s.length && t.startsWith(s, i - s.length);
}

/**
 * False only when KEY_PATTERN cannot match `t`. Every alternative of KEY_PATTERN contains one of
 * these markers, each looked for around a character rarer than its first (`indexOf` of one
 * character runs at memchr speed): `sk-`, `xai-`, `xox?-` before a dash; `sk_` (so `gsk_`), `rk_`,
 * `pk_`, `hf_`, `gh?_`, `github_pat_` around an underscore; `AIza`, `AKIA`, `ASIA` from an `A`; `eyJ`
 * before a `J`; `Bearer` or `bearer`. Stored bodies pass through here whole (183 M characters
 * in the 200 MB bench capture): 175–235 ms against 555–575 ms for KEY_PATTERN alone over that
 * text (no key in it), and text with a marker still goes through KEY_PATTERN, so what is
 * redacted is unchanged. Plain loops, no closures: this runs for every short string too.
 */
function mayHoldKey(t: string): boolean {
  for (let i = t.indexOf('-'); i >= 0; i = t.indexOf('-', i + 1)) {
    if (endsAt(t, i, 'sk') || endsAt(t, i, 'xai') || endsAt(t, i - 1, 'xox')) return true;
  }
  for (let i = t.indexOf('_'); i >= 0; i = t.indexOf('_', i + 1)) {
    if (t.charCodeAt(i - 1) === LOWER_K) {
      const c = t.charCodeAt(i - 2);
      if (c === LOWER_S || c === LOWER_R || c === LOWER_P) return true;
    } else if (endsAt(t, i, 'hf') || endsAt(t, i - 1, 'gh')) {
      return true;
    } else if (endsAt(t, i, 'github') && t.startsWith('pat_', i + 1)) {
      // `github_pat_` whole: MCP tool names such as `mcp__github__create_issue` are common.
      return true;
    }
  }
  for (let i = t.indexOf('A'); i >= 0; i = t.indexOf('A', i + 1)) {
    const b = t.charCodeAt(i + 1);
    if (b === UPPER_I ? t.startsWith('za', i + 2) : (b === UPPER_K || b === UPPER_S) && t.startsWith('IA', i + 2)) return true;
  }
  for (let i = t.indexOf('J'); i >= 0; i = t.indexOf('J', i + 1)) {
    if (endsAt(t, i, 'ey')) return true;
  }
  // Two memchr-led searches measured 2× faster than /[Bb]earer\s/ (no rarer character in it).
  return t.includes('Bearer') || t.includes('bearer');
}

const DASH = code('-');
const UNDERSCORE = code('_');
const UPPER_A = code('A');
const UPPER_J = code('J');
const LOWER_B = code('b');
const UPPER_B = code('B');

/** Whether `b` holds the ASCII string `s` at byte `i`. */
function bytesAt(b: Buffer, i: number, s: string): boolean {
  if (i < 0 || i + s.length > b.length) return false;
  for (let k = 0; k < s.length; k++) if (b[i + k] !== s.charCodeAt(k)) return false;
  return true;
}

/**
 * mayHoldKey over the UTF-8 bytes of a text, so a body can be checked without first becoming a
 * string (the store keeps it as bytes). Every marker is ASCII, and in UTF-8 an ASCII byte is only
 * ever that ASCII character (bytes of multi-byte characters are ≥ 0x80): a marker is in the bytes
 * exactly when it is in the decoded text, so this is false only when KEY_PATTERN cannot match the
 * text `b` decodes to (valid UTF-8; the caller decodes anything else and uses redactText).
 * `Buffer.indexOf` of one byte runs at memchr speed, as String#indexOf does for mayHoldKey.
 */
export function mayHoldKeyBytes(bytes: Uint8Array): boolean {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = b.indexOf(DASH); i >= 0; i = b.indexOf(DASH, i + 1)) {
    if (bytesAt(b, i - 2, 'sk') || bytesAt(b, i - 3, 'xai') || bytesAt(b, i - 4, 'xox')) return true;
  }
  for (let i = b.indexOf(UNDERSCORE); i >= 0; i = b.indexOf(UNDERSCORE, i + 1)) {
    if (b[i - 1] === LOWER_K) {
      const c = b[i - 2];
      if (c === LOWER_S || c === LOWER_R || c === LOWER_P) return true;
    } else if (bytesAt(b, i - 2, 'hf') || bytesAt(b, i - 3, 'gh')) {
      return true;
    } else if (bytesAt(b, i - 6, 'github') && bytesAt(b, i + 1, 'pat_')) {
      return true;
    }
  }
  for (let i = b.indexOf(UPPER_A); i >= 0; i = b.indexOf(UPPER_A, i + 1)) {
    const c = b[i + 1];
    if (c === UPPER_I ? bytesAt(b, i + 2, 'za') : (c === UPPER_K || c === UPPER_S) && bytesAt(b, i + 2, 'IA')) return true;
  }
  for (let i = b.indexOf(UPPER_J); i >= 0; i = b.indexOf(UPPER_J, i + 1)) {
    if (bytesAt(b, i - 2, 'ey')) return true;
  }
  // One search for both spellings of the bearer prefix: half the cost of two.
  for (let i = b.indexOf('earer'); i >= 0; i = b.indexOf('earer', i + 1)) {
    if (b[i - 1] === UPPER_B || b[i - 1] === LOWER_B) return true;
  }
  return false;
}

/** Replace key-shaped strings in free text. Fast path: most text has none of the markers. */
export function redactText(text: string): string {
  if (!mayHoldKey(text)) return text;
  KEY_PATTERN.lastIndex = 0;
  if (!KEY_PATTERN.test(text)) return text;
  KEY_PATTERN.lastIndex = 0;
  return text.replace(KEY_PATTERN, replaceKey);
}

export function redactHeaders(headers: HeaderList): HeaderList {
  return headers.map(([name, value]): [string, string] => {
    if (SECRET_HEADERS.has(name)) return [name, REDACTED];
    return [name, redactText(value)];
  });
}

/** Redact secret query parameters of a request target (path?query). */
export function redactTarget(target: string): string {
  const q = target.indexOf('?');
  if (q < 0) return redactText(target);
  const path = target.slice(0, q);
  const parts = target
    .slice(q + 1)
    .split('&')
    .map((kv) => {
      const eq = kv.indexOf('=');
      const name = (eq < 0 ? kv : kv.slice(0, eq)).toLowerCase();
      if (eq >= 0 && SECRET_QUERY_PARAMS.has(safeDecode(name))) return `${kv.slice(0, eq)}=${REDACTED}`;
      return redactText(kv);
    });
  return `${redactText(path)}?${parts.join('&')}`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The credential a request carries, for fingerprinting: bearer token, x-api-key, api-key,
 * x-goog-api-key, or Gemini's `key=` query parameter. */
export function findApiKey(headers: HeaderList, target: string): string | null {
  for (const [name, value] of headers) {
    if (name === 'authorization' || name === 'proxy-authorization') {
      const m = /^\s*(?:Bearer|Basic|Token)\s+(.+?)\s*$/i.exec(value);
      // AWS SigV4 carries no key, only a signature over it: its access key id is the identity.
      const aws = /Credential=([A-Z0-9]{16,})\//.exec(value);
      if (aws) return aws[1]!;
      if (m) return m[1]!;
      if (value.trim()) return value.trim();
    }
    if (name === 'x-api-key' || name === 'api-key' || name === 'x-goog-api-key') {
      if (value.trim()) return value.trim();
    }
  }
  const q = target.indexOf('?');
  if (q >= 0) {
    for (const kv of target.slice(q + 1).split('&')) {
      const eq = kv.indexOf('=');
      if (eq > 0 && kv.slice(0, eq).toLowerCase() === 'key') return safeDecode(kv.slice(eq + 1));
    }
  }
  return null;
}

/**
 * A short salted hash of a key: stable for attribution, useless for recovering the key (API keys
 * carry far more entropy than 48 bits of hash could leak). The salt is configurable so that two
 * organisations' fingerprints cannot be joined.
 */
export function fingerprintKey(key: string, salt: string): string {
  // One-shot hash of the same bytes as update(salt), update('\0'), update(key): UTF-8 of a
  // concatenation is the concatenation of the UTF-8s. Faster than a Hash object per call.
  return `fp_${hash('sha256', `${salt}\0${key}`, 'hex').slice(0, 12)}`;
}

/** Default salt; override with LLMTAP_FINGERPRINT_SALT or configuration. */
export const DEFAULT_FINGERPRINT_SALT = 'llmtap-fingerprint-v1';
