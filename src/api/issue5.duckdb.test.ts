/**
 * Costs, alert history and annotations through the API over the real DuckDB store, filled by
 * replaying examples/demo.pcap. Every number is checked against the records themselves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentTurnRecord, AlertRecord, AnnotationRecord, LlmCallRecord } from '../core/record.js';
import { replayFile } from '../pipeline/replay.js';
import { openStore } from '../store/index.js';
import { syntheticTurn } from '../store/synthetic-records.js';
import type { AnnotationTimeseries, CostBreakdown, CostTimeseries, Page, Store } from '../store/types.js';
import { repoRoot } from '../../test/corpus.js';
import { fakeHealth } from './fake-store.test-support.js';
import { LiveFeed } from './live-feed.js';
import { createServer, type ApiServer } from './server.js';

const dir = mkdtempSync(join(tmpdir(), 'llmtap-api5-'));
const NOW_MS = Date.UTC(2026, 5, 1, 12, 0, 0);
let store: Store;
let srv: ApiServer;
const records: LlmCallRecord[] = [];
let turn: AgentTurnRecord;
const observed: AnnotationRecord[] = [];

beforeAll(async () => {
  await replayFile(join(repoRoot, 'examples/demo.pcap'), {
    source: 'demo.pcap',
    fingerprintSalt: 'api5-test',
    onCall: (r) => {
      records.push(r);
    },
  });
  // Attribution as a configured header map would give it (issue 5 item 5).
  records.forEach((r, i) => {
    r.attributes = i % 2 === 0 ? { team: 'search' } : {};
  });
  const first = records.slice(0, 3).map((r) => Object.assign(r, { agent: 'claude-code', session_id: 'sess-5', turn_id: '01900000-0000-7000-8000-0000000000aa' }));
  turn = syntheticTurn(0, first)!;
  store = await openStore({ path: join(dir, 'llmtap.duckdb'), retention: false });
  await store.insertCalls(records);
  await store.upsertTurns([turn]);
  srv = createServer({
    store,
    health: fakeHealth,
    liveFeed: new LiveFeed({ heartbeatMs: 0 }),
    onAnnotation: (a) => observed.push(a),
    now: () => NOW_MS,
  });
});

afterAll(async () => {
  await srv?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function get<T>(url: string, status = 200): Promise<T> {
  const res = await srv.app.inject(`/api/v1/${url}`);
  expect(res.statusCode, `${url}: ${res.body}`).toBe(status);
  return res.json<T>();
}

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return srv.app.inject({
    method: 'POST',
    url: `/api/v1/${url}`,
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const costOf = (rs: LlmCallRecord[]): number | null => {
  const c = rs.filter((r) => r.cost_usd !== null);
  return c.length === 0 ? null : c.reduce((a, r) => a + r.cost_usd!, 0);
};

describe('GET /costs', () => {
  it('by model: spend and counts per model equal the records; unpriced calls are counted, not $0', async () => {
    expect(records.some((r) => r.cost_status === 'unpriced')).toBe(true);
    expect(records.some((r) => r.cost_status === 'priced')).toBe(true);
    const res = await get<CostBreakdown>('costs?by=model');
    expect(res.total.calls).toBe(records.length);
    expect(res.total.cost_usd).toBeCloseTo(costOf(records)!, 9);
    expect(res.total.unpriced_calls).toBe(records.filter((r) => r.cost_usd === null).length);
    for (const g of res.groups) {
      const mine = records.filter((r) => (r.response_model ?? r.request_model) === g.value);
      expect(g.calls).toBe(mine.length);
      const want = costOf(mine);
      if (want === null) expect(g.cost_usd).toBeNull();
      else expect(g.cost_usd).toBeCloseTo(want, 9);
      expect(g.unpriced_calls).toBe(mine.filter((r) => r.cost_usd === null).length);
    }
  });

  it('by an attribute and the default breakdown; filters apply; bad dimensions are a 400', async () => {
    const res = await get<CostBreakdown>('costs?by=team');
    expect(res.groups.map((g) => [g.value, g.calls])).toEqual(
      expect.arrayContaining([['search', records.filter((r) => r.attributes['team'] === 'search').length]]),
    );
    expect((await get<CostBreakdown>('costs')).by).toBe('model');
    const openai = await get<CostBreakdown>('costs?by=provider&provider=openai&attribute=team%3Dsearch');
    expect(openai.total.calls).toBe(records.filter((r) => r.provider === 'openai' && r.attributes['team'] === 'search').length);
    expect((await get<{ error: { message: string } }>("costs?by=a'b", 400)).error.message).toMatch(/by/);
    await get('costs?attribute=noequals', 400);
    await get('costs?nope=1', 400);
  });

  it('timeseries: buckets add up to the breakdown, grouped or not', async () => {
    const one = await get<CostTimeseries>('costs/timeseries?bucket=1s');
    expect(one.bucket_ms).toBe(1000);
    const s = one.series[0]!;
    expect(s.calls.reduce((a, b) => a + b, 0)).toBe(records.length);
    expect(s.cost_usd.reduce<number>((a, b) => a + (b ?? 0), 0)).toBeCloseTo(costOf(records)!, 9);
    const grouped = await get<CostTimeseries>('costs/timeseries?by=provider');
    expect(grouped.by).toBe('provider');
    expect(grouped.series.map((x) => x.group).sort()).toEqual([...new Set(records.map((r) => r.provider))].sort());
    await get('costs/timeseries?bucket=0', 400);
  });
});

describe('GET /alerts', () => {
  const alert = (n: number, over: Partial<AlertRecord> = {}): AlertRecord => ({
    kind: 'alert',
    id: `01900000-0000-7000-8000-00000000000${n}`,
    rule: 'errors',
    rule_kind: 'rule',
    state: 'firing',
    severity: 'critical',
    metric: 'error_rate',
    value: 0.4,
    threshold: 0.1,
    window_ms: 60_000,
    filters: { provider: 'openai' },
    source: 'probe-a',
    fired_at: `2026-01-15T10:00:0${n}.000000Z`,
    resolved_at: null,
    message: 'error_rate 0.4 > 0.1 for provider=openai',
    budget: null,
    ...over,
  });

  it('lists history newest first, filters by state and kind, and shows one alert', async () => {
    await store.insertAlert(alert(1));
    await store.insertAlert({ ...alert(1), state: 'resolved', resolved_at: '2026-01-15T10:00:05.000000Z' });
    await store.insertAlert(alert(2));
    const budget = alert(3, {
      rule: 'team-search-daily',
      rule_kind: 'budget',
      state: 'notice',
      metric: 'cost_usd',
      window_ms: null,
      source: null,
      budget: { period: 'day', period_start: '2026-01-15T00:00:00.000000Z', scope: 'team', scope_value: 'search', spent_usd: 8, limit_usd: 10, fraction: 0.8 },
    });
    await store.insertAlert(budget);
    const all = await get<Page<AlertRecord>>('alerts');
    expect(all.items.map((a) => [a.id.slice(-1), a.state])).toEqual([['3', 'notice'], ['2', 'firing'], ['1', 'resolved']]);
    expect((await get<Page<AlertRecord>>('alerts?state=firing')).items.map((a) => a.id)).toEqual([alert(2).id]);
    expect((await get<Page<AlertRecord>>('alerts?rule_kind=budget')).items).toEqual([budget]);
    expect(await get<AlertRecord>(`alerts/${budget.id}`)).toEqual(budget);
    await get('alerts/01900000-0000-7000-8000-0000000000ff', 404);
    await get('alerts/nope', 400);
    await get('alerts?state=burning', 400);
  });

  it('filters by the source that raised the alert; a budget (no source) matches none', async () => {
    // The same rule on two probes at one instant: the engine gives the second its own id.
    await store.insertAlert(alert(4, { source: 'probe-b', fired_at: '2026-01-15T10:00:02.000000Z' }));
    const ids = async (q: string): Promise<string[]> => (await get<Page<AlertRecord>>(`alerts?${q}`)).items.map((a) => a.id.slice(-1));
    expect(await ids('source=probe-b')).toEqual(['4']);
    expect(await ids('source=probe-a')).toEqual(['2', '1']);
    expect(await ids('source=probe-a&source=probe-b&state=firing')).toEqual(['4', '2']);
    expect(await ids('source=nowhere')).toEqual([]);
    expect((await get<AlertRecord>(`alerts/${alert(4).id}`)).source).toBe('probe-b');
    await get(`alerts?source=${encodeURIComponent('a\u0000b')}`, 400);
    await get(`alerts?source=${'x'.repeat(600)}`, 400);
  });
});

describe('annotations', () => {
  it('POST on a call stores a score timed at the call, with its dimensions, and tells the observers', async () => {
    const call = records.find((r) => r.cost_status === 'priced')!;
    const res = await post(`calls/${call.id}/annotations`, { name: 'helpfulness', value: 0.75, label: 'good', comment: 'clear answer', author: 'ann' });
    expect(res.statusCode, res.body).toBe(201);
    const a = res.json<AnnotationRecord>();
    expect(a).toMatchObject({
      kind: 'annotation',
      target_kind: 'call',
      target_id: call.id,
      name: 'helpfulness',
      value: 0.75,
      label: 'good',
      comment: 'clear answer',
      author: 'ann',
      ts: call.timing.request_start,
      created_at: '2026-06-01T12:00:00.000000Z',
    });
    expect(a.dimensions).toMatchObject({ provider: call.provider, api: call.api, model: call.response_model ?? call.request_model, source: 'demo.pcap', client: call.client.ip });
    if (call.attributes['team']) expect(a.dimensions['team']).toBe(call.attributes['team']);
    expect(observed.at(-1)).toEqual(a);
    expect((await get<Page<AnnotationRecord>>(`calls/${call.id}/annotations`)).items).toEqual([a]);
  });

  it('POST on a turn: timed at the turn start with agent and source', async () => {
    const res = await post(`turns/${turn.id}/annotations`, { name: 'thumbs_up', value: 1 });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json<AnnotationRecord>()).toMatchObject({ target_kind: 'turn', ts: turn.start, label: null, comment: null, author: null, dimensions: { agent: 'claude-code', source: 'demo.pcap' } });
    expect((await get<Page<AnnotationRecord>>(`turns/${turn.id}/annotations`)).items).toHaveLength(1);
  });

  it('refuses bad bodies, unknown targets and forgeable requests, storing nothing', async () => {
    const id = records.at(-1)!.id;
    const before = observed.length;
    const cases: [unknown, number][] = [
      [{ name: 'bad name!', value: 1 }, 400],
      [{ name: 'x', value: '1' }, 400],
      [{ name: 'x' }, 400],
      [{ name: 'x', value: 1, label: 'l'.repeat(65) }, 400],
      [{ name: 'x', value: 1, comment: 'c'.repeat(2001) }, 400],
      [{ name: 'x', value: 1, author: 'a'.repeat(129) }, 400],
      [{ name: 'x', value: 1, extra: true }, 400],
      [[1, 2], 400],
      ['{"name":"x","value":1e999}', 400],
      ['not json', 400],
    ];
    for (const [body, status] of cases) {
      const res = await post(`calls/${id}/annotations`, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
      expect(res.json<{ error: { code: string } }>().error.code).toBe('bad_request');
    }
    expect((await post('calls/01900000-0000-7000-8000-0000000000ee/annotations', { name: 'x', value: 1 })).statusCode).toBe(404);
    expect((await post('turns/01900000-0000-7000-8000-0000000000ee/annotations', { name: 'x', value: 1 })).statusCode).toBe(404);
    // A cross-site form can send only "simple" content types; a page elsewhere says so in Origin.
    const form = await srv.app.inject({ method: 'POST', url: `/api/v1/calls/${id}/annotations`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'name=x&value=1' });
    expect(form.statusCode).toBe(415);
    const plain = await srv.app.inject({ method: 'POST', url: `/api/v1/calls/${id}/annotations`, headers: { 'content-type': 'text/plain' }, payload: '{"name":"x","value":1}' });
    expect(plain.statusCode).toBe(415);
    expect((await post(`calls/${id}/annotations`, { name: 'x', value: 1 }, { origin: 'https://evil.example' })).statusCode).toBe(403);
    expect((await post(`calls/${id}/annotations`, { name: 'x', value: 1 }, { 'sec-fetch-site': 'cross-site' })).statusCode).toBe(403);
    expect((await post(`calls/${id}/annotations`, { name: 'x', value: 1 }, { host: 'evil.example' })).statusCode).toBe(403);
    const big = await post(`calls/${id}/annotations`, { name: 'x', value: 1, comment: 'c'.repeat(70_000) });
    expect(big.statusCode).toBe(413);
    expect(observed.length).toBe(before);
    expect((await get<Page<AnnotationRecord>>(`calls/${id}/annotations`)).items).toEqual([]);
    // The console's own request (same origin) passes.
    expect((await post(`calls/${id}/annotations`, { name: 'x', value: 1 }, { origin: 'http://localhost:80', 'sec-fetch-site': 'same-origin' })).statusCode).toBe(201);
  });

  it('lists by name and draws scores over time (mean, count, min, max)', async () => {
    const scored = records.slice(3, 9);
    for (const [i, r] of scored.entries()) expect((await post(`calls/${r.id}/annotations`, { name: 'eval.score', value: i })).statusCode).toBe(201);
    const list = await get<Page<AnnotationRecord>>('annotations?name=eval.score&limit=500');
    expect(list.items.map((a) => a.value).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const ts = await get<AnnotationTimeseries>('annotations/timeseries?name=eval.score&bucket=1d');
    expect(ts.series).toHaveLength(1);
    const s = ts.series[0]!;
    const b = s.count.findIndex((c) => c > 0);
    expect(s.count[b]).toBe(6);
    expect(s.mean[b]).toBeCloseTo(2.5, 12);
    expect([s.min[b], s.max[b]]).toEqual([0, 5]);
    const auto = await get<AnnotationTimeseries>('annotations/timeseries');
    expect(auto.series.map((x) => x.name).sort()).toEqual(['eval.score', 'helpfulness', 'thumbs_up', 'x'].sort());
    await get('annotations?name=bad%20name', 400);
  });
});

describe('with an access token', () => {
  it('a POST without the token is refused', async () => {
    const s = createServer({ store, health: fakeHealth, liveFeed: new LiveFeed({ heartbeatMs: 0 }), token: 'tok-123' });
    const res = await s.app.inject({ method: 'POST', url: `/api/v1/calls/${records[0]!.id}/annotations`, headers: { 'content-type': 'application/json' }, payload: '{"name":"x","value":1}' });
    expect(res.statusCode).toBe(401);
    const ok = await s.app.inject({ method: 'POST', url: `/api/v1/calls/${records[0]!.id}/annotations`, headers: { 'content-type': 'application/json', authorization: 'Bearer tok-123' }, payload: '{"name":"y","value":1}' });
    expect(ok.statusCode).toBe(201);
    await s.close();
  });
});
