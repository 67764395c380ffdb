import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLIENT_PREFACE, concat, dataFrame, frame, FrameType, H2Wire, headerFrames, settingsFrame, u32, utf8 } from '../../../test/h2/frame-writer.js';
import { C2S, feedH2, makeInfo, pieces, S2C, summary, type Packet } from './harness.test-support.js';
import { bodyText } from '../types.js';

const T0 = 1_700_000_000_000_000;

const SSE = ['data: {"a":1}\n\n', 'data: {"a":2}\n\n', 'data: [DONE]\n\n'];

/** A POST with a JSON body answered by an SSE stream in three DATA frames, with capture times. */
function basic(): { packets: Packet[]; client: Uint8Array; server: Uint8Array } {
  const w = new H2Wire();
  const c: [Uint8Array, number][] = [
    [concat([CLIENT_PREFACE, settingsFrame([[1, 65536]])]), T0],
    [
      concat(
        w.requestHeaders(1, [
          [':method', 'POST'],
          [':scheme', 'https'],
          [':authority', 'api.openai.com'],
          [':path', '/v1/chat/completions?x=1'],
          ['content-type', 'application/json'],
          ['authorization', 'Bearer sk-demo'],
        ]),
      ),
      T0 + 100,
    ],
    [dataFrame(1, utf8('{"model":"m",'), false), T0 + 200],
    [dataFrame(1, utf8('"stream":true}'), true), T0 + 300],
  ];
  const s: [Uint8Array, number][] = [
    [concat([settingsFrame([[5, 32768]]), settingsFrame([], true)]), T0 + 50],
    [concat(w.responseHeaders(1, [[':status', '200'], ['content-type', 'text/event-stream']])), T0 + 1000],
    [dataFrame(1, utf8(SSE[0]!)), T0 + 2000],
    [dataFrame(1, utf8(SSE[1]!), false, 7), T0 + 3000],
    [concat([dataFrame(1, utf8(SSE[2]!)), dataFrame(1, new Uint8Array(0), true)]), T0 + 4000],
  ];
  const packets: Packet[] = [];
  // Interleave by time, as a capture would.
  const all = [...c.map(([d, t]) => [C2S, d, t] as Packet), ...s.map(([d, t]) => [S2C, d, t] as Packet)].sort((a, b) => a[2]! - b[2]!);
  packets.push(...all);
  return { packets, client: concat(c.map(([d]) => d)), server: concat(s.map(([d]) => d)) };
}

describe('HTTP/2 connection: one stream', () => {
  it('yields the exchange as HTTP/1 shapes it, timed per frame', () => {
    const run = feedH2(basic().packets);
    expect(run.exchanges).toHaveLength(1);
    const ex = run.exchanges[0]!;
    expect(summary(ex)).toEqual({
      method: 'POST',
      target: '/v1/chat/completions?x=1',
      host: 'api.openai.com',
      requestBody: '{"model":"m","stream":true}',
      status: 200,
      responseBody: SSE.join(''),
      anomalies: [],
    });
    expect([ex.request.path, ex.request.query, ex.request.version]).toEqual(['/v1/chat/completions', 'x=1', 'HTTP/2']);
    expect(ex.request.headers[0]).toEqual(['host', 'api.openai.com']);
    expect(ex.request.headers.some(([n]) => n.startsWith(':'))).toBe(false);
    expect([ex.request.start, ex.request.end]).toEqual([T0 + 100, T0 + 300]);
    expect([ex.response!.start, ex.response!.end]).toEqual([T0 + 1000, T0 + 4000]);
    // Each SSE event keeps the time of the DATA frame that carried it.
    expect(ex.response!.body.chunks.map((c) => [Buffer.from(c.data).toString(), c.ts])).toEqual([
      [SSE[0], T0 + 2000],
      [SSE[1], T0 + 3000],
      [SSE[2], T0 + 4000],
    ]);
    expect(ex.response!.body.wireBytes).toBe(SSE.join('').length);
    expect(ex.response!.headers).toEqual([['content-type', 'text/event-stream']]);
    expect(run.anomalies.total).toBe(0);
  });

  it('gives the same exchange whatever the packet boundaries', () => {
    const { client, server } = basic();
    const want = summary(feedH2([[C2S, client], [S2C, server]]).exchanges[0]!);
    for (let i = 1; i < Math.max(client.length, server.length); i++) {
      const run = feedH2([
        ...pieces(client, [i]).map((p) => [C2S, p] as Packet),
        ...pieces(server, [i]).map((p) => [S2C, p] as Packet),
      ]);
      expect(run.exchanges.map(summary), `cut at ${i}`).toEqual([want]);
      expect(run.anomalies.total).toBe(0);
    }
    const bytewise = feedH2([
      ...pieces(client, [...client.keys()]).map((p) => [C2S, p] as Packet),
      ...pieces(server, [...server.keys()]).map((p) => [S2C, p] as Packet),
    ]);
    expect(bytewise.exchanges.map(summary)).toEqual([want]);
  });
});

