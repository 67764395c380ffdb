import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { AgentTurnRecord, AlertRecord, LlmCallRecord } from '../core/record.js';
import type { HttpBody, HttpExchange } from '../http/types.js';
import { storeFiles } from '../store/duckdb/packs.js';
import { openStore } from '../store/index.js';
import { syntheticCall, syntheticTurn, TURN_CALLS } from '../store/synthetic-records.js';
import { T0, tempDbPath } from '../store/test-helpers.test-support.js';
import type { Store } from '../store/types.js';
import { StoreSink } from './store-sink.js';

const OPTS = { start: T0, stepUs: 250_000 };

function body(text: string): HttpBody {
  const data = new TextEncoder().encode(text);
  return { chunks: [{ data, ts: 0 }], size: data.length, wireBytes: data.length, contentEncoding: null, truncated: false, incomplete: false };
}

/** The exchange a call came from, as small as the sink needs. */
function exchangeOf(r: LlmCallRecord): HttpExchange {
  const t = Date.parse(r.timing.request_start) * 1000;
  return {
    connection: { id: `c${r.client.port}`, client: r.client, server: r.server, rolesGuessed: false },
    seq: 0,
    request: { method: 'POST', target: r.http.path, path: r.http.path, query: '', version: 'HTTP/1.1', headers: [['host', 'x']], body: body('{}'), start: t, end: t + 1, wireBytes: 20 },
    response: { status: 200, reason: 'OK', version: 'HTTP/1.1', headers: [], trailers: [], body: body('{}'), start: t + 2, end: t + 3, wireBytes: 10 },
    anomalies: [],
  };
}

/** A store that records the order in which calls and turns reach it. */
function recording(store: Store): { store: Store; log: { op: 'calls' | 'turns'; ids: string[] }[] } {
  const log: { op: 'calls' | 'turns'; ids: string[] }[] = [];
  const wrapped: Store = Object.create(store) as Store;
  wrapped.insertCallsReturningIds = async (calls) => {
    const ids = await store.insertCallsReturningIds(calls);
    log.push({ op: 'calls', ids: calls.map((c) => c.id) });
    return ids;
  };
  wrapped.upsertTurns = async (turns) => {
    log.push({ op: 'turns', ids: turns.flatMap((t) => t.steps.map((s) => s.call_id)) });
    return store.upsertTurns(turns);
  };
  return { store: wrapped, log };
}

/** Feeds `n` calls, and after each call a snapshot of its turn (as the tracker does), draining as the replay loop does. */
async function feed(sink: StoreSink, n: number): Promise<{ calls: LlmCallRecord[]; finals: AgentTurnRecord[] }> {
  const calls: LlmCallRecord[] = [];
  const finals: AgentTurnRecord[] = [];
  for (let i = 0; i < n; i++) {
    const c = syntheticCall(i, OPTS);
    calls.push(c);
    sink.addCall(c, exchangeOf(c));
    const k = Math.floor(i / TURN_CALLS);
    const soFar = calls.slice(k * TURN_CALLS);
    const last = i % TURN_CALLS === TURN_CALLS - 1;
    const t = syntheticTurn(k, soFar, last ? {} : { status: 'in_progress' });
    if (t) {
      sink.addTurn(t);
      if (last) finals.push(t);
    }
    if (i % 100 === 99) await sink.drain();
  }
  return { calls, finals };
}

