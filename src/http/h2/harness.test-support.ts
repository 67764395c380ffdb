/** Test support for the HTTP/2 tests: feed packets into an HTTP/2 sink as reassembly lends them. */
import { AnomalyCounter } from '../../core/anomalies.js';
import type { ConnectionInfo, Dir, StreamSink } from '../../reassembly/types.js';
import { bodyText, type HttpExchange } from '../types.js';
import { createHttp2Sink, type Http2Limits } from './connection.js';

export const C2S = 0 as Dir;
export const S2C = 1 as Dir;

export function makeInfo(rolesGuessed = false): ConnectionInfo {
  return { id: 'c1', client: { ip: '10.0.0.1', port: 50000 }, server: { ip: '10.0.0.2', port: 443 }, rolesGuessed };
}

export type Packet = [dir: Dir, data: Uint8Array, ts?: number];

export interface Run {
  exchanges: HttpExchange[];
  anomalies: AnomalyCounter;
  sink: StreamSink;
}

/**
 * Feeds packets through one reused buffer scribbled over after each call (a sink that keeps a
 * view instead of a copy fails), then closes unless `close` is false.
 */
export function feedH2(packets: Packet[], o: { info?: ConnectionInfo; limits?: Partial<Http2Limits>; close?: boolean; sink?: (info: ConnectionInfo, run: Run) => StreamSink } = {}): Run {
  const exchanges: HttpExchange[] = [];
  const anomalies = new AnomalyCounter();
  const info = o.info ?? makeInfo();
  const run: Run = { exchanges, anomalies, sink: null as unknown as StreamSink };
  run.sink = o.sink ? o.sink(info, run) : createHttp2Sink(info, (e) => exchanges.push(e), anomalies, o.limits);
  let t = 1_000_000;
  let lent = new Uint8Array(4096);
  for (const [dir, b, ts] of packets) {
    t = ts ?? t + 1;
    if (b.length > lent.length) lent = new Uint8Array(b.length * 2);
    lent.set(b);
    run.sink.onData(dir, lent.subarray(0, b.length), t);
    lent.fill(0xee, 0, b.length);
  }
  if (o.close ?? true) run.sink.onClose(t + 1, 'fin');
  return run;
}

/** Everything a user would check of an exchange, except capture times. */
export function summary(e: HttpExchange) {
  const r = e.response;
  return {
    method: e.request.method,
    target: e.request.target,
    host: e.request.headers.find(([n]) => n === 'host')?.[1] ?? null,
    requestBody: bodyText(e.request.body),
    status: r?.status ?? null,
    responseBody: r ? bodyText(r.body) : null,
    anomalies: [...e.anomalies].sort(),
  };
}

/** Cuts each direction's bytes into pieces at the given offsets, directions interleaved in
 * the order of `order` (a list of directions, one per piece). */
export function pieces(stream: Uint8Array, cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...cuts, stream.length]) {
    if (c > prev && c <= stream.length) {
      out.push(stream.subarray(prev, c));
      prev = c;
    }
  }
  return out;
}