describe('HTTP/2 connection: frame types', () => {
  it('reads CONTINUATION, padding, priority, 1xx, trailers, and ignores PING, WINDOW_UPDATE, PRIORITY and unknown types', () => {
    const w = new H2Wire();
    const longValue = 'v'.repeat(300);
    const client = concat([
      CLIENT_PREFACE,
      settingsFrame(),
      ...w.requestHeaders(
        3,
        [
          [':method', 'POST'],
          [':scheme', 'http'],
          [':authority', 'h:8080'],
          [':path', '/p'],
          ['x-long', longValue],
          ['cookie', 'a=1'],
          ['cookie', 'b=2'],
        ],
        { maxFragment: 50, pad: 4, priority: true },
      ),
      frame(FrameType.PRIORITY, 0, 3, concat([u32(0), Uint8Array.of(1)])),
      frame(0xfa, 0xff, 3, utf8('unknown extension frame')),
      frame(FrameType.PING, 0, 0, new Uint8Array(8)),
      dataFrame(3, utf8('hello'), true, 3),
      frame(FrameType.WINDOW_UPDATE, 0, 0, u32(65535)),
    ]);
    const server = concat([
      settingsFrame(),
      ...w.responseHeaders(3, [[':status', '100']]),
      ...w.responseHeaders(3, [[':status', '103'], ['link', '</a>; rel=preload']]),
      ...w.responseHeaders(3, [[':status', '201'], ['x-r', '1']]),
      dataFrame(3, utf8('ok')),
      ...w.responseHeaders(3, [['grpc-status', '0']], { endStream: true }),
    ]);
    const run = feedH2([
      [C2S, client],
      [S2C, server],
    ]);
    expect(run.exchanges.map(summary)).toEqual([
      { method: 'POST', target: '/p', host: 'h:8080', requestBody: 'hello', status: 201, responseBody: 'ok', anomalies: [] },
    ]);
    const ex = run.exchanges[0]!;
    expect(ex.request.headers).toEqual([
      ['host', 'h:8080'],
      ['x-long', longValue],
      ['cookie', 'a=1; b=2'],
    ]);
    expect(ex.response!.trailers).toEqual([['grpc-status', '0']]);
    expect(ex.response!.headers).toEqual([['x-r', '1']]);
    expect(run.anomalies.total).toBe(0);
  });

  it('keeps streams apart when their frames interleave, and numbers them in order of opening', () => {
    const w = new H2Wire();
    const req = (id: number, path: string) =>
      w.requestHeaders(id, [
        [':method', 'GET'],
        [':scheme', 'https'],
        [':authority', 'x'],
        [':path', path],
      ], { endStream: true });
    const client = concat([CLIENT_PREFACE, settingsFrame(), ...req(1, '/one'), ...req(3, '/two'), ...req(5, '/three')]);
    const server = concat([
      settingsFrame(),
      ...w.responseHeaders(3, [[':status', '200']]),
      ...w.responseHeaders(1, [[':status', '404']]),
      dataFrame(3, utf8('two-a')),
      dataFrame(1, utf8('one'), true),
      dataFrame(3, utf8('two-b'), true),
      ...w.responseHeaders(5, [[':status', '204']], { endStream: true }),
    ]);
    const run = feedH2([
      [C2S, client],
      [S2C, server],
    ]);
    expect(run.exchanges.map((e) => [e.seq, e.request.target, e.response?.status, bodyText(e.response!.body)])).toEqual([
      [0, '/one', 404, 'one'],
      [1, '/two', 200, 'two-atwo-b'],
      [2, '/three', 204, ''],
    ]);
  });

  it('decodes Content-Encoding like HTTP/1', () => {
    const w = new H2Wire();
    const z = gzipSync(Buffer.from('{"done":true}'));
    const client = concat([CLIENT_PREFACE, settingsFrame(), ...w.requestHeaders(1, [[':method', 'GET'], [':path', '/'], [':scheme', 'http'], [':authority', 'a']], { endStream: true })]);
    const server = concat([
      settingsFrame(),
      ...w.responseHeaders(1, [[':status', '200'], ['content-encoding', 'gzip']]),
      dataFrame(1, z.subarray(0, 10)),
      dataFrame(1, z.subarray(10), true),
    ]);
    const ex = feedH2([
      [C2S, client],
      [S2C, server],
    ]).exchanges[0]!;
    expect([bodyText(ex.response!.body), ex.response!.body.contentEncoding, ex.response!.body.wireBytes]).toEqual(['{"done":true}', 'gzip', z.length]);
  });

  it('serves a pushed stream its request from PUSH_PROMISE', () => {
    const w = new H2Wire();
    const client = concat([CLIENT_PREFACE, settingsFrame(), ...w.requestHeaders(1, [[':method', 'GET'], [':path', '/'], [':scheme', 'https'], [':authority', 'a']], { endStream: true })]);
    const promise = w.server.encode([[':method', 'GET'], [':path', '/style.css'], [':scheme', 'https'], [':authority', 'a']]);
    const server = concat([
      settingsFrame(),
      frame(FrameType.PUSH_PROMISE, 0x4, 1, concat([u32(2), promise])),
      ...w.responseHeaders(1, [[':status', '200']]),
      dataFrame(1, utf8('<html>'), true),
      ...w.responseHeaders(2, [[':status', '200']]),
      dataFrame(2, utf8('body{}'), true),
    ]);
    const run = feedH2([
      [C2S, client],
      [S2C, server],
    ]);
    expect(run.exchanges.map((e) => [e.request.target, bodyText(e.response!.body)])).toEqual([
      ['/', '<html>'],
      ['/style.css', 'body{}'],
    ]);
  });

  it('ends streams with what they have on RST_STREAM, GOAWAY and close', () => {
    const w = new H2Wire();
    const get = (id: number) => w.requestHeaders(id, [[':method', 'GET'], [':path', `/${id}`], [':scheme', 'https'], [':authority', 'a']], { endStream: true });
    const client = concat([CLIENT_PREFACE, settingsFrame(), ...get(1), ...get(3), ...get(5), ...get(7)]);
    const server = concat([
      settingsFrame(),
      ...w.responseHeaders(1, [[':status', '200']]),
      dataFrame(1, utf8('partial')),
      frame(FrameType.RST_STREAM, 0, 1, u32(8)),
      ...w.responseHeaders(3, [[':status', '200']]),
      dataFrame(3, utf8('streaming')),
      // GOAWAY(last=3): 5 and 7 were never processed; 3 goes on until the connection closes.
      frame(FrameType.GOAWAY, 0, 0, concat([u32(3), u32(0)])),
    ]);
    const run = feedH2([
      [C2S, client],
      [S2C, server],
    ]);
    const byPath = Object.fromEntries(run.exchanges.map((e) => [e.request.target, [e.response?.status ?? null, e.response ? bodyText(e.response.body) : null, e.response?.body.incomplete ?? null, [...e.anomalies].sort()]]));
    expect(byPath).toEqual({
      '/1': [200, 'partial', true, ['h2_stream_reset']],
      '/3': [200, 'streaming', true, ['h2_stream_unfinished']],
      '/5': [null, null, null, ['h2_goaway_unprocessed']],
      '/7': [null, null, null, ['h2_goaway_unprocessed']],
    });
  });
});

