import { describe, expect, test } from 'vitest';
import type { LlmCallRecord } from '../../core/record.js';
import { isoMicros } from '../../core/time.js';
import { syntheticCall, syntheticExchange } from '../synthetic-records.js';
import { capBodyText } from '../caps.js';
import { calls, quantile, T0, tempStore } from '../test-helpers.test-support.js';
import type { CallFilter, CallListItem, Page, Store, StoredExchange } from '../types.js';
import { StoreError } from '../types.js';
import { MIGRATIONS } from './migrations/index.js';

async function walk(store: Store, filter: CallFilter, limit = 50, order: 'asc' | 'desc' = 'desc'): Promise<CallListItem[]> {
  const out: CallListItem[] = [];
  let cursor: string | null = null;
  for (let guard = 0; guard < 10_000; guard++) {
    const page: Page<CallListItem> = await store.listCalls(filter, { limit, cursor, order });
    out.push(...page.items);
    if (page.next_cursor === null) return out;
    cursor = page.next_cursor;
  }
  throw new Error('pagination did not end');
}

/** Ids the store should return for `pred`, newest first. */
function expectedIds(records: LlmCallRecord[], pred: (r: LlmCallRecord) => boolean): string[] {
  return records
    .filter(pred)
    .sort((a, b) => (a.timing.request_start < b.timing.request_start ? 1 : a.timing.request_start > b.timing.request_start ? -1 : a.id < b.id ? 1 : -1))
    .map((r) => r.id);
}

describe('round trip', () => {
  test('a call and its exchange come back exactly as given', async () => {
    const store = await tempStore();
    const rec = syntheticCall(7, { start: T0, stepUs: 1 });
    // Unicode, quotes, backslashes, NUL and a µs timestamp: the store writes exactly what it is given.
    rec.content.output_text = 'héllo "wörld" \\ 🦆 \u0000 end';
    rec.timing.request_start = '2026-01-01T00:00:00.123456Z';
    rec.tool_calls = [{ id: 'toolu_1', name: 'Bash', arguments: '{"cmd":"ls"}' }];
    rec.attributes = { team: 'a' };
    const ex: StoredExchange = { ...syntheticExchange(rec), request_start: rec.timing.request_start };
    expect(await store.insertCalls([rec])).toBe(1);
    expect(await store.insertExchanges([ex])).toBe(1);
    const got = await store.getCall(rec.id);
    expect(got?.call).toEqual(rec);
    expect(got?.exchange).toEqual(ex);
    expect(await store.getExchange(rec.id)).toEqual(ex);
    const list = await store.listCalls({});
    const { content: _c, ...rest } = rec;
    expect(list.items).toEqual([{ ...rest, output_preview: rec.content.output_text }]);
    expect(await store.getCall('nope')).toBeNull();
    await store.close();
  });

  test('an exchange that is not a call round-trips, with its list view', async () => {
    const store = await tempStore();
    const base = syntheticExchange(syntheticCall(1, { start: T0, stepUs: 1 }));
    const ex: StoredExchange = { ...base, id: 'x-1', call_id: null, kind: 'other', reason: 'not_llm_route', response_events: null, response_events_total: 0 };
    await store.insertExchanges([ex]);
    expect(await store.getExchange('x-1')).toEqual(ex);
    const page = await store.listExchanges({ kind: ['other'] });
    const { request_body: _a, response_body: _b, response_events: _e, request_headers: _h, response_headers: _r, ...item } = ex;
    expect(page.items).toEqual([item]);
    await store.close();
  });

  test('oversized bodies and event lists are capped head + tail on insert', async () => {
    const store = await tempStore();
    const base = syntheticExchange(syntheticCall(1, { start: T0, stepUs: 1 }));
    const big = 'A'.repeat(300 * 1024) + 'MIDDLE' + 'Z'.repeat(100 * 1024);
    const events = Array.from({ length: 25_000 }, (_, i) => ({ ts: base.request_start, event: 'e', data: String(i) }));
    await store.insertExchanges([{ ...base, response_body: big, response_body_size: big.length, response_events: events, response_events_total: events.length }]);
    const got = (await store.getExchange(base.id))!;
    expect(got.response_body_truncated).toBe(true);
    expect(got.response_body!.startsWith('A'.repeat(256 * 1024))).toBe(true);
    expect(got.response_body!.endsWith('Z'.repeat(64 * 1024))).toBe(true);
    expect(got.response_body).not.toContain('MIDDLE');
    expect(got.response_body_size).toBe(big.length);
    expect(got.response_events_truncated).toBe(true);
    expect(got.response_events_total).toBe(25_000);
    expect(got.response_events!.length).toBe(20_000);
    expect(got.response_events![0]!.data).toBe('0');
    expect(got.response_events![19_999]!.data).toBe('24999');
    await store.close();
  });
});

