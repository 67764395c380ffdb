import { describe, expect, it } from 'vitest';
import { fakeHealth, FakeStore } from '../fake-store.test-support.js';
import { LiveFeed } from '../live-feed.js';
import { createServer } from '../server.js';
import { createInstruments } from '../../metrics/instruments.js';
import { LiveAggregates } from '../../metrics/live-aggregates.js';
import { callAt } from '../../metrics/test-calls.test-support.js';
import { formatWindow, registerMetricsRoutes } from './metrics.js';

function setup() {
  const dims = { dimensions: ['provider', 'model'], windows_ms: [60_000, 300_000], max_series: 100 };
  const live = new LiveAggregates(dims);
  const instruments = createInstruments({ dimensions: dims.dimensions, maxSeries: dims.max_series });
  const srv = createServer({ store: new FakeStore(), health: fakeHealth, liveFeed: new LiveFeed({ heartbeatMs: 0 }) });
  registerMetricsRoutes(srv.app, { live, instruments });
  for (const [i, model] of ['a', 'a', 'b'].entries()) {
    const c = callAt({ at: i, model, status: model === 'b' ? 429 : 200 });
    live.onCall(c);
    instruments.observer.onCall!(c);
  }
  return srv;
}

const get = (srv: ReturnType<typeof setup>, url: string) => srv.app.inject({ method: 'GET', url, headers: { host: '127.0.0.1' } });

describe('GET /api/v1/metrics/live', () => {
  it('answers the window, grouped by the dimensions asked for', async () => {
    const srv = setup();
    const res = await get(srv, '/api/v1/metrics/live?window=1m&by=model');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ window: '1m', window_ms: 60_000, group_by: ['model'], total: { calls: 3, throttled: 1 } });
    expect(body.series.map((s: { labels: { model: string }; stats: { calls: number } }) => [s.labels.model, s.stats.calls])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    await srv.close();
  });

  it('defaults to the 5 m window and no grouping', async () => {
    const srv = setup();
    const body = (await get(srv, '/api/v1/metrics/live')).json();
    expect(body).toMatchObject({ window: '5m', group_by: [], series: [] });
    await srv.close();
  });

  it.each([
    ['/api/v1/metrics/live?window=2m', /no 2m window \(configured: 1m, 5m\)/],
    ['/api/v1/metrics/live?window=soon', /'window'/],
    ['/api/v1/metrics/live?by=agent', /not a metrics dimension/],
    ['/api/v1/metrics/live?by=model&window=1m&window=5m', /'window'/],
    ['/api/v1/metrics/live?nope=1', /unknown query parameter/],
  ])('%s is a 400 naming the parameter', async (url, message) => {
    const srv = setup();
    const res = await get(srv, url);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(message);
    await srv.close();
  });
});

describe('GET /metrics', () => {
  it('serves the Prometheus text format', async () => {
    const srv = setup();
    const res = await get(srv, '/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toMatch(/^llmtap_calls_total\{.*gen_ai_request_model="b".*http_response_status_code="429"\} 1$/m);
    await srv.close();
  });

  it('is behind the access token like the API', async () => {
    const dims = { dimensions: ['model'], windows_ms: [60_000], max_series: 10 };
    const srv = createServer({ store: new FakeStore(), health: fakeHealth, liveFeed: new LiveFeed({ heartbeatMs: 0 }), token: 'secret-token' });
    registerMetricsRoutes(srv.app, { live: new LiveAggregates(dims), instruments: createInstruments({ dimensions: ['model'], maxSeries: 10 }) });
    expect((await get(srv as ReturnType<typeof setup>, '/metrics')).statusCode).toBe(401);
    const ok = await srv.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer secret-token' } });
    expect(ok.statusCode).toBe(200);
    await srv.close();
  });
});

it('formats windows in the largest whole unit', () => {
  expect([60_000, 300_000, 3_600_000, 90_000, 1_500, 86_400_000].map(formatWindow)).toEqual(['1m', '5m', '1h', '90s', '1500ms', '1d']);
});
