/**
 * The proxy server in process, in front of a scripted local upstream, feeding a real capture
 * pipeline: what the client receives, what the upstream receives, and the records. Streaming is
 * shown by order, never by time: the upstream sends its next event only once the client has the
 * previous one.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, test } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import type { LlmCallRecord } from '../core/record.js';
import { createCapturePipeline } from '../pipeline/replay.js';
import { createProxyServer, type ProxyCounters, type ProxyRoute } from './server.js';
import type { ProxyLimits } from './limits.js';
import { parseHostPatterns } from './allow-hosts.js';
import { parseUpstreamUrl } from './target.js';

const KEY = 'sk-test-proxy-0123456789abcdefghijKLMN';

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

interface Upstream {
  port: number;
  /** What the upstream received: method, target, headers as sent (raw pairs), body. */
  seen: { method: string; url: string; raw: string[]; body: Buffer }[];
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startUpstream(handler: Handler): Promise<Upstream> {
  const seen: Upstream['seen'] = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      seen.push({ method: req.method ?? '', url: req.url ?? '', raw: req.rawHeaders, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const up: Upstream = {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  cleanups.push(up.close);
  return up;
}

interface Proxy {
  port: number;
  calls: LlmCallRecord[];
  envs: (string | null)[];
  counters: ProxyCounters;
  anomalies: AnomalyCounter;
}

async function startProxy(route: ProxyRoute = { kind: 'scheme' }, limits: Partial<ProxyLimits> = {}): Promise<Proxy> {
  const anomalies = new AnomalyCounter();
  const calls: LlmCallRecord[] = [];
  const envs: (string | null)[] = [];
  const pipeline = createCapturePipeline({ source: 'proxy', fingerprintSalt: 'test', onCall: (r) => calls.push(r) });
  const server = createProxyServer({
    route,
    anomalies,
    limits,
    openExchange: (info, env) => {
      envs.push(env);
      return pipeline.openConnection(info);
    },
  });
  const { port } = await server.listen('127.0.0.1', 0);
  cleanups.push(() => server.close(0));
  return { port, calls, envs, counters: server.counters, anomalies };
}

interface ClientResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  raw: string[];
  body: Buffer;
  /** The local port of the client's socket (the record's client endpoint). */
  localPort: number;
}

/** One request on a fresh connection; resolves with the whole response. */
function request(port: number, path: string, o: { method?: string; headers?: Record<string, string>; body?: string | Buffer[] } = {}): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: o.method ?? 'POST', headers: o.headers ?? {}, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, raw: res.rawHeaders, body: Buffer.concat(parts), localPort: req.socket?.localPort ?? 0 }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (Array.isArray(o.body)) for (const b of o.body) req.write(b);
    else if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

const chatBody = (extra: object = {}): string => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...extra });
const completion = JSON.stringify({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
});
const chunk = (content: string | null, finish: string | null = null): string =>
  `data: ${JSON.stringify({ id: 'chatcmpl-s', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }] })}\n\n`;

/** Resolves when `n` calls were recorded (records come when the exchange closes, after the
 * client got its last byte). */