describe('bodies given as bytes', () => {
  test('read back as the text they encode, capped as that text would be, and found by search', async () => {
    const store = await tempStore();
    const base = syntheticExchange(syntheticCall(1, { start: T0, stepUs: 1 }));
    const text = '{"content":"héllo \\"wörld\\" 🦆 \u0000 end"}';
    const big = 'é'.repeat(200_000) + 'MIDDLE' + 'z'.repeat(100_000);
    await store.insertExchanges([{ ...base, request_body: Buffer.from(text, 'utf8'), response_body: new Uint8Array(Buffer.from(big, 'utf8')) }]);
    const got = (await store.getExchange(base.id))!;
    expect(got.request_body).toBe(text);
    const asText = capBodyText(big);
    expect(got.response_body).toBe(asText.text);
    expect(got.response_body_truncated).toBe(true);
    expect((await store.listExchanges({ q: 'WÖRLD' })).items.map((x) => x.id)).toEqual([base.id]);
    expect((await store.listCalls({ q: 'wörld' })).items).toHaveLength(0); // no such call stored
    await store.close();
  });

  test('bytes that are not valid UTF-8 are stored as their decoded text, and search still works', async () => {
    const store = await tempStore();
    const base = syntheticExchange(syntheticCall(1, { start: T0, stepUs: 1 }));
    const bad = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xc3]), Buffer.from('x"}')]);
    await store.insertExchanges([{ ...base, request_body: bad }]);
    expect((await store.getExchange(base.id))!.request_body).toBe(bad.toString('utf8'));
    expect((await store.listExchanges({ q: 'x"' })).items).toHaveLength(1);
    await store.close();
  });
});

describe('stream events', () => {
  test('come back exactly as given, whether their data lie in the stored body or not', async () => {
    const store = await tempStore();
    const base = syntheticExchange(syntheticCall(1, { start: T0, stepUs: 1 }));
    const ts = base.request_start;
    const d1 = '{"delta":"héllo 🦆 \\"q\\""}';
    const body = `event: a\ndata: ${d1}\n\ndata: \n\nevent: b\ndata: ${d1}\n\ndata: [DONE]\n\n`;
    const inBody = [
      { ts, event: 'a', data: d1 },
      { ts, event: 'message', data: '' },
      { ts, event: 'b', data: d1 },
      { ts, event: 'message', data: '[DONE]' },
    ];
    const notInBody = [...inBody.slice(0, 2), { ts, event: 'x', data: 'Bearer [REDACTED]' }];
    const lone = [{ ts, event: 'x', data: 'half \uD83E pair' }];
    const cases = [
      { ...base, id: 'e1', response_body: Buffer.from(body), response_events: inBody },
      { ...base, id: 'e2', response_body: body, response_events: notInBody },
      { ...base, id: 'e3', response_body: 'half \uD83E pair', response_events: lone },
      { ...base, id: 'e4', response_body: null, response_events: inBody },
      { ...base, id: 'e5', response_body: body, response_events: [] },
    ];
    await store.insertExchanges(cases);
    for (const x of cases) expect((await store.getExchange(x.id))?.response_events, x.id).toEqual(x.response_events);
    await store.close();
  });
});

describe('bad records', () => {
  test('a record without a valid request_start refuses its batch with invalid_argument, storing nothing', async () => {
    const store = await tempStore();
    const good = syntheticCall(1, { start: T0, stepUs: 1 });
    const bad = { ...syntheticCall(2, { start: T0, stepUs: 1 }), timing: { ...good.timing, request_start: 'yesterday' } };
    await expect(store.insertCalls([good, bad])).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringContaining(bad.id) });
    expect((await store.stats()).tables.calls).toBe(0);
    expect(await store.insertCalls([good])).toBe(1);
    await store.close();
  });
});

