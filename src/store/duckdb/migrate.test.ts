import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, test } from 'vitest';
import type { AlertRecord } from '../../core/record.js';
import { syntheticCall, syntheticExchange } from '../synthetic-records.js';
import { T0, tempDbPath } from '../test-helpers.test-support.js';
import { openDuckDbStore } from './duckdb-store.js';
import { MIGRATIONS } from './migrations/index.js';
import { listPacks, packDirOf } from './packs.js';

async function tables(path: string): Promise<string[]> {
  const inst = await DuckDBInstance.create(path);
  const c = await inst.connect();
  const rows = (await c.runAndReadAll("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1")).getRowObjectsJS();
  c.closeSync();
  inst.closeSync();
  return rows.map((r) => String(r.table_name));
}

describe('schema migrations', () => {
  test('a version-1 database with data migrates to the latest and keeps its rows', async () => {
    const path = tempDbPath();
    const v1 = await openDuckDbStore({ path, retention: false }, MIGRATIONS.slice(0, 1));
    const rec = syntheticCall(1, { start: T0, stepUs: 1 });
    await v1.insertCalls([rec]);
    expect((await v1.stats()).schema_version).toBe(1);
    await v1.close();
    expect(await tables(path)).toEqual(['calls', 'exchanges', 'schema_migrations']);

    const latest = await openDuckDbStore({ path, retention: false });
    expect((await latest.stats()).schema_version).toBe(MIGRATIONS.length);
    expect((await latest.getCall(rec.id))?.call).toEqual(rec);
    await latest.close();
    expect(await tables(path)).toEqual(['alerts', 'annotations', 'calls', 'exchanges', 'schema_migrations', 'turns']);
  });

  test('a version-2 database gains agent roles and turn columns; its calls stay and stay findable', async () => {
    const path = tempDbPath();
    const v2 = await openDuckDbStore({ path, retention: false }, MIGRATIONS.slice(0, 2));
    const old = { ...syntheticCall(1, { start: T0, stepUs: 1 }), agent_role: null };
    // A version-2 table has no agent_role column: the store writes the columns the file has.
    expect(await v2.insertCalls([old])).toBe(1);
    await v2.close();

    const v3 = await openDuckDbStore({ path, retention: false });
    expect((await v3.getCall(old.id))?.call).toEqual(old);
    const sub = { ...syntheticCall(6, { start: T0, stepUs: 1 }), agent_role: 'subagent' as const };
    expect(await v3.insertCalls([sub])).toBe(1);
    expect((await v3.listCalls({ agent_role: ['subagent'] })).items.map((c) => c.id)).toEqual([sub.id]);
    expect((await v3.listCalls({})).items).toHaveLength(2);
    expect((await v3.filterValues()).agent_role).toEqual([{ value: 'subagent', count: 1 }]);
    await v3.close();
  });

  test('a version-3 database gains cost status and attributes, filled from the stored records', async () => {
    const path = tempDbPath();
    const v3 = await openDuckDbStore({ path, retention: false }, MIGRATIONS.slice(0, 3));
    const priced = { ...syntheticCall(1, { start: T0, stepUs: 1 }), cost_usd: 0.25, cost_status: 'priced' as const, attributes: { team: 'red' } };
    const unpriced = { ...syntheticCall(2, { start: T0, stepUs: 1 }), attributes: {} };
    expect(await v3.insertCalls([priced, unpriced])).toBe(2);
    await v3.close();

    const v4 = await openDuckDbStore({ path, retention: false });
    const costs = await v4.costs({}, { by: 'team' });
    expect(costs.total).toMatchObject({ calls: 2, priced_calls: 1, unpriced_calls: 1, cost_usd: 0.25 });
    expect(costs.groups.map((g) => [g.value, g.calls])).toEqual([['red', 1], [null, 1]]);
    expect((await v4.listCalls({ attribute: ['team=red'] })).items.map((c) => c.id)).toEqual([priced.id]);
    await v4.close();
  });

  test('reopening an up-to-date database applies nothing again', async () => {
    const path = tempDbPath();
    await (await openDuckDbStore({ path })).close();
    await (await openDuckDbStore({ path })).close();
    const inst = await DuckDBInstance.create(path);
    const c = await inst.connect();
    const rows = (await c.runAndReadAll('SELECT version FROM schema_migrations ORDER BY 1')).getRowObjectsJS();
    c.closeSync();
    inst.closeSync();
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  test('a database from a newer llmtap is refused with a clear error', async () => {
    const path = tempDbPath();
    await (await openDuckDbStore({ path })).close();
    const inst = await DuckDBInstance.create(path);
    const c = await inst.connect();
    await c.run("INSERT INTO schema_migrations (version, name) VALUES (99, 'future')");
    c.closeSync();
    inst.closeSync();
    await expect(openDuckDbStore({ path })).rejects.toMatchObject({ code: 'migration_failed', message: expect.stringMatching(/version 99.*upgrade llmtap/) });
  });

  test('a failing migration rolls back to the previous version', async () => {
    const path = tempDbPath();
    const broken = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'broken', up: ['CREATE TABLE half (x INTEGER)', 'SELECT * FROM no_such_table'] }];
    await expect(openDuckDbStore({ path }, broken)).rejects.toMatchObject({ code: 'migration_failed' });
    expect(await tables(path)).not.toContain('half');
    const s = await openDuckDbStore({ path });
    expect((await s.stats()).schema_version).toBe(MIGRATIONS.length);
    await s.close();
  });

  test('read-only open of an unmigrated file says what to do', async () => {
    const path = tempDbPath();
    await (await openDuckDbStore({ path }, MIGRATIONS.slice(0, 1))).close();
    await expect(openDuckDbStore({ path, readOnly: true })).rejects.toMatchObject({ code: 'open_failed', message: expect.stringMatching(/without read-only/) });
    await (await openDuckDbStore({ path })).close();
    const ro = await openDuckDbStore({ path, readOnly: true });
    await expect(ro.insertCalls([syntheticCall(1, { start: T0, stepUs: 1 })])).rejects.toMatchObject({ code: 'write_failed' });
    await ro.close();
  });
});

