/**
 * The calling process (issue 9 item 2) through the API over the real DuckDB store: the demo
 * capture's calls, some of them given a process as an eBPF source would. Calls, filters, group-by
 * and cost breakdowns are checked against the records themselves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmCallRecord, ProcessInfo } from '../core/record.js';
import { replayFile } from '../pipeline/replay.js';
import { openStore } from '../store/index.js';
import type { CallListItem, CostBreakdown, FilterValues, Page, Store, TimeseriesResult } from '../store/types.js';
import { repoRoot } from '../../test/corpus.js';
import { fakeHealth } from './fake-store.test-support.js';
import { LiveFeed } from './live-feed.js';
import { createServer, type ApiServer } from './server.js';

const dir = mkdtempSync(join(tmpdir(), 'llmtap-api-proc-'));
let store: Store;
let srv: ApiServer;
const records: LlmCallRecord[] = [];

/** Calls 0, 3, 6 … by python3 (pid 700), 1, 4 … by node (pids 800 and 801, a restart); the rest captured. */
function processFor(i: number): ProcessInfo | undefined {
  if (i % 3 === 0) return { pid: 700, comm: 'python3', exe: '/usr/bin/python3.12' };
  if (i % 3 === 1) return { pid: i < 10 ? 800 : 801, comm: 'node', exe: '/usr/local/bin/node' };
  return undefined;
}

beforeAll(async () => {
  await replayFile(join(repoRoot, 'examples/demo.pcap'), { source: 'demo.pcap', fingerprintSalt: 'proc-test', onCall: (r) => void records.push(r) });
  records.forEach((r, i) => {
    const p = processFor(i);
    if (p) r.process = p;
  });
  store = await openStore({ path: join(dir, 'llmtap.duckdb'), retention: false });
  await store.insertCalls(records);
  srv = createServer({ store, health: fakeHealth, liveFeed: new LiveFeed({ heartbeatMs: 0 }) });
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

const idsOf = (rs: { id: string }[]): string[] => rs.map((r) => r.id).sort();
const comm = (r: LlmCallRecord): string | null => r.process?.comm ?? null;

describe('process through the API', () => {
  it('calls carry the process in the list and the detail; captured ones carry none', async () => {
    const page = await get<Page<CallListItem>>('calls?limit=500');
    expect(page.items).toHaveLength(records.length);
    for (const item of page.items) expect(item.process).toEqual(records.find((r) => r.id === item.id)!.process);
    const one = records.find((r) => r.process?.pid === 801)!;
    expect((await get<{ call: LlmCallRecord }>(`calls/${one.id}`)).call.process).toEqual({ pid: 801, comm: 'node', exe: '/usr/local/bin/node' });
  });

  it('filters by process name and by pid', async () => {
    expect(idsOf((await get<Page<CallListItem>>('calls?limit=500&process=node')).items)).toEqual(idsOf(records.filter((r) => comm(r) === 'node')));
    expect(idsOf((await get<Page<CallListItem>>('calls?limit=500&pid=800&pid=700')).items)).toEqual(
      idsOf(records.filter((r) => r.process?.pid === 800 || r.process?.pid === 700)),
    );
    const err = await get<{ error: { message: string } }>('calls?pid=abc', 400);
    expect(err.error.message).toMatch(/'pid'/);
  });

  it('costs by process: one group per program (both node pids together), captured calls under null', async () => {
    const b = await get<CostBreakdown>('costs?by=process');
    expect(b.by).toBe('process');
    const byValue = new Map(b.groups.map((g) => [g.value, g.calls]));
    expect(Object.fromEntries(byValue)).toEqual({
      python3: records.filter((r) => comm(r) === 'python3').length,
      node: records.filter((r) => comm(r) === 'node').length,
      null: records.filter((r) => comm(r) === null).length,
    });
  });

  it('time series group by process, and the filter values list the programs', async () => {
    const ts = await get<TimeseriesResult>('timeseries?bucket=1h&metrics=calls&group_by=process');
    expect(ts.series.map((s) => s.group).sort()).toEqual(['(none)', 'node', 'python3']);
    const f = await get<FilterValues>('filters');
    expect(f.process).toEqual([
      { value: 'python3', count: records.filter((r) => comm(r) === 'python3').length },
      { value: 'node', count: records.filter((r) => comm(r) === 'node').length },
    ].sort((a, b) => b.count - a.count || a.value.localeCompare(b.value)));
  });
});