describe('idempotent inserts', () => {
  test('the same batch twice stores each row once; duplicates inside a batch too', async () => {
    const store = await tempStore();
    const recs = calls(100);
    expect(await store.insertCalls(recs)).toBe(100);
    expect(await store.insertCalls(recs)).toBe(0);
    expect(await store.insertCalls([...recs.slice(0, 10), ...calls(110).slice(100), recs[100 - 1]!, calls(110)[105]!])).toBe(10);
    const ex = recs.map(syntheticExchange);
    expect(await store.insertExchanges(ex)).toBe(100);
    const packed = (await store.stats()).bodies_bytes;
    expect(packed).toBeGreaterThan(0);
    expect(await store.insertExchanges(ex)).toBe(0);
    const stats = await store.stats();
    // The refused batch's bodies were cut off again, not left in the packs a second time.
    expect(stats.bodies_bytes).toBe(packed);
    expect(stats.tables).toMatchObject({ calls: 110, exchanges: 100, turns: 0, alerts: 0, annotations: 0 });
    expect(stats.schema_version).toBe(MIGRATIONS.length);
    expect(stats.file_bytes + stats.wal_bytes).toBeGreaterThan(0);
    await store.close();
  });
});

describe('filters', () => {
  const recs = calls(400, 997_003);
  // Texts only some calls have, for q.
  recs[5]!.content.output_text = 'a 100% match_here';
  recs[6]!.content.reasoning_text = 'thinking: 100%';
  const exchanges = recs.map(syntheticExchange);
  exchanges[7]!.response_body = 'body says 100% done';
  const model = (r: LlmCallRecord): string[] => [r.request_model, r.response_model].filter((m): m is string => m !== null);
  const t = (i: number): number => T0 + i * 997_003;

  const cases: [string, CallFilter, (r: LlmCallRecord) => boolean][] = [
    ['from/to', { from: t(50), to: t(120) }, (r) => r.timing.request_start >= isoMicros(t(50)) && r.timing.request_start < isoMicros(t(120))],
    ['provider', { provider: ['anthropic'] }, (r) => r.provider === 'anthropic'],
    ['api (two values)', { api: ['openai.chat_completions', 'gemini.generate_content'] }, (r) => r.api !== 'anthropic.messages'],
    ['model matches request model', { model: ['gpt-4o'] }, (r) => model(r).includes('gpt-4o')],
    ['model matches response model', { model: ['gpt-4o-2025'] }, (r) => model(r).includes('gpt-4o-2025')],
    ['status exact', { status: [429] }, (r) => r.status_code === 429],
    ['status class', { status: ['5xx'] }, (r) => r.status_code !== null && r.status_code >= 500],
    ['status error', { status: ['error'] }, (r) => (r.status_code ?? 0) >= 400 || r.error !== null],
    ['status 2xx or 400', { status: ['2xx', 400] }, (r) => r.status_code === 400 || (r.status_code! >= 200 && r.status_code! < 300)],
    ['status none', { status: ['none'] }, (r) => r.status_code === null],
    ['finish_reason', { finish_reason: ['tool_call'] }, (r) => r.finish_reason === 'tool_call'],
    ['stream true', { stream: true }, (r) => r.stream],
    ['stream false', { stream: false }, (r) => !r.stream],
    ['agent', { agent: ['codex'] }, (r) => r.agent === 'codex'],
    ['session_id', { session_id: ['sess-3'] }, (r) => r.session_id === 'sess-3'],
    ['turn_id', { turn_id: [recs[17]!.turn_id!] }, (r) => r.turn_id === recs[17]!.turn_id],
    ['agent_role', { agent_role: ['subagent'] }, (r) => r.agent_role === 'subagent'],
    ['agent_role (two values)', { agent_role: ['main', 'auxiliary'] }, (r) => r.agent_role === 'main' || r.agent_role === 'auxiliary'],
    ['source', { source: ['synthetic.pcap'] }, () => true],
    ['client ip', { client_ip: ['192.168.1.2'] }, (r) => r.client.ip === '192.168.1.2'],
    ['server ip', { server: ['10.0.1.2'] }, (r) => r.server.ip === '10.0.1.2'],
    ['server host', { server: ['api.openai.com'] }, (r) => r.server.host === 'api.openai.com'],
    ['key fingerprint', { api_key_fingerprint: ['fp1'] }, (r) => r.api_key_fingerprint === 'fp1'],
    ['q in output text, case-insensitive', { q: 'QUICK BROWN' }, (r) => r.content.output_text.toLowerCase().includes('quick brown')],
    ['q with % and _ taken literally', { q: '100% match_' }, (r) => r.id === recs[5]!.id],
    ['q in reasoning and bodies', { q: '100%' }, (r) => [5, 6, 7].map((i) => recs[i]!.id).includes(r.id)],
    ['q in request body', { q: `question for ${recs[9]!.id}` }, (r) => r.id === recs[9]!.id],
    ['combined', { provider: ['openai'], stream: true, status: ['2xx'] }, (r) => r.provider === 'openai' && r.stream && r.status_code === 200],
    ['empty list selects nothing', { provider: [] }, () => false],
  ];

  test.each(cases)('%s', async (_name, filter, pred) => {
    const store = await tempStore();
    await store.insertCalls(recs);
    await store.insertExchanges(exchanges);
    const got = (await walk(store, filter, 37)).map((c) => c.id);
    const want = expectedIds(recs, pred);
    expect(want.length).toBeGreaterThan(-1);
    expect(got).toEqual(want);
    // Summary counts the same selection.
    expect((await store.summary(filter)).calls).toBe(want.length);
    await store.close();
  });

  test('every case selects something and leaves something out (the filters are tested for real)', () => {
    for (const [name, , pred] of cases) {
      const n = recs.filter(pred).length;
      if (name === 'source') expect(n).toBe(recs.length);
      else if (name === 'empty list selects nothing' || name === 'status none') expect(n).toBe(0);
      else expect([name, n > 0 && n < recs.length]).toEqual([name, true]);
    }
  });

  test('exchange filters', async () => {
    const store = await tempStore();
    const other: StoredExchange = { ...exchanges[0]!, id: 'other-1', call_id: null, kind: 'other', reason: 'count_tokens', method: 'GET', target: '/v1/models?x=1' };
    await store.insertExchanges([...exchanges, other]);
    const ids = async (f: Parameters<Store['listExchanges']>[0]): Promise<string[]> => {
      const out: string[] = [];
      let cursor: string | null = null;
      do {
        const p: Page<{ id: string }> = await store.listExchanges(f, { limit: 60, cursor });
        out.push(...p.items.map((i) => i.id));
        cursor = p.next_cursor;
      } while (cursor);
      return out.sort();
    };
    expect(await ids({ kind: ['other'] })).toEqual(['other-1']);
    expect(await ids({ reason: ['count_tokens'] })).toEqual(['other-1']);
    expect(await ids({ method: ['GET'] })).toEqual(['other-1']);
    expect(await ids({ q: 'MODELS?X' })).toEqual(['other-1']);
    expect(await ids({ q: '100% done' })).toEqual([exchanges[7]!.id]);
    expect((await ids({ status: ['4xx'] })).length).toBe(exchanges.filter((e) => e.status_code! >= 400 && e.status_code! < 500).length + 0);
    expect(await ids({ server: ['api.anthropic.com'], from: t(0), to: t(10) })).toEqual(
      exchanges.slice(0, 10).filter((e) => e.server.host === 'api.anthropic.com').map((e) => e.id).sort(),
    );
    expect(await ids({ connection_id: ['nope'] })).toEqual([]);
    await store.close();
  });
});

