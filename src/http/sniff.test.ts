import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import type { ConnectionInfo, Dir, StreamSink } from '../reassembly/types.js';
import { CLIENT_PREFACE, concat, dataFrame, H2Wire, settingsFrame, utf8 } from '../../test/h2/frame-writer.js';
import { createHttp1Sink } from './h1/connection.js';
import { createHttp2Sink } from './h2/connection.js';
import { C2S, makeInfo, S2C } from './h2/harness.test-support.js';
import { createSniffingSink, sinkForAlpn, SNIFF_LIMIT } from './sniff.js';
import type { HttpExchange } from './types.js';

type Event = [kind: string, dir: number, bytes: string, ts: number];

/** Factories that record which one was chosen and what it was given. */
function recorders() {
  const chosen: string[] = [];
  const events: Event[] = [];
  const rec =
    (name: string) =>
    (_info: ConnectionInfo): StreamSink => {
      chosen.push(name);
      return {
        onData: (dir, data, ts) => events.push(['data', dir, Buffer.from(data).toString('latin1'), ts]),
        onGap: (dir, bytes, ts) => events.push(['gap', dir, String(bytes), ts]),
        onClose: (ts) => events.push(['close', -1, '', ts]),
      };
    };
  const anomalies = new AnomalyCounter();
  return { chosen, events, anomalies, f: { h1: rec('h1'), h2: rec('h2'), tls: rec('tls'), anomalies } };
}

function run(packets: [Dir, Uint8Array | string, number][], info = makeInfo(), close = true) {
  const r = recorders();
  const sink = createSniffingSink(info, r.f);
  let lent = new Uint8Array(1 << 17);
  for (const [d, b, ts] of packets) {
    const bytes = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
    if (bytes.length > lent.length) lent = new Uint8Array(bytes.length);
    lent.set(bytes);
    sink.onData(d, lent.subarray(0, bytes.length), ts);
    lent.fill(0xee, 0, bytes.length);
  }
  if (close) sink.onClose(999, 'fin');
  return r;
}

const TLS_HELLO = Uint8Array.of(0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00);

describe('protocol sniffing', () => {
  it('HTTP/1 request: HTTP/1, everything handed over in order with its times', () => {
    const r = run([
      [C2S, 'GET / HT', 10],
      [C2S, 'TP/1.1\r\n\r\n', 11],
      [S2C, 'HTTP/1.1 200 OK\r\n\r\n', 12],
    ]);
    expect(r.chosen).toEqual(['h1']);
    expect(r.events).toEqual([
      ['data', 0, 'GET / HT', 10],
      ['data', 0, 'TP/1.1\r\n\r\n', 11],
      ['data', 1, 'HTTP/1.1 200 OK\r\n\r\n', 12],
      ['close', -1, '', 999],
    ]);
  });

  it('the preface, even one byte at a time, is HTTP/2; held bytes keep their times', () => {
    const pieces: [Dir, Uint8Array, number][] = [...CLIENT_PREFACE].map((b, i) => [C2S, Uint8Array.of(b), 100 + i]);
    const r = run([[S2C, settingsFrame(), 50], ...pieces, [C2S, settingsFrame(), 200]]);
    expect(r.chosen).toEqual(['h2']);
    expect(r.events.map((e) => e[3])).toEqual([50, ...pieces.map((p) => p[2]), 200, 999]);
    expect(r.events.filter((e) => e[1] === 0).map((e) => e[2]).join('')).toBe(Buffer.from(concat([CLIENT_PREFACE, settingsFrame()])).toString('latin1'));
  });

  it('a TLS handshake record goes to TLS (or to HTTP/1 without a TLS sink)', () => {
    const r = run([
      [C2S, TLS_HELLO.subarray(0, 1), 1],
      [C2S, TLS_HELLO.subarray(1), 2],
    ]);
    expect(r.chosen).toEqual(['tls']);
    expect(r.events.slice(0, 2).map((e) => e[3])).toEqual([1, 2]);
    const noTls = recorders();
    const sink = createSniffingSink(makeInfo(), { h1: noTls.f.h1, h2: noTls.f.h2, anomalies: noTls.anomalies });
    sink.onData(C2S, TLS_HELLO, 1);
    expect(noTls.chosen).toEqual(['h1']);
  });

  it('a server that speaks first with SETTINGS is HTTP/2; other server bytes wait for the client', () => {
    expect(run([[S2C, settingsFrame([[3, 100]]), 1]], makeInfo(), false).chosen).toEqual(['h2']);
    const r = run([[S2C, 'HTTP/1.1 200 OK\r\n', 1]], makeInfo(), false);
    expect(r.chosen).toEqual([]);
    expect(run([[S2C, 'HTTP/1.1 200 OK\r\n', 1], [C2S, 'GET /', 2]], makeInfo(), false).chosen).toEqual(['h1']);
  });

  it('joined mid-way: a run of frames is HTTP/2, anything else HTTP/1', () => {
    const w = new H2Wire();
    const frames = concat([dataFrame(1, utf8('data: x\n\n')), ...w.responseHeaders(3, [[':status', '200']])]);
    expect(run([[S2C, frames, 1]], makeInfo(true), false).chosen).toEqual(['h2']);
    expect(run([[S2C, 'ta: {"x":1}\n\n', 1]], makeInfo(true), false).chosen).toEqual(['h1']);
    // The preface on the direction reassembly guessed was the server's.
    expect(run([[S2C, CLIENT_PREFACE, 1]], makeInfo(true), false).chosen).toEqual(['h2']);
  });

  it('gives up waiting after SNIFF_LIMIT bytes and chooses HTTP/1', () => {
    const r = run([[S2C, new Uint8Array(SNIFF_LIMIT).fill(0x41), 1]], makeInfo(), false);
    expect(r.chosen).toEqual(['h1']);
    expect(r.anomalies.get('sniff_undecided')).toBe(1);
  });

  it('never throws on garbage and always decides by SNIFF_LIMIT bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(C2S, S2C), fc.uint8Array({ maxLength: 3000 })), { maxLength: 40 }), fc.boolean(), (chunks, guessed) => {
        const r = run(chunks.map(([d, b], i) => [d, b, i]), makeInfo(guessed), false);
        const total = chunks.reduce((n, [, b]) => n + b.length, 0);
        if (total >= SNIFF_LIMIT) expect(r.chosen).toHaveLength(1);
        expect(r.chosen.length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });
});

