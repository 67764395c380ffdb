/**
 * The server's own behaviour, independent of the data: security headers, the access token, the
 * refusal to serve a public address openly, error mapping, the live feed over real HTTP, the
 * console's file serving. Data endpoints are tested against DuckDB in api.duckdb.test.ts.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreError } from '../store/types.js';
import { fakeHealth, FakeStore, sampleRecord } from './fake-store.test-support.js';
import { LiveFeed } from './live-feed.js';
import { CONTENT_SECURITY_POLICY } from './security.js';
import { createServer, ServerConfigError, type ApiServer, type ServerOptions } from './server.js';

const open: ApiServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

function server(extra: Partial<ServerOptions> = {}): { srv: ApiServer; store: FakeStore; feed: LiveFeed; errors: unknown[] } {
  const store = new FakeStore();
  const feed = new LiveFeed({ heartbeatMs: 0 });
  const errors: unknown[] = [];
  const srv = createServer({ store, health: fakeHealth, liveFeed: feed, onError: (e) => errors.push(e), ...extra });
  open.push(srv);
  return { srv, store, feed, errors };
}

describe('response headers', () => {
  it('sets CSP, nosniff, no-referrer and no framing on API responses, errors and pages', async () => {
    const { srv } = server();
    for (const url of ['/api/v1/calls', '/api/v1/calls?bogus=1', '/api/v1/nope', '/']) {
      const res = await srv.app.inject(url);
      expect(res.headers['content-security-policy'], url).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['content-security-policy']).not.toContain('unsafe-inline');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    }
  });
});

describe('errors', () => {
  it('answers unknown routes, placeholders, bad ids and bad parameters with JSON errors', async () => {
    const { srv, store } = server();
    const cases: [string, number, string][] = [
      ['/api/v1/nope', 404, 'not_found'],
      ['/api/v1/turns/not-a-uuid', 400, 'bad_request'],
      ['/api/v1/turns/019bc1a4-0000-7000-8000-000000000001', 404, 'not_found'],
      ['/api/v1/turns?status=done', 400, 'bad_request'],
      ['/api/v1/sessions/abc', 404, 'not_found'],
      ['/api/v1/sessions/a%00b', 400, 'bad_request'],
      ['/api/v1/sessions?has_stalls=true', 400, 'bad_request'],
      ['/api/v1/alerts/not-a-uuid', 400, 'bad_request'],
      ['/api/v1/costs?by=a%27b', 400, 'bad_request'],
      ['/api/v1/calls/not-a-uuid', 400, 'bad_request'],
      ['/api/v1/calls/019bc1a4-0000-7000-8000-000000000001', 404, 'not_found'],
      ['/api/v1/exchanges/019bc1a4-0000-7000-8000-000000000001', 404, 'not_found'],
      ['/api/v1/calls?limit=abc', 400, 'bad_request'],
      ['/api/v1/health?x=1', 400, 'bad_request'],
      ['/api/v1/live?x=1', 400, 'bad_request'],
      [`/api/v1/calls/${'a'.repeat(300)}`, 414, 'bad_request'],
    ];
    for (const [url, status, code] of cases) {
      const res = await srv.app.inject(url);
      expect(res.statusCode, url).toBe(status);
      expect(res.json().error.code, url).toBe(code);
      expect(typeof res.json().error.message).toBe('string');
    }
    // Rejected input never reached the store.
    expect(store.calls.filter((c) => ['listCalls', 'listTurns', 'listSessions'].includes(c.method))).toHaveLength(0);
  });

  it("maps the store's argument errors to 400 and hides everything else behind a 500 without details", async () => {
    const { srv, store, errors } = server();
    store.fail = new StoreError('invalid_cursor', 'malformed cursor');
    let res = await srv.app.inject('/api/v1/calls?cursor=zzz');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code: 'bad_request', message: 'malformed cursor' } });
    store.fail = new Error('Binder Error: secret internals');
    res = await srv.app.inject('/api/v1/summary');
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: 'internal', message: 'internal error' } });
    expect(errors).toHaveLength(1);
  });

  it('refuses other methods', async () => {
    const { srv } = server();
    const res = await srv.app.inject({ method: 'POST', url: '/api/v1/calls', payload: { a: 1 } });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });
});

describe('health', () => {
  it("merges the pipeline's health, the store's stats and the live feed's counters", async () => {
    const { srv } = server();
    const body = (await srv.app.inject('/api/v1/health')).json();
    expect(body).toMatchObject({ ...fakeHealth(), db: { path: ':fake:' }, db_error: null, live: { clients: 0, published: 0 } });
  });
  it('reports an unreadable database instead of failing', async () => {
    const { srv, store } = server();
    store.fail = new Error('IO Error: disk');
    const res = await srv.app.inject('/api/v1/health');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'degraded', db: null, db_error: 'IO Error: disk' });
  });
});

describe('access token', () => {
  const token = 'tok-0123456789abcdef';

  it('requires the token (Bearer or cookie) on every API route when one is set', async () => {
    const { srv, store } = server({ token });
    for (const url of ['/api/v1/calls', '/api/v1/health', '/api/v1/live', '/api/v1/nope', '/']) {
      const res = await srv.app.inject(url);
      expect(res.statusCode, url).toBe(401);
      expect(res.json().error.code).toBe('unauthorized');
      expect(res.headers['www-authenticate']).toContain('Bearer');
      expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    }
    for (const authorization of [`Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, token, `Basic ${token}`]) {
      expect((await srv.app.inject({ url: '/api/v1/calls', headers: { authorization } })).statusCode, authorization).toBe(401);
    }
    expect((await srv.app.inject({ url: '/api/v1/calls', headers: { cookie: 'llmtap_token=wrong' } })).statusCode).toBe(401);
    // A token in the query string does not open the API.
    expect((await srv.app.inject(`/api/v1/calls?token=${token}`)).statusCode).toBe(401);
    expect(store.calls).toHaveLength(0);

    expect((await srv.app.inject({ url: '/api/v1/calls', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
    expect((await srv.app.inject({ url: '/api/v1/calls', headers: { cookie: `a=b; llmtap_token=${token}` } })).statusCode).toBe(200);
  });

  it('trades a correct ?token= on a page for an HttpOnly cookie and a redirect without it', async () => {
    const { srv } = server({ token });
    const res = await srv.app.inject(`/calls?token=${token}&x=1`);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/calls?x=1');
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^llmtap_token=/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect((await srv.app.inject(`/calls?token=wrong`)).statusCode).toBe(401);
    const then = await srv.app.inject({ url: '/api/v1/calls', headers: { cookie: cookie.split(';')[0]! } });
    expect(then.statusCode).toBe(200);
  });

  it('refuses to listen on a non-loopback address without a token, unless insecure', async () => {
    const { srv } = server();
    await expect(srv.listen({ host: '0.0.0.0', port: 0 })).rejects.toBeInstanceOf(ServerConfigError);
    await expect(srv.listen({ host: '::', port: 0 })).rejects.toThrow(/without an access token/);
    expect(srv.app.server.listening).toBe(false);

    const withToken = server({ token }).srv;
    const url = await withToken.listen({ host: '0.0.0.0', port: 0 });
    const port = new URL(url).port;
    expect((await fetch(`http://127.0.0.1:${port}/api/v1/calls`)).status).toBe(401);
    expect((await fetch(`http://127.0.0.1:${port}/api/v1/calls`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);

    const insecure = server({ insecure: true }).srv;
    const url2 = await insecure.listen({ host: '0.0.0.0', port: 0 });
    // Open on purpose: and reached under any name (the Host check is for loopback mode only).
    const res = await fetch(`http://127.0.0.1:${new URL(url2).port}/api/v1/calls`, { headers: { host: 'box.example:80' } });
    expect(res.status).toBe(200);
  });

  it('refuses an empty token', () => {
    expect(() => createServer({ store: new FakeStore(), health: fakeHealth, liveFeed: new LiveFeed(), token: '' })).toThrow(ServerConfigError);
  });

  it('in loopback mode without a token, refuses requests addressed to another host name (DNS rebinding)', async () => {
    const { srv } = server();
    const url = await srv.listen({ port: 0 });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${url}/api/v1/calls`)).status).toBe(200);
    const res = await srv.app.inject({ url: '/api/v1/calls', headers: { host: 'attacker.example:3000' } });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('forbidden_host');
  });
});

describe('live feed over HTTP', () => {
  /** Reads SSE from a fetch body until `until` holds for the text so far. */
  async function readUntil(body: ReadableStream<Uint8Array>, until: (text: string) => boolean): Promise<string> {
    const reader = body.getReader();
    const dec = new TextDecoder();
    let text = '';
    while (!until(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
    }
    reader.releaseLock();
    return text;
  }

  it('delivers a published call to a connected client, with heartbeats and security headers', async () => {
    const { srv, feed } = server();
    const url = await srv.listen({ port: 0 });
    const ac = new AbortController();
    const res = await fetch(`${url}/api/v1/live`, { signal: ac.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    const body = res.body!;
    expect(await readUntil(body, (t) => t.includes(': connected\n\n'))).toContain('retry: 3000');
    expect(feed.clientCount).toBe(1);
    const rec = sampleRecord('019bc1a4-0000-7000-8000-0000000000aa', 'hi\n<script>x</script>');
    feed.publish(rec);
    feed.beat();
    const text = await readUntil(body, (t) => t.includes(': heartbeat\n\n'));
    const m = /event: call\nid: (.*)\ndata: (.*)\n\n/.exec(text);
    expect(m![1]).toBe(rec.id);
    const data = JSON.parse(m![2]!);
    expect(data.id).toBe(rec.id);
    expect(data.output_preview).toBe('hi\n<script>x</script>');
    expect(data.content).toBeUndefined();

    ac.abort();
    await new Promise<void>((resolve) => {
      const check = (): void => (feed.clientCount === 0 ? resolve() : void setTimeout(check, 5));
      check();
    });
  });

  it('drops a client that does not read, without holding what it missed', async () => {
    const feed = new LiveFeed({ heartbeatMs: 0, maxPendingBytes: 256 * 1024 });
    const { srv } = server({ liveFeed: feed });
    const url = await srv.listen({ port: 0 });
    const res = await fetch(`${url}/api/v1/live`);
    expect(res.status).toBe(200);
    // Never read the body: the kernel buffers fill, then Node's, then the feed drops the client.
    const big = sampleRecord('019bc1a4-0000-7000-8000-0000000000bb', 'x'.repeat(150));
    big.tools_offered = Array.from({ length: 2000 }, (_, i) => `tool_${i}_${'y'.repeat(20)}`); // ~60 KB per event
    for (let i = 0; i < 2000 && feed.clientCount > 0; i++) feed.publish(big);
    expect(feed.clientCount).toBe(0);
    expect(feed.stats.dropped).toBe(1);
    await res.body?.cancel().catch(() => undefined);
  });

  it('ends live connections when the server closes', async () => {
    const { srv, feed } = server();
    const url = await srv.listen({ port: 0 });
    const res = await fetch(`${url}/api/v1/live`);
    const reader = res.body!.getReader();
    await reader.read();
    await srv.close();
    expect(feed.clientCount).toBe(0);
    await expect(
      (async () => {
        while (!(await reader.read()).done);
      })(),
    ).rejects.toThrow();
  });
});

describe('console files', () => {
  function consoleDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'llmtap-console-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>llmtap</title>');
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'assets', 'app-abcdef12.js'), 'console.log(1)');
    writeFileSync(join(dir, '..', `secret-${process.pid}.txt`), 'do not serve');
    return dir;
  }

  it('serves the app, its assets, client-side routes, and nothing outside its directory', async () => {
    const { srv } = server({ consoleDir: consoleDir() });
    let res = await srv.app.inject('/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(res.body).toContain('<title>llmtap</title>');
    res = await srv.app.inject('/assets/app-abcdef12.js');
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['cache-control']).toContain('immutable');
    res = await srv.app.inject('/calls/019bc1a4-0000-7000-8000-000000000001');
    expect(res.body).toContain('<title>llmtap</title>');
    for (const url of [`/../secret-${process.pid}.txt`, `/%2e%2e/secret-${process.pid}.txt`, `/assets/..%2f..%2fsecret-${process.pid}.txt`, '/missing.js', '/%00.js']) {
      res = await srv.app.inject(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.body).not.toContain('do not serve');
    }
    // A path that does not decode is the router's 400, still JSON.
    res = await srv.app.inject('/%E0%A4%A');
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('bad_request');
    expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    // API misses stay JSON errors, not the app.
    res = await srv.app.inject('/api/v1/nope');
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('not_found');
  });
});