async function calls(p: Proxy, n: number): Promise<LlmCallRecord[]> {
  for (let i = 0; i < 200 && p.calls.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  return p.calls;
}

describe('forwarding', () => {
  test('/proxy/{env}/http/{host}/… reaches the upstream with its path, Host rewritten, credentials untouched', async () => {
    const up = await startUpstream((_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_1' });
      res.end(completion);
    });
    const p = await startProxy();
    const r = await request(p.port, `/proxy/prod/http/127.0.0.1:${up.port}/v1/chat/completions?beta=true`, {
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', connection: 'keep-alive, x-hop', 'x-hop': '1', 'accept-encoding': 'gzip' },
      body: chatBody(),
    });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe(completion);
    expect(r.headers['x-request-id']).toBe('req_1');
    const seen = up.seen[0]!;
    expect(seen.url).toBe('/v1/chat/completions?beta=true');
    const h = new Map<string, string>();
    for (let i = 0; i < seen.raw.length; i += 2) h.set(seen.raw[i]!.toLowerCase(), seen.raw[i + 1]!);
    expect(h.get('host')).toBe(`127.0.0.1:${up.port}`);
    expect(h.get('authorization')).toBe(`Bearer ${KEY}`);
    expect(h.get('accept-encoding')).toBe('gzip');
    expect(h.has('x-hop')).toBe(false);
    expect(seen.body.toString()).toBe(chatBody());

    const [rec] = await calls(p, 1);
    expect(rec).toMatchObject({
      api: 'openai.chat_completions',
      request_model: 'gpt-4o-mini',
      response_model: 'gpt-4o-mini-2024-07-18',
      response_id: 'chatcmpl-1',
      status_code: 200,
      usage: { input_tokens: 9, output_tokens: 2 },
      client: { ip: '127.0.0.1', port: r.localPort },
      server: { ip: '127.0.0.1', port: up.port, host: `127.0.0.1:${up.port}` },
      http: { method: 'POST', path: '/v1/chat/completions?beta=true' },
    });
    expect(rec!.api_key_fingerprint).not.toBeNull();
    expect(JSON.stringify(rec)).not.toContain(KEY);
    expect(p.envs).toEqual(['prod']);
    expect(p.counters).toMatchObject({ requests: 1, answered: 1, upstreamFailures: 0, inFlight: 0 });
  });

  test('--upstream mode: every request goes to the origin, under its base path; no env', async () => {
    const up = await startUpstream((_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completion);
    });
    const target = parseUpstreamUrl(`http://127.0.0.1:${up.port}/gw`);
    if (typeof target === 'string') throw new Error(target);
    const p = await startProxy({ kind: 'upstream', ...target });
    const r = await request(p.port, '/v1/chat/completions', { headers: { 'content-type': 'application/json' }, body: chatBody() });
    expect(r.status).toBe(200);
    expect(up.seen[0]!.url).toBe('/gw/v1/chat/completions');
    expect(p.envs).toEqual([null]);
    const [rec] = await calls(p, 1);
    expect(rec!.http.path).toBe('/gw/v1/chat/completions');
  });

  test('a chunked request body is forwarded whole and decoded into the record', async () => {
    const up = await startUpstream((_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completion);
    });
    const p = await startProxy();
    const body = chatBody({ temperature: 0.1 });
    await request(p.port, `/proxy/e/http/127.0.0.1:${up.port}/v1/chat/completions`, {
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: [Buffer.from(body.slice(0, 10)), Buffer.from(body.slice(10))],
    });
    expect(up.seen[0]!.body.toString()).toBe(body);
    const [rec] = await calls(p, 1);
    expect(rec!.request_model).toBe('gpt-4o-mini');
  });

  test('a gzip response reaches the client still compressed, byte for byte; the record decodes it', async () => {
    const gz = gzipSync(Buffer.from(completion));
    const up = await startUpstream((_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gz);
    });
    const p = await startProxy();
    const r = await request(p.port, `/proxy/e/http/127.0.0.1:${up.port}/v1/chat/completions`, {
      headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip' },
      body: chatBody(),
    });
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(r.body.equals(gz)).toBe(true);
    const [rec] = await calls(p, 1);
    expect(rec!.http.content_encoding).toBe('gzip');
    expect(rec!.content.output_text).toBe('Hello there');
  });

  test('a bad target is refused 400 without reaching any upstream', async () => {
    const up = await startUpstream((_q, _b, res) => res.end());
    const p = await startProxy();
    const r = await request(p.port, `/proxy/e/gopher/127.0.0.1:${up.port}/v1/chat/completions`, { body: chatBody() });
    expect(r.status).toBe(400);
    expect(up.seen).toEqual([]);
    expect(p.anomalies.get('proxy_bad_target')).toBe(1);
  });

  test('--allow-host: a host it admits is forwarded; any other is refused 403 with a JSON body, counted, never contacted', async () => {
    const up = await startUpstream((_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(completion);
    });
    const allowHosts = parseHostPatterns(['api.example.test', `127.0.0.1:${up.port}`]);
    if (typeof allowHosts === 'string') throw new Error(allowHosts);
    const p = await startProxy({ kind: 'scheme', allowHosts });
    const ok = await request(p.port, `/proxy/e/http/127.0.0.1:${up.port}/v1/chat/completions`, { headers: { 'content-type': 'application/json' }, body: chatBody() });
    expect(ok.status).toBe(200);
    // Same address, another port: not admitted (the pattern names its port). Nothing listens
    // there, so a forwarded request would have been a 502, not a 403.
    const otherPort = await request(p.port, `/proxy/e/http/127.0.0.1:${up.port + 1}/v1/chat/completions?key=${KEY}`, { body: chatBody() });
    const metadata = await request(p.port, '/proxy/e/http/169.254.169.254/latest/meta-data/', { method: 'GET' });
    for (const r of [otherPort, metadata]) {
      expect(r.status).toBe(403);
      expect(r.headers['content-type']).toBe('application/json');
      const body = JSON.parse(r.body.toString()) as { error: { type: string; message: string } };
      expect(body.error.type).toBe('proxy_host_not_allowed');
      expect(body.error.message).toContain('--allow-host');
      // The refusal names the origin, never the path or query (which may hold a key).
      expect(r.body.toString()).not.toContain(KEY);
      expect(r.body.toString()).not.toContain('meta-data');
    }
    expect(up.seen).toHaveLength(1);
    expect(p.anomalies.get('proxy_host_not_allowed')).toBe(2);
    expect(p.counters).toMatchObject({ requests: 3, answered: 1, badTargets: 2 });
    // Refused requests are not records: only the forwarded call is.
    expect((await calls(p, 1)).map((c) => c.status_code)).toEqual([200]);
  });
});