describe('end to end through the sniffer', () => {
  it('h2c prior knowledge and HTTP/1 on two connections give the same request', () => {
    const exchanges: HttpExchange[] = [];
    const anomalies = new AnomalyCounter();
    const f = {
      h1: (i: ConnectionInfo) => createHttp1Sink(i, (e) => exchanges.push(e), anomalies),
      h2: (i: ConnectionInfo) => createHttp2Sink(i, (e) => exchanges.push(e), anomalies),
      anomalies,
    };
    const w = new H2Wire();
    const h2 = createSniffingSink(makeInfo(), f);
    h2.onData(C2S, concat([CLIENT_PREFACE, settingsFrame(), ...w.requestHeaders(1, [[':method', 'GET'], [':scheme', 'http'], [':authority', 'x'], [':path', '/a?b']], { endStream: true })]), 1);
    h2.onData(S2C, concat([settingsFrame(), ...w.responseHeaders(1, [[':status', '200']]), dataFrame(1, utf8('hi'), true)]), 2);
    h2.onClose(3, 'fin');
    const h1 = createSniffingSink(makeInfo(), f);
    h1.onData(C2S, Buffer.from('GET /a?b HTTP/1.1\r\nhost: x\r\n\r\n'), 1);
    h1.onData(S2C, Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi'), 2);
    h1.onClose(3, 'fin');
    const view = (e: HttpExchange) => [e.request.method, e.request.path, e.request.query, e.request.headers, e.response?.status, Buffer.from(e.response!.body.chunks[0]!.data).toString()];
    expect(exchanges).toHaveLength(2);
    expect(view(exchanges[0]!)).toEqual(view(exchanges[1]!));
  });

  it('sinkForAlpn: h2 and http/1.1 chosen by ALPN, no ALPN by the bytes', () => {
    const r = recorders();
    sinkForAlpn('h2', makeInfo(), r.f);
    sinkForAlpn('http/1.1', makeInfo(), r.f);
    expect(r.chosen).toEqual(['h2', 'h1']);
    const sniffed = sinkForAlpn(null, makeInfo(), r.f);
    sniffed.onData(C2S, CLIENT_PREFACE, 1);
    expect(r.chosen).toEqual(['h2', 'h1', 'h2']);
    // Inside TLS the bytes are never TLS again: a TLS-looking record is HTTP/1's problem.
    const again = sinkForAlpn(null, makeInfo(), r.f);
    again.onData(C2S, TLS_HELLO, 1);
    expect(r.chosen).toEqual(['h2', 'h1', 'h2', 'h1']);
  });
});
