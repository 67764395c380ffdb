import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StartScanner, type ScanRole } from './resync.js';

/** Feeds pieces; returns the bytes from the found start on (rest of the stream appended). */
function scanAll(pieces: Buffer[], role: ScanRole, atLineStart = false): string | null {
  const s = new StartScanner();
  s.reset(atLineStart);
  for (let i = 0; i < pieces.length; i++) {
    const found = s.scan(pieces[i]!, role);
    if (found) return Buffer.concat([found, ...pieces.slice(i + 1)]).toString('latin1');
  }
  return null;
}

function splitEvery(text: string, at: number[]): Buffer[] {
  const b = Buffer.from(text, 'latin1');
  const out: Buffer[] = [];
  let prev = 0;
  for (const a of [...at, b.length]) {
    out.push(b.subarray(prev, a));
    prev = a;
  }
  return out;
}

describe('StartScanner', () => {
  const cases: [ScanRole, string, string | null][] = [
    ['response', 'xx\r\nbody HTTP/1.1 200 no\r\nHTTP/1.1 200 OK\r\n', 'HTTP/1.1 200 OK\r\n'],
    ['response', 'junk HTTP/1.1 200 OK\r\n', null],
    ['request', '"}\r\nsome text HTTP/1.1 x\r\nPOST /v1/x?y HTTP/1.1\r\nHost: h\r\n', 'POST /v1/x?y HTTP/1.1\r\nHost: h\r\n'],
    ['request', 'a\nGET / HTTP/1.1\n', 'GET / HTTP/1.1\n'],
    ['request', 'a\nGET  / HTTP/1.1\r\n', null],
    ['either', 'zz\nHTTP/1.0 404 x\n', 'HTTP/1.0 404 x\n'],
    ['either', 'zz\nGET /q HTTP/1.1\r\n', 'GET /q HTTP/1.1\r\n'],
    // Mid-line, right after a JSON body that ends without a newline (keep-alive, Content-Length).
    ['request', '{"messages":[{"role":"user"}],"stream":true}POST /v1/messages HTTP/1.1\r\nHost: h\r\n', 'POST /v1/messages HTTP/1.1\r\nHost: h\r\n'],
    ['request', 'x"]GET http://h/v1/models HTTP/1.1\n', 'GET http://h/v1/models HTTP/1.1\n'],
    ['response', '"usage":{"output_tokens":5}}HTTP/1.1 200 OK\r\nA: b\r\n', 'HTTP/1.1 200 OK\r\nA: b\r\n'],
    ['response', '{"e":1}HTTP/1.1 429\r\n', 'HTTP/1.1 429\r\n'],
    ['either', '[1,2]HTTP/1.0 503 Service Unavailable\n', 'HTTP/1.0 503 Service Unavailable\n'],
    // Mid-line without a JSON closer before it, an unknown method, a target that is no path, a
    // start line whose CR LF is escaped (inside a JSON string), a reason phrase past the cap.
    ['request', 'the text POST /v1/x HTTP/1.1\r\n', null],
    ['request', '{}FETCH /v1/x HTTP/1.1\r\n', null],
    ['request', '{}POST v1/x HTTP/1.1\r\n', null],
    ['request', '{"t":"}POST /v1/x HTTP/1.1\\r\\nHost: h"}', null],
    ['response', '{"t":"}HTTP/1.1 200 OK\\r\\n"}', null],
    ['response', `{}HTTP/1.1 200 ${'x'.repeat(200)}\r\n`, null],
    ['response', '{}HTTP/1.1 600 OK\r\n', null],
  ];

  for (const [role, text, want] of cases) {
    it(`${role}: ${JSON.stringify(text)} at every split and byte by byte`, () => {
      expect(scanAll([Buffer.from(text, 'latin1')], role)).toBe(want);
      for (let k = 0; k <= text.length; k++) expect(scanAll(splitEvery(text, [k]), role), `split ${k}`).toBe(want);
      expect(scanAll(splitEvery(text, Array.from({ length: text.length - 1 }, (_, i) => i + 1)), role)).toBe(want);
    });
  }

  it('a mid-line start after a long body line is found when its pieces arrive one by one', () => {
    const body = `{"input":"${'a'.repeat(3 * 8192)}"}`;
    for (const [role, next] of [
      ['request', 'POST /v1/responses HTTP/1.1\r\nHost: h\r\n'],
      ['response', 'HTTP/1.1 200 OK\r\nA: b\r\n'],
    ] as const) {
      const text = body + next;
      for (const size of [1, 7, 1448]) {
        const cuts = Array.from({ length: Math.ceil(text.length / size) - 1 }, (_, k) => (k + 1) * size);
        expect(scanAll(splitEvery(text, cuts), role), `${role} in ${size}-byte pieces`).toBe(next);
      }
    }
  });

  it('after a hole the data may begin with a message', () => {
    expect(scanAll([Buffer.from('HTTP/1.1 200 OK\r\n')], 'response', true)).toBe('HTTP/1.1 200 OK\r\n');
    expect(scanAll([Buffer.from('HTTP/1.1 200 OK\r\n')], 'response', false)).toBeNull();
  });

  it('never throws and stays bounded on random input', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 10 }), fc.constantFrom<ScanRole>('request', 'response', 'either'), (pieces, role) => {
        const s = new StartScanner();
        for (const p of pieces) s.scan(Buffer.from(p), role);
      }),
      { numRuns: 300 },
    );
  });

  it('a long line full of " HTTP/1." candidates is rejected (and scanned in linear time: a quadratic scan would hit the test timeout)', () => {
    const evil = Buffer.from('A'.repeat(10) + ' HTTP/1.'.repeat(200_000));
    expect(new StartScanner().scan(evil, 'request')).toBeNull();
  });
});
