import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HeaderList } from '../types.js';
import { isPersistent, joined, requestFraming, responseFraming } from './framing.js';
import type { RequestHead, ResponseHead } from './head.js';

/** RFC 9112 §9.3 read straight off the token list: the oracle for isPersistent's shortcuts. */
function referencePersistent(version: string, headers: HeaderList): boolean {
  const values = headers.filter(([n]) => n === 'connection').map(([, v]) => v);
  const tokens = values.length === 0 ? [] : values.join(',').toLowerCase().split(',').map((t) => t.trim());
  if (tokens.includes('close')) return false;
  if (version === 'HTTP/1.0') return tokens.includes('keep-alive');
  return true;
}

const fieldValue = fc.constantFrom('keep-alive', 'close', 'Keep-Alive', 'CLOSE', ' close ', 'upgrade', 'keep-alive, close', 'chunked', 'gzip, chunked', 'chunked, gzip', 'Chunked', '');
const headers: fc.Arbitrary<HeaderList> = fc.array(
  fc.tuple(fc.constantFrom('connection', 'transfer-encoding', 'host', 'content-length'), fieldValue),
  { maxLength: 4 },
);

function request(h: HeaderList): RequestHead {
  return { kind: 'request', method: 'POST', target: '/', path: '/', query: '', version: 'HTTP/1.1', headers: h };
}

describe('HTTP/1 framing', () => {
  it('joins every value of a field in order', () => {
    expect(joined([['a', '1'], ['b', '2'], ['a', '3']], 'a')).toBe('1,3');
    expect(joined([['a', '']], 'a')).toBe('');
    expect(joined([['b', '2']], 'a')).toBeNull();
  });

  it('keeps a connection open exactly as the Connection token list says', () => {
    fc.assert(
      fc.property(fc.constantFrom('HTTP/1.0', 'HTTP/1.1'), headers, (version, h) => {
        expect(isPersistent(version, h)).toBe(referencePersistent(version, h));
      }),
      { numRuns: 2000 },
    );
    expect(isPersistent('HTTP/1.0', [])).toBe(false);
    expect(isPersistent('HTTP/1.0', [['connection', 'keep-alive']])).toBe(true);
    expect(isPersistent('HTTP/1.1', [['connection', 'keep-alive'], ['connection', 'close']])).toBe(false);
  });

  it('frames a body as chunked only when chunked is the last transfer coding', () => {
    const kind = (te: string): string => requestFraming(request([['transfer-encoding', te]])).framing.kind;
    expect(['chunked', 'gzip, chunked', 'Chunked', 'chunked;x=1'].map(kind)).toEqual(['chunked', 'chunked', 'chunked', 'chunked']);
    expect(['chunked, gzip', 'gzip'].map(kind)).toEqual(['close', 'close']);
    const res: ResponseHead = { kind: 'response', status: 200, reason: 'OK', version: 'HTTP/1.1', headers: [['transfer-encoding', 'chunked']] };
    expect(responseFraming(res, 'POST').framing.kind).toBe('chunked');
  });
});
