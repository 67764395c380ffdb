/**
 * Bodies in pack files, as a user of the store sees them: read back as given, searched with the
 * same `q` semantics as the SQL over columns (ILIKE: case-insensitive, Unicode, literal % and _),
 * whatever else the filter says, through paging, in lists and aggregates.
 */
import { appendFileSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { LlmCallRecord } from '../../core/record.js';
import { openStore } from '../index.js';
import { syntheticCall, syntheticExchange } from '../synthetic-records.js';
import { T0, tempDbPath } from '../test-helpers.test-support.js';
import type { Store, StoredExchange } from '../types.js';
import { openDuckDbStore } from './duckdb-store.js';
import { listPacks, packDirOf } from './packs.js';

const BODIES = [
  'plain ascii about Kittens',
  '{"text":"Grüße aus KÖLN"}',
  'literal 100%_done marker',
  'ΣΟΦΙΑ in capitals',
  'nothing to see',
  '🦆 duck emoji',
];

interface Fixture {
  calls: LlmCallRecord[];
  exchanges: StoredExchange[];
}

/** 60 calls; every 10th has each interesting body, alternately as request and response. */
function fixture(): Fixture {
  const calls = Array.from({ length: 60 }, (_, i) => syntheticCall(i, { start: T0, stepUs: 1_000_000 }));
  const exchanges = calls.map((c, i) => {
    const body = BODIES[i % BODIES.length]!;
    const x = syntheticExchange(c);
    return i % 2 === 0 ? { ...x, request_body: `${body} #${i}` } : { ...x, response_body: `${body} #${i}`, response_events: null, response_events_total: 0 };
  });
  return { calls, exchanges };
}

async function filled(path: string, f: Fixture, batches = 3): Promise<Store> {
  const s = await openStore({ path, retention: false });
  await s.insertCalls(f.calls);
  const per = Math.ceil(f.exchanges.length / batches);
  for (let b = 0; b < batches; b++) await s.insertExchanges(f.exchanges.slice(b * per, (b + 1) * per));
  return s;
}

/** What a body search should find, from the given records (JS, for what these bodies hold). */
function expected(f: Fixture, pick: (body: string) => boolean): string[] {
  return f.exchanges.filter((x) => pick(`${x.request_body ?? ''}\n${x.response_body ?? ''}`)).map((x) => x.id);
}

async function allIds(s: Store, q: string, extra: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page: Awaited<ReturnType<Store['listExchanges']>> = await s.listExchanges({ q, ...extra }, { limit: 7, cursor });
    ids.push(...page.items.map((x) => x.id));
    cursor = page.next_cursor;
  } while (cursor);
  return ids;
}

