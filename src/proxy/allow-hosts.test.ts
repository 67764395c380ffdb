import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { admitsAnyHost, decideAllowList, globMatch, hostAllowed, MAX_ALLOW_HOSTS, parseHostPattern, parseHostPatterns, type HostPattern } from './allow-hosts.js';

function patterns(...texts: string[]): HostPattern[] {
  const p = parseHostPatterns(texts);
  if (typeof p === 'string') throw new Error(p);
  return p;
}
const at = (hostname: string, port = 443) => ({ hostname, port });

describe('host patterns', () => {
  test('exact names, globs, ports and IPv6; case and a trailing dot do not matter', () => {
    const list = patterns('api.openai.com', '*.openai.azure.com', 'localhost:11434', '[::1]:8000', 'API.Anthropic.com');
    expect(hostAllowed(list, at('api.openai.com'))).toBe(true);
    expect(hostAllowed(list, at('API.OPENAI.COM.'))).toBe(true);
    expect(hostAllowed(list, at('api.anthropic.com'))).toBe(true);
    expect(hostAllowed(list, at('myres.openai.azure.com'))).toBe(true);
    expect(hostAllowed(list, at('a.b.openai.azure.com'))).toBe(true);
    expect(hostAllowed(list, at('localhost', 11434))).toBe(true);
    expect(hostAllowed(list, at('::1', 8000))).toBe(true);
    // Not admitted: the bare parent of a `*.` glob, a look-alike suffix, another port, other hosts.
    expect(hostAllowed(list, at('openai.azure.com'))).toBe(false);
    expect(hostAllowed(list, at('evil-openai.azure.com.attacker.test'))).toBe(false);
    expect(hostAllowed(list, at('api.openai.com.attacker.test'))).toBe(false);
    expect(hostAllowed(list, at('localhost', 22))).toBe(false);
    expect(hostAllowed(list, at('::1', 8001))).toBe(false);
    expect(hostAllowed(list, at('169.254.169.254', 80))).toBe(false);
    expect(hostAllowed([], at('api.openai.com'))).toBe(false);
  });

  test("'*' admits every host and port", () => {
    const any = patterns('*');
    expect(admitsAnyHost(any)).toBe(true);
    expect(admitsAnyHost(patterns('*:443', '*.com'))).toBe(false);
    for (const h of ['a', '10.0.0.1', 'x.y.z', '::1']) expect(hostAllowed(any, at(h, 1))).toBe(true);
  });

  test('rejects what is not a host pattern, saying why', () => {
    for (const bad of ['', 'http://api.openai.com', 'api.openai.com/v1', 'a b', 'host:0', 'host:70000', 'host:', '[zz::1]', '[::1', 'user@host', 'x'.repeat(254)]) {
      expect(typeof parseHostPattern(bad), bad).toBe('string');
    }
    expect(parseHostPatterns(Array.from({ length: MAX_ALLOW_HOSTS + 1 }, () => 'a'))).toMatch(/at most/);
  });

  test('glob matching agrees with a regular expression built from the glob, and stays fast on many stars', () => {
    const alphabet = fc.constantFrom('a', 'b', '.', '-');
    fc.assert(
      fc.property(fc.array(fc.oneof(alphabet, fc.constant('*')), { maxLength: 8 }), fc.array(alphabet, { maxLength: 12 }), (g, n) => {
        const glob = g.join('');
        const name = n.join('');
        const re = new RegExp(`^${glob.split('*').map((s) => s.replace(/[.-]/g, '\\$&')).join('.*')}$`);
        expect(globMatch(glob, name)).toBe(re.test(name));
      }),
      { numRuns: 500 },
    );
    // A pathological pattern: linear-time per step, answered at once (a regex could backtrack for ages).
    expect(globMatch(`${'*a'.repeat(100)}b`, 'a'.repeat(253))).toBe(false);
  });
});

describe('decideAllowList', () => {
  test('on loopback without patterns: any host, as before the flag', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) expect(decideAllowList([], host), host).toEqual({ ok: true, allowHosts: null });
  });

  test('off loopback without patterns: refused, naming the flag and the opt-in', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.5', 'myhost.lan']) expect(decideAllowList([], host).ok, host).toBe(false);
    const d = decideAllowList([], '0.0.0.0');
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.error).toContain('--listen 0.0.0.0 is not loopback');
      expect(d.error).toContain('--allow-host');
      expect(d.error).toContain("--allow-host '*'");
      expect(d.error).toContain('open proxy');
    }
  });

  test('with patterns, on loopback or not: those patterns; a bad one is an error naming the flag', () => {
    for (const host of ['127.0.0.1', '0.0.0.0']) {
      const d = decideAllowList(['*.openai.azure.com'], host);
      expect(d.ok && d.allowHosts?.map((p) => p.text)).toEqual(['*.openai.azure.com']);
    }
    expect(decideAllowList(['*'], '0.0.0.0')).toMatchObject({ ok: true });
    expect(decideAllowList(['https://x'], '0.0.0.0')).toMatchObject({ ok: false, error: expect.stringMatching(/^--allow-host: /) });
  });
});
