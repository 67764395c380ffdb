import { describe, expect, test } from 'vitest';
import { downstreamResponseHeaders, isChunked, upstreamRequestHeaders } from './headers.js';

/** Node's rawHeaders shape: [name, value, name, value, …]. */
const raw = (...pairs: [string, string][]): string[] => pairs.flat();

describe('request headers forwarded upstream (RFC 9110 §7.6.1)', () => {
  test('hop-by-hop fields and those Connection names are dropped; Host is replaced and first', () => {
    const out = upstreamRequestHeaders(
      raw(
        ['host', '127.0.0.1:8080'],
        ['Connection', 'keep-alive, X-Hop'],
        ['X-Hop', 'secret-to-this-hop'],
        ['Keep-Alive', 'timeout=5'],
        ['Proxy-Connection', 'keep-alive'],
        ['TE', 'trailers'],
        ['Transfer-Encoding', 'chunked'],
        ['Upgrade', 'h2c'],
        ['Proxy-Authorization', 'Basic cHJveHk6cHc='],
        ['Content-Type', 'application/json'],
      ),
      'api.openai.com',
    );
    expect(out).toEqual([
      ['Host', 'api.openai.com'],
      ['Content-Type', 'application/json'],
    ]);
  });

  test('credentials, Accept-Encoding, Content-Length and repeats pass unchanged, in order and case', () => {
    const fields: [string, string][] = [
      ['Authorization', 'Bearer sk-test-0123456789abcdefghij'],
      ['x-api-key', 'sk-ant-test-0123456789abcdefghij'],
      ['accept-encoding', 'gzip, deflate, br'],
      ['Content-Length', '42'],
      ['X-Stainless-Retry-Count', '0'],
      ['x-dup', 'a'],
      ['x-dup', 'b'],
    ];
    expect(upstreamRequestHeaders(raw(['Host', 'x'], ...fields), 'up:1')).toEqual([['Host', 'up:1'], ...fields]);
  });
});

describe('response headers sent back to the client', () => {
  test('Content-Encoding and Content-Length pass (the body is relayed as the upstream sent it); framing does not', () => {
    expect(
      downstreamResponseHeaders(
        raw(['Content-Type', 'text/event-stream'], ['Content-Encoding', 'gzip'], ['Transfer-Encoding', 'chunked'], ['Connection', 'keep-alive'], ['Set-Cookie', 'a=b'], ['request-id', 'req_1']),
      ),
    ).toEqual([
      ['Content-Type', 'text/event-stream'],
      ['Content-Encoding', 'gzip'],
      ['Set-Cookie', 'a=b'],
      ['request-id', 'req_1'],
    ]);
  });
});

describe('framing', () => {
  test('chunked is the last transfer coding (RFC 9112 §6.1)', () => {
    expect(isChunked(raw(['Transfer-Encoding', 'gzip, chunked']))).toBe(true);
    expect(isChunked(raw(['transfer-encoding', 'Chunked']))).toBe(true);
    expect(isChunked(raw(['Transfer-Encoding', 'chunked, gzip']))).toBe(false);
    expect(isChunked(raw(['Content-Length', '3']))).toBe(false);
  });
});