describe('cursor pagination', () => {
  test('walks every row exactly once, in order, both directions, with ties on request_start', async () => {
    const store = await tempStore();
    // 50 calls per timestamp: ordering falls back to id.
    const recs = Array.from({ length: 1000 }, (_, i) => {
      const r = syntheticCall(i, { start: T0, stepUs: 0 });
      r.timing.request_start = isoMicros(T0 + Math.floor(i / 50) * 1000);
      return r;
    });
    await store.insertCalls(recs);
    const desc = (await walk(store, {}, 7, 'desc')).map((c) => c.id);
    expect(desc).toEqual(expectedIds(recs, () => true));
    const asc = (await walk(store, {}, 13, 'asc')).map((c) => c.id);
    expect(asc).toEqual([...desc].reverse());
    await store.close();
  });

  test('a walk is stable while newer rows arrive', async () => {
    const store = await tempStore();
    await store.insertCalls(calls(100));
    const first = await store.listCalls({}, { limit: 30 });
    await store.insertCalls(calls(30, 1_000_000, T0 + 1e12)); // all newer than everything
    const rest = await walk(store, {}, 30);
    const second = await store.listCalls({}, { limit: 30, cursor: first.next_cursor });
    expect(second.items[0]!.id).toBe(calls(100)[69]!.id);
    expect(rest.length).toBe(130);
    await store.close();
  });

  test('limits are clamped to 1..500; bad cursors are a clear invalid_cursor error', async () => {
    const store = await tempStore();
    await store.insertCalls(calls(600));
    expect((await store.listCalls({}, { limit: 10_000 })).items.length).toBe(500);
    expect((await store.listCalls({}, { limit: 0 })).items.length).toBe(1);
    expect((await store.listCalls({})).items.length).toBe(50);
    const p = await store.listCalls({}, { limit: 5 });
    for (const bad of ['garbage!', 'e30', Buffer.from('[1,"x","sideways"]').toString('base64url'), "' OR 1=1 --"]) {
      await expect(store.listCalls({}, { cursor: bad })).rejects.toMatchObject({ code: 'invalid_cursor' });
    }
    await expect(store.listCalls({}, { cursor: p.next_cursor, order: 'asc' })).rejects.toBeInstanceOf(StoreError);
    await store.close();
  });
});

