/**
 * `llmtap top`'s refresh loop and keys against a fake API (answers made by the real producers,
 * test-api.test-support.ts) and a manual clock: what it asks, what it keeps, how it retries.
 */
import { describe, expect, it, vi } from 'vitest';
import { callAt } from '../metrics/test-calls.test-support.js';
import { normaliseBase, TopApi } from './api-client.js';
import { MAX_RETRY_MS, TopController } from './controller.js';
import { inFlightOf } from './poll.js';
import { demoCalls, fakeServer, ManualClock, type FakeServer } from './test-api.test-support.js';

function setup(server: FakeServer, o: { token?: string; window?: string } = {}): { c: TopController; clock: ManualClock } {
  const clock = new ManualClock();
  const api = new TopApi({ url: 'http://user:pw@127.0.0.1:3000/', token: o.token, fetch: server.fetch });
  return { c: new TopController({ api, intervalMs: 2000, window: o.window ?? '1m', callLimit: 200, clock }), clock };
}

describe('top controller', () => {
  it('reads live metrics by model, in-flight requests, the calls page and costs by process over the window', async () => {
    const server = fakeServer(demoCalls(), { inFlight: 2 });
    const { c, clock } = setup(server, { token: 's3cret-token' });
    await c.refresh();
    const s = c.get();
    expect(s.base).toBe('http://127.0.0.1:3000');
    expect(s.problem).toBeNull();
    expect(s.data?.inFlight).toBe(2);
    expect(s.data?.live.total.calls).toBe(12);
    expect(s.data?.calls.map((x) => x.id)).toEqual(server.calls.map((x) => x.id).reverse());
    expect(s.selectedId).toBe(s.data!.calls[0]!.id);
    expect(s.data?.processes?.groups.map((g) => g.value)).toEqual(expect.arrayContaining(['python3', 'node', null]));
    const paths = server.requests.map((r) => r.path);
    expect(paths).toEqual(expect.arrayContaining(['/api/v1/metrics/live?window=1m&by=model', '/api/v1/calls?limit=200', '/metrics']));
    // Costs over the live window, counted back from the snapshot's capture time.
    const from = Date.parse(s.data!.live.now!) - 60_000;
    expect(paths).toContain(`/api/v1/costs?by=process&from=${from}`);
    expect(server.requests.every((r) => r.auth === 'Bearer s3cret-token')).toBe(true);
    expect(clock.pending()).toEqual([2000]);
  });

  it('an unreachable API keeps the last data, says so, and retries with back-off up to 10 s', async () => {
    const server = fakeServer(demoCalls());
    const { c, clock } = setup(server);
    await c.refresh();
    const before = c.get().data;
    server.answer('/', 'down');
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      await c.refresh();
      waits.push(clock.pending()[0]!);
    }
    expect(waits).toEqual([2000, 4000, 8000, MAX_RETRY_MS, MAX_RETRY_MS]);
    expect(c.get().problem).toMatchObject({ kind: 'unreachable', message: 'cannot reach http://127.0.0.1:3000: connection refused (is llmtap running with --listen?)' });
    expect(c.get().data).toBe(before);
    // Back up: the scheduled retry reads it, and the wait is the interval again.
    server.restore();
    const asked = server.requests.length;
    clock.advance(MAX_RETRY_MS);
    await vi.waitFor(() => expect(c.get().problem).toBeNull());
    expect(server.requests.length).toBeGreaterThan(asked);
    expect(c.get().failures).toBe(0);
    expect(clock.pending()).toEqual([2000]);
  });

  it('a missing or wrong token is named without echoing it', async () => {
    const server = fakeServer(demoCalls());
    server.answer('/api/', { status: 401, body: '{"error":{"code":"unauthorized","message":"a valid token is required"}}' });
    const anon = setup(server).c;
    await anon.refresh();
    expect(anon.get().problem).toMatchObject({ kind: 'unauthorized', message: 'http://127.0.0.1:3000 needs a token (401): pass --token or set LLMTAP_TOKEN' });
    const wrong = setup(server, { token: 'not-the-token' }).c;
    await wrong.refresh();
    expect(wrong.get().problem?.message).toBe('http://127.0.0.1:3000 refused the token (401): check --token / LLMTAP_TOKEN');
    expect(JSON.stringify(wrong.get())).not.toContain('not-the-token');
  });

  it('a window the server does not keep falls back to its default', async () => {
    const server = fakeServer(demoCalls(), { windows: ['5m'] });
    const { c } = setup(server, { window: '1m' });
    await c.refresh();
    expect(c.get().problem).toBeNull();
    expect(c.get().window).toBeNull();
    expect(c.get().data?.live.window).toBe('5m');
  });

  it('keys move the selection, which stays on its call as new calls arrive; Enter opens its detail', async () => {
    const server = fakeServer(demoCalls());
    const { c } = setup(server);
    await c.refresh();
    c.key('down');
    c.key('down');
    const chosen = c.get().data!.calls[2]!.id;
    expect(c.get().selectedId).toBe(chosen);
    server.calls = [...server.calls, callAt({ at: 40, model: 'gpt-5' })];
    await c.refresh();
    expect(c.get().data!.calls[3]!.id).toBe(chosen);
    expect(c.get().selectedId).toBe(chosen);
    c.key('end');
    expect(c.get().selectedId).toBe(c.get().data!.calls.at(-1)!.id);
    c.key('home');
    c.key('up');
    expect(c.get().selectedId).toBe(c.get().data!.calls[0]!.id);

    c.key('enter');
    expect(c.get().detail).toMatchObject({ id: c.get().selectedId, answer: null });
    await new Promise((r) => setImmediate(r));
    expect(c.get().detail?.answer?.call.id).toBe(c.get().selectedId);
    c.key('down');
    expect(c.get().detail?.scroll).toBe(1);
    c.key('back');
    expect(c.get().detail).toBeNull();
  });

  it('when costs by process cannot be read, the rest still shows, with a note', async () => {
    const server = fakeServer(demoCalls());
    server.answer('/api/v1/costs', { status: 400, body: '{"error":{"code":"bad_request","message":"no"}}' });
    const { c } = setup(server);
    await c.refresh();
    expect(c.get().problem).toBeNull();
    expect(c.get().data?.processes).toBeNull();
    expect(c.get().data?.processNote).toBe('this llmtap cannot break costs down by process (upgrade it)');
  });

  it('reads the in-flight gauge from Prometheus text; the base URL loses userinfo and query', () => {
    expect(inFlightOf('# HELP x\nllmtap_http_requests_in_flight 7\nother 1\n')).toBe(7);
    expect(inFlightOf('llmtap_http_requests_in_flight_total 7\n')).toBeNull();
    expect(inFlightOf('')).toBeNull();
    expect(normaliseBase('127.0.0.1:3000')).toBe('http://127.0.0.1:3000');
    expect(normaliseBase('https://a:b@host.example/llmtap/?token=x')).toBe('https://host.example/llmtap');
    expect(() => normaliseBase('ftp://host')).toThrow(/http/);
  });
});
