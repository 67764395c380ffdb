import { describe, expect, it } from 'vitest';
import { cookieValue, isLoopbackAddress, isLoopbackHostHeader, presentedToken, tokenCookie, tokenMatches } from './security.js';

describe('isLoopbackAddress', () => {
  it('knows loopback from the rest', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST', 'app.localhost']) {
      expect(isLoopbackAddress(h), h).toBe(true);
    }
    for (const h of ['0.0.0.0', '::', '192.168.1.2', '10.0.0.1', 'example.com', '128.0.0.1', '::ffff:10.0.0.1', 'localhost.example.com', '']) {
      expect(isLoopbackAddress(h), h).toBe(false);
    }
  });
});

describe('isLoopbackHostHeader', () => {
  it('accepts loopback names with or without a port and refuses other names (DNS rebinding)', () => {
    for (const h of ['localhost:3000', '127.0.0.1:3000', '127.0.0.1', '[::1]:3000', '[::1]', 'localhost']) {
      expect(isLoopbackHostHeader(h), h).toBe(true);
    }
    for (const h of [undefined, '', 'evil.example:3000', 'evil.example', '192.168.1.5:3000', '[::2]:80', '[::1']) {
      expect(isLoopbackHostHeader(h), String(h)).toBe(false);
    }
  });
});

describe('tokens', () => {
  it('matches only the exact token', () => {
    expect(tokenMatches('s3cret', 's3cret')).toBe(true);
    expect(tokenMatches('s3cre', 's3cret')).toBe(false);
    expect(tokenMatches('s3cret ', 's3cret')).toBe(false);
    expect(tokenMatches('', 's3cret')).toBe(false);
    expect(tokenMatches(null, 's3cret')).toBe(false);
  });
  it('reads a Bearer header first, then the cookie', () => {
    expect(presentedToken('Bearer abc', 'llmtap_token=def')).toBe('abc');
    expect(presentedToken('bearer   abc', undefined)).toBe('abc');
    expect(presentedToken('Basic abc', 'other=1; llmtap_token=def')).toBe('def');
    expect(presentedToken(undefined, 'a=b')).toBeNull();
    expect(presentedToken(undefined, undefined)).toBeNull();
  });
  it('round-trips the cookie it sets, including characters that need encoding', () => {
    const token = 'a b;c=d%';
    const set = tokenCookie(token, false);
    expect(set).toContain('HttpOnly');
    expect(set).toContain('SameSite=Strict');
    const cookieHeader = set.split(';')[0]!;
    expect(presentedToken(undefined, `x=1; ${cookieHeader}`)).toBe(token);
    expect(cookieValue('a=1; b="2"', 'b')).toBe('2');
  });
});
