/**
 * An LLM call over HTTP/2 decodes to the same call as over HTTP/1.1: generated exchanges of every
 * wire API rewritten as HTTP/2 frames, and a real h2c exchange between node's own http2 client and
 * server (nghttp2's HPACK encoder, Huffman and dynamic table) against the same over HTTP/1.1.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../../src/core/anomalies.js';
import { decodeExchange } from '../../src/decoders/registry.js';
import type { DecodedCall } from '../../src/decoders/types.js';
import { createHttp1Sink } from '../../src/http/h1/connection.js';
import { createHttp2Sink } from '../../src/http/h2/connection.js';
import { feedH2, makeInfo, type Packet } from '../../src/http/h2/harness.test-support.js';
import { createSniffingSink } from '../../src/http/sniff.js';
import type { HttpExchange } from '../../src/http/types.js';
import type { ConnectionInfo, Dir } from '../../src/reassembly/types.js';
import { APIS, generateExchange } from '../gen/llm-traffic.js';
import { Rng } from '../gen/rng.js';
import { h2EventsOf, h2PacketsOf, renderH2 } from './h1-to-h2.js';

const T0 = Date.UTC(2026, 2, 2, 9, 0, 0) * 1000;

function h1Exchange(packets: [Dir, Uint8Array, number][]): HttpExchange {
  const out: HttpExchange[] = [];
  const sink = createHttp1Sink(makeInfo(), (e) => out.push(e), new AnomalyCounter());
  for (const [d, b, t] of packets) sink.onData(d, b, t);
  sink.onClose(packets[packets.length - 1]![2] + 1, 'fin');
  expect(out).toHaveLength(1);
  return out[0]!;
}

function callOf(ex: HttpExchange): DecodedCall {
  const r = decodeExchange(ex);
  if (!('call' in r)) throw new Error(`not decoded: ${r.notLlm}`);
  return r.call;
}

describe('generated LLM exchanges over HTTP/2', () => {
  for (const api of APIS) {
    for (const stream of [true, false]) {
      it(`${api}${stream ? ' streamed' : ''}: the same call, with the same times, as over HTTP/1.1`, () => {
        const g = generateExchange(new Rng(7), { api, at: T0, stream, toolCalls: 1, requestBytes: 40_000 });
        const packets: [Dir, Uint8Array, number][] = [
          ...g.wire.request.map((p) => [0 as Dir, p.data, p.at] as [Dir, Uint8Array, number]),
          ...g.wire.response.map((p) => [1 as Dir, p.data, p.at] as [Dir, Uint8Array, number]),
        ];
        const h1 = h1Exchange(packets);
        expect(h1.response!.body.contentEncoding).toBeNull();
        const run = feedH2(h2PacketsOf(h1));
        expect(run.exchanges).toHaveLength(1);
        const h2 = run.exchanges[0]!;
        expect(run.anomalies.total).toBe(0);
        const a = callOf(h1);
        const b = callOf(h2);
        expect(b).toEqual(a);
        // Not vacuous: the generator's facts are what both report.
        expect([b.request_model, b.stream, b.tool_calls.length]).toEqual([g.expected.requestModel, stream, 1]);
        if (stream) expect(b.first_token).toBe(g.expected.firstEventAt);
      });
    }
  }

  it('several calls multiplexed on one connection decode as each alone', () => {
    const gens = APIS.map((api, i) => generateExchange(new Rng(11 + i), { api, at: T0 + i * 1000, stream: true }));
    const h1s = gens.map((g) =>
      h1Exchange([
        ...g.wire.request.map((p) => [0 as Dir, p.data, p.at] as [Dir, Uint8Array, number]),
        ...g.wire.response.map((p) => [1 as Dir, p.data, p.at] as [Dir, Uint8Array, number]),
      ]),
    );
    // One capture: every frame in time order (the streams' frames interleave).
    const packets: Packet[] = renderH2(h1s.flatMap((ex, i) => h2EventsOf(ex, 2 * i + 1, i === 0)));
    // The streams really interleave: the server's frames switch stream many times.
    const ids = packets.filter((p) => p[0] === 1).map((p) => Buffer.from(p[1]).readUInt32BE(5)).filter((id) => id > 0);
    expect(ids.filter((id, i) => i > 0 && id !== ids[i - 1]).length).toBeGreaterThan(2 * gens.length);
    const run = feedH2(packets);
    expect(run.anomalies.total).toBe(0);
    const byPath = new Map(run.exchanges.map((e) => [e.request.target, callOf(e)]));
    for (const ex of h1s) expect(byPath.get(ex.request.target)).toEqual(callOf(ex));
  });
});

// ---- a real client and server ----

const CHUNKS = ['Hel', 'lo, ', 'HTTP/2', '!'];

function sseBody(): string[] {
  const base = { id: 'chatcmpl-h2', object: 'chat.completion.chunk', created: 1767225600, model: 'gpt-4o-mini-2024-07-18' };
  const events: Record<string, unknown>[] = CHUNKS.map((c, i) => ({ ...base, choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: c } : { content: c }, finish_reason: null }] }));
  events.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
  const usage = { ...base, choices: [], usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 } };
  return [...events.map((e) => `data: ${JSON.stringify(e)}\n\n`), `data: ${JSON.stringify(usage)}\n\n`, 'data: [DONE]\n\n'];
}

const REQUEST = JSON.stringify({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Say hello' }] });

/** A TCP relay that records each direction's bytes in the order they pass, stamped by a counter
 * clock (capture time is whatever we say it is; order is what matters). */