describe('streaming', () => {
  test('each SSE event reaches the client before the upstream sends the next', async () => {
    let clientGot: (n: number) => void = () => undefined;
    const got: number[] = [];
    const up = await startUpstream((_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const words = ['Hel', 'lo', ' you'];
      let i = 0;
      const next = (): void => {
        if (i < words.length) {
          res.write(chunk(words[i++]!));
          return;
        }
        res.end(`${chunk(null, 'stop')}data: [DONE]\n\n`);
      };
      // The next event only once the client has seen this one: no buffering anywhere between.
      clientGot = () => next();
      next();
    });
    const p = await startProxy();
    await new Promise<void>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: p.port, path: `/proxy/e/http/127.0.0.1:${up.port}/v1/chat/completions`, method: 'POST', agent: false, headers: { 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (s: string) => {
            text += s;
            const events = text.split('\n\n').length - 1;
            got.push(events);
            clientGot(events);
          });
          res.on('end', resolve);
          res.on('error', reject);
        },
      );
      req.end(chatBody({ stream: true }));
    });
    expect(got.slice(0, 3)).toEqual([1, 2, 3]);
    const [rec] = await calls(p, 1);
    expect(rec).toMatchObject({ stream: true, finish_reason: 'stop', content: { output_text: 'Hello you' } });
    expect(rec!.timing.first_token! < rec!.timing.last_token!).toBe(true);
  });

  test('backpressure: a client that does not read holds the upstream back (nothing piles up in the proxy)', async () => {
    const total = 96 * 1024 * 1024;
    const piece = Buffer.alloc(256 * 1024, 0x61);
    let written = 0;
    let blocked = false;
    const up = await startUpstream((_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
      const pump = (): void => {
        while (written < total) {
          written += piece.length;
          if (!res.write(piece)) {
            blocked = true;
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    const p = await startProxy();
    const req = http.request({ host: '127.0.0.1', port: p.port, path: `/proxy/e/http/127.0.0.1:${up.port}/download`, method: 'GET', agent: false });
    const res = await new Promise<IncomingMessage>((resolve) => {
      req.on('response', resolve);
      req.end();
    });
    res.pause();
    // Wait until the flow settles (the upstream stays blocked with the same count); the socket
    // buffers between hold a few MB, far from the 96 MB a proxy reading without limit takes in.
    let last = -1;
    for (let i = 0; i < 400 && (written !== last || !blocked); i++) {
      last = written;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(blocked).toBe(true);
    expect(written).toBeLessThan(total / 2);
    // Reading resumes the flow to the end.
    let received = 0;
    res.on('data', (c: Buffer) => (received += c.length));
    res.resume();
    await new Promise((r) => res.on('end', r));
    expect(received).toBe(total);
  });
});

describe('failures', () => {
  test('an upstream that refuses connections: 502 with a JSON body naming it; a 502 record; counted', async () => {
    const dead = await startUpstream(() => undefined);
    await dead.close();
    const p = await startProxy();
    const r = await request(p.port, `/proxy/e/http/127.0.0.1:${dead.port}/v1/chat/completions?key=AIzaSyNotARealKey0123456789abcdefghij`, {
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: chatBody(),
    });
    expect(r.status).toBe(502);
    const body = JSON.parse(r.body.toString()) as { error: { code: string; upstream: string; message: string } };
    expect(body.error.code).toBe('upstream_refused');
    expect(body.error.upstream).toBe(`http://127.0.0.1:${dead.port}`);
    expect(r.body.toString()).not.toContain('AIza');
    expect(p.counters.upstreamFailures).toBe(1);
    expect(p.anomalies.get('proxy_upstream_refused')).toBe(1);
    const [rec] = await calls(p, 1);
    expect(rec).toMatchObject({ status_code: 502, finish_reason: 'error', request_model: 'gpt-4o-mini' });
    expect(JSON.stringify(rec)).not.toContain('AIzaSyNotARealKey');
    expect(JSON.stringify(rec)).not.toContain(KEY);
  });

  test('an upstream that does not answer in time: 504', async () => {
    const up = await startUpstream(() => undefined);
    const p = await startProxy({ kind: 'scheme' }, { upstreamIdleTimeoutMs: 100 });
    const r = await request(p.port, `/proxy/e/http/127.0.0.1:${up.port}/v1/chat/completions`, { body: chatBody() });
    expect(r.status).toBe(504);
    expect(p.anomalies.get('proxy_upstream_timeout')).toBe(1);
  });

  test('an upstream reset mid-stream ends the client response broken; the record shows the interrupted stream', async () => {
    let clientGotFirst: () => void = () => undefined;
    const up = await startUpstream((_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('partial'));
      clientGotFirst = () => res.socket?.destroy();
    });
    const p = await startProxy();
    const outcome = await new Promise<string>((resolve) => {
      const req = http.request(
        { host: '127.0.0.1', port: p.port, path: `/proxy/e/http/127.0.0.1:${up.port}/v1/chat/completions`, method: 'POST', agent: false },
        (res) => {
          res.on('data', () => clientGotFirst());
          res.on('end', () => resolve(res.complete ? 'complete' : 'incomplete'));
          res.on('error', () => resolve('error'));
          res.on('aborted', () => resolve('aborted'));
        },
      );
      req.on('error', () => resolve('error'));
      req.end(chatBody({ stream: true }));
    });
    expect(outcome).not.toBe('complete');
    const [rec] = await calls(p, 1);
    expect(rec!.finish_reason).toBeNull();
    expect(rec!.content.output_text).toBe('partial');
    expect(rec!.anomalies).toContain('openai_stream_interrupted');
    expect(p.counters.upstreamResets).toBe(1);
  });

  test('a client that gives up mid-stream: the upstream request is aborted too', async () => {
    let upstreamClosed: () => void = () => undefined;
    const closed = new Promise<void>((r) => (upstreamClosed = r));
    const up = await startUpstream((_q, _b, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('a'));
      res.on('close', () => upstreamClosed());
    });
    const p = await startProxy();
    const req = http.request({ host: '127.0.0.1', port: p.port, path: `/proxy/e/http/127.0.0.1:${up.port}/v1/chat/completions`, method: 'POST', agent: false });
    req.on('error', () => undefined);
    req.on('response', (res) => res.once('data', () => req.destroy()));
    req.end(chatBody({ stream: true }));
    await closed;
    const [rec] = await calls(p, 1);
    expect(rec!.anomalies).toContain('openai_stream_interrupted');
    expect(p.counters.clientAborts).toBe(1);
    expect(p.counters.inFlight).toBe(0);
  });
});