describe('bodies in pack files', () => {
  test('bodies go to <db>.bodies, not the table, and read back exactly (events sliced from the packed body)', async () => {
    const path = tempDbPath();
    const f = fixture();
    const s = await filled(path, f);
    expect(listPacks(packDirOf(path))).toEqual([1]);
    for (const x of f.exchanges) expect(await s.getExchange(x.id)).toEqual(x);
    const streamed = f.exchanges.find((x) => x.response_events !== null)!;
    expect((await s.getCall(streamed.id))?.exchange?.response_events).toEqual(streamed.response_events);
    await s.close();
    // The pack holds the bodies, one after the other.
    const pack = readFileSync(join(packDirOf(path), '000001.pack'), 'utf8');
    expect(pack).toContain(f.exchanges[7]!.response_body);
  });

  test('q over packed bodies: case-insensitive (Unicode too), literal % and _, through paging', async () => {
    const f = fixture();
    const s = await filled(tempDbPath(), f);
    const cases: [string, (b: string) => boolean][] = [
      ['kittens', (b) => b.includes('Kittens')],
      ['köln', (b) => b.includes('KÖLN')],
      ['GRÜSSE', () => false], // ILIKE folds case, not ß → SS
      ['grüße', (b) => b.includes('Grüße')],
      ['100%_d', (b) => b.includes('100%_done')],
      ['1000%', () => false],
      ['σοφια', (b) => b.includes('ΣΟΦΙΑ')],
      ['🦆', (b) => b.includes('🦆')],
    ];
    for (const [q, pick] of cases) {
      const want = expected(f, pick);
      expect((await allIds(s, q)).sort(), q).toEqual(want.sort());
    }
    // Newest first, like any list; other filters narrow the search.
    const all = await allIds(s, 'duck');
    expect(all).toEqual([...all].sort().reverse());
    const from = T0 + 30 * 1_000_000;
    expect((await allIds(s, 'KITTENS', { from })).sort()).toEqual(
      f.exchanges.filter((x, i) => i >= 30 && (x.request_body ?? x.response_body ?? '').includes('Kittens')).map((x) => x.id).sort(),
    );
    await s.close();
  });

  test('calls: q finds a call by its packed exchange bodies, in lists and aggregates', async () => {
    const f = fixture();
    const s = await filled(tempDbPath(), f);
    const want = expected(f, (b) => b.includes('KÖLN'));
    expect(want.length).toBeGreaterThan(0);
    expect((await s.listCalls({ q: 'köln' }, { limit: 500 })).items.map((c) => c.id).sort()).toEqual([...want].sort());
    expect((await s.summary({ q: 'köln' })).calls).toBe(want.length);
    const provider = f.calls.find((c) => c.id === want[0])!.provider;
    expect((await s.listCalls({ q: 'köln', provider: [provider] }, { limit: 500 })).items.map((c) => c.id).sort()).toEqual(
      want.filter((id) => f.calls.find((c) => c.id === id)!.provider === provider).sort(),
    );
    await s.close();
  });

  test('a pack cut short by hand: that body reads as none with an anomaly; reads and search go on', async () => {
    const path = tempDbPath();
    const f = fixture();
    const s = await filled(path, f, 1);
    await s.close();
    const pack = join(packDirOf(path), '000001.pack');
    const last = f.exchanges[f.exchanges.length - 1]!; // the last body written (newest)
    truncateSync(pack, statSync(pack).size - 3);
    const ro = await openStore({ path, readOnly: true, retention: false });
    const got = (await ro.getExchange(last.id))!;
    expect(got.response_body).toBeNull();
    expect(got.anomalies).toContain('stored_response_body_short');
    expect(got.request_body).toBe(last.request_body);
    expect(await ro.getExchange(f.exchanges[0]!.id)).toEqual(f.exchanges[0]);
    expect((await ro.listExchanges({ q: 'duck' }, { limit: 500 })).items.length).toBe(expected(f, (b) => b.includes('duck')).length - 1);
    await ro.close();
  });

  test('reopening cuts a crash leftover off the pack end; a read-only open leaves it be', async () => {
    const path = tempDbPath();
    const f = fixture();
    await (await filled(path, f)).close();
    const pack = join(packDirOf(path), '000001.pack');
    const size = statSync(pack).size;
    appendFileSync(pack, 'bytes of a batch whose commit never happened');
    const orphan = join(packDirOf(path), '000002.pack');
    appendFileSync(orphan, 'a new pack whose first batch never committed');
    await (await openStore({ path, readOnly: true, retention: false })).close();
    expect(statSync(pack).size).toBeGreaterThan(size);
    const s = await openStore({ path, retention: false });
    expect(statSync(pack).size).toBe(size);
    expect(listPacks(packDirOf(path))).toEqual([1]);
    // Appends continue where the referenced bytes end.
    const extra = { ...syntheticExchange(syntheticCall(100, { start: T0, stepUs: 1 })), request_body: 'after the crash' };
    await s.insertExchanges([extra]);
    expect(await s.getExchange(extra.id)).toEqual(extra);
    for (const x of f.exchanges) expect(await s.getExchange(x.id)).toEqual(x);
    await s.close();
  });

  test('a capture stored twice leaves no second copy of its bodies', async () => {
    const path = tempDbPath();
    const f = fixture();
    const s = await filled(path, f);
    const size = statSync(join(packDirOf(path), '000001.pack')).size;
    expect(await s.insertExchanges(f.exchanges)).toBe(0);
    expect(statSync(join(packDirOf(path), '000001.pack')).size).toBe(size);
    await s.close();
  });

  test('bodies are durable before the commit that points at them: a failed pack write stores no row', async () => {
    const path = tempDbPath();
    // One pack per row: every insert opens a new pack file.
    const s = await openDuckDbStore({ path, retention: false }, undefined, { packMaxBytes: 1 });
    const [a, b] = fixture().exchanges;
    await s.insertExchanges([a!]);
    // A directory where the next pack file must go: creating it fails.
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(packDirOf(path), '000002.pack'));
    await expect(s.insertExchanges([b!])).rejects.toMatchObject({ code: 'write_failed' });
    expect(await s.getExchange(b!.id)).toBeNull();
    expect((await s.stats()).tables.exchanges).toBe(1);
    await s.close();
  });

  test('an in-memory store keeps bodies in its table and searches them', async () => {
    const f = fixture();
    const s = await openStore({ path: ':memory:', retention: false });
    await s.insertCalls(f.calls);
    await s.insertExchanges(f.exchanges);
    for (const x of f.exchanges.slice(0, 10)) expect(await s.getExchange(x.id)).toEqual(x);
    expect((await allIds(s, 'köln')).sort()).toEqual(expected(f, (b) => b.includes('KÖLN')).sort());
    await s.close();
    expect(listPacks(packDirOf(':memory:'))).toEqual([]);
  });
});