describe('aggregates', () => {
  const recs = calls(3000, 400_000);

  test('summary percentiles, counts and token sums equal a reference computed in JS', async () => {
    const store = await tempStore();
    await store.insertCalls(recs);
    const s = await store.summary({});
    const vals = (k: 'ttft_ms' | 'tpot_ms' | 'e2e_ms'): number[] => recs.map((r) => r[k]).filter((v): v is number => v !== null);
    for (const k of ['ttft_ms', 'tpot_ms', 'e2e_ms'] as const) {
      const v = vals(k);
      expect(s[k].count).toBe(v.length);
      expect(s[k].p50).toBeCloseTo(quantile(v, 0.5)!, 6);
      expect(s[k].p95).toBeCloseTo(quantile(v, 0.95)!, 6);
      expect(s[k].p99).toBeCloseTo(quantile(v, 0.99)!, 6);
      expect(s[k].max).toBe(Math.max(...v));
    }
    const errors = recs.filter((r) => (r.status_code ?? 0) >= 400 || r.error !== null).length;
    expect(s.calls).toBe(3000);
    expect(s.errors).toBe(errors);
    expect(s.error_rate).toBeCloseTo(errors / 3000, 12);
    expect(s.status_429).toBe(recs.filter((r) => r.status_code === 429).length);
    expect(s.status_5xx).toBe(recs.filter((r) => r.status_code! >= 500).length);
    const sum = (f: (r: LlmCallRecord) => number | null): number => recs.reduce((a, r) => a + (f(r) ?? 0), 0);
    expect(s.input_tokens).toBe(sum((r) => r.usage.input_tokens));
    expect(s.output_tokens).toBe(sum((r) => r.usage.output_tokens));
    expect(s.cache_hit_ratio).toBeCloseTo(sum((r) => r.usage.cache_read_tokens) / sum((r) => r.usage.input_tokens), 12);
    expect(s.first_call).toBe(recs[0]!.timing.request_start);
    expect(s.last_call).toBe(recs[2999]!.timing.request_start);
    const empty = await store.summary({ provider: ['nobody'] });
    expect(empty).toMatchObject({ calls: 0, error_rate: null, cache_hit_ratio: null, first_call: null });
    expect(empty.ttft_ms).toEqual({ count: 0, p50: null, p95: null, p99: null, avg: null, max: null });
    await store.close();
  });

  test('time series: per-bucket exact percentiles, counts, active calls; dense buckets', async () => {
    const store = await tempStore();
    await store.insertCalls(recs);
    const bucketMs = 60_000;
    const ts = await store.timeseries({}, { bucketMs, metrics: ['calls', 'errors', 'output_tokens', 'ttft_ms', 'active_calls'] });
    const startUs = (r: LlmCallRecord): number => T0 + recs.indexOf(r) * 400_000;
    const endUs = (r: LlmCallRecord): number => startUs(r) + Math.round(r.e2e_ms! * 1000);
    const nb = Math.floor((startUs(recs[2999]!) - T0) / (bucketMs * 1000)) + 1;
    expect(ts.buckets.length).toBe(nb);
    expect(ts.buckets[1]).toBe(isoMicros(T0 + bucketMs * 1000));
    expect(ts.series.length).toBe(1);
    const v = ts.series[0]!.values;
    for (let b = 0; b < nb; b++) {
      const lo = T0 + b * bucketMs * 1000;
      const hi = lo + bucketMs * 1000;
      const inB = recs.filter((r) => startUs(r) >= lo && startUs(r) < hi);
      expect(v.calls![b]).toBe(inB.length);
      expect(v.errors![b]).toBe(inB.filter((r) => r.status_code! >= 400).length);
      expect(v.output_tokens![b]).toBe(inB.reduce((a, r) => a + r.usage.output_tokens!, 0));
      const ttft = inB.map((r) => r.ttft_ms).filter((x): x is number => x !== null);
      expect(v.ttft_ms_p95![b]).toBeCloseTo(quantile(ttft, 0.95)!, 6);
      expect(v.ttft_ms_p50![b]).toBeCloseTo(quantile(ttft, 0.5)!, 6);
      // Active: the call's [start, end] overlaps [lo, hi) (end clamped to the last bucket).
      expect(v.active_calls![b]).toBe(recs.filter((r) => startUs(r) < hi && endUs(r) >= lo).length);
    }
    await store.close();
  });

  test('time series grouped: top groups plus "(other)", each series sums to the whole', async () => {
    const store = await tempStore();
    await store.insertCalls(recs);
    const ts = await store.timeseries({}, { bucketMs: 300_000, metrics: ['calls'], groupBy: 'model', groupLimit: 2 });
    expect(ts.series.map((s) => s.group).at(-1)).toBe('(other)');
    expect(ts.series.length).toBe(3);
    const total = ts.series.flatMap((s) => s.values.calls!).reduce((a: number, b) => a + (b ?? 0), 0);
    expect(total).toBe(3000);
    const byStatus = await store.timeseries({ from: T0, to: T0 + 3_600_000_000 }, { bucketMs: 3_600_000, metrics: ['calls'], groupBy: 'status_class' });
    expect(byStatus.buckets).toEqual([isoMicros(T0)]);
    expect(Object.fromEntries(byStatus.series.map((s) => [s.group, s.values.calls![0]]))).toEqual({
      '2xx': recs.filter((r) => r.status_code === 200).length,
      '4xx': recs.filter((r) => r.status_code! >= 400 && r.status_code! < 500).length,
      '5xx': recs.filter((r) => r.status_code! >= 500).length,
    });
    await expect(store.timeseries({}, { bucketMs: 1, metrics: ['calls'] })).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(await store.timeseries({ provider: ['none'] }, { bucketMs: 1000, metrics: ['calls'] })).toEqual({ bucket_ms: 1000, buckets: [], series: [] });
    await store.close();
  });

  test('models, errors, filter values', async () => {
    const store = await tempStore();
    await store.insertCalls(recs);
    const models = await store.models({});
    const m = models.find((x) => x.model === 'gpt-4o-2025')!;
    const mine = recs.filter((r) => r.response_model === 'gpt-4o-2025');
    expect(m.calls).toBe(mine.length);
    expect(m.e2e_ms.p99).toBeCloseTo(quantile(mine.map((r) => r.e2e_ms!), 0.99)!, 6);
    expect(models.reduce((a, x) => a + x.calls, 0)).toBe(3000);

    const errors = await store.errors({});
    expect(errors.reduce((a, e) => a + e.count, 0)).toBe(recs.filter((r) => r.status_code! >= 400).length);
    const g = errors[0]!;
    const inG = recs.filter((r) => r.status_code === g.status_code && r.error?.type === g.error_type && (r.response_model ?? r.request_model) === g.model);
    expect(g.count).toBe(inG.length);
    expect(g.example_id).toBe(inG.at(-1)!.id);
    expect(g.last_seen).toBe(inG.at(-1)!.timing.request_start);

    const fv = await store.filterValues();
    expect(fv.provider.map((v) => v.value).sort()).toEqual(['anthropic', 'google', 'openai']);
    expect(fv.status.find((v) => v.value === '429')?.count).toBe(recs.filter((r) => r.status_code === 429).length);
    expect(fv.server.map((v) => v.value)).toContain('api.openai.com');
    expect(fv.server.map((v) => v.value)).toContain('10.0.0.1');
    expect(fv.session_id.length).toBe(50);
    expect((await store.filterValues({ provider: ['openai'] })).provider).toEqual([{ value: 'openai', count: 1000 }]);
    await store.close();
  });
});