describe('HTTP/2 connection: damage and mid-way joins', () => {
  /** Two exchanges on one connection; the second's response body is large enough to be cut. */
  function twoExchanges() {
    const w = new H2Wire();
    const head = (path: string): [string, string][] => [
      [':method', 'POST'],
      [':scheme', 'https'],
      [':authority', 'api.example'],
      [':path', path],
      ['content-type', 'application/json'],
      ['x-session', 'abc'],
    ];
    const c1 = concat([CLIENT_PREFACE, settingsFrame(), ...w.requestHeaders(1, head('/first')), dataFrame(1, utf8('{"n":1}'), true)]);
    const s1 = concat([settingsFrame(), ...w.responseHeaders(1, [[':status', '200'], ['x-trace', 't1']]), dataFrame(1, utf8('one'), true)]);
    const c2 = concat([...w.requestHeaders(3, head('/second')), dataFrame(3, utf8('{"n":2}'), true)]);
    const s2a = concat([...w.responseHeaders(3, [[':status', '200'], ['x-trace', 't2']]), dataFrame(3, utf8('data: a\n\n'))]);
    const s2b = concat([dataFrame(3, utf8('data: b\n\n')), dataFrame(3, utf8('data: c\n\n'), true)]);
    return { c1, s1, c2, s2a, s2b };
  }

  it('joined mid-way: DATA decoded with the headers marked unknown', () => {
    const { c1, s1, c2, s2a, s2b } = twoExchanges();
    // We join after exchange 1 and after stream 3's response headers, 4 bytes into a DATA frame.
    const run = feedH2(
      [
        [C2S, c2.subarray(0, 0)],
        [S2C, s2a.subarray(s2a.length - 6)],
        [S2C, s2b],
      ],
      { info: makeInfo(true) },
    );
    void c1;
    void s1;
    expect(run.exchanges).toHaveLength(1);
    const ex = run.exchanges[0]!;
    expect([ex.request.method, ex.response!.status, bodyText(ex.response!.body)]).toEqual(['', 0, 'data: b\n\ndata: c\n\n']);
    expect(ex.anomalies).toContain('h2_headers_unknown');
    expect(run.anomalies.get('h2_resync')).toBe(1);
  });

  it('joined mid-way: header fields that need the lost table are left out, the rest decoded', () => {
    const { c2, s2a, s2b } = twoExchanges();
    const run = feedH2(
      [
        [C2S, c2],
        [S2C, s2a],
        [S2C, s2b],
      ],
      { info: makeInfo(true) },
    );
    expect(run.exchanges).toHaveLength(1);
    const ex = run.exchanges[0]!;
    // :method POST and :scheme are static; the path is new; the authority and the custom
    // headers were inserted in exchange 1, which we never saw.
    expect([ex.request.method, ex.request.target, ex.request.headers.find(([n]) => n === 'host')]).toEqual(['POST', '/second', undefined]);
    expect([ex.response!.status, bodyText(ex.response!.body), bodyText(ex.request.body)]).toEqual([200, 'data: a\n\ndata: b\n\ndata: c\n\n', '{"n":2}']);
    expect(ex.anomalies).toContain('h2_headers_unknown');
  });

  it('a gap inside DATA leaves a hole; a gap over frame boundaries resynchronises', () => {
    const { c1, s1, c2, s2a, s2b } = twoExchanges();
    const f = dataFrame(3, utf8('data: x\n\n'));
    const run = feedH2([
      [C2S, c1],
      [S2C, s1],
      [C2S, c2],
      [S2C, s2a],
      [S2C, f.subarray(0, 12)],
    ], { close: false });
    // 3 bytes of f's data lost: the frame goes on.
    run.sink.onGap(S2C, 3, 1);
    run.sink.onData(S2C, f.subarray(15), 2);
    run.sink.onData(S2C, s2b, 3);
    run.sink.onClose(4, 'fin');
    const second = run.exchanges.find((e) => e.request.target === '/second')!;
    expect(bodyText(second.response!.body)).toBe('data: a\n\ndatx\n\ndata: b\n\ndata: c\n\n');
    expect(second.response!.body.incomplete).toBe(true);
    expect(second.anomalies).toContain('tcp_gap');
    expect(run.exchanges).toHaveLength(2);

    // The whole first frame of s2b lost: the frame reader finds the next frame.
    const run2 = feedH2([
      [C2S, c1],
      [S2C, s1],
      [C2S, c2],
      [S2C, s2a],
    ], { close: false });
    const lost = dataFrame(3, utf8('data: b\n\n')).length;
    run2.sink.onGap(S2C, lost, 1);
    run2.sink.onData(S2C, s2b.subarray(lost), 2);
    expect(run2.exchanges).toHaveLength(2);
    const second2 = run2.exchanges.find((e) => e.request.target === '/second')!;
    expect([bodyText(second2.response!.body), second2.response!.body.incomplete, second2.response!.end]).toEqual(['data: a\n\ndata: c\n\n', true, 2]);
    expect(second2.anomalies).toContain('tcp_gap');
    expect(run2.anomalies.get('h2_resync')).toBe(1);
  });

  it('a corrupt header block does not poison the blocks after it', () => {
    const w = new H2Wire();
    const client = concat([
      CLIENT_PREFACE,
      settingsFrame(),
      // Stream 1: a literal with a Huffman string whose padding is wrong (RFC 7541 §5.2).
      ...headerFrames(1, Uint8Array.of(0x83, 0x40, 0x01, 0x78, 0x81, 0x00), { endStream: true }),
      // Stream 3: static and new literal fields only.
      ...headerFrames(3, w.client.encode([[':method', 'GET'], [':path', '/after'], [':scheme', 'https'], [':authority', 'later']]), { endStream: true }),
    ]);
    const server = concat([
      settingsFrame(),
      ...w.responseHeaders(1, [[':status', '200']], { endStream: true }),
      ...w.responseHeaders(3, [[':status', '200']], { endStream: true }),
    ]);
    const run = feedH2([
      [C2S, client],
      [S2C, server],
    ]);
    expect(run.exchanges.map((e) => [e.request.method, e.request.target, e.anomalies.includes('h2_headers_unknown')])).toEqual([
      ['POST', '', true],
      ['GET', '/after', false],
    ]);
    expect(run.anomalies.get('h2_hpack_bad_huffman')).toBe(1);
  });

  it('caps open streams, bodies and header blocks', () => {
    const w = new H2Wire();
    const frames: Uint8Array[] = [CLIENT_PREFACE, settingsFrame()];
    for (let id = 1; id <= 9; id += 2) frames.push(...w.requestHeaders(id, [[':method', 'GET'], [':path', `/${id}`], [':scheme', 'http'], [':authority', 'a']], { endStream: true }));
    const run = feedH2([[C2S, concat(frames)]], { limits: { maxOpenStreams: 3 }, close: false });
    expect(run.exchanges.map((e) => e.request.target)).toEqual(['/1', '/3']);
    expect(run.exchanges.every((e) => e.anomalies.includes('h2_too_many_streams'))).toBe(true);

    const w2 = new H2Wire();
    const big = feedH2([
      [C2S, concat([CLIENT_PREFACE, settingsFrame(), ...w2.requestHeaders(1, [[':method', 'POST'], [':path', '/'], [':scheme', 'http'], [':authority', 'a']]), dataFrame(1, new Uint8Array(5000), true)])],
      [S2C, concat([settingsFrame(), ...w2.responseHeaders(1, [[':status', '200'], ['x-big', 'z'.repeat(3000)]], { endStream: true, maxFragment: 1000 })])],
    ], { limits: { maxBodyBytes: 1000, maxHeaderBytes: 2000 } });
    const ex = big.exchanges[0]!;
    expect([ex.request.body.size, ex.request.body.truncated, ex.response!.status]).toEqual([1000, true, 0]);
    expect(big.anomalies.get('http_body_truncated')).toBe(1);
    expect(big.anomalies.get('h2_header_block_too_large')).toBe(1);
    expect(ex.anomalies).toContain('h2_headers_unknown');
  });

  it('never throws on garbage, and keeps its state bounded', () => {
    const { c1, s1 } = twoExchanges();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(C2S, S2C), fc.uint8Array({ maxLength: 120 })), { maxLength: 30 }),
        fc.boolean(),
        fc.boolean(),
        (chunks, guessed, prefixed) => {
          const packets: Packet[] = prefixed ? [[C2S, c1], [S2C, s1]] : [];
          for (const [d, b] of chunks) packets.push([d, b]);
          const run = feedH2(packets, { info: makeInfo(guessed), limits: { maxOpenStreams: 5 } });
          for (const e of run.exchanges) {
            expect(e.request.version).toBe('HTTP/2');
          }
        },
      ),
      { numRuns: 400 },
    );
    // Garbage that is all plausible frames: many streams opened by DATA on a mid-way join.
    const many: Uint8Array[] = [];
    for (let id = 1; id < 4000; id += 2) many.push(dataFrame(id, utf8('x')));
    const run = feedH2([[S2C, concat(many)]], { info: makeInfo(true), close: false });
    expect(run.exchanges.length).toBeGreaterThanOrEqual(2000 - 1000);
  });
});

