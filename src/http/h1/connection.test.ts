import zlib from 'node:zlib';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bodyText } from '../types.js';
import { C2S, S2C, concat, feed, makeInfo, newRun, splitStreams, summary, type Packet } from './harness.test-support.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const sseText = readFileSync(join(fixtures, 'sse-sample.txt'));
const sseZstd = readFileSync(join(fixtures, 'sse-sample.stream.zst'));

const SSE1 = 'event: message_start\ndata: {"type":"message_start"}\n\n';
const SSE2 = 'event: message_stop\ndata: {"type":"message_stop"}\n\n';
const reqJson = '{"model":"claude","stream":true,"messages":[]}';

function chunked(parts: (string | Uint8Array)[], trailer = ''): Uint8Array {
  const out: (string | Uint8Array)[] = [];
  parts.forEach((p, i) => {
    const b = typeof p === 'string' ? Buffer.from(p) : p;
    out.push(`${b.length.toString(16)}${i === 0 ? ';ext=1;q="x"' : ''}\r\n`, b, '\r\n');
  });
  out.push(`0\r\n${trailer}\r\n`);
  return concat(out);
}

/** A keep-alive connection exercising every framing rule, as segments in causal order. */
function keepAliveScenario() {
  const gz = zlib.gzipSync(sseText);
  const br = zlib.brotliCompressSync(sseText);
  const dfl = zlib.deflateSync(sseText);
  const segments: [typeof C2S, string | Uint8Array][] = [
    // 1: POST with Content-Length, query kept, response chunked with extensions and trailers
    [C2S, `POST /v1/messages?beta=true HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: ${reqJson.length}\r\nX-Folded: a\r\n  b\r\n\r\n${reqJson}`],
    [S2C, 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nTrailer: X-Usage\r\n\r\n'],
    [S2C, chunked([SSE1, SSE2], 'X-Usage: 42\r\nX-Other: y\r\n')],
    // 2: GET → 204
    [C2S, 'GET /health HTTP/1.1\r\nHost: api\r\n\r\n'],
    [S2C, 'HTTP/1.1 204 No Content\r\nDate: now\r\n\r\n'],
    // 3: HEAD → 200 with a Content-Length but no body (after an empty line, RFC 9112 §2.2)
    [C2S, '\r\nHEAD /x HTTP/1.1\r\nHost: api\r\n\r\n'],
    [S2C, 'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n'],
    // 4: GET → 304
    [C2S, 'GET /cached HTTP/1.1\r\nIf-None-Match: "a"\r\n\r\n'],
    [S2C, 'HTTP/1.1 304 Not Modified\r\nETag: "a"\r\n\r\n'],
    // 5: Expect: 100-continue with a chunked request body
    [C2S, 'POST /upload HTTP/1.1\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n'],
    [S2C, 'HTTP/1.1 100 Continue\r\n\r\n'],
    [C2S, chunked(['hello ', 'world'])],
    [S2C, 'HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok'],
    // 6-9: compressed SSE responses
    [C2S, 'POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}'],
    [S2C, 'HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n'],
    [S2C, chunked([gz.subarray(0, 50), gz.subarray(50)])],
    [C2S, 'POST /v1/responses HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}'],
    [S2C, concat([`HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: ${br.length}\r\n\r\n`, br])],
    [C2S, 'POST /api/chat HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}'],
    [S2C, concat(['HTTP/1.1 200 OK\r\nContent-Encoding: zstd\r\nTransfer-Encoding: chunked\r\n\r\n', chunked([sseZstd])])],
    [C2S, 'POST /v1/deflate HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}'],
    [S2C, concat([`HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: ${dfl.length}\r\n\r\n`, dfl])],
    // 10: close-delimited response
    [C2S, 'GET /stream HTTP/1.0\r\n\r\n'],
    [S2C, 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the connection closes'],
  ];
  const client = concat(segments.filter(([d]) => d === C2S).map(([, b]) => b));
  const server = concat(segments.filter(([d]) => d === S2C).map(([, b]) => b));
  return { client, server, segments };
}

function checkKeepAlive(run: ReturnType<typeof feed>): void {
  const s = run.exchanges.map(summary);
  expect(s.map((x) => [x.method, x.path, x.status])).toEqual([
    ['POST', '/v1/messages', 200],
    ['GET', '/health', 204],
    ['HEAD', '/x', 200],
    ['GET', '/cached', 304],
    ['POST', '/upload', 201],
    ['POST', '/v1/chat/completions', 200],
    ['POST', '/v1/responses', 200],
    ['POST', '/api/chat', 200],
    ['POST', '/v1/deflate', 200],
    ['GET', '/stream', 200],
  ]);
  expect(s.map((x) => x.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const [e1, e2, e3, e4, e5, e6, e7, e8, e9, e10] = s as [typeof s[0], ...typeof s];
  expect(e1.query).toBe('beta=true');
  expect(e1.target).toBe('/v1/messages?beta=true');
  expect(e1.reqBody).toBe(reqJson);
  expect(e1.reqHeaders).toContainEqual(['x-folded', 'a b']);
  expect(e1.reqHeaders).toContainEqual(['content-type', 'application/json']);
  expect(e1.resBody).toBe(SSE1 + SSE2);
  expect(e1.trailers).toEqual([
    ['x-usage', '42'],
    ['x-other', 'y'],
  ]);
  expect(e2!.resBody).toBe('');
  expect(e3!.resBody).toBe('');
  expect(e3!.resIncomplete).toBe(false);
  expect(e4!.resBody).toBe('');
  expect(e5!.reqBody).toBe('hello world');
  expect(e5!.resBody).toBe('ok');
  for (const e of [e6!, e7!, e8!, e9!]) {
    expect(e.resBody).toBe(sseText.toString());
    expect(e.resTruncated).toBe(false);
  }
  expect([e6!.resEncoding, e7!.resEncoding, e8!.resEncoding, e9!.resEncoding]).toEqual(['gzip', 'br', 'zstd', 'deflate']);
  expect(e10!.resBody).toBe('until the connection closes');
  // A close-delimited body is complete at close (RFC 9112 §6.3 rule 8).
  expect(e10!.resIncomplete).toBe(false);
  for (const e of s) {
    expect(e.anomalies).toEqual([]);
    expect(e.reqIncomplete).toBe(false);
  }
  expect(run.anomalies.total).toBe(0);
}

describe('HTTP/1.1 connection: keep-alive with every framing rule', () => {
  const { client, server, segments } = keepAliveScenario();

  it('parses whole streams', () => {
    const run = feed(splitStreams(client, server, () => []));
    checkKeepAlive(run);
    const e1 = run.exchanges[0]!;
    expect(e1.request.wireBytes).toBe(client.indexOf('GET /health'));
    // wire bytes: head + body including chunk framing and trailers
    expect(e1.response!.wireBytes).toBe(server.indexOf('HTTP/1.1 204'));
  });

  it('same result split at every offset (both directions), and byte by byte', () => {
    const reference = feed(splitStreams(client, server, () => [])).exchanges.map(summary);
    const n = Math.max(client.length, server.length);
    for (let k = 1; k < n; k++) {
      const run = feed(splitStreams(client, server, (len) => [Math.min(k, len)]));
      expect(run.exchanges.map(summary), `split at ${k}`).toEqual(reference);
      expect(run.anomalies.total).toBe(0);
    }
    const oneByOne = feed(splitStreams(client, server, (len) => Array.from({ length: len }, (_, i) => i + 1)));
    expect(oneByOne.exchanges.map(summary)).toEqual(reference);
  });

  it('same result with the directions interleaved in causal order, in small packets', () => {
    const reference = feed(splitStreams(client, server, () => [])).exchanges.map(summary);
    for (const size of [1, 7, 37, 1460]) {
      const packets: Packet[] = [];
      for (const [dir, seg] of segments) {
        const b = Buffer.from(typeof seg === 'string' ? Buffer.from(seg, 'latin1') : seg);
        for (let i = 0; i < b.length; i += size) packets.push([dir, b.subarray(i, i + size)]);
      }
      expect(feed(packets).exchanges.map(summary), `packets of ${size}`).toEqual(reference);
    }
  });
});

describe('pipelining', () => {
  const client = concat([
    'GET /a HTTP/1.1\r\n\r\n',
    'GET /b HTTP/1.1\r\n\r\n',
    'POST /c HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc',
  ]);
  const server = concat([
    'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nB\r\n0\r\n\r\n',
    'HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nC',
  ]);

  it('pairs pipelined requests with responses in order, at every split', () => {
    for (let k = 0; k <= Math.max(client.length, server.length); k++) {
      const run = feed(splitStreams(client, server, (len) => [Math.min(k, len)]));
      expect(run.exchanges.map((e) => [e.request.path, e.response?.status, bodyText(e.response!.body)])).toEqual([
        ['/a', 200, 'A'],
        ['/b', 200, 'B'],
        ['/c', 404, 'C'],
      ]);
    }
  });

  it('emits each exchange as soon as its response completes (before close)', () => {
    const run = newRun();
    run.sink.onData(C2S, client, 1);
    expect(run.exchanges).toHaveLength(0);
    run.sink.onData(S2C, server.subarray(0, server.indexOf('HTTP/1.1 404')), 2);
    expect(run.exchanges.map((e) => e.request.path)).toEqual(['/a', '/b']);
  });

  it('a response delivered before the end of its request head still pairs with it', () => {
    const run = feed([
      [C2S, 'GET /a HTTP/1.1\r\nHo'],
      [S2C, 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA'],
      [S2C, 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB'],
      [C2S, 'st: h\r\n\r\nGET /b HTTP/1.1\r\n\r\n'],
      [C2S, 'GET /c HTTP/1.1\r\n'],
    ]);
    expect(run.exchanges.map((e) => [e.seq, e.request.path, e.response ? bodyText(e.response.body) : null])).toEqual([
      [0, '/a', 'A'],
      [1, '/b', 'B'],
    ]);
    expect(run.anomalies.get('http_incomplete_message')).toBe(1);
  });

  it('caps the queue of requests waiting for a response (one-sided capture)', () => {
    const many = concat(Array.from({ length: 5 }, (_, i) => `GET /${i} HTTP/1.1\r\n\r\n`));
    const run = feed([[C2S, many]], makeInfo(), { maxPendingRequests: 2 }, false);
    expect(run.exchanges.map((e) => [e.request.path, e.response])).toEqual([
      ['/0', null],
      ['/1', null],
      ['/2', null],
    ]);
    expect(run.exchanges[0]!.anomalies).toContain('http_too_many_pending');
    expect(run.anomalies.get('http_too_many_pending')).toBe(3);
    run.sink.onClose(9, 'fin');
    expect(run.exchanges.map((e) => e.request.path)).toEqual(['/0', '/1', '/2', '/3', '/4']);
  });
});

describe('timing', () => {
  it('stamps request/response times and each response body chunk with its packet time', () => {
    const run = newRun();
    run.sink.onData(C2S, Buffer.from('POST /v1/messages HTTP/1.1\r\nContent-'), 100);
    run.sink.onData(C2S, Buffer.from('Length: 4\r\n\r\nab'), 110);
    run.sink.onData(C2S, Buffer.from('cd'), 120);
    run.sink.onData(S2C, Buffer.from('HTTP/1.1 100 Continue\r\n\r\n'), 150);
    run.sink.onData(S2C, Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), 200);
    run.sink.onData(S2C, Buffer.from(`${SSE1.length.toString(16)}\r\n${SSE1}\r\n`), 300);
    run.sink.onData(S2C, Buffer.from(`${SSE2.length.toString(16)}\r\n${SSE2}`), 400);
    run.sink.onData(S2C, Buffer.from('\r\n0\r\n\r\n'), 500);
    expect(run.exchanges).toHaveLength(1);
    const e = run.exchanges[0]!;
    expect([e.request.start, e.request.end]).toEqual([100, 120]);
    // A request body is one chunk, at the time of its last bytes (nothing reads its packet times).
    expect(e.request.body.chunks.map((c) => [Buffer.from(c.data).toString(), c.ts])).toEqual([['abcd', 120]]);
    // response.start is the final status line, not the 100 Continue
    expect([e.response!.start, e.response!.end]).toEqual([200, 500]);
    expect(e.response!.body.chunks.map((c) => [Buffer.from(c.data).toString(), c.ts])).toEqual([
      [SSE1, 300],
      [SSE2, 400],
    ]);
  });

  it('a gzip SSE body arriving in 3 packets yields decoded chunks stamped with those 3 times', () => {
    // One gzip member per event (RFC 1952 §2.2): each packet decodes on arrival.
    const members = ['data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n'].map((t) => zlib.gzipSync(t));
    const total = members.reduce((a, m) => a + m.length, 0);
    const run = newRun();
    run.sink.onData(C2S, Buffer.from('GET /s HTTP/1.1\r\n\r\n'), 1);
    run.sink.onData(S2C, Buffer.from(`HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${total}\r\n\r\n`), 10);
    members.forEach((m, i) => run.sink.onData(S2C, m, 20 + i * 10));
    const body = run.exchanges[0]!.response!.body;
    expect(body.chunks.map((c) => [Buffer.from(c.data).toString(), c.ts])).toEqual([
      ['data: 1\n\n', 20],
      ['data: 2\n\n', 30],
      ['data: 3\n\n', 40],
    ]);
    expect(body.wireBytes).toBe(total);
    expect(body.size).toBe(27);
  });
});

describe('gaps and resynchronisation', () => {
  const req = (p: string) => `GET ${p} HTTP/1.1\r\nHost: h\r\n\r\n`;
  const chunkedRes = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n';

  it('a gap that breaks chunk framing: exchange incomplete, the next exchange still parses', () => {
    const run = newRun();
    run.sink.onData(C2S, Buffer.from(req('/1') + req('/2')), 1);
    run.sink.onData(S2C, Buffer.from(chunkedRes), 2);
    run.sink.onGap(S2C, 40, 3); // lost: the rest of response 1 and whatever followed
    run.sink.onData(S2C, Buffer.from('more lost junk\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok'), 4);
    run.sink.onClose(5, 'fin');
    const s = run.exchanges.map(summary);
    expect(s.map((e) => [e.path, e.status, e.resBody, e.resIncomplete])).toEqual([
      ['/1', 200, 'hello', true],
      ['/2', 202, 'ok', false],
    ]);
    expect(s[0]!.anomalies).toEqual(['http_resync', 'tcp_gap']);
    expect(run.anomalies.get('http_resync')).toBe(1);
  });

  it('a gap inside a Content-Length body keeps framing: no resync needed', () => {
    const run = newRun();
    run.sink.onData(C2S, Buffer.from(req('/1') + req('/2')), 1);
    run.sink.onData(S2C, Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'), 2);
    run.sink.onGap(S2C, 4, 3);
    run.sink.onData(S2C, Buffer.from('hij' + 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nZ'), 4);
    const s = run.exchanges.map(summary);
    expect(s.map((e) => [e.resBody, e.resIncomplete, e.resWire])).toEqual([
      ['abchij', true, 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'.length + 10],
      ['Z', false, 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n'.length + 1],
    ]);
    expect(run.anomalies.get('http_resync')).toBe(0);
  });

  it('a gap inside a gzip body stops decoding there but keeps framing', () => {
    const gz = zlib.gzipSync(sseText);
    const run = newRun();
    run.sink.onData(C2S, Buffer.from(req('/1') + req('/2')), 1);
    run.sink.onData(S2C, concat([`HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`, gz.subarray(0, 60)]), 2);
    run.sink.onGap(S2C, 20, 3);
    run.sink.onData(S2C, concat([gz.subarray(80), 'HTTP/1.1 204 No Content\r\n\r\n']), 4);
    const [a, b] = run.exchanges;
    expect(a!.response!.body.incomplete).toBe(true);
    expect(a!.response!.body.truncated).toBe(true);
    expect(sseText.toString().startsWith(bodyText(a!.response!.body))).toBe(true);
    expect(b!.response!.status).toBe(204);
  });

  it('a gap in the request direction resyncs on the next request line', () => {
    const run = newRun();
    run.sink.onData(C2S, Buffer.from('POST /1 HTTP/1.1\r\nContent-Le'), 1);
    run.sink.onGap(C2S, 100, 2);
    run.sink.onData(C2S, Buffer.from('ngth: 5\r\n\r\nxxxxx' + 'POST /2?x=1 HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}'), 3);
    run.sink.onData(S2C, Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), 4);
    run.sink.onClose(5, 'fin');
    expect(run.exchanges.map((e) => [e.request.path, e.request.query, bodyText(e.request.body), e.response?.status])).toEqual([
      ['/2', 'x=1', '{}', 200],
    ]);
  });

  it('resync finds a start line split across packets (byte by byte)', () => {
    const run = newRun();
    run.sink.onData(C2S, Buffer.from(req('/1') + req('/2')), 1);
    run.sink.onData(S2C, Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), 2);
    run.sink.onGap(S2C, 10, 3);
    const after = Buffer.from('garbage\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nQ');
    for (let i = 0; i < after.length; i++) run.sink.onData(S2C, after.subarray(i, i + 1), 4 + i);
    expect(run.exchanges.map((e) => [e.request.path, e.response?.status, e.response?.body.incomplete])).toEqual([
      ['/1', 200, true],
      ['/2', 201, false],
    ]);
  });

  it('connection closing mid-body emits the exchange incomplete, keeping what arrived', () => {
    const run = feed([
      [C2S, req('/1')],
      [S2C, 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n'],
      [S2C, `${SSE1.length.toString(16)}\r\n${SSE1}\r\n`],
    ]);
    const s = run.exchanges.map(summary);
    expect(s).toHaveLength(1);
    expect([s[0]!.resBody, s[0]!.resIncomplete]).toEqual([SSE1, true]);
    expect(s[0]!.anomalies).toEqual(['http_incomplete_message']);
  });

  it('a request without any response is emitted at close with response null', () => {
    const run = feed([[C2S, 'POST /x HTTP/1.1\r\nContent-Length: 1\r\n\r\n1']]);
    expect(run.exchanges.map((e) => [e.request.path, e.response])).toEqual([['/x', null]]);
  });

  it('a response with no request is counted and dropped', () => {
    const run = feed([[S2C, 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1']], makeInfo(false));
    expect(run.exchanges).toHaveLength(0);
    expect(run.anomalies.get('http_response_without_request')).toBe(1);
  });
});

describe('roles, garbage, upgrades', () => {
  it('swaps roles guessed wrong (requests seen in the server→client direction)', () => {
    const run = feed([
      [S2C, 'GET /v1/models HTTP/1.1\r\n\r\n'],
      [C2S, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]'],
    ], makeInfo(true));
    expect(run.exchanges.map((e) => [e.request.path, e.response?.status, e.connection.client.port])).toEqual([
      ['/v1/models', 200, 8080],
    ]);
  });

  it('does not swap roles when the SYN was seen: bad start line instead', () => {
    const run = feed([[C2S, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n']], makeInfo(false));
    expect(run.exchanges).toHaveLength(0);
    expect(run.anomalies.get('http_bad_start_line')).toBe(1);
  });

  it('follows reassembly swapping its roles', () => {
    const run = newRun(makeInfo(true));
    run.sink.onData(C2S, Buffer.from('GET /a HTTP/1.1\r\n\r\n'), 1);
    const swapped = { ...makeInfo(true), client: makeInfo().server, server: makeInfo().client };
    run.sink.onRolesSwapped!(swapped);
    // the same physical streams now arrive under the other labels
    run.sink.onData(S2C, Buffer.from('GET /b HTTP/1.1\r\n\r\n'), 2);
    run.sink.onData(C2S, Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 201 OK\r\nContent-Length: 0\r\n\r\n'), 3);
    expect(run.exchanges.map((e) => [e.request.path, e.response?.status, e.connection.client.port])).toEqual([
      ['/a', 200, 50000],
      ['/b', 201, 50000],
    ]);
  });

  it('not HTTP (TLS records): counted once, bytes ignored', () => {
    const tls = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);
    const run = feed([
      [C2S, tls],
      [S2C, Buffer.from([0x16, 0x03, 0x03, 0x00, 0x7a])],
      [C2S, Buffer.alloc(5000, 0x17)],
    ], makeInfo(true));
    expect(run.exchanges).toHaveLength(0);
    expect(run.anomalies.get('http_not_http')).toBe(1);
    expect(run.anomalies.total).toBe(1);
  });

  it('joined mid-stream: skips the tail of a body and parses the next exchange', () => {
    const run = feed([
      [C2S, 'e rest of an earlier request body"}GET /next HTTP/1.1\r\nHost: h\r\n\r\n'],
      [S2C, 'data: tail of an SSE stream\n\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'],
    ], makeInfo(true));
    // A keep-alive JSON body ends without a newline: the next request starts mid-line, after `}`.
    expect(run.exchanges.map((e) => [e.request.path, bodyText(e.response!.body)])).toEqual([['/next', 'ok']]);
    const run2 = feed([
      [C2S, 'e rest of an earlier request body"}\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n'],
      [S2C, 'data: tail of an SSE stream\n\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'],
    ], makeInfo(true));
    expect(run2.exchanges.map((e) => [e.request.path, bodyText(e.response!.body)])).toEqual([['/next', 'ok']]);
  });

  it('joined inside a keep-alive request body: every later exchange on the connection is found', () => {
    const call = (i: number): [string, string] => {
      const body = `{"model":"m","messages":[{"role":"user","content":"${'q'.repeat(3000 + i)}"}]}`;
      const answer = `{"id":"r${i}","usage":{"output_tokens":${i}}}`;
      return [
        `POST /v1/chat/completions HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${answer.length}\r\n\r\n${answer}`,
      ];
    };
    const calls = [0, 1, 2, 3].map(call);
    // The capture starts 1,000 bytes into the first request's body; 1448-byte segments.
    const packets: Packet[] = [];
    calls.forEach(([req, res], i) => {
      const from = i === 0 ? 1000 : 0;
      for (let o = from; o < req.length; o += 1448) packets.push([C2S, req.slice(o, o + 1448)]);
      packets.push([S2C, res]);
    });
    const run = feed(packets, makeInfo(true));
    expect(run.exchanges.map((e) => [e.request.path, bodyText(e.response!.body)])).toEqual(
      calls.slice(1).map(([, res]) => ['/v1/chat/completions', res.slice(res.indexOf('\r\n\r\n') + 4)]),
    );
  });

  it('gives up on a guessed connection with no message start within the scan budget', () => {
    const run = feed([[C2S, Buffer.alloc(3000, 0x41)], [S2C, Buffer.alloc(3000, 0x42)]], makeInfo(true), {
      maxInitialResyncBytes: 4000,
    });
    expect(run.anomalies.get('http_not_http')).toBe(1);
  });

  it('101 Switching Protocols: exchange emitted, later bytes not parsed as HTTP/1', () => {
    const run = feed([
      [C2S, 'GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'],
      [S2C, 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello'],
      [C2S, '\x81\x85garbage frames'],
    ]);
    expect(run.exchanges.map((e) => [e.request.path, e.response?.status])).toEqual([['/ws', 101]]);
    expect(run.anomalies.get('http_upgrade')).toBe(1);
    expect(run.anomalies.total).toBe(1);
  });

  it('CONNECT 200 turns the connection into a tunnel', () => {
    const run = feed([
      [C2S, 'CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n\r\n'],
      [S2C, 'HTTP/1.1 200 Connection Established\r\n\r\n'],
      [C2S, Buffer.from([0x16, 0x03, 0x01, 0, 5, 1, 2, 3, 4, 5])],
    ]);
    expect(run.exchanges.map((e) => [e.request.method, e.request.path, e.response?.status])).toEqual([
      ['CONNECT', 'api.openai.com:443', 200],
    ]);
    expect(run.anomalies.get('http_tunnel')).toBe(1);
  });

  it('h2c prior knowledge preface stops HTTP/1 parsing', () => {
    const run = feed([[C2S, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04']]);
    expect(run.exchanges).toHaveLength(0);
    expect(run.anomalies.get('http_h2c_prior_knowledge')).toBe(1);
  });

  it('Connection: close response: later response bytes are ignored', () => {
    const run = feed([
      [C2S, 'GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n'],
      [S2C, 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nAHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB'],
    ]);
    expect(run.exchanges.map((e) => [e.request.path, e.response?.status ?? null])).toEqual([
      ['/a', 200],
      ['/b', null],
    ]);
  });
});

describe('caps', () => {
  it('body over the cap: truncated, counted, framing goes on', () => {
    const run = feed(
      [
        [C2S, 'GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n'],
        [S2C, 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123'],
        [S2C, '456789HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'],
      ],
      makeInfo(),
      { maxBodyBytes: 5 },
    );
    const s = run.exchanges.map(summary);
    expect(s.map((e) => [e.resBody, e.resTruncated, e.resWire])).toEqual([
      ['01234', true, 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'.length + 10],
      ['ok', false, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n'.length + 2],
    ]);
    expect(s[0]!.anomalies).toEqual(['http_body_truncated']);
  });

  it('compressed body over the cap: decompressed_too_large', () => {
    const bomb = zlib.gzipSync(Buffer.alloc(1 << 20));
    const run = feed(
      [
        [C2S, 'GET / HTTP/1.1\r\n\r\n'],
        [S2C, concat([`HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${bomb.length}\r\n\r\n`, bomb])],
      ],
      makeInfo(),
      { maxBodyBytes: 1000 },
    );
    const body = run.exchanges[0]!.response!.body;
    expect([body.size, body.truncated, body.wireBytes]).toEqual([1000, true, bomb.length]);
    expect(run.anomalies.get('http_decompressed_too_large')).toBe(1);
  });

  it('header block over the cap: http_header_too_large, later exchange parses', () => {
    const big = 'X-Big: ' + 'a'.repeat(3000) + '\r\n';
    const run = feed(
      [
        [C2S, `GET /1 HTTP/1.1\r\n${big}\r\nGET /2 HTTP/1.1\r\n\r\n`],
        [S2C, 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB'],
      ],
      makeInfo(),
      { maxHeaderBytes: 1024 },
    );
    expect(run.anomalies.get('http_header_too_large')).toBe(1);
    expect(run.exchanges.map((e) => [e.request.path, e.response?.status])).toEqual([['/2', 200]]);
  });

  it('empty bodies with a Content-Encoding (HEAD, 204, 304, Content-Length: 0) are not bad encoding', () => {
    const run = feed([
      [C2S, 'HEAD /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\nGET /d HTTP/1.1\r\n\r\n'],
      [
        S2C,
        'HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 120\r\n\r\n' +
          'HTTP/1.1 204 No Content\r\nContent-Encoding: br\r\n\r\n' +
          'HTTP/1.1 304 Not Modified\r\nContent-Encoding: zstd\r\n\r\n' +
          'HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Encoding: br\r\nContent-Length: 0\r\n\r\n',
      ],
    ]);
    expect(run.exchanges.map((e) => [e.response?.status, e.response?.body.contentEncoding, e.response?.body.size])).toEqual([
      [200, 'gzip', 0],
      [204, 'br', 0],
      [304, 'zstd', 0],
      [200, 'gzip,br', 0],
    ]);
    expect(run.anomalies.total).toBe(0);
  });

  it('bad chunk size: counted, exchange incomplete', () => {
    const run = feed([
      [C2S, 'GET /1 HTTP/1.1\r\n\r\n'],
      [S2C, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n'],
    ]);
    const s = run.exchanges.map(summary);
    expect([s[0]!.resBody, s[0]!.resIncomplete]).toEqual(['abc', true]);
    expect(s[0]!.anomalies).toContain('http_bad_chunk_size');
  });
});

describe('never throws on random bytes', () => {
  const valid = keepAliveScenario();

  it('random bytes in both directions', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(C2S, S2C), fc.uint8Array({ maxLength: 200 }), fc.boolean()), { maxLength: 30 }),
        fc.boolean(),
        (packets, guessed) => {
          const run = newRun(makeInfo(guessed), { maxHeaderBytes: 512, maxBodyBytes: 1024 });
          let t = 0;
          for (const [dir, data, gap] of packets) {
            if (gap) run.sink.onGap(dir, data.length + 1, ++t);
            else run.sink.onData(dir, data, ++t);
          }
          run.sink.onClose(++t, 'fin');
          for (const e of run.exchanges) expect(e.request.method.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('mutated valid traffic (flipped bytes, gaps, random cuts)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        (flips, cuts, gaps) => {
          const client = Buffer.from(valid.client);
          const server = Buffer.from(valid.server);
          for (const [pos, v] of flips) {
            const target = pos % 2 === 0 ? client : server;
            target[pos % target.length] = v;
          }
          const packets = splitStreams(client, server, (len) => cuts.map((c) => c % len).sort((a, b) => a - b));
          const run = newRun(makeInfo(), { maxHeaderBytes: 4096 });
          packets.forEach(([dir, data], i) => {
            if (gaps.includes(i)) run.sink.onGap(dir, 10, i);
            else run.sink.onData(dir, data as Uint8Array, i);
          });
          run.sink.onClose(1000, 'fin');
          expect(run.exchanges.length).toBeLessThanOrEqual(20);
        },
      ),
      { numRuns: 300 },
    );
  });
});