describe('migration 6', () => {
  test('a version-5 database gains the alert source: its old alerts read as source null and new ones filter by it', async () => {
    const path = tempDbPath();
    await (await openDuckDbStore({ path, retention: false }, MIGRATIONS.slice(0, 5))).close();
    // An alert as llmtap before version 6 stored it (the version-5 columns; no source in the record).
    const old: Omit<AlertRecord, 'source'> = {
      kind: 'alert',
      id: '01900000-0000-7000-8000-000000000001',
      rule: 'errors',
      rule_kind: 'rule',
      state: 'firing',
      severity: 'warning',
      metric: 'error_rate',
      value: 0.5,
      threshold: 0.1,
      window_ms: 60_000,
      filters: {},
      fired_at: '2026-01-15T10:00:01.000000Z',
      resolved_at: null,
      message: 'error_rate 0.5 > 0.1 over 1m (4 calls)',
      budget: null,
    };
    const inst = await DuckDBInstance.create(path);
    const c = await inst.connect();
    await c.run(
      `INSERT INTO alerts (id, rule, fired_at, resolved_at, severity, record, rule_kind, state, metric)
       VALUES ($1, 'errors', make_timestamp(1768471201000000::BIGINT), NULL, 'warning', $2, 'rule', 'firing', 'error_rate')`,
      [old.id, JSON.stringify(old)],
    );
    c.closeSync();
    inst.closeSync();

    const v6 = await openDuckDbStore({ path, retention: false });
    expect((await v6.stats()).schema_version).toBe(MIGRATIONS.length);
    expect(await v6.getAlert(old.id)).toEqual({ ...old, source: null });
    const fresh: AlertRecord = { ...old, id: '01900000-0000-7000-8000-000000000002', source: 'probe-1' };
    await v6.insertAlert(fresh);
    expect((await v6.listAlerts({ source: ['probe-1'] })).items).toEqual([fresh]);
    expect((await v6.listAlerts({})).items.map((a) => a.source)).toEqual(['probe-1', null]);
    await v6.close();
  });
});

describe('migration 7', () => {
  test('a version-6 database keeps its bodies: they read back as the same text and are still searched', async () => {
    const path = tempDbPath();
    const v6 = await openDuckDbStore({ path, retention: false }, MIGRATIONS.slice(0, 6));
    const rec = syntheticCall(1, { start: T0, stepUs: 1 });
    const ex = { ...syntheticExchange(rec), request_body: '{"q":"héllo 🦆 wörld"}', response_body: 'ünïcode answer' };
    await v6.insertCalls([rec]);
    await v6.insertExchanges([ex]);
    await v6.close();

    const v7 = await openDuckDbStore({ path, retention: false });
    expect((await v7.stats()).schema_version).toBe(MIGRATIONS.length);
    expect(await v7.getExchange(ex.id)).toEqual(ex);
    expect((await v7.listExchanges({ q: 'WÖRLD' })).items.map((x) => x.id)).toEqual([ex.id]);
    expect((await v7.listCalls({ q: 'ÜNÏCODE' })).items.map((c) => c.id)).toEqual([rec.id]);
    const fresh = { ...syntheticExchange(syntheticCall(2, { start: T0, stepUs: 1 })), request_body: Buffer.from('bytes 🦆') };
    await v7.insertExchanges([fresh]);
    expect((await v7.getExchange(fresh.id))?.request_body).toBe('bytes 🦆');
    await v7.close();
  });
});

describe('migration 8', () => {
  test('a version-7 database keeps its bodies in their columns; new ones go to packs; search finds both', async () => {
    const path = tempDbPath();
    const v7 = await openDuckDbStore({ path, retention: false }, MIGRATIONS.slice(0, 7));
    const rec = syntheticCall(1, { start: T0, stepUs: 1 });
    const ex = { ...syntheticExchange(rec), request_body: '{"q":"héllo 🦆 wörld"}', response_body: 'ünïcode answer' };
    await v7.insertCalls([rec]);
    await v7.insertExchanges([ex]);
    await v7.close();
    expect(listPacks(packDirOf(path))).toEqual([]);

    const v8 = await openDuckDbStore({ path, retention: false });
    expect((await v8.stats()).schema_version).toBe(MIGRATIONS.length);
    expect(await v8.getExchange(ex.id)).toEqual(ex);
    const rec2 = syntheticCall(2, { start: T0, stepUs: 1 });
    const fresh = { ...syntheticExchange(rec2), request_body: '{"q":"also wörld"}', response_body: 'packed ÜNÏCODE' };
    await v8.insertCalls([rec2]);
    await v8.insertExchanges([fresh]);
    expect(listPacks(packDirOf(path))).toEqual([1]);
    expect(await v8.getExchange(fresh.id)).toEqual(fresh);
    expect((await v8.listExchanges({ q: 'WÖRLD' })).items.map((x) => x.id).sort()).toEqual([ex.id, fresh.id].sort());
    expect((await v8.listCalls({ q: 'ünïcode' })).items.map((c) => c.id).sort()).toEqual([rec.id, rec2.id].sort());
    await v8.close();
  });
});
