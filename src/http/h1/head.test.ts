import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HeaderList } from '../types.js';
import { findHeadEnd, parseFields, parseHead, splitTarget, startLineVerdict } from './head.js';

/** The field parsing parseFields replaced (split into lines, then each line): the oracle. */
function referenceFields(text: string, fromLine: number): { headers: HeaderList; badLines: number } {
  const ows = (c: string | undefined): boolean => c === ' ' || c === '\t';
  const trimOws = (v: string): string => {
    let a = 0;
    let b = v.length;
    while (a < b && ows(v[a])) a++;
    while (b > a && ows(v[b - 1])) b--;
    return v.slice(a, b);
  };
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const headers: HeaderList = [];
  let badLines = 0;
  for (const line of lines.slice(fromLine)) {
    if (line.length === 0) continue;
    if (line[0] === ' ' || line[0] === '\t') {
      const last = headers[headers.length - 1];
      if (!last) badLines++;
      else {
        const more = trimOws(line);
        last[1] = last[1].length === 0 ? more : more.length === 0 ? last[1] : `${last[1]} ${more}`;
      }
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) badLines++;
    else headers.push([trimOws(line.slice(0, colon)).toLowerCase(), trimOws(line.slice(colon + 1))]);
  }
  return { headers, badLines };
}

/** Head-like text: lines of field-ish pieces with every separator the parser treats specially. */
const headText = fc
  .array(
    fc.array(fc.constantFrom('Ab', 'x-Y', ':', ' ', '\t', '\r', '\xa0', '\xc9', '@', 'v 1', '', '  \t '), { maxLength: 8 }).map((p) => p.join('')),
    { maxLength: 10 },
  )
  .chain((lines) => fc.array(fc.constantFrom('\n', '\r\n'), { minLength: lines.length, maxLength: lines.length }).map((ends) => lines.map((l, i) => l + ends[i]).join('')))
  .chain((body) => fc.constantFrom('', '\r\n', '\n', '\r').map((tail) => body + tail));

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

  it('parses fields as the line-by-line parser did, whatever the lines hold', () => {
    fc.assert(
      fc.property(headText, fc.nat({ max: 3 }), (text, skip) => {
        // From a line start (as after a start line) and from offset 0 (trailers).
        let from = 0;
        for (let i = 0; i < skip && from < text.length; i++) from = text.indexOf('\n', from) + 1 || text.length;
        const lineNo = text.slice(0, from).split('\n').length - 1;
        expect(parseFields(text, from)).toEqual(referenceFields(text, lineNo));
        expect(parseFields(text, 0)).toEqual(referenceFields(text, 0));
      }),
      { numRuns: 3000 },
    );
    for (const start of ['GET /a HTTP/1.1', 'HTTP/1.1 200 OK', 'HTTP/1.1 200 OK\r', 'HTTP/1.0 404']) {
      fc.assert(
        fc.property(headText, (fields) => {
          const r = parseHead(`${start}\n${fields}`);
          expect(r).not.toBeNull();
          expect(r!.badLines).toBe(referenceFields(fields, 0).badLines);
          expect((r!.head as { headers: HeaderList }).headers).toEqual(referenceFields(fields, 0).headers);
        }),
        { numRuns: 500 },
      );
    }
  });

  it('parses long runs of whitespace in a field as the line parser did (and in linear time)', () => {
    // A regexp whose quantifiers trade the same spaces backtracks quadratically here: 2,000
    // spaces took it 12 s. Each of these is one line of one field.
    for (const value of [`a${' '.repeat(20_000)}b`, ` \t${' '.repeat(20_000)}`, `a${' '.repeat(20_000)}\rZ`, `${'\t '.repeat(10_000)}x`]) {
      const text = `X-Long:${value}\r\nNext: 1\r\n\r\n`;
      expect(parseFields(text, 0)).toEqual(referenceFields(text, 0));
    }
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
