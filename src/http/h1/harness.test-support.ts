/** Test support for the HTTP/1 tests: feed packets into a sink, summarise exchanges. */
import { AnomalyCounter } from '../../core/anomalies.js';
import type { ConnectionInfo, Dir, StreamSink } from '../../reassembly/types.js';
import { bodyText, type HttpExchange } from '../types.js';
import { createHttp1Sink, type HttpLimits } from './connection.js';

export const C2S = 0 as Dir;
export const S2C = 1 as Dir;

export function makeInfo(rolesGuessed = false): ConnectionInfo {
  return {
    id: 'c1',
    client: { ip: '10.0.0.1', port: 50000 },
    server: { ip: '10.0.0.2', port: 8080 },
    rolesGuessed,
  };
}

export interface Run {
  exchanges: HttpExchange[];
  anomalies: AnomalyCounter;
  sink: StreamSink;
}

export function newRun(info = makeInfo(), limits?: Partial<HttpLimits>): Run {
  const exchanges: HttpExchange[] = [];
  const anomalies = new AnomalyCounter();
  const sink = createHttp1Sink(info, (e) => exchanges.push(e), anomalies, limits);
  return { exchanges, anomalies, sink };
}

export type Packet = [dir: Dir, data: string | Uint8Array, ts?: number];

export function bytes(d: string | Uint8Array): Uint8Array {
  return typeof d === 'string' ? Buffer.from(d, 'latin1') : d;
}

/**
 * Feeds packets as reassembly lends them (StreamSink.onData): each through one reused buffer that
 * is scribbled over once the call returns, so a sink that keeps a view instead of a copy fails.
 * Then closes.
 */
export function feed(packets: Packet[], info = makeInfo(), limits?: Partial<HttpLimits>, close = true): Run {
  const run = newRun(info, limits);
  let t = 1_000_000;
  let lent = new Uint8Array(4096);
  for (const [dir, data, ts] of packets) {
    t = ts ?? t + 1;
    const b = bytes(data);
    if (b.length > lent.length) lent = new Uint8Array(b.length * 2);
    lent.set(b);
    run.sink.onData(dir, lent.subarray(0, b.length), t);
    lent.fill(0xee, 0, b.length);
  }
  if (close) run.sink.onClose(t + 1, 'fin');
  return run;
}

/** Both directions as whole streams, each cut into pieces at the given offsets. */
export function splitStreams(client: Uint8Array, server: Uint8Array, cuts: (n: number) => number[]): Packet[] {
  const out: Packet[] = [];
  for (const [dir, s] of [
    [C2S, client],
    [S2C, server],
  ] as const) {
    let prev = 0;
    for (const c of [...cuts(s.length), s.length]) {
      if (c > prev && c <= s.length) {
        out.push([dir, s.subarray(prev, c)]);
        prev = c;
      }
    }
  }
  return out;
}

/** Everything a user would check of an exchange, except capture times. */
export function summary(e: HttpExchange) {
  const r = e.response;
  return {
    seq: e.seq,
    client: `${e.connection.client.ip}:${e.connection.client.port}`,
    method: e.request.method,
    target: e.request.target,
    path: e.request.path,
    query: e.request.query,
    reqHeaders: e.request.headers,
    reqBody: bodyText(e.request.body),
    reqBodyWire: e.request.body.wireBytes,
    reqIncomplete: e.request.body.incomplete,
    reqWire: e.request.wireBytes,
    status: r?.status ?? null,
    resHeaders: r?.headers ?? null,
    resBody: r ? bodyText(r.body) : null,
    resEncoding: r?.body.contentEncoding ?? null,
    resIncomplete: r?.body.incomplete ?? null,
    resTruncated: r?.body.truncated ?? null,
    resWire: r?.wireBytes ?? null,
    trailers: r?.trailers ?? null,
    anomalies: [...e.anomalies].sort(),
  };
}

export function concat(parts: (string | Uint8Array)[]): Buffer {
  return Buffer.concat(parts.map((p) => bytes(p)));
}
