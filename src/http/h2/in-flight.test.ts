import { describe, expect, it } from 'vitest';
import { CLIENT_PREFACE, concat, dataFrame, H2Wire, settingsFrame, utf8 } from '../../../test/h2/frame-writer.js';
import { AnomalyCounter } from '../../core/anomalies.js';
import type { HttpGauges } from '../types.js';
import { createHttp2Sink } from './connection.js';
import { C2S, makeInfo, S2C } from './harness.test-support.js';

const REQUEST = [
  [':method', 'POST'],
  [':scheme', 'https'],
  [':authority', 'api.openai.com'],
  [':path', '/v1/chat/completions'],
] as [string, string][];

describe('HTTP/2 requests in flight (HttpGauges)', () => {
  it('counts each open stream until its exchange is emitted; close ends the rest', () => {
    const gauges: HttpGauges = { inFlight: 0 };
    let emitted = 0;
    const sink = createHttp2Sink(makeInfo(), () => void emitted++, new AnomalyCounter(), undefined, gauges);
    const w = new H2Wire();
    sink.onData(C2S, concat([CLIENT_PREFACE, settingsFrame([]), ...w.requestHeaders(1, REQUEST), dataFrame(1, utf8('{}'), true)]), 1);
    sink.onData(C2S, concat([...w.requestHeaders(3, REQUEST), dataFrame(3, utf8('{}'), true)]), 2);
    expect(gauges.inFlight).toBe(2);
    sink.onData(S2C, concat([settingsFrame([]), ...w.responseHeaders(1, [[':status', '200']]), dataFrame(1, utf8('{}'), true)]), 3);
    expect([gauges.inFlight, emitted]).toEqual([1, 1]);
    sink.onClose(4, 'fin');
    expect([gauges.inFlight, emitted]).toEqual([0, 2]);
  });
});
