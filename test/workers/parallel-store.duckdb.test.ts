/**
 * With workers, the store's form of each exchange is built on the worker and only that crosses
 * to the main thread: the database must end up the same as an in-thread run's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { repoRoot } from '../corpus.js';
import { ensureBuilt } from '../e2e/replay-cli.js';
import { writeManyConnections } from './many-connections.js';

const dir = mkdtempSync(join(tmpdir(), 'llmtap-workers-db-'));

async function storedRun(pcap: string, workers: number): Promise<{ ids: string[]; exchanges: unknown[]; turns: unknown[] }> {
  const db = join(dir, `w${workers}.duckdb`);
  const jsonl = join(dir, `w${workers}.jsonl`);
  const r = spawnSync(
    process.execPath,
    [join(repoRoot, 'bin', 'llmtap.js'), 'replay', pcap, '--db', db, '--jsonl', jsonl, '--exit-after-drain', '--listen', '127.0.0.1:0', '-q', '--workers', String(workers)],
    { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 },
  );
  if (r.status !== 0) throw new Error(`replay --workers ${workers} exited ${r.status}: ${r.stderr}`);
  const ids = readFileSync(jsonl, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { kind: string; id: string })
    .filter((x) => x.kind === 'llm_call')
    .map((x) => x.id);
  const store = await openStore({ path: db, retention: false });
  try {
    const exchanges = await Promise.all(ids.map((id) => store.getExchange(id)));
    const turns = (await store.listTurns({}, { limit: 1000, order: 'asc' })).items;
    return { ids, exchanges, turns };
  } finally {
    await store.close();
  }
}

beforeAll(() => ensureBuilt(), 300_000);

describe('replay into the database with workers', () => {
  it('stores the same calls, exchanges (bodies, events, connection ids) and turns as in-thread', async () => {
    const pcap = join(dir, 'many.pcap');
    writeManyConnections(pcap, 60, 5);
    const one = await storedRun(pcap, 1);
    const two = await storedRun(pcap, 2);
    expect(one.ids.length).toBeGreaterThan(50);
    expect(two.ids).toEqual(one.ids);
    expect(one.exchanges.every((e) => e !== null)).toBe(true);
    expect(two.exchanges).toEqual(one.exchanges);
    expect(two.turns).toEqual(one.turns);
  }, 300_000);
});
