import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../../core/anomalies.js';
import type { HttpExchange, HttpGauges } from '../types.js';
import { createHttp1Sink } from './connection.js';
import { C2S, S2C, bytes, makeInfo } from './harness.test-support.js';

const REQ = 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}';
const RES = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}';

describe('requests in flight (HttpGauges)', () => {
  it('counts a request from its head until its exchange is emitted, pipelined ones apart', () => {
    const gauges: HttpGauges = { inFlight: 0 };
    const out: HttpExchange[] = [];
    const sink = createHttp1Sink(makeInfo(), (e) => out.push(e), new AnomalyCounter(), undefined, gauges);
    sink.onData(C2S, bytes(REQ.slice(0, 20)), 1);
    expect(gauges.inFlight).toBe(0); // the request line is not complete yet
    sink.onData(C2S, bytes(REQ.slice(20) + REQ), 2);
    expect(gauges.inFlight).toBe(2);
    sink.onData(S2C, bytes(RES), 3);
    expect([gauges.inFlight, out.length]).toEqual([1, 1]);
    sink.onData(S2C, bytes(RES), 4);
    expect([gauges.inFlight, out.length]).toEqual([0, 2]);
  });

  it('returns to zero when the connection closes with a request unanswered, and ignores a response without request', () => {
    const gauges: HttpGauges = { inFlight: 0 };
    const sink = createHttp1Sink(makeInfo(), () => undefined, new AnomalyCounter(), undefined, gauges);
    sink.onData(S2C, bytes(RES), 1);
    sink.onData(C2S, bytes(REQ), 2);
    sink.onClose(3, 'fin');
    expect(gauges.inFlight).toBe(0);
  });
});