describe('HTTP/2 connection: roles', () => {
  const w = () => new H2Wire();
  it('roles guessed wrong: the preface shows the client, exchanges carry the real endpoints', () => {
    const x = w();
    const client = concat([CLIENT_PREFACE, settingsFrame(), ...x.requestHeaders(1, [[':method', 'GET'], [':path', '/r'], [':scheme', 'http'], [':authority', 'a']], { endStream: true })]);
    const server = concat([settingsFrame(), ...x.responseHeaders(1, [[':status', '200']], { endStream: true })]);
    const info = makeInfo(true);
    // Reassembly's guess put the real client on the server side.
    const run = feedH2([
      [S2C, client],
      [C2S, server],
    ], { info });
    expect(run.exchanges.map((e) => [e.request.target, e.response?.status, e.connection.client, e.connection.server])).toEqual([['/r', 200, info.server, info.client]]);
  });

  it('joined mid-way with roles guessed wrong: a request head shows the client', () => {
    const x = w();
    x.client.encode([['x-before', '1']]);
    const req = concat(x.requestHeaders(5, [[':method', 'POST'], [':path', '/v1/messages'], [':scheme', 'https'], [':authority', 'api.anthropic.com']]));
    const run = feedH2([
      [S2C, concat([req, dataFrame(5, utf8('{}'), true)])],
      [C2S, concat([...x.responseHeaders(5, [[':status', '200']]), dataFrame(5, utf8('ok'), true)])],
    ], { info: makeInfo(true) });
    expect(run.exchanges.map((e) => [e.request.method, e.request.target, e.response?.status, bodyText(e.response!.body), e.connection.client.port])).toEqual([
      ['POST', '/v1/messages', 200, 'ok', 443],
    ]);
  });
});
