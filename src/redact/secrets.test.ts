import { describe, expect, it } from 'vitest';
import { findApiKey, fingerprintKey, REDACTED, redactHeaders, redactTarget, redactText } from './secrets.js';

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
});
