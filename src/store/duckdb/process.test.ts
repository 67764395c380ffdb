/**
 * The calling process (issue 9 item 2) in a real DuckDB file: stored with the call, read back in
 * the list and the detail, filtered by name and pid, grouped in time series and cost breakdowns,
 * listed among filter values, and carried over by migration 5 from records stored before it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LlmCallRecord, ProcessInfo } from '../../core/record.js';
import { calls, T0, tempDbPath, tempStore } from '../test-helpers.test-support.js';
import type { Store } from '../types.js';
import { openDuckDbStore } from './duckdb-store.js';
import { MIGRATIONS } from './migrations/index.js';

const N = 60;
let store: Store;
let recs: LlmCallRecord[];

/** Three programs, two of them with two pids (a restart); every 4th call captured (no process). */
const PROCS: ProcessInfo[] = [
  { pid: 101, comm: 'python3', exe: '/usr/bin/python3.12' },
  { pid: 202, comm: 'node', exe: '/usr/bin/node' },
  { pid: 203, comm: 'node', exe: '/usr/bin/node' },
  { pid: 303, comm: 'claude', exe: null },
];

function withProcess(r: LlmCallRecord, i: number): LlmCallRecord {
  const cost = (i + 1) / 1000;
  const base = { ...r, cost_usd: cost, cost_status: 'priced' as const };
  return i % 4 === 3 ? base : { ...base, process: PROCS[i % 3 === 0 ? 0 : i % 3 === 1 ? (i % 2 === 0 ? 1 : 2) : 3]! };
}

beforeAll(async () => {
  recs = calls(N, 1_000_000).map(withProcess);
  store = await tempStore();
  await store.insertCalls(recs);
});
afterAll(async () => store.close());

const comm = (r: LlmCallRecord): string | null => r.process?.comm ?? null;
const ids = (rs: { id: string }[]): string[] => rs.map((r) => r.id).sort();

describe('calls with a process', () => {
  test('the list and the detail return the process as recorded; captured calls have none', async () => {
    const page = await store.listCalls({}, { limit: 500 });
    expect(page.items).toHaveLength(N);
    for (const item of page.items) {
      const rec = recs.find((r) => r.id === item.id)!;
      expect(item.process).toEqual(rec.process);
    }
    const withOne = recs.find((r) => r.process?.exe === null)!;
    expect((await store.getCall(withOne.id))?.call.process).toEqual({ pid: 303, comm: 'claude', exe: null });
    const captured = recs.find((r) => r.process === undefined)!;
    expect((await store.getCall(captured.id))?.call).not.toHaveProperty('process');
  });

  test('filters: by program name (every pid of it), by pid, and both', async () => {
    const node = await store.listCalls({ process: ['node'] }, { limit: 500 });
    expect(ids(node.items)).toEqual(ids(recs.filter((r) => comm(r) === 'node')));
    expect(node.items.length).toBeGreaterThan(0);
    const pid203 = await store.listCalls({ pid: [203] }, { limit: 500 });
    expect(ids(pid203.items)).toEqual(ids(recs.filter((r) => r.process?.pid === 203)));
    expect((await store.listCalls({ process: ['python3'], pid: [203] })).items).toEqual([]);
    expect((await store.listCalls({ process: [] })).items).toEqual([]);
    expect((await store.summary({ process: ['claude'] })).calls).toBe(recs.filter((r) => comm(r) === 'claude').length);
  });

  test('cost breakdown by process: one group per program, captured calls under null', async () => {
    const costs = await store.costs({}, { by: 'process' });
    const groups = new Map(costs.groups.map((g) => [g.value, g]));
    for (const name of ['python3', 'node', 'claude', null]) {
      const mine = recs.filter((r) => comm(r) === name);
      expect(groups.get(name)?.calls).toBe(mine.length);
      expect(groups.get(name)?.cost_usd).toBeCloseTo(mine.reduce((a, r) => a + r.cost_usd!, 0), 9);
    }
    expect(costs.groups).toHaveLength(4);
    expect(costs.total.calls).toBe(N);
  });

  test('time series group by process and filter values list the programs', async () => {
    const ts = await store.timeseries({}, { bucketMs: 3_600_000, metrics: ['calls'], groupBy: 'process' });
    const byGroup = Object.fromEntries(ts.series.map((s) => [s.group, s.values['calls']!.reduce<number>((a, b) => a + (b ?? 0), 0)]));
    expect(byGroup).toEqual({
      node: recs.filter((r) => comm(r) === 'node').length,
      python3: recs.filter((r) => comm(r) === 'python3').length,
      claude: recs.filter((r) => comm(r) === 'claude').length,
      '(none)': recs.filter((r) => comm(r) === null).length,
    });
    const values = await store.filterValues({});
    expect(values.process.map((v) => v.value).sort()).toEqual(['claude', 'node', 'python3']);
  });

  test('a damaged process on a record is stored as none, never failing the batch', async () => {
    const s = await tempStore();
    const [a, b] = calls(2, 1_000_000, T0 + 10_000_000_000);
    const bad = { ...a!, process: { pid: 'x', comm: 7 } as unknown as ProcessInfo };
    expect(await s.insertCalls([bad, { ...b!, process: { pid: 9, comm: 'ok', exe: null } }])).toBe(2);
    expect((await s.filterValues({})).process).toEqual([{ value: 'ok', count: 1 }]);
    await s.close();
  });
});

describe('migration 5', () => {
  test('a version-4 database gains the process columns, filled from the stored records', async () => {
    const path = tempDbPath();
    const v4 = await openDuckDbStore({ path, retention: false }, MIGRATIONS.slice(0, 4));
    // A version-4 table has no process columns: the record JSON keeps the process anyway.
    const [a, b] = calls(2, 1_000_000).map(withProcess);
    expect(a!.process).toBeDefined();
    expect(await v4.insertCalls([a!, { ...b!, process: undefined }])).toBe(2);
    await v4.close();

    const v5 = await openDuckDbStore({ path, retention: false });
    expect((await v5.stats()).schema_version).toBe(MIGRATIONS.length);
    expect(ids((await v5.listCalls({ process: [a!.process!.comm] })).items)).toEqual([a!.id]);
    expect(ids((await v5.listCalls({ pid: [a!.process!.pid] })).items)).toEqual([a!.id]);
    expect((await v5.getCall(a!.id))?.call.process).toEqual(a!.process);
    await v5.close();
  });
});