describe('StoreSink with turns', () => {
  test('a turn is written only after every call it lists is committed; the last snapshot is what is stored', async () => {
    const db = await openStore({ path: tempDbPath(), retention: false });
    const { store, log } = recording(db);
    const published: AgentTurnRecord[] = [];
    const sink = new StoreSink(store, undefined, (ts) => published.push(...ts));
    const { finals } = await feed(sink, 6_000); // three full call batches
    await sink.flush();
    expect(sink.pending).toBe(0);

    const committed = new Set<string>();
    let turnWrites = 0;
    for (const e of log) {
      if (e.op === 'calls') for (const id of e.ids) committed.add(id);
      else {
        turnWrites++;
        for (const id of e.ids) expect(committed.has(id)).toBe(true);
      }
    }
    expect(turnWrites).toBeGreaterThan(1);
    const stored = (await db.listTurns({}, { limit: 500, order: 'asc' })).items;
    expect(stored.length).toBeLessThanOrEqual(500);
    let all: AgentTurnRecord[] = [];
    let cursor: string | null = null;
    do {
      const p = await db.listTurns({}, { limit: 500, cursor, order: 'asc' });
      all = all.concat(p.items);
      cursor = p.next_cursor;
    } while (cursor);
    expect(all).toEqual(finals);
    // Each turn was published at least as its final snapshot, after the last in-progress one.
    const lastPublished = new Map(published.map((t) => [t.id, t]));
    expect([...lastPublished.values()]).toHaveLength(finals.length);
    for (const f of finals) expect(lastPublished.get(f.id)).toEqual(f);
    expect(sink.turnsWritten).toBe(published.length);
    await db.close();
  });

  test('a capture stored twice: nothing is announced the second time', async () => {
    const db = await openStore({ path: tempDbPath(), retention: false });
    const first = { calls: 0, turns: 0 };
    const s1 = new StoreSink(db, (c) => (first.calls += c.length), (t) => (first.turns += t.length));
    await feed(s1, 800);
    await s1.flush();
    expect(first.calls).toBe(800);
    expect(first.turns).toBeGreaterThan(0);

    const again = { calls: 0, turns: 0 };
    const s2 = new StoreSink(db, (c) => (again.calls += c.length), (t) => (again.turns += t.length));
    await feed(s2, 800);
    await s2.flush();
    expect(again).toEqual({ calls: 0, turns: 0 });
    expect(s2.callsInserted).toBe(0);
    expect((await db.stats()).tables).toMatchObject({ calls: 800 });
    await db.close();
  });

  test('a key-shaped string in a turn preview never reaches the database', async () => {
    const path = tempDbPath();
    const db = await openStore({ path, retention: false });
    const sink = new StoreSink(db);
    const keys = ['sk-ant-api03-PLANTEDturnPreviewKEY0123456789', 'sk-proj-PLANTEDfinalKEY0123456789abcdef', 'AIzaSyPLANTEDloopKEY0123456789abcdefghij'];
    const calls = Array.from({ length: TURN_CALLS }, (_, i) => syntheticCall(i, OPTS));
    for (const c of calls) sink.addCall(c, exchangeOf(c));
    const turn = syntheticTurn(0, calls, {
      user_preview: `use my key ${keys[0]} please`,
      final_preview: `Configured ${keys[1]}.`,
      loops: [{ tool: 'Bash', arguments_preview: `{"command":"curl -H 'key: ${keys[2]}'"}`, count: 3 }],
    })!;
    sink.addTurn(turn);
    await sink.flush();
    const back = JSON.stringify([await db.listTurns({}), await db.getTurn(turn.id), await db.getSession(turn.session_id)]);
    expect(back).toContain('[REDACTED]');
    for (const k of keys) expect(back).not.toContain(k);
    await db.close();
    for (const file of storeFiles(path)) {
      const bytes = readFileSync(file).toString('latin1');
      for (const k of keys) expect(bytes).not.toContain(k);
    }
  });

  test('a batch that does not fill is still written once its oldest record has waited a second', async () => {
    const db = await openStore({ path: tempDbPath(), retention: false });
    const committed: string[] = [];
    let clock = 0;
    const sink = new StoreSink(db, (calls) => committed.push(...calls.map((c) => c.id)), undefined, () => clock);
    const c = syntheticCall(0, OPTS);
    sink.addCall(c, exchangeOf(c));
    clock = 999;
    await sink.drain();
    expect(committed).toEqual([]);
    clock = 1_000;
    await sink.drain();
    expect(committed).toEqual([c.id]);
    expect((await db.listCalls({}, { limit: 10 })).items.map((x) => x.id)).toEqual([c.id]);
    await db.close();
  });

  test('an alert fired then resolved before the batch is written is stored once, resolved', async () => {
    const db = await openStore({ path: tempDbPath(), retention: false });
    const sink = new StoreSink(db);
    const firing: AlertRecord = {
      kind: 'alert',
      id: '0190a0a0-0000-7000-8000-000000000001',
      rule: 'errors',
      rule_kind: 'rule',
      state: 'firing',
      severity: 'warning',
      metric: 'error_rate',
      value: 0.5,
      threshold: 0.2,
      window_ms: 60_000,
      filters: {},
      source: null,
      fired_at: '2026-11-01T00:00:01.000000Z',
      resolved_at: null,
      message: 'error_rate 0.5 > 0.2',
      budget: null,
    };
    sink.addAlert(firing);
    sink.addAlert({ ...firing, state: 'resolved', resolved_at: '2026-11-01T00:01:02.000000Z' });
    await sink.flush();
    expect(sink.alertsWritten).toBe(1);
    const stored = await db.listAlerts({}, { limit: 10 });
    expect(stored.items.map((a) => [a.id, a.state, a.resolved_at])).toEqual([[firing.id, 'resolved', '2026-11-01T00:01:02.000000Z']]);
    await db.close();
  });

  test('an exchange batch holds at most its text cap: reaching it writes, and a bigger queue is split', async () => {
    const db = await openStore({ path: tempDbPath(), retention: false });
    const batches: number[][] = [];
    const store: Store = Object.create(db) as Store;
    store.insertExchanges = (xs) => {
      batches.push(xs.map((x) => (x.request_body ?? '').length + (x.response_body ?? '').length));
      return db.insertExchanges(xs);
    };
    const cap = 10_000;
    const sink = new StoreSink(store, undefined, undefined, () => 0, cap);
    const calls = Array.from({ length: 12 }, (_, i) => syntheticCall(i, OPTS));
    const withBody = (c: LlmCallRecord): HttpExchange => {
      const ex = exchangeOf(c);
      return { ...ex, request: { ...ex.request, body: body(`{"pad":"${'x'.repeat(2990)}"}`) } };
    };
    // 3,002 characters each (request 3,000, response 2): three stay below the cap, a fourth reaches it.
    for (const c of calls.slice(0, 3)) sink.addCall(c, withBody(c));
    await sink.drain();
    expect(batches).toEqual([]);
    sink.addCall(calls[3]!, withBody(calls[3]!));
    await sink.drain();
    expect(batches).toEqual([[3002, 3002, 3002], [3002]]);
    // Eight at once are written in batches within the cap, in order, all of them.
    for (const c of calls.slice(4)) sink.addCall(c, withBody(c));
    await sink.flush();
    expect(batches.slice(2)).toEqual([[3002, 3002, 3002], [3002, 3002, 3002], [3002, 3002]]);
    expect(sink.exchangesInserted).toBe(12);
    expect((await db.listExchanges({}, { limit: 20 })).items).toHaveLength(12);
    await db.close();
  });
});
