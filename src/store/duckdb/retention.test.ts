import { describe, expect, test } from 'vitest';
import { isoMicros } from '../../core/time.js';
import { openStore } from '../index.js';
import { syntheticCall, syntheticExchange, syntheticTurnOf } from '../synthetic-records.js';
import { T0, tempDbPath } from '../test-helpers.test-support.js';
import { openDuckDbStore } from './duckdb-store.js';
import { listPacks, packDirOf } from './packs.js';

const DAY = 86_400_000_000;

/** One call (and exchange) per day, days 0..39 after T0. */
function daily(): { calls: ReturnType<typeof syntheticCall>[] } {
  return { calls: Array.from({ length: 40 }, (_, i) => syntheticCall(i, { start: T0, stepUs: DAY })) };
}

describe('retention', () => {
  test('default policy, measured from the newest stored call: rows after 30 days, bodies after 7', async () => {
    const path = tempDbPath();
    const s = await openStore({ path }); // retention on by default
    const { calls } = daily();
    await s.insertCalls(calls);
    await s.insertExchanges(calls.map(syntheticExchange));
    const r = await s.applyRetention();
    // Newest is day 39 (an old capture: 2026-02-09, before the wall clock), so that is the reference.
    expect(r.reference).toBe(isoMicros(T0 + 39 * DAY));
    expect(r.calls_deleted).toBe(9); // days 0..8 are older than 30 days
    expect(r.exchanges_deleted).toBe(9);
    expect(r.bodies_dropped).toBe(23); // days 9..31 are older than 7 days
    const stats = await s.stats();
    expect(stats.tables).toMatchObject({ calls: 31, exchanges: 31 });
    const old = (await s.getExchange(calls[20]!.id))!;
    expect(old).toMatchObject({ request_body: null, response_body: null, response_events: null, bodies_expired: true });
    expect((await s.getExchange(calls[35]!.id))!.request_body).not.toBeNull();
    // Again: nothing more to do.
    expect(await s.applyRetention()).toMatchObject({ calls_deleted: 0, exchanges_deleted: 0, bodies_dropped: 0 });
    await s.close();
  });

  test('expired bodies: a pack goes once every body it holds has expired, not before', async () => {
    const path = tempDbPath();
    // ~2 days of bodies per pack (a synthetic exchange's bodies are ~150 bytes).
    const s = await openDuckDbStore({ path, retention: { callsDays: 30, exchangesDays: 30, bodiesDays: 7 } }, undefined, { packMaxBytes: 400 });
    const { calls } = daily();
    await s.insertCalls(calls);
    // One batch per day, oldest first, as a live capture writes them.
    for (const c of calls) await s.insertExchanges([syntheticExchange(c)]);
    const before = listPacks(packDirOf(path)).sort((a, b) => a - b);
    expect(before.length).toBeGreaterThan(10);
    const r = await s.applyRetention(T0 + 39 * DAY);
    expect(r.bodies_dropped).toBe(23);
    const after = listPacks(packDirOf(path)).sort((a, b) => a - b);
    expect(after.length).toBeLessThan(before.length);
    // Every pack left holds a body still readable; every body still readable is in one.
    for (const c of calls.slice(9)) {
      const x = (await s.getExchange(c.id))!;
      const live = Date.parse(c.timing.request_start) * 1000 >= T0 + 32 * DAY;
      expect(x.bodies_expired).toBe(!live);
      expect(x.request_body === null).toBe(!live);
      expect(x.anomalies).toEqual([]);
    }
    // Packs are numbered in write order: the ones left are the newest, and the oldest live body's
    // pack is the first of them (a pack holding a live body is kept whole).
    expect(after).toEqual(before.slice(before.length - after.length));
    // Nothing live: every pack goes.
    await s.applyRetention(T0 + 100 * DAY);
    expect(listPacks(packDirOf(path))).toEqual([]);
    await s.close();
  });

  test('an explicit reference time and a custom policy', async () => {
    const s = await openStore({ path: tempDbPath(), retention: { callsDays: 1, exchangesDays: 2, bodiesDays: 1 } });
    const { calls } = daily();
    await s.insertCalls(calls);
    const r = await s.applyRetention(T0 + 10 * DAY);
    expect(r.calls_deleted).toBe(9);
    expect((await s.stats()).tables.calls).toBe(31);
    await s.close();
  });

  test('turns go with the calls (callsDays) by default, or after turnsDays; the newest turn counts as data', async () => {
    const opts = { start: T0, stepUs: DAY / 8 }; // one synthetic turn (8 calls) per day
    const turns = Array.from({ length: 40 }, (_, k) => syntheticTurnOf(k, opts)).filter((t) => t !== null);
    const byDefault = await openStore({ path: tempDbPath() });
    await byDefault.upsertTurns(turns);
    const newest = Math.max(...turns.map((t) => Date.parse(t.start))) * 1000;
    // No calls stored: the reference is the newest turn, so a store of turns alone keeps itself.
    const r = await byDefault.applyRetention();
    expect(r.reference).toBe(isoMicros(newest));
    const keep = (days: number): number => turns.filter((t) => Date.parse(t.start) * 1000 >= newest - days * DAY).length;
    expect(r.turns_deleted).toBe(turns.length - keep(30));
    expect(r.turns_deleted).toBeGreaterThan(0);
    expect((await byDefault.stats()).tables['turns']).toBe(keep(30));
    expect((await byDefault.listTurns({}, { limit: 500 })).items.every((t) => Date.parse(t.start) * 1000 >= newest - 30 * DAY)).toBe(true);
    await byDefault.close();

    const custom = await openStore({ path: tempDbPath(), retention: { callsDays: 30, exchangesDays: 30, bodiesDays: 7, turnsDays: 5 } });
    await custom.upsertTurns(turns);
    expect((await custom.applyRetention(newest)).turns_deleted).toBe(turns.length - keep(5));
    await custom.close();
    await expect(openStore({ path: tempDbPath(), retention: { callsDays: 1, exchangesDays: 1, bodiesDays: 1, turnsDays: -1 } })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
  });

  test('a bogus far-future timestamp cannot wipe the store: the reference is capped at the wall clock', async () => {
    const s = await openStore({ path: tempDbPath() });
    const now = Date.now() * 1000;
    const recent = syntheticCall(1, { start: now - DAY, stepUs: 1 });
    const future = syntheticCall(2, { start: now + 50 * 365 * DAY, stepUs: 1 });
    await s.insertCalls([recent, future]);
    const r = await s.applyRetention();
    expect(r.calls_deleted).toBe(0);
    expect((await s.stats()).tables.calls).toBe(2);
    await s.close();
  });

  test('retention: false keeps everything', async () => {
    const s = await openStore({ path: tempDbPath(), retention: false });
    const { calls } = daily();
    await s.insertCalls(calls);
    expect(await s.applyRetention(T0 + 1000 * DAY)).toMatchObject({ reference: null, calls_deleted: 0 });
    expect((await s.stats()).tables.calls).toBe(40);
    expect((await s.stats()).retention).toBe(false);
    await s.close();
  });

  test('an invalid policy is refused at open', async () => {
    await expect(openStore({ path: tempDbPath(), retention: { callsDays: 0, exchangesDays: 1, bodiesDays: 1 } })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
  });
});