describe('SQL injection', () => {
  const payloads = [
    "' OR '1'='1",
    "x'); DROP TABLE calls; --",
    '" OR 1=1 --',
    "anthropic' --",
    '%',
    '_',
    '\\',
    "'; SELECT * FROM exchanges; --",
    '$1',
    '\u0000',
  ];

  test('every string filter value returns empty results, never an error, never other rows', async () => {
    const store = await tempStore();
    const recs = calls(60);
    await store.insertCalls(recs);
    const exchanges = new Map(recs.map((r) => [r.id, syntheticExchange(r)]));
    await store.insertExchanges([...exchanges.values()]);
    const fields = ['provider', 'api', 'model', 'finish_reason', 'agent', 'session_id', 'turn_id', 'source', 'client_ip', 'server', 'api_key_fingerprint'] as const;
    for (const p of payloads) {
      for (const f of fields) {
        const filter: CallFilter = { [f]: [p] };
        expect([f, p, (await store.listCalls(filter)).items.length]).toEqual([f, p, 0]);
        expect((await store.summary(filter)).calls).toBe(0);
        expect((await store.timeseries(filter, { bucketMs: 60_000, metrics: ['calls', 'ttft_ms', 'active_calls'] })).series).toEqual([]);
        expect(await store.models(filter)).toEqual([]);
        expect(await store.errors(filter)).toEqual([]);
      }
      // q: a LIKE wildcard matches literally: exactly the calls whose texts contain it.
      const lit = (t: string | null): boolean => (t ?? '').toLowerCase().includes(p.toLowerCase());
      const want = recs.filter((r) => lit(r.content.output_text) || lit(r.content.reasoning_text) || lit(exchanges.get(r.id)!.request_body) || lit(exchanges.get(r.id)!.response_body));
      expect([p, (await walk(store, { q: p })).length]).toEqual([p, want.length]);
      if (p !== '_') expect(want.length).toBe(0);
      expect((await store.listExchanges({ q: p, reason: [p], method: [p] })).items.length).toBe(0);
      // Status strings outside the union match nothing.
      expect((await store.listCalls({ status: [p as never] })).items.length).toBe(0);
      expect(await store.getCall(p)).toBeNull();
      expect(await store.getExchange(p)).toBeNull();
    }
    expect((await store.stats()).tables).toMatchObject({ calls: 60, exchanges: 60 });
    await store.close();
  });
});

describe('limits on filter input', () => {
  test('too many values, an over-long q and non-integer times are invalid_argument', async () => {
    const store = await tempStore();
    await expect(store.listCalls({ provider: Array.from({ length: 101 }, String) })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(store.listCalls({ q: 'x'.repeat(1001) })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(store.listCalls({ from: 1.5 })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(store.timeseries({}, { bucketMs: 1000, metrics: ['nope' as never] })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(store.timeseries({}, { bucketMs: 1000, metrics: ['calls'], groupBy: 'provider; DROP' as never })).rejects.toMatchObject({ code: 'invalid_argument' });
    await store.close();
    await expect(store.listCalls({})).rejects.toMatchObject({ code: 'closed' });
  });
});
