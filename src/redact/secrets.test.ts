import { describe, expect, it } from 'vitest';
import { findApiKey, fingerprintKey, KEY_PATTERN_SOURCE, mayHoldKeyBytes, REDACTED, redactHeaders, redactTarget, redactText } from './secrets.js';

describe('redaction', () => {
  it('redacts credential headers whatever their value', () => {
    const out = redactHeaders([
      ['authorization', 'Bearer sk-proj-abcdefghijklmnopqrstuvwxyz'],
      ['x-api-key', 'anything'],
      ['cookie', 'session=1'],
      ['content-type', 'application/json'],
    ]);
    expect(out).toEqual([
      ['authorization', REDACTED],
      ['x-api-key', REDACTED],
      ['cookie', REDACTED],
      ['content-type', 'application/json'],
    ]);
  });

  it('redacts key query parameters but keeps the rest of the target', () => {
    expect(redactTarget('/v1beta/models/gemini-2.0-flash:generateContent?alt=sse&key=AIzaSyDUMMY')).toBe(
      `/v1beta/models/gemini-2.0-flash:generateContent?alt=sse&key=${REDACTED}`,
    );
    expect(redactTarget('/v1/messages?beta=true')).toBe('/v1/messages?beta=true');
  });

  it('finds key-shaped strings in text', () => {
    const samples = [
      'sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789',
      'sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz',
      'AIzaSyA1234567890abcdefghijklmnopqrstu',
      'AKIAIOSFODNN7EXAMPLE',
      'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    ];
    for (const s of samples) {
      const out = redactText(`my key is ${s}, ok`);
      expect(out).not.toContain(s);
      expect(out).toContain(REDACTED);
    }
    expect(redactText('Authorization: Bearer abcdefghijklmnop123456')).not.toContain('abcdefghijklmnop123456');
    expect(redactText('a normal sentence with a task- and sk-short')).toBe('a normal sentence with a task- and sk-short');
  });

  it('fingerprints the key without containing it', () => {
    const key = findApiKey([['authorization', 'Bearer sk-test-123456789']], '/v1/chat/completions');
    expect(key).toBe('sk-test-123456789');
    const fp = fingerprintKey(key!, 'salt');
    expect(fp).toMatch(/^fp_[0-9a-f]{12}$/);
    expect(fp).toBe(fingerprintKey('sk-test-123456789', 'salt'));
    expect(fp).not.toBe(fingerprintKey('sk-test-123456789', 'other-salt'));
    expect(findApiKey([], '/v1beta/models/x:generateContent?key=AIzaX')).toBe('AIzaX');
    expect(findApiKey([['x-api-key', 'sk-ant-1']], '/v1/messages')).toBe('sk-ant-1');
  });

  /** One key of each KEY_PATTERN alternative (redactText looks for a marker of each before it
   * runs the pattern: a marker missed would let that kind of key through). */
  const ONE_OF_EACH = [
    'sk-abcdefghijklmnop1234',
    'sk-ant-api03-abcdefghijklmnop',
    'sk-proj-abcdefghijklmnop',
    'sk-svcacct-abcdefghijklmnop',
    'sk-admin-abcdefghijklmnop',
    'AIzaSyA1234567890abcdefghijklmnopqrstu',
    'AKIAIOSFODNN7EXAMPLE',
    'ASIAIOSFODNN7EXAMPLE',
    'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
    'gho_abcdefghijklmnopqrstuvwxyz0123456789',
    'ghu_abcdefghijklmnopqrstuvwxyz0123456789',
    'ghs_abcdefghijklmnopqrstuvwxyz0123456789',
    'ghr_abcdefghijklmnopqrstuvwxyz0123456789',
    'github_pat_abcdefghijklmnopqrstuvwxyz0123',
    'xoxb-1234567890-abcdef',
    'xoxa-1234567890-abcdef',
    'xoxp-1234567890-abcdef',
    'xoxo-1234567890-abcdef',
    'xoxs-1234567890-abcdef',
    'xoxr-1234567890-abcdef',
    'hf_abcdefghijklmnopqrstuvwxyz0123456',
    'gsk_abcdefghijklmnopqrstuvwxyz0123456',
    'xai-abcdefghijklmnopqrstuvwxyz0123456',
    'rk_live_abcdefghijklmnop',
    'sk_live_abcdefghijklmnop',
    'pk_live_abcdefghijklmnop',
    'rk_test_abcdefghijklmnop',
    'sk_test_abcdefghijklmnop',
    'pk_test_abcdefghijklmnop',
    'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N',
    'Bearer abcdefghijklmnop123456',
    'bearer abcdefghijklmnop123456',
    'Bearer\tabcdefghijklmnop123456==',
    'bearer\nabcdefghijklmnop.~+/-123',
  ];

  it('redacts a key of every kind in any context, exactly as the key pattern alone does', () => {
    const oracle = new RegExp(KEY_PATTERN_SOURCE, 'g');
    const unfiltered = (t: string): string => t.replace(oracle, (_m, bearer: string | undefined) => (bearer === undefined ? REDACTED : bearer + REDACTED));
    const contexts = [(k: string) => k, (k: string) => `{"text":"${k}"}`, (k: string) => `x ${k}\n`, (k: string) => `(-${k}) `, (k: string) => `A J - _ ${k}`];
    for (const key of ONE_OF_EACH) {
      for (const wrap of contexts) {
        const text = wrap(key);
        const out = redactText(text);
        expect(out, text).toContain(REDACTED);
        expect(out, text).toBe(unfiltered(text));
      }
    }
  });

  it('agrees with the key pattern alone on text built from near-misses of every marker', () => {
    const oracle = new RegExp(KEY_PATTERN_SOURCE, 'g');
    const unfiltered = (t: string): string => t.replace(oracle, (_m, bearer: string | undefined) => (bearer === undefined ? REDACTED : bearer + REDACTED));
    // Key prefixes whole and cut short, tails long and short, separators: glued at random, most
    // results hold no key and some do.
    const pieces = ['sk-', 'sk_', 'sk', 'k-', 'k_', 'xai-', 'xai', 'xoxb-', 'xox', 'ghp_', 'gh', 'hp_', 'github_', 'github_pat_',
      'hf_', 'f_', 'gsk_', 'rk_live_', 'pk_test_', 'live_', 'AIza', 'Iza', 'AKIA', 'ASIA', 'AKI', 'SIA', 'eyJ', 'ey', 'J', '.eyJ',
      'Bearer ', 'bearer\t', 'earer ', 'Bearer', 'abcdefgh', 'abcdefghijklmnopqrstuvwxyz0123', 'ABCDEFGHIJKLMNOP', '0123456789',
      '-', '_', ' ', '\n', '"', '.', '=', 'é'];
    // A seeded generator: the same strings every run (an honest failure reproduces).
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    let keys = 0;
    for (let i = 0; i < 20_000; i++) {
      let text = '';
      for (let j = 0, n = 1 + rand(8); j < n; j++) text += pieces[rand(pieces.length)];
      const expected = unfiltered(text);
      if (expected !== text) keys++;
      expect(redactText(text), text).toBe(expected);
    }
    // The generator must reach keys, or the comparison above proves little.
    expect(keys).toBeGreaterThan(500);
    expect(keys).toBeLessThan(19_000);
  });

  it('checks bytes as it checks text: every text the key pattern changes has its UTF-8 bytes flagged', () => {
    // Bodies are checked as bytes (mayHoldKeyBytes), and only flagged ones are decoded and
    // redacted: a key whose bytes go unflagged would be stored.
    const oracle = new RegExp(KEY_PATTERN_SOURCE, 'g');
    const pieces = ['sk-', 'sk_', 'sk', 'k-', 'k_', 'xai-', 'xai', 'xoxb-', 'xox', 'ghp_', 'gh', 'hp_', 'github_', 'github_pat_',
      'hf_', 'f_', 'gsk_', 'rk_live_', 'pk_test_', 'live_', 'AIza', 'Iza', 'AKIA', 'ASIA', 'AKI', 'SIA', 'eyJ', 'ey', 'J', '.eyJ',
      'Bearer ', 'bearer\t', 'earer ', 'Bearer', 'abcdefgh', 'abcdefghijklmnopqrstuvwxyz0123', 'ABCDEFGHIJKLMNOP', '0123456789',
      '-', '_', ' ', '\n', '"', '.', '=', 'é', '🦆', 'ÿ'];
    let seed = 54321;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    let keys = 0;
    let clean = 0;
    for (let i = 0; i < 20_000; i++) {
      let text = '';
      for (let j = 0, n = 1 + rand(8); j < n; j++) text += pieces[rand(pieces.length)];
      oracle.lastIndex = 0;
      if (oracle.test(text)) {
        keys++;
        expect(mayHoldKeyBytes(Buffer.from(text, 'utf8')), text).toBe(true);
      } else if (!mayHoldKeyBytes(Buffer.from(text, 'utf8'))) {
        clean++;
      }
    }
    expect(keys).toBeGreaterThan(500);
    // And it is a filter: most texts without a key are let through unscanned.
    expect(clean).toBeGreaterThan(1_000);
    for (const key of ONE_OF_EACH) expect(mayHoldKeyBytes(new Uint8Array(Buffer.from(`é ${key} é`)))).toBe(true);
    expect(mayHoldKeyBytes(Buffer.from('a block-size, "A JSON key", é hearers, ghost mcp__github__create_issue'))).toBe(false);
  });

  it('leaves text without a key as it is, the very same string', () => {
    const text = 'a task_id, a block-size, "A JSON key", hearers, ghost_ ASIAN sky-high mcp__github__create_issue';
    expect(redactText(text)).toBe(text);
  });
});