async function recordingRelay(targetPort: number) {
  const packets: [Dir, Uint8Array, number][] = [];
  let clock = T0;
  const server = net.createServer((down) => {
    const up = net.connect(targetPort, '127.0.0.1');
    down.on('data', (d: Buffer) => {
      packets.push([0 as Dir, Uint8Array.from(d), (clock += 1000)]);
      up.write(d);
    });
    up.on('data', (d: Buffer) => {
      packets.push([1 as Dir, Uint8Array.from(d), (clock += 1000)]);
      down.write(d);
    });
    down.on('end', () => up.end());
    up.on('end', () => down.end());
    down.on('error', () => up.destroy());
    up.on('error', () => down.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { packets, port: (server.address() as AddressInfo).port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function overHttp2(): Promise<[Dir, Uint8Array, number][]> {
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.on('data', () => undefined);
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'text/event-stream', 'x-request-id': 'req_h2' });
      for (const e of sseBody()) stream.write(e);
      stream.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const relay = await recordingRelay((server.address() as AddressInfo).port);
  const client = http2.connect(`http://127.0.0.1:${relay.port}`);
  const body = await new Promise<string>((resolve, reject) => {
    const req = client.request({ ':method': 'POST', ':path': '/v1/chat/completions', ':authority': 'api.openai.com', 'content-type': 'application/json', authorization: 'Bearer sk-test-h2' });
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (text += d));
    req.on('end', () => resolve(text));
    req.on('error', reject);
    req.end(REQUEST);
  });
  expect(body).toBe(sseBody().join(''));
  await new Promise<void>((r) => client.close(() => r()));
  await new Promise<void>((r) => server.close(() => r()));
  await relay.close();
  return relay.packets;
}

async function overHttp1(): Promise<[Dir, Uint8Array, number][]> {
  const server = http.createServer((req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-request-id': 'req_h2' });
      for (const e of sseBody()) res.write(e);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const relay = await recordingRelay((server.address() as AddressInfo).port);
  await new Promise<void>((resolve, reject) => {
    const req = http.request({ port: relay.port, host: '127.0.0.1', method: 'POST', path: '/v1/chat/completions', agent: false, headers: { host: 'api.openai.com', 'content-type': 'application/json', authorization: 'Bearer sk-test-h2' } }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end(REQUEST);
  });
  await new Promise<void>((r) => server.close(() => r()));
  await relay.close();
  return relay.packets;
}

function exchangesThroughSniffer(packets: [Dir, Uint8Array, number][]): { exchanges: HttpExchange[]; anomalies: AnomalyCounter } {
  const exchanges: HttpExchange[] = [];
  const anomalies = new AnomalyCounter();
  const info: ConnectionInfo = makeInfo();
  const sink = createSniffingSink(info, {
    h1: (i) => createHttp1Sink(i, (e) => exchanges.push(e), anomalies),
    h2: (i) => createHttp2Sink(i, (e) => exchanges.push(e), anomalies),
    anomalies,
  });
  for (const [d, b, t] of packets) sink.onData(d, b, t);
  sink.onClose(packets[packets.length - 1]![2] + 1, 'fin');
  return { exchanges, anomalies };
}

describe("node's http2 client and server (h2c)", () => {
  it('the call decoded from HTTP/2 equals the one from HTTP/1.1', async () => {
    const h2 = exchangesThroughSniffer(await overHttp2());
    const h1 = exchangesThroughSniffer(await overHttp1());
    expect(h2.exchanges.map((e) => e.request.version)).toEqual(['HTTP/2']);
    expect(h1.exchanges.map((e) => e.request.version)).toEqual(['HTTP/1.1']);
    expect(h2.anomalies.entries()).toEqual([]);
    const a = callOf(h1.exchanges[0]!);
    const b = callOf(h2.exchanges[0]!);
    const timeless = (c: DecodedCall) => ({ ...c, first_token: null, last_token: null });
    expect(timeless(b)).toEqual(timeless(a));
    expect([b.response_model, b.output_text, b.usage.input_tokens, b.usage.output_tokens, b.finish_reason]).toEqual(['gpt-4o-mini-2024-07-18', CHUNKS.join(''), 12, 5, 'stop']);
    expect(b.first_token).not.toBeNull();
  });
});
