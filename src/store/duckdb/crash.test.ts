/**
 * Crash safety (issue 3 item 6): a writer killed with SIGKILL mid-stream leaves a file that opens
 * and holds every batch whose insert had resolved, with their bodies (pack files: appended and
 * synced before the commit that points at them; what a crash leaves past that is cut on open). The child runs the real store code, transpiled
 * on the fly (the project has no TS loader for child processes), inside node_modules/.cache so it
 * resolves @duckdb/node-api like the project does.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, test } from 'vitest';
import { repoRoot } from '../../../test/corpus.js';
import { openStore } from '../index.js';
import { syntheticCall, syntheticExchange } from '../synthetic-records.js';
import { T0, tempDbPath } from '../test-helpers.test-support.js';
import type { CallListItem, Page, StoredExchange } from '../types.js';
import { listPacks, packDirOf } from './packs.js';

const BATCH = 500;

/** Call i's exchange, with a body big enough that writing the pack takes a real share of a batch
 * (a store that committed before its bodies were durable would be caught in between). */
function exchangeOf(i: number): StoredExchange {
  const call = syntheticCall(i, { start: T0, stepUs: 1000 });
  return { ...syntheticExchange(call), request_body: `${call.id} ${'b'.repeat(4000)}` };
}

function transpileTree(srcDir: string, outDir: string): void {
  for (const name of readdirSync(srcDir)) {
    const p = join(srcDir, name);
    if (statSync(p).isDirectory()) {
      transpileTree(p, join(outDir, name));
      continue;
    }
    if (!name.endsWith('.ts') || name.endsWith('.test.ts') || name.endsWith('.test-support.ts')) continue;
    const out = ts.transpileModule(readFileSync(p, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, name.replace(/\.ts$/, '.js')), out);
  }
}

const cacheRoot = join(repoRoot, 'node_modules', '.cache');
mkdirSync(cacheRoot, { recursive: true });
const build = mkdtempSync(join(cacheRoot, 'llmtap-store-crash-'));
afterAll(() => rmSync(build, { recursive: true, force: true }));

const CHILD = `
import { openStore } from './src/store/index.js';
import { syntheticCall, syntheticExchange } from './src/store/synthetic-records.js';
const store = await openStore({ path: process.argv[2], retention: false });
for (let b = 0; ; b++) {
  const batch = [];
  for (let i = b * ${BATCH}; i < (b + 1) * ${BATCH}; i++) batch.push(syntheticCall(i, { start: ${T0}, stepUs: 1000 }));
  await store.insertCalls(batch);
  await store.insertExchanges(batch.map((c) => ({ ...syntheticExchange(c), request_body: c.id + ' ' + 'b'.repeat(4000) })));
  process.stdout.write('committed ' + b + '\\n');
}
`;

