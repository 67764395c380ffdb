/**
 * /turns, /sessions and the live feed's `turn` events over the real DuckDB store, filled with
 * synthetic calls and the turns made of them (src/store/synthetic-records.ts). Expected answers are
 * computed here from the records in plain JS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentTurnRecord, LlmCallRecord } from '../core/record.js';
import { isoMicros } from '../core/time.js';
import { StoreSink } from '../pipeline/store-sink.js';
import { openStore } from '../store/index.js';
import { syntheticCall, syntheticTurn, TURN_CALLS } from '../store/synthetic-records.js';
import { T0, tempDbPath } from '../store/test-helpers.test-support.js';
import type { CallListItem, Page, SessionDetail, SessionSummary, Store, TurnDetail } from '../store/types.js';
import { fakeHealth } from './fake-store.test-support.js';
import { LiveFeed } from './live-feed.js';
import { createServer, type ApiServer } from './server.js';

const STEP = 600_000;
const recs: LlmCallRecord[] = Array.from({ length: 30 * 5 * TURN_CALLS }, (_, i) => syntheticCall(i, { start: T0, stepUs: STEP }));
const turns: AgentTurnRecord[] = [];
for (let k = 0; k * TURN_CALLS < recs.length; k++) {
  const t = syntheticTurn(k, recs.slice(k * TURN_CALLS, (k + 1) * TURN_CALLS));
  if (t) turns.push(t);
}
turns[4] = { ...turns[4]!, status: 'in_progress', user_preview: 'Please refactor the Billing module' };

let store: Store;
let srv: ApiServer;

beforeAll(async () => {
  store = await openStore({ path: tempDbPath(), retention: false });
  await store.insertCalls(recs);
  await store.upsertTurns(turns);
  srv = createServer({ store, health: fakeHealth, liveFeed: new LiveFeed({ heartbeatMs: 0 }) });
});

afterAll(async () => {
  await srv?.close();
  await store?.close();
});

type Query = Record<string, string | string[]>;

async function get(path: string, q: Query = {}): Promise<{ status: number; body: unknown }> {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
  const s = p.toString();
  const res = await srv.app.inject(`/api/v1/${path}${s ? `?${s}` : ''}`);
  return { status: res.statusCode, body: res.json() };
}

async function ok<T>(path: string, q: Query = {}): Promise<T> {
  const r = await get(path, q);
  expect(r.status, `${path} ${JSON.stringify(q)}: ${JSON.stringify(r.body)}`).toBe(200);
  return r.body as T;
}

/** Every page of a list endpoint, following next_cursor. */
async function walk<T>(path: string, q: Query, limit: number): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<T> = await ok<Page<T>>(path, { ...q, limit: String(limit), ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

const newestFirst = (a: AgentTurnRecord, b: AgentTurnRecord): number => (a.start !== b.start ? (a.start < b.start ? 1 : -1) : a.id < b.id ? 1 : -1);
const ids = (xs: { id: string }[]): string[] => xs.map((x) => x.id);

describe('GET /api/v1/turns', () => {
  it('lists every turn newest first, page by page, as whole records', async () => {
    expect(await walk<AgentTurnRecord>('turns', {}, 7)).toEqual([...turns].sort(newestFirst));
    const asc = await walk<AgentTurnRecord>('turns', { order: 'asc' }, 11);
    expect(ids(asc)).toEqual(ids([...turns].sort(newestFirst).reverse()));
  });

  it('filters as documented', async () => {
    const from = T0 + 40 * TURN_CALLS * STEP;
    const to = T0 + 90 * TURN_CALLS * STEP;
    const cases: [Query, (t: AgentTurnRecord) => boolean][] = [
      [{ agent: 'codex' }, (t) => t.agent === 'codex'],
      [{ session: ['sess-3', 'sess-6'] }, (t) => ['sess-3', 'sess-6'].includes(t.session_id)],
      [{ status: 'in_progress,incomplete' }, (t) => t.status !== 'complete'],
      [{ status: 'complete', agent: 'claude-code' }, (t) => t.status === 'complete' && t.agent === 'claude-code'],
      [{ has_stalls: 'true' }, (t) => t.stalls.length > 0],
      [{ has_loops: '1' }, (t) => t.loops.length > 0],
      [{ q: 'billing MODULE' }, (t) => t.id === turns[4]!.id],
      [{ from: isoMicros(from), to: String(to / 1000) }, (t) => t.start >= isoMicros(from) && t.start < isoMicros(to)],
      [{ source: 'elsewhere.pcap' }, () => false],
    ];
    for (const [q, pred] of cases) {
      const want = turns.filter(pred).sort(newestFirst);
      if (q.source === undefined) expect(want.length, JSON.stringify(q)).toBeGreaterThan(0);
      expect(want.length).toBeLessThan(turns.length);
      expect(ids(await walk<AgentTurnRecord>('turns', q, 13)), JSON.stringify(q)).toEqual(ids(want));
    }
  });

  it('refuses bad parameters with a 400 naming them', async () => {
    const bad: [Query, string][] = [
      [{ status: 'done' }, "'status'"],
      [{ has_stalls: 'maybe' }, "'has_stalls'"],
      [{ limit: '0' }, "'limit'"],
      [{ from: 'yesterday' }, "'from'"],
      [{ from: '2026-01-02', to: '2026-01-01' }, "'from' is after 'to'"],
      [{ session_id: 'sess-1' }, 'unknown query parameter: "session_id"'],
      [{ cursor: 'garbage!' }, 'cursor'],
      [{ q: 'x'.repeat(1001) }, "'q'"],
    ];
    for (const [q, msg] of bad) {
      const r = await get('turns', q);
      expect(r.status, JSON.stringify(q)).toBe(400);
      expect((r.body as { error: { code: string; message: string } }).error).toMatchObject({ code: 'bad_request', message: expect.stringContaining(msg) });
    }
  });
});

describe('GET /api/v1/turns/:id', () => {
  it('returns the turn and its calls in step order; 400 for a bad id, 404 for an unknown one', async () => {
    const t = turns.find((x) => x.agent === 'claude-code' && x.subagents.length > 0)!;
    const d = await ok<TurnDetail>(`turns/${t.id.toUpperCase()}`);
    expect(d.turn).toEqual(t);
    expect(ids(d.calls)).toEqual(t.steps.map((s) => s.call_id));
    const sub = d.calls.find((c) => c.agent_role === 'subagent')!;
    expect(sub.id).toBe(t.subagents[0]!.first_call_id);
    expect('content' in sub).toBe(false);
    expect((await get('turns/not-a-turn')).status).toBe(400);
    expect((await get('turns/019bc1a4-0000-7000-8000-00000000dead')).status).toBe(404);
    expect((await get(`turns/${t.id}`, { x: '1' })).status).toBe(400);
  });
});

describe('GET /api/v1/calls with agent filters', () => {
  it('selects the calls of a turn, and by role', async () => {
    const t = turns[7]!;
    const got = await walk<CallListItem>('calls', { turn: t.id }, 50);
    expect(ids(got).sort()).toEqual(t.steps.map((s) => s.call_id).sort());
    const subs = await walk<CallListItem>('calls', { agent_role: 'subagent' }, 100);
    expect(ids(subs).sort()).toEqual(ids(recs.filter((r) => r.agent_role === 'subagent')).sort());
    expect(subs.length).toBeGreaterThan(0);
    expect((await get('calls', { agent_role: 'boss' })).status).toBe(400);
  });
});

describe('GET /api/v1/sessions', () => {
  it('lists sessions with sums over their turns, newest first; filters by agent, status, q', async () => {
    const all = await walk<SessionSummary>('sessions', {}, 4);
    const sessionIds = [...new Set(turns.map((t) => t.session_id))];
    expect(all.map((s) => s.session_id).sort()).toEqual(sessionIds.sort());
    for (const s of all) {
      const mine = turns.filter((t) => t.session_id === s.session_id);
      expect(s.turn_count).toBe(mine.length);
      expect(s.call_count).toBe(mine.reduce((a, t) => a + t.call_count, 0));
      expect(s.usage.output_tokens).toBe(mine.reduce((a, t) => a + (t.usage.output_tokens ?? 0), 0));
      expect(s.start).toBe(mine.map((t) => t.start).sort()[0]);
    }
    expect(all.map((s) => s.start)).toEqual(all.map((s) => s.start).sort().reverse());
    const running = await ok<Page<SessionSummary>>('sessions', { status: 'in_progress' });
    expect(running.items.map((s) => s.session_id)).toEqual([turns[4]!.session_id]);
    expect((await ok<Page<SessionSummary>>('sessions', { q: 'refactor the billing' })).items.map((s) => s.session_id)).toEqual([turns[4]!.session_id]);
    const codex = await walk<SessionSummary>('sessions', { agent: 'codex' }, 50);
    expect(codex.length).toBeGreaterThan(0);
    expect(codex.every((s) => s.agent === 'codex')).toBe(true);
    expect((await get('sessions', { has_loops: 'true' })).status).toBe(400);
  });

  it('GET /sessions/:id: the session and its turns oldest first; any text id, percent-encoded; 404 when unknown', async () => {
    const d = await ok<SessionDetail>('sessions/sess-1');
    expect(d.session.session_id).toBe('sess-1');
    expect(ids(d.turns)).toEqual(ids(turns.filter((t) => t.session_id === 'sess-1').sort(newestFirst).reverse()));
    expect(d.turns_truncated).toBe(false);

    // Session ids come from agents: slashes, spaces and quotes travel percent-encoded.
    const odd = 'user_abc/session 9"x';
    const extra = { ...turns[0]!, id: '019b0000-0000-7000-8000-0000000000aa', session_id: odd };
    await store.upsertTurns([extra]);
    expect((await ok<SessionDetail>(`sessions/${encodeURIComponent(odd)}`)).turns.map((t) => t.id)).toEqual([extra.id]);
    const missing = await get('sessions/no-such-session');
    expect(missing.status).toBe(404);
    expect((missing.body as { error: { message: string } }).error.message).toContain('"no-such-session"');
    expect((await get(`sessions/${'s'.repeat(300)}`)).status).toBe(414);
  });
});

describe('live feed: turn events', () => {
  it('a client gets each committed snapshot of a turn, in_progress then complete, after its calls', async () => {
    const liveStore = await openStore({ path: tempDbPath(), retention: false });
    const feed = new LiveFeed({ heartbeatMs: 0 });
    const live = createServer({ store: liveStore, health: fakeHealth, liveFeed: feed });
    try {
      const url = await live.listen({ port: 0 });
      const res = await fetch(`${url}/api/v1/live`);
      const reader = res.body!.getReader();
      const dec = new TextDecoder();
      let text = '';
      while (!text.includes(': connected')) text += dec.decode((await reader.read()).value, { stream: true });

      // As the CLI wires it: calls and turns published once their batch is committed.
      const sink = new StoreSink(
        liveStore,
        (calls) => calls.forEach((c) => feed.publish(c)),
        (ts) => ts.forEach((t) => feed.publishTurn(t)),
      );
      const calls = recs.slice(0, TURN_CALLS);
      const noExchange = { connection: { id: 'c', client: calls[0]!.client, server: calls[0]!.server, rolesGuessed: false }, seq: 0, request: { method: 'POST', target: '/', path: '/', query: '', version: 'HTTP/1.1', headers: [], body: { chunks: [], size: 0, wireBytes: 0, contentEncoding: null, truncated: false, incomplete: false }, start: 0, end: 0, wireBytes: 0 }, response: null, anomalies: [] };
      const full = syntheticTurn(0, calls)!;
      // Half the calls, an in-progress snapshot, a commit; then the rest and the final snapshot.
      for (const c of calls.slice(0, 4)) sink.addCall(c, noExchange);
      sink.addTurn(syntheticTurn(0, calls.slice(0, 4), { status: 'in_progress' })!);
      await sink.flush();
      for (const c of calls.slice(4)) sink.addCall(c, noExchange);
      sink.addTurn(full);
      await sink.flush();

      const frames = (): { event: string; id: string; data: string }[] =>
        [...text.matchAll(/event: (\w+)\nid: ([^\n]+)\ndata: ([^\n]*)\n\n/g)].map((m) => ({ event: m[1]!, id: m[2]!, data: m[3]! }));
      while (frames().length < TURN_CALLS + 2) text += dec.decode((await reader.read()).value, { stream: true });
      const got = frames();
      expect(got.map((f) => f.event)).toEqual(['call', 'call', 'call', 'call', 'turn', 'call', 'call', 'call', 'call', 'turn']);
      const snaps = got.filter((f) => f.event === 'turn').map((f) => JSON.parse(f.data) as AgentTurnRecord);
      expect(snaps.map((s) => [s.id, s.status, s.call_count])).toEqual([
        [full.id, 'in_progress', 4],
        [full.id, 'complete', 8],
      ]);
      expect(snaps[1]).toEqual(full);
      const d = (await (await fetch(`${url}/api/v1/turns/${full.id}`)).json()) as TurnDetail;
      expect(d.turn).toEqual(full);
      expect(ids(d.calls)).toEqual(ids(calls));
      await reader.cancel();
    } finally {
      await live.close();
      await liveStore.close();
    }
  });
});
