/**
 * The API over the real DuckDB store, filled by replaying captures: examples/demo.pcap and a
 * generated capture with other clients, a gateway host, other models and 5xx errors. Every
 * endpoint is checked against what the records themselves say, computed here in plain JS.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmCallRecord } from '../core/record.js';
import { replayFile } from '../pipeline/replay.js';
import { buildStoredExchange } from '../pipeline/stored-exchange.js';
import { openStore } from '../store/index.js';
import type { CallListItem, ExchangeListItem, Percentiles, Store, StoredExchange } from '../store/types.js';
import { buildSession } from '../../test/gen/llm-traffic.js';
import { pcapBytes } from '../../test/gen/pcap-writer.js';
import { mergeConnections } from '../../test/gen/tcp-conversation.js';
import { repoRoot } from '../../test/corpus.js';
import { fakeHealth } from './fake-store.test-support.js';
import { callListItem, LiveFeed } from './live-feed.js';
import { createServer, type ApiServer } from './server.js';
import { autoBucketMs } from './timeseries-bucket.js';

const dir = mkdtempSync(join(tmpdir(), 'llmtap-api-'));
let store: Store;
let srv: ApiServer;
/** Every call, in the order the pipeline emitted them (the JSONL order). */
const records: LlmCallRecord[] = [];
const exchanges: StoredExchange[] = [];

/** A second capture: two more clients, a gateway on port 8080 with its own Host, other models, 5xx. */
function generatedCapture(): Uint8Array {
  const start = Date.UTC(2026, 0, 15, 10, 0, 20) * 1000;
  const sessions = [
    buildSession({
      seed: 501,
      client: { ip: '10.0.0.7', port: 40001 },
      server: { ip: '10.0.0.100', port: 8080 },
      start,
      calls: [
        { api: 'openai.chat_completions', host: 'llm-gw.internal:8080', model: 'llama-3.1-70b', outputTokens: 40, apiKey: 'sk-gw-key-one-0123456789abcdef' },
        { api: 'openai.chat_completions', host: 'llm-gw.internal:8080', model: 'llama-3.1-70b', errorStatus: 503, apiKey: 'sk-gw-key-one-0123456789abcdef' },
        { api: 'openai.chat_completions', host: 'llm-gw.internal:8080', model: 'qwen3-32b', outputTokens: 25, stream: false, apiKey: 'sk-gw-key-two-0123456789abcdef' },
      ],
    }),
    buildSession({
      seed: 502,
      client: { ip: '10.0.0.8', port: 40002 },
      start: start + 500_000,
      calls: [
        { api: 'anthropic.messages', outputTokens: 30, maxTokens: true },
        { api: 'anthropic.messages', errorStatus: 500 },
        { api: 'anthropic.messages', outputTokens: 50, inStreamError: true },
      ],
    }),
  ];
  return pcapBytes(mergeConnections(sessions.map((s) => s.connection)), { kind: 'pcap' });
}

async function replayInto(path: string, source: string): Promise<void> {
  await replayFile(path, {
    source,
    fingerprintSalt: 'api-test',
    onCall: (r, ex) => {
      records.push(r);
      exchanges.push(buildStoredExchange(ex, r));
    },
    onOtherExchange: (r, ex) => exchanges.push(buildStoredExchange(ex, r)),
  });
}

beforeAll(async () => {
  const gen = join(dir, 'gen.pcap');
  writeFileSync(gen, generatedCapture());
  await replayInto(join(repoRoot, 'examples/demo.pcap'), 'demo.pcap');
  await replayInto(gen, 'gen.pcap');
  // Agents and sessions come with the turn tracker (issue 4); give some calls one so the filters
  // have something to find. The store keeps what it is given.
  for (const r of records) {
    if (r.api === 'anthropic.messages' && r.source === 'demo.pcap') Object.assign(r, { agent: 'claude-code', session_id: 'sess-a' });
    if (r.api === 'openai.responses') Object.assign(r, { agent: 'codex', session_id: 'sess-b' });
  }
  store = await openStore({ path: join(dir, 'llmtap.duckdb'), retention: false });
  await store.insertCalls(records);
  await store.insertExchanges(exchanges);
  srv = createServer({ store, health: fakeHealth, liveFeed: new LiveFeed({ heartbeatMs: 0 }) });
});

