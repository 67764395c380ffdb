import { describe, expect, it } from 'vitest';
import { findHeadEnd, parseHead, splitTarget, startLineVerdict } from './head.js';

describe('head parsing', () => {
  it('finds the end of a head with CRLF or bare LF line ends', () => {
    expect(findHeadEnd(Buffer.from('GET / HTTP/1.1\r\nA: b\r\n\r\nBODY'), 0)).toBe(24);
    expect(findHeadEnd(Buffer.from('GET / HTTP/1.1\nA: b\n\nBODY'), 0)).toBe(21);
    expect(findHeadEnd(Buffer.from('GET / HTTP/1.1\r\nA: b\r\n'), 0)).toBe(-1);
  });

  it('parses request and status lines, lower-cases names, trims values, keeps NBSP', () => {
    const r = parseHead('POST http://proxy.local/v1/x?a=1 HTTP/1.1\r\nHost:  h \r\nX-Nb: v\xa0\r\nBad line\r\n\r\n');
    expect(r?.head).toEqual({
      kind: 'request',
      method: 'POST',
      target: 'http://proxy.local/v1/x?a=1',
      path: '/v1/x',
      query: 'a=1',
      version: 'HTTP/1.1',
      headers: [
        ['host', 'h'],
        ['x-nb', 'v\xa0'],
      ],
    });
    expect(r?.badLines).toBe(1);
    expect(parseHead('HTTP/1.1 404\r\n\r\n')?.head).toMatchObject({ kind: 'response', status: 404, reason: '' });
    expect(parseHead('HTTP/1.0 200 OK fine\r\n\r\n')?.head).toMatchObject({ status: 200, reason: 'OK fine' });
    expect(parseHead('HTTP/2 200\r\n\r\n')).toBeNull();
    expect(parseHead('GET / HTTP/3.0\r\n\r\n')).toBeNull();
    expect(parseHead('G@T / HTTP/1.1\r\n\r\n')).toBeNull();
    expect(parseHead('PRI * HTTP/2.0\r\n\r\n')?.head).toEqual({ kind: 'h2-preface' });
  });

  it('splits targets into path and query', () => {
    expect(splitTarget('/v1/messages?beta=true')).toEqual({ path: '/v1/messages', query: 'beta=true' });
    expect(splitTarget('/a')).toEqual({ path: '/a', query: '' });
    expect(splitTarget('https://h:443?x')).toEqual({ path: '/', query: 'x' });
    expect(splitTarget('*')).toEqual({ path: '*', query: '' });
    expect(splitTarget('host:443')).toEqual({ path: 'host:443', query: '' });
  });

  it('judges the first bytes of a message early', () => {
    const v = (s: string) => startLineVerdict(Buffer.from(s, 'latin1'), 0, s.length);
    expect(['GET ', 'HTTP/', 'HT', 'POS', 'M-SEARCH '].map(v)).toEqual(['ok', 'ok', 'more', 'more', 'ok']);
    expect(['\x16\x03', ' GET', '{"a"', 'A'.repeat(40)].map(v)).toEqual(['bad', 'bad', 'bad', 'bad']);
  });
});