describe('crash safety', () => {
  test('SIGKILL mid-ingest: the file reopens with every committed batch', async () => {
    transpileTree(join(repoRoot, 'src', 'store'), join(build, 'src', 'store'));
    transpileTree(join(repoRoot, 'src', 'core'), join(build, 'src', 'core'));
    writeFileSync(join(build, 'child.mjs'), CHILD);
    const path = tempDbPath();

    let committed = -1;
    const child = spawn(process.execPath, [join(build, 'child.mjs'), path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killedAt = await new Promise<number>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const m = /^committed (\d+)$/.exec(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          if (m) committed = Number(m[1]);
          if (committed >= 12) resolve(committed);
        }
      });
      child.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL') reject(new Error(`child exited ${code} ${signal}: ${stderr}`));
      });
    });
    // While the child writes, another process cannot open the file (DuckDB's file lock).
    const locked = await openStore({ path, retention: false }).catch((e: unknown) => e);
    expect(locked).toMatchObject({ name: 'StoreError', code: 'open_failed' });
    expect((locked as Error).message).not.toContain('\n');
    // Kill while it is most likely mid-batch (it writes continuously).
    child.kill('SIGKILL');
    await new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.on('exit', () => r())));
    // Lines may have arrived after the kill decision: `committed` is the last one reported.
    expect(committed).toBeGreaterThanOrEqual(killedAt);
    // What a kill between a batch's pack sync and its commit leaves, made certain: bytes no row
    // points at, at the end of the newest pack.
    const packs = listPacks(packDirOf(path));
    expect(packs.length).toBeGreaterThan(0);
    const newest = join(packDirOf(path), `${String(Math.max(...packs)).padStart(6, '0')}.pack`);
    appendFileSync(newest, 'b'.repeat(12345));

    const store = await openStore({ path, retention: false });
    const packSize = (p: unknown): number => statSync(join(packDirOf(path), `${String(p).padStart(6, '0')}.pack`)).size;
    const sizesAfterOpen = new Map(listPacks(packDirOf(path)).map((p) => [p, packSize(p)]));
    const ids = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: Page<CallListItem> = await store.listCalls({}, { limit: 500, cursor, order: 'asc' });
      for (const c of page.items) ids.add(c.id);
      cursor = page.next_cursor;
    } while (cursor);
    for (let i = 0; i < (committed + 1) * BATCH; i++) {
      const id = syntheticCall(i, { start: T0, stepUs: 1000 }).id;
      if (!ids.has(id)) throw new Error(`committed call ${i} (batch ${Math.floor(i / BATCH)}) missing after the crash`);
    }
    // Whatever else is there is whole batches (a batch is one transaction).
    expect(ids.size % BATCH).toBe(0);
    // Every stored exchange has its body (bodies were durable before the rows pointing at them);
    // the last batches in full, earlier ones sampled.
    const stored = (await store.stats()).tables.exchanges ?? 0;
    expect(stored).toBeGreaterThanOrEqual((committed + 1) * BATCH);
    for (let i = 0; i < stored; i += i >= stored - 2 * BATCH ? 1 : 17) {
      const want = exchangeOf(i);
      const got = await store.getExchange(want.id);
      if (got?.request_body !== want.request_body || got.anomalies.length > 0) {
        throw new Error(`exchange ${i} (batch ${Math.floor(i / BATCH)}) lost its body after the crash: ${JSON.stringify(got?.anomalies)}`);
      }
    }
    // And the file takes writes again.
    expect(await store.insertCalls([syntheticCall(10_000_000, { start: T0, stepUs: 1 })])).toBe(1);
    expect(await store.insertExchanges([exchangeOf(10_000_000)])).toBe(1);
    await store.close();
    // Opening cut each pack back to the last byte a row points at (the leftover is gone).
    const inst = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
    const c = await inst.connect();
    const ends = (
      await c.runAndReadAll(
        `SELECT body_pack AS p, max(greatest(coalesce(request_body_at + request_body_len, 0), coalesce(response_body_at + response_body_len, 0))) AS e
         FROM exchanges WHERE body_pack IS NOT NULL AND id <> $1 GROUP BY 1`,
        [exchangeOf(10_000_000).id],
      )
    ).getRowObjectsJS();
    c.closeSync();
    inst.closeSync();
    expect(ends.length).toBe(sizesAfterOpen.size);
    for (const r of ends) expect(sizesAfterOpen.get(Number(r.p))).toBe(Number(r.e));
  });
});

describe('unwritable locations', () => {
  test('a path in a read-only filesystem gives one clear line, as a StoreError', async () => {
    // /proc refuses file creation even to root (tests run as root, so chmod would not stop us).
    const err = await openStore({ path: '/proc/llmtap.duckdb' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'StoreError', code: 'open_failed' });
    const msg = (err as Error).message;
    expect(msg).toMatch(/^cannot open database \/proc\/llmtap\.duckdb: /);
    expect(msg).not.toContain('\n');
  });

  test('a missing parent directory is a clear error too', async () => {
    const err = await openStore({ path: join(tempDbPath(), 'no', 'such', 'x.duckdb') }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'StoreError', code: 'open_failed' });
    expect((err as Error).message).not.toContain('\n');
  });

  test('opening a file this process already has open is refused (two writers would corrupt it)', async () => {
    const path = tempDbPath();
    const a = await openStore({ path });
    const err = await openStore({ path: path.replace('/llmtap.duckdb', '/./llmtap.duckdb') }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'StoreError', code: 'open_failed', message: expect.stringMatching(/already open/) });
    await a.close();
    // Once closed it opens again.
    await (await openStore({ path })).close();
  });
});