afterAll(async () => {
  await srv?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

// ───────────────────────────── helpers ─────────────────────────────

type Query = Record<string, string | string[]>;

function qs(q: Query): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
  const s = p.toString();
  return s ? `?${s}` : '';
}

async function get(path: string, q: Query = {}): Promise<{ status: number; body: unknown }> {
  const res = await srv.app.inject(`/api/v1/${path}${qs(q)}`);
  return { status: res.statusCode, body: res.json() };
}

async function ok<T>(path: string, q: Query = {}): Promise<T> {
  const r = await get(path, q);
  expect(r.status, `${path}${qs(q)}: ${JSON.stringify(r.body)}`).toBe(200);
  return r.body as T;
}

/** Newest first, ties by id, as the store pages. */
function byTimeDesc(a: { id: string; t: string }, b: { id: string; t: string }): number {
  if (a.t !== b.t) return a.t < b.t ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

function newestFirst(rs: LlmCallRecord[]): LlmCallRecord[] {
  return [...rs].sort((a, b) => byTimeDesc({ id: a.id, t: a.timing.request_start }, { id: b.id, t: b.timing.request_start }));
}

async function walkCalls(q: Query, limit = 50): Promise<CallListItem[]> {
  const out: CallListItem[] = [];
  let cursor: string | null = null;
  for (let guard = 0; guard < 1000; guard++) {
    const page: { items: CallListItem[]; next_cursor: string | null } = await ok('calls', { ...q, limit: String(limit), ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    if (page.next_cursor === null) return out;
    cursor = page.next_cursor;
  }
  throw new Error('pagination did not end');
}

async function callIds(q: Query): Promise<string[]> {
  return (await walkCalls(q)).map((c) => c.id);
}

function ids(rs: LlmCallRecord[]): string[] {
  return newestFirst(rs).map((r) => r.id);
}

const json = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

const isError = (r: LlmCallRecord): boolean => (r.status_code !== null && r.status_code >= 400) || r.error !== null;

function exchangeOf(r: LlmCallRecord): StoredExchange | undefined {
  return exchanges.find((e) => e.id === r.id);
}

/** What a case-insensitive literal substring search should find (the store's `q`). */
function textMatches(r: LlmCallRecord, q: string): boolean {
  const needle = q.toLowerCase();
  const ex = exchangeOf(r);
  const hay = [r.content.output_text, r.content.reasoning_text, ex?.request_body ?? '', ex?.response_body ?? ''];
  return hay.some((h) => h.toLowerCase().includes(needle));
}

/** Linear-interpolation quantile (DuckDB quantile_cont): the JS reference. */
function quantile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

function expectPercentiles(got: Percentiles, values: (number | null)[]): void {
  const v = values.filter((x): x is number => x !== null);
  expect(got.count).toBe(v.length);
  for (const [k, p] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]] as const) {
    const want = quantile(v, p);
    if (want === null) expect(got[k]).toBeNull();
    else expect(got[k]).toBeCloseTo(want, 6);
  }
  if (v.length === 0) return;
  expect(got.max).toBeCloseTo(Math.max(...v), 6);
  expect(got.avg).toBeCloseTo(v.reduce((a, b) => a + b, 0) / v.length, 6);
}

const sum = (rs: LlmCallRecord[], f: (r: LlmCallRecord) => number | null): number => rs.reduce((a, r) => a + (f(r) ?? 0), 0);

// ───────────────────────────── the data is what we think ─────────────────────────────

describe('the fixture', () => {
  it('has the variety the filters need', () => {
    expect(records.length).toBeGreaterThanOrEqual(16);
    expect(new Set(records.map((r) => r.client.ip)).size).toBe(3);
    expect(records.some((r) => r.status_code === 429)).toBe(true);
    expect(records.some((r) => r.status_code !== null && r.status_code >= 500)).toBe(true);
    expect(records.some((r) => r.server.host === 'llm-gw.internal:8080')).toBe(true);
    expect(records.some((r) => r.finish_reason === 'length')).toBe(true);
    expect(records.some((r) => r.finish_reason === null)).toBe(true);
  });
});

// ───────────────────────────── calls ─────────────────────────────

describe('GET /api/v1/calls', () => {
  it('lists every call, newest first, each row the record without content plus a preview', async () => {
    const page = await ok<{ items: CallListItem[]; next_cursor: string | null }>('calls');
    expect(page.next_cursor).toBeNull();
    expect(page.items).toEqual(json(newestFirst(records).map(callListItem)));
  });

  it('in ascending order equals the JSONL records in capture-time order', async () => {
    const page = await ok<{ items: CallListItem[] }>('calls', { order: 'asc' });
    expect(page.items.map((c) => c.id)).toEqual(ids(records).reverse());
  });

  it('pages with a cursor: every page size walks every call once, in order', async () => {
    for (const limit of [1, 2, 3, 5, 7, records.length - 1, records.length, records.length + 1]) {
      expect(await callIds({}).then(() => walkCalls({}, limit)).then((c) => c.map((x) => x.id)), `limit ${limit}`).toEqual(ids(records));
    }
    // Ascending walk, and a cursor carried across a filter.
    const asc: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: CallListItem[]; next_cursor: string | null } = await ok('calls', { order: 'asc', limit: '4', provider: 'openai', ...(cursor ? { cursor } : {}) });
      asc.push(...page.items.map((c) => c.id));
      cursor = page.next_cursor;
    } while (cursor !== null);
    expect(asc).toEqual(ids(records.filter((r) => r.provider === 'openai')).reverse());
  });

  it('refuses a forged cursor with 400', async () => {
    for (const cursor of ['garbage', "' OR 1=1 --", 'eyJ0IjoiMSIsImlkIjoieCJ9', 'A'.repeat(500)]) {
      const r = await get('calls', { cursor });
      expect(r.status, cursor).toBe(400);
    }
  });

  const t = (i: number): string => newestFirst(records).reverse()[i]!.timing.request_start;
  const us = (iso: string): number => Date.parse(iso) * 1000 + Number(iso.slice(23, 26));

  it.each<[string, Query, (r: LlmCallRecord) => boolean]>([
    ['from', { from: '2026-01-15T10:00:03Z' }, (r) => r.timing.request_start >= '2026-01-15T10:00:03.000000Z'],
    ['to', { to: '2026-01-15T10:00:03Z' }, (r) => r.timing.request_start < '2026-01-15T10:00:03.000000Z'],
    ['from+to as epoch ms', { from: String(Date.UTC(2026, 0, 15, 10, 0, 2)), to: String(Date.UTC(2026, 0, 15, 10, 0, 6)) }, (r) => r.timing.request_start >= '2026-01-15T10:00:02.000000Z' && r.timing.request_start < '2026-01-15T10:00:06.000000Z'],
    ['provider', { provider: 'anthropic' }, (r) => r.provider === 'anthropic'],
    ['provider (two)', { provider: ['anthropic', 'google'] }, (r) => r.provider === 'anthropic' || r.provider === 'google'],
    ['api', { api: 'openai.responses' }, (r) => r.api === 'openai.responses'],
    ['model (request)', { model: 'gpt-4o' }, (r) => r.request_model === 'gpt-4o' || r.response_model === 'gpt-4o'],
    ['model (response)', { model: 'gpt-4o-2024-08-06' }, (r) => r.request_model === 'gpt-4o-2024-08-06' || r.response_model === 'gpt-4o-2024-08-06'],
    ['status code', { status: '429' }, (r) => r.status_code === 429],
    ['status 4xx', { status: '4xx' }, (r) => r.status_code !== null && r.status_code >= 400 && r.status_code < 500],
    ['status 5xx', { status: '5xx' }, (r) => r.status_code !== null && r.status_code >= 500],
    ['status 2xx', { status: '2xx' }, (r) => r.status_code !== null && r.status_code >= 200 && r.status_code < 300],
    ['status error', { status: 'error' }, isError],
    ['status 429,5xx', { status: '429,5xx' }, (r) => r.status_code === 429 || (r.status_code !== null && r.status_code >= 500)],
    ['finish_reason', { finish_reason: 'tool_call' }, (r) => r.finish_reason === 'tool_call'],
    ['finish_reason (two)', { finish_reason: 'stop,length' }, (r) => r.finish_reason === 'stop' || r.finish_reason === 'length'],
    ['stream=true', { stream: 'true' }, (r) => r.stream],
    ['stream=false', { stream: 'false' }, (r) => !r.stream],
    ['agent', { agent: 'claude-code' }, (r) => r.agent === 'claude-code'],
    ['session', { session: 'sess-b' }, (r) => r.session_id === 'sess-b'],
    ['source', { source: 'gen.pcap' }, (r) => r.source === 'gen.pcap'],
    ['client', { client: '10.0.0.8' }, (r) => r.client.ip === '10.0.0.8'],
    ['server (ip)', { server: '10.0.0.100' }, (r) => r.server.ip === '10.0.0.100' || r.server.host === '10.0.0.100'],
    ['server (host)', { server: 'api.openai.com' }, (r) => r.server.ip === 'api.openai.com' || r.server.host === 'api.openai.com'],
    ['q (request body, any case)', { q: 'CLAUDE-SONNET' }, (r) => textMatches(r, 'claude-sonnet')],
    ['q (nothing)', { q: 'no such text anywhere 8c1f' }, () => false],
    ['combined', { provider: 'openai', stream: 'true', status: '2xx', from: '2026-01-15T10:00:02Z' }, (r) => r.provider === 'openai' && r.stream && r.status_code === 200 && r.timing.request_start >= '2026-01-15T10:00:02.000000Z'],
  ])('filters by %s', async (_name, q, pred) => {
    const want = ids(records.filter(pred));
    expect(await callIds(q)).toEqual(want);
    // Paging through a filtered list gives the same rows.
    expect((await walkCalls(q, 2)).map((c) => c.id)).toEqual(want);
  });

  it('filters by key fingerprint and by text in the output', async () => {
    const key = records.find((r) => r.source === 'gen.pcap')!.api_key_fingerprint!;
    expect(await callIds({ key })).toEqual(ids(records.filter((r) => r.api_key_fingerprint === key)));
    const text = records.find((r) => r.content.output_text.length > 30)!.content.output_text.slice(5, 25);
    expect(await callIds({ q: text })).toEqual(ids(records.filter((r) => textMatches(r, text))));
    expect((await callIds({ q: text })).length).toBeGreaterThan(0);
  });

  it('finds something for the filters that must find something', async () => {
    for (const q of [{ agent: 'codex' }, { status: '5xx' }, { key: records[0]!.api_key_fingerprint! }, { q: 'claude-sonnet' }, { client: '10.0.0.7' }] as Query[]) {
      expect((await callIds(q)).length, JSON.stringify(q)).toBeGreaterThan(0);
    }
  });

  it('takes a time range at µs precision', async () => {
    const at = t(4);
    expect(await callIds({ from: at, to: new Date(us(at) / 1000 + 1).toISOString() })).toEqual(ids(records.filter((r) => r.timing.request_start === at)));
  });
});

describe('GET /api/v1/calls/:id', () => {
  it('returns the whole record and its exchange, headers redacted, SSE events with their times', async () => {
    for (const r of records) {
      const d = await ok<{ call: LlmCallRecord; exchange: StoredExchange | null }>(`calls/${r.id}`);
      expect(d.call).toEqual(json(r));
      expect(d.exchange).toEqual(json(exchangeOf(r)));
    }
    const streamed = records.find((r) => r.stream && r.provider === 'anthropic')!;
    const d = await ok<{ exchange: StoredExchange }>(`calls/${streamed.id}`);
    const events = d.exchange.response_events!;
    expect(events.length).toBeGreaterThan(3);
    expect(events.map((e) => e.event)).toContain('message_start');
    for (const e of events) expect(e.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(events[0]!.ts >= streamed.timing.response_start!).toBe(true);
    const auth = d.exchange.request_headers.find(([k]) => k.toLowerCase() === 'x-api-key' || k.toLowerCase() === 'authorization');
    expect(auth?.[1]).toBe('[REDACTED]');
  });

  it('shows no API key anywhere in any detail', async () => {
    for (const r of records) {
      const res = await srv.app.inject(`/api/v1/calls/${r.id}`);
      expect(res.body).not.toMatch(/sk-demo|sk-ant-api03-demo|sk-gw-key/);
    }
  });

  it('404 for an unknown id, 400 for a malformed one', async () => {
    expect((await get('calls/019bc119-0000-7000-8000-000000000000')).status).toBe(404);
    expect((await get(`calls/${encodeURIComponent("' OR 1=1 --")}`)).status).toBe(400);
  });
});

// ───────────────────────────── exchanges ─────────────────────────────

describe('GET /api/v1/exchanges', () => {
  const listView = (e: StoredExchange): ExchangeListItem => {
    const { request_body: _a, response_body: _b, response_events: _c, request_headers: _d, response_headers: _e, ...rest } = e;
    return rest;
  };
  const exNewestFirst = (es: StoredExchange[]): StoredExchange[] =>
    [...es].sort((a, b) => byTimeDesc({ id: a.id, t: a.request_start }, { id: b.id, t: b.request_start }));

  it('lists every exchange without bodies, newest first, and pages', async () => {
    const page = await ok<{ items: ExchangeListItem[] }>('exchanges', { limit: '500' });
    expect(page.items).toEqual(json(exNewestFirst(exchanges).map(listView)));
    const walked: string[] = [];
    let cursor: string | null = null;
    do {
      const p: { items: ExchangeListItem[]; next_cursor: string | null } = await ok('exchanges', { limit: '3', ...(cursor ? { cursor } : {}) });
      walked.push(...p.items.map((e) => e.id));
      cursor = p.next_cursor;
    } while (cursor !== null);
    expect(walked).toEqual(exNewestFirst(exchanges).map((e) => e.id));
  });

  it.each<[string, Query, (e: StoredExchange) => boolean]>([
    ['kind', { kind: 'llm_call' }, (e) => e.kind === 'llm_call'],
    ['kind other', { kind: 'other' }, (e) => e.kind === 'other'],
    ['method', { method: 'POST' }, (e) => e.method === 'POST'],
    ['status', { status: '5xx' }, (e) => e.status_code !== null && e.status_code >= 500],
    ['client', { client: '10.0.0.7' }, (e) => e.client.ip === '10.0.0.7'],
    ['server', { server: 'llm-gw.internal:8080' }, (e) => e.server.ip === 'llm-gw.internal:8080' || e.server.host === 'llm-gw.internal:8080'],
    ['source', { source: 'demo.pcap' }, (e) => e.source === 'demo.pcap'],
    ['q', { q: 'gemini-2.5' }, (e) => [e.target, e.request_body ?? '', e.response_body ?? ''].some((h) => h.toLowerCase().includes('gemini-2.5'))],
  ])('filters by %s', async (_n, q, pred) => {
    const page = await ok<{ items: ExchangeListItem[] }>('exchanges', { ...q, limit: '500' });
    expect(page.items.map((e) => e.id)).toEqual(exNewestFirst(exchanges.filter(pred)).map((e) => e.id));
  });

  it('filters by connection', async () => {
    const c = exchanges[0]!.connection_id;
    const page = await ok<{ items: ExchangeListItem[] }>('exchanges', { connection: c, limit: '500' });
    expect(page.items.map((e) => e.id)).toEqual(exNewestFirst(exchanges.filter((e) => e.connection_id === c)).map((e) => e.id));
    expect(page.items.length).toBeGreaterThan(1);
  });

  it('returns one exchange in full, 404 when unknown', async () => {
    const e = exchanges[3]!;
    expect(await ok(`exchanges/${e.id}`)).toEqual(json(e));
    expect((await get('exchanges/019bc119-0000-7000-8000-000000000000')).status).toBe(404);
  });
});

// ───────────────────────────── aggregates ─────────────────────────────

describe('GET /api/v1/summary', () => {
  it.each<[string, Query, (r: LlmCallRecord) => boolean]>([
    ['everything', {}, () => true],
    ['one provider', { provider: 'openai' }, (r) => r.provider === 'openai'],
    ['a time range', { from: '2026-01-15T10:00:02Z', to: '2026-01-15T10:00:30Z' }, (r) => r.timing.request_start >= '2026-01-15T10:00:02' && r.timing.request_start < '2026-01-15T10:00:30'],
    ['nothing', { model: 'none-such' }, () => false],
  ])('counts and exact percentiles equal a JS computation over the calls: %s', async (_n, q, pred) => {
    const rs = records.filter(pred);
    const s = await ok<import('../store/types.js').Summary>('summary', q);
    expect(s.calls).toBe(rs.length);
    expect(s.errors).toBe(rs.filter(isError).length);
    expect(s.error_rate).toBe(rs.length ? rs.filter(isError).length / rs.length : null);
    expect(s.status_429).toBe(rs.filter((r) => r.status_code === 429).length);
    expect(s.status_5xx).toBe(rs.filter((r) => r.status_code !== null && r.status_code >= 500).length);
    expect(s.no_response).toBe(rs.filter((r) => r.status_code === null).length);
    expect(s.streamed).toBe(rs.filter((r) => r.stream).length);
    expect(s.input_tokens).toBe(sum(rs, (r) => r.usage.input_tokens));
    expect(s.output_tokens).toBe(sum(rs, (r) => r.usage.output_tokens));
    expect(s.cache_read_tokens).toBe(sum(rs, (r) => r.usage.cache_read_tokens));
    expect(s.cache_write_tokens).toBe(sum(rs, (r) => r.usage.cache_write_tokens));
    expect(s.reasoning_tokens).toBe(sum(rs, (r) => r.usage.reasoning_tokens));
    expect(s.estimated_usage).toBe(rs.filter((r) => r.usage.estimated).length);
    // The sum of what is priced; null when no call in the range has a price.
    const priced = rs.filter((r) => r.cost_usd !== null);
    if (priced.length === 0) expect(s.cost_usd).toBeNull();
    else expect(s.cost_usd).toBeCloseTo(sum(priced, (r) => r.cost_usd), 10);
    const sorted = newestFirst(rs);
    expect(s.first_call).toBe(sorted.at(-1)?.timing.request_start ?? null);
    expect(s.last_call).toBe(sorted[0]?.timing.request_start ?? null);
    expectPercentiles(s.ttfb_ms, rs.map((r) => r.ttfb_ms));
    expectPercentiles(s.ttft_ms, rs.map((r) => r.ttft_ms));
    expectPercentiles(s.tpot_ms, rs.map((r) => r.tpot_ms));
    expectPercentiles(s.e2e_ms, rs.map((r) => r.e2e_ms));
    expectPercentiles(s.output_tokens_per_second, rs.map((r) => r.output_tokens_per_second));
  });
});

describe('GET /api/v1/timeseries', () => {
  type Series = import('../store/types.js').TimeseriesResult;
  const bucketOf = (r: LlmCallRecord, s: Series): number => {
    const t = Date.parse(r.timing.request_start);
    return s.buckets.findIndex((b) => t >= Date.parse(b) && t < Date.parse(b) + s.bucket_ms);
  };

  it('puts every call in its bucket, with exact per-bucket percentiles', async () => {
    const s = await ok<Series>('timeseries', { bucket: '5s', metrics: 'calls,errors,output_tokens,ttft_ms' });
    expect(s.bucket_ms).toBe(5000);
    expect(s.series).toHaveLength(1);
    const v = s.series[0]!.values;
    for (let i = 0; i < s.buckets.length; i++) {
      const inB = records.filter((r) => bucketOf(r, s) === i);
      expect(v.calls![i], s.buckets[i]).toBe(inB.length);
      expect(v.errors![i]).toBe(inB.filter(isError).length);
      expect(v.output_tokens![i]).toBe(sum(inB, (r) => r.usage.output_tokens));
      const want = quantile(inB.map((r) => r.ttft_ms).filter((x): x is number => x !== null), 0.5);
      if (want === null) expect(v.ttft_ms_p50![i]).toBeNull();
      else expect(v.ttft_ms_p50![i]).toBeCloseTo(want, 6);
    }
    expect(records.every((r) => bucketOf(r, s) >= 0)).toBe(true);
    expect(v.calls!.reduce((a, b) => a! + b!, 0)).toBe(records.length);
  });

  it('chooses the bucket from the range when none is given', async () => {
    const s = await ok<Series>('timeseries', { metrics: 'calls' });
    const first = newestFirst(records).at(-1)!.timing.request_start;
    const last = newestFirst(records)[0]!.timing.request_start;
    const rangeMs = (Date.parse(last) - Date.parse(first)) + (Number(last.slice(23, 26)) - Number(first.slice(23, 26))) / 1000;
    expect(s.bucket_ms).toBe(autoBucketMs(rangeMs));
    expect(s.series[0]!.values.calls!.reduce((a, b) => a! + b!, 0)).toBe(records.length);
    const hour = await ok<Series>('timeseries', { metrics: 'calls', from: '2026-01-15T10:00:00Z', to: '2026-01-15T11:00:00Z' });
    expect(hour.bucket_ms).toBe(autoBucketMs(3_600_000));
  });

  it('groups by a field', async () => {
    const s = await ok<Series>('timeseries', { bucket: '1m', metrics: 'calls', group_by: 'provider' });
    const got = Object.fromEntries(s.series.map((x) => [x.group, x.values.calls!.reduce((a, b) => a! + b!, 0)]));
    const want: Record<string, number> = {};
    for (const r of records) want[r.provider] = (want[r.provider] ?? 0) + 1;
    expect(got).toEqual(want);
  });

  it('refuses more buckets than the store allows with 400', async () => {
    expect((await get('timeseries', { bucket: '1ms', from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z' })).status).toBe(400);
  });
});

describe('GET /api/v1/models, /errors, /filters', () => {
  it('models: calls, errors and tokens per model', async () => {
    const { items } = await ok<{ items: import('../store/types.js').ModelStats[] }>('models');
    const by = new Map<string, LlmCallRecord[]>();
    for (const r of records) {
      const m = `${r.response_model ?? r.request_model}|${r.provider}`;
      by.set(m, [...(by.get(m) ?? []), r]);
    }
    expect(items).toHaveLength(by.size);
    for (const m of items) {
      const rs = by.get(`${m.model}|${m.provider}`)!;
      expect(m.calls).toBe(rs.length);
      expect(m.errors).toBe(rs.filter(isError).length);
      expect(m.output_tokens).toBe(sum(rs, (r) => r.usage.output_tokens));
      expectPercentiles(m.e2e_ms, rs.map((r) => r.e2e_ms));
    }
    expect(items.map((m) => m.calls)).toEqual([...items.map((m) => m.calls)].sort((a, b) => b - a));
  });

  it('errors: every failed call in exactly one group', async () => {
    const { items } = await ok<{ items: import('../store/types.js').ErrorGroup[] }>('errors');
    expect(items.reduce((a, g) => a + g.count, 0)).toBe(records.filter(isError).length);
    for (const g of items) {
      const ex = records.find((r) => r.id === g.example_id)!;
      expect(ex.status_code).toBe(g.status_code);
      expect(ex.error?.type ?? null).toBe(g.error_type);
    }
    const only429 = await ok<{ items: import('../store/types.js').ErrorGroup[] }>('errors', { status: '429' });
    expect(only429.items.map((g) => [g.status_code, g.count])).toEqual([[429, records.filter((r) => r.status_code === 429).length]]);
  });

  it('filters: the values each filter can take, with counts', async () => {
    const f = await ok<import('../store/types.js').FilterValues>('filters');
    const count = (vals: (string | null)[]): Record<string, number> => {
      const o: Record<string, number> = {};
      for (const v of vals) if (v !== null) o[v] = (o[v] ?? 0) + 1;
      return o;
    };
    const asObj = (xs: { value: string; count: number }[]): Record<string, number> => Object.fromEntries(xs.map((x) => [x.value, x.count]));
    expect(asObj(f.provider)).toEqual(count(records.map((r) => r.provider)));
    expect(asObj(f.api)).toEqual(count(records.map((r) => r.api)));
    expect(asObj(f.client_ip)).toEqual(count(records.map((r) => r.client.ip)));
    expect(asObj(f.agent)).toEqual(count(records.map((r) => r.agent)));
    expect(asObj(f.source)).toEqual(count(records.map((r) => r.source)));
    // Each value, fed back as a filter, finds exactly its count.
    for (const { value, count: n } of f.provider) expect((await callIds({ provider: value })).length).toBe(n);
    const narrowed = await ok<import('../store/types.js').FilterValues>('filters', { provider: 'google' });
    expect(narrowed.provider.map((x) => x.value)).toEqual(['google']);
  });
});

describe('GET /api/v1/health', () => {
  it("carries the pipeline's health and the database's own numbers", async () => {
    const h = await ok<import('./types.js').HealthResponse>('health');
    expect(h.sources).toEqual(fakeHealth().sources);
    expect(h.db!.tables.calls).toBe(records.length);
    expect(h.db!.tables.exchanges).toBe(exchanges.length);
    expect(h.db_error).toBeNull();
  });
});

// ───────────────────────────── hostile input ─────────────────────────────

describe('SQL injection and odd input in every filter', () => {
  const NASTY = ["' OR 1=1 --", "'; DROP TABLE calls; --", '%', '_', '\\', '"', "''", '%_%', '\\%', ') OR (1=1', '日本語 🦆', 'ǅ\u0301', '\u202e', 'x'.repeat(511)];
  const TOO_LONG = 'y'.repeat(20_000);

  const CALL_TEXT = ['provider', 'api', 'model', 'agent', 'session', 'source', 'server', 'key'];
  const CALL_STRICT = ['from', 'to', 'status', 'finish_reason', 'stream', 'client', 'limit', 'order', 'cursor'];
  const CALL_ENDPOINTS = ['calls', 'summary', 'models', 'errors', 'filters', 'timeseries'];

  /** A response to hostile input: 400, or 200 with exactly the rows `want` says (never others). */
  async function check(path: string, q: Query, wantIds: string[] | 'reject'): Promise<void> {
    const r = await get(path, q);
    const what = `${path}${qs(q).slice(0, 120)}`;
    expect([200, 400], what).toContain(r.status);
    expect(r.body, what).toBeTypeOf('object');
    if (r.status === 400) {
      expect((r.body as { error: { code: string } }).error.code).toBe('bad_request');
      return;
    }
    expect(wantIds, `${what} should have been refused`).not.toBe('reject');
    if (path === 'calls') expect((r.body as { items: CallListItem[] }).items.map((c) => c.id), what).toEqual(wantIds);
    if (path === 'summary') expect((r.body as { calls: number }).calls, what).toBe((wantIds as string[]).length);
  }

  it('free-text filters find nothing (no call has such a value), on every endpoint', async () => {
    for (const path of CALL_ENDPOINTS) {
      for (const param of CALL_TEXT) {
        for (const v of NASTY) await check(path, { [param]: v }, []);
        expect((await get(path, { [param]: TOO_LONG })).status).toBe(400);
      }
    }
  });

  it('q searches literally: % _ \\ and quotes match only where they occur', async () => {
    for (const v of NASTY) {
      await check('calls', { q: v }, ids(records.filter((r) => textMatches(r, v))));
      await check('summary', { q: v }, ids(records.filter((r) => textMatches(r, v))));
    }
    // `_` does occur (JSON keys like max_tokens): matched literally, not as a wildcard.
    expect(records.some((r) => textMatches(r, '_'))).toBe(true);
    expect(records.every((r) => textMatches(r, '%'))).toBe(false);
    expect((await get('calls', { q: TOO_LONG })).status).toBe(400);
  });

  it('typed filters refuse what is not their type', async () => {
    for (const path of CALL_ENDPOINTS) {
      for (const param of CALL_STRICT) {
        if (path !== 'calls' && ['limit', 'order', 'cursor'].includes(param)) continue;
        for (const v of NASTY) await check(path, { [param]: v }, 'reject');
        expect((await get(path, { [param]: TOO_LONG })).status).toBe(400);
      }
    }
    for (const param of ['bucket', 'metrics', 'group_by', 'group_limit']) {
      for (const v of NASTY) await check('timeseries', { [param]: v }, 'reject');
    }
  });

  it('exchange filters too', async () => {
    for (const param of ['reason', 'method', 'source', 'server', 'connection']) {
      for (const v of NASTY) {
        const r = await get('exchanges', { [param]: v });
        expect([200, 400]).toContain(r.status);
        if (r.status === 200) expect((r.body as { items: unknown[] }).items).toEqual([]);
      }
    }
    for (const v of NASTY) {
      const r = await get('exchanges', { q: v, limit: '500' });
      expect([200, 400]).toContain(r.status);
    }
    for (const param of ['from', 'to', 'kind', 'status', 'client', 'limit', 'order', 'cursor']) {
      for (const v of NASTY) expect((await get('exchanges', { [param]: v })).status).toBe(400);
    }
  });

  it('ids in paths', async () => {
    for (const v of NASTY) {
      for (const p of ['calls', 'exchanges']) {
        const r = await get(`${p}/${encodeURIComponent(v)}`);
        // 414: the router refuses a path parameter over maxParamLength before any handler.
        expect([400, 404, 414], v).toContain(r.status);
      }
    }
  });

  it('left the data as it was', async () => {
    expect(await callIds({})).toEqual(ids(records));
  });
});

// ───────────────────────────── live feed, end to end ─────────────────────────────

describe('live feed during a replay', () => {
  it('a connected client gets every call as it is committed, and can open it', async () => {
    const liveStore = await openStore({ path: join(dir, 'live.duckdb'), retention: false });
    const feed = new LiveFeed({ heartbeatMs: 0 });
    const live = createServer({ store: liveStore, health: fakeHealth, liveFeed: feed });
    try {
      const url = await live.listen({ port: 0 });
      const res = await fetch(`${url}/api/v1/live`);
      const reader = res.body!.getReader();
      const dec = new TextDecoder();
      let text = '';
      while (!text.includes(': connected')) text += dec.decode((await reader.read()).value, { stream: true });

      const published: string[] = [];
      let chain = Promise.resolve();
      await replayFile(join(repoRoot, 'examples/demo.pcap'), {
        source: 'demo.pcap',
        fingerprintSalt: 'api-test',
        onCall: (r, ex) => {
          // As the CLI should: publish once the store has committed the call.
          chain = chain.then(async () => {
            await liveStore.insertCalls([r]);
            await liveStore.insertExchanges([buildStoredExchange(ex, r)]);
            feed.publish(r);
            published.push(r.id);
          });
        },
      });
      await chain;
      const got = (): string[] => [...text.matchAll(/event: call\nid: ([^\n]+)\ndata: /g)].map((m) => m[1]!);
      while (got().length < published.length) text += dec.decode((await reader.read()).value, { stream: true });
      expect(got()).toEqual(published);
      for (const id of got()) expect((await fetch(`${url}/api/v1/calls/${id}`)).status).toBe(200);
      await reader.cancel();
    } finally {
      await live.close();
      await liveStore.close();
    }
  });
});
