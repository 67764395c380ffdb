/**
 * The calling process (issue 9 item 2) in the console, in a real browser: the demo capture's
 * Anthropic calls given a process as an eBPF source would set it. The calls list gains a Process
 * column only when a listed call has one, and a Process filter; the call detail names the process;
 * the Costs page breaks spend down by process. What is on screen is checked against the API;
 * screenshots go to test-artifacts/console/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page as PwPage } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveFeed } from '../../src/api/live-feed.js';
import { createServer, type ApiServer } from '../../src/api/server.js';
import { healthOf } from '../../src/cli/health.js';
import type { LlmCallRecord, ProcessInfo } from '../../src/core/record.js';
import { replayFile } from '../../src/pipeline/replay.js';
import { openStore, type CallListItem, type CostBreakdown, type Page, type Store } from '../../src/store/index.js';
import { repoRoot } from '../corpus.js';
import { ARTIFACTS, browserTestsRun, buildConsoleInto, launchBrowser, pageHelpers } from './page-helpers.js';

/** How long expect.poll waits for the page to catch up (a wait, not a timing assertion). */
const POLL = { timeout: 15_000 };

/** Anthropic calls alternate between two programs; the rest stay captured (no process). */
function processFor(r: LlmCallRecord, i: number): ProcessInfo | undefined {
  if (r.provider !== 'anthropic') return undefined;
  return i % 2 === 0 ? { pid: 31337, comm: 'claude', exe: '/usr/local/bin/claude' } : { pid: 4242, comm: 'python3', exe: null };
}

describe.skipIf(!browserTestsRun)('process attribution in a browser', () => {
  let dir: string;
  let store: Store;
  let server: ApiServer;
  let base: string;
  let context: BrowserContext;
  let page: PwPage;
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  const records: LlmCallRecord[] = [];
  const { api, open, shot, rowIds, cell, search } = pageHelpers(() => ({ page, base, dialogs }));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmtap-console-proc-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    const consoleDir = await buildConsoleInto(dir);
    await replayFile(join(repoRoot, 'examples', 'demo.pcap'), { source: 'demo.pcap', fingerprintSalt: 'console-proc', onCall: (r) => void records.push(r) });
    records.forEach((r, i) => {
      const p = processFor(r, i);
      if (p) r.process = p;
    });
    store = await openStore({ path: join(dir, 'proc.duckdb'), retention: false });
    await store.insertCalls(records);
    server = createServer({ store, liveFeed: new LiveFeed(), health: () => healthOf(null, null), consoleDir });
    base = await server.listen({ port: 0 });
    ({ context, page } = await launchBrowser(dir, { dialogs, pageErrors }));
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const headers = (): Promise<string[]> => page.$$eval('[data-testid="calls-table"] [role="columnheader"]', (els) => els.map((e) => e.textContent ?? ''));

  it('calls: a Process column with comm[pid] when a listed call has a process', async () => {
    const listed = (await api<Page<CallListItem>>('/calls?limit=500')).items;
    expect(listed.some((c) => c.process)).toBe(true);
    await open('/calls', '[data-testid="calls-table"] [data-row-id]');
    expect(await headers()).toContain('Process');
    const ids = await rowIds('calls-table');
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) {
      const c = listed.find((x) => x.id === id)!;
      expect(await cell(id, 'process')).toBe(c.process ? `${c.process.comm}[${c.process.pid}]` : '–');
    }
    await shot('calls-process');
  });

  it('calls: no Process column when no listed call has one (captured traffic)', async () => {
    await open('/calls?provider=openai', '[data-testid="calls-table"] [data-row-id]');
    await expect.poll(async () => (await rowIds('calls-table')).length, POLL).toBe(records.filter((r) => r.provider === 'openai').length);
    expect(await headers()).not.toContain('Process');
  });

  it('calls: the Process filter lists the programs and selects their calls', async () => {
    await open('/calls', '[data-testid="calls-table"] [data-row-id]');
    const select = '[data-testid="filters"] select[name="process"]';
    await page.waitForSelector(select);
    const options = await page.$$eval(`${select} option`, (els) => els.map((e) => e.getAttribute('value')));
    expect(options.filter((o) => o !== '').sort()).toEqual(['claude', 'python3']);
    await page.selectOption(select, 'python3');
    const want = (await api<Page<CallListItem>>('/calls?limit=500&process=python3')).items.map((c) => c.id);
    expect(want.length).toBeGreaterThan(0);
    await expect.poll(() => rowIds('calls-table'), POLL).toEqual(want);
    expect(await search()).toContain('process=python3');
  });

  it('call detail: the process with its pid and executable', async () => {
    const c = records.find((r) => r.process?.exe)!;
    await open(`/calls/${c.id}`, '[data-testid="call-id"]');
    expect(await page.textContent('[data-testid="call-process"]')).toBe(`${c.process!.comm} [pid ${c.process!.pid}] ${c.process!.exe}`);
    const captured = records.find((r) => !r.process)!;
    await open(`/calls/${captured.id}`, '[data-testid="call-id"]');
    expect(await page.$('[data-testid="call-process"]')).toBeNull();
    await shot('call-detail-process');
  });

  it('costs: the breakdown by process shows /api/v1/costs?by=process', async () => {
    const c = await api<CostBreakdown>('/costs?by=process');
    expect(c.groups.map((g) => g.value).sort()).toEqual(['claude', 'python3', null].sort());
    await open('/costs', '[data-testid="costs-table"] tbody tr');
    await expect.poll(() => page.$$eval('[data-testid="costs-by"] option', (els) => els.map((e) => e.getAttribute('value'))), POLL).toContain('process');
    await page.selectOption('[data-testid="costs-by"]', 'process');
    await expect.poll(() => page.$$eval('[data-testid="costs-table"] tbody tr', (els) => els.map((e) => e.getAttribute('data-group'))), POLL).toEqual(
      c.groups.map((g) => g.value ?? ''),
    );
    const calls = await page.$$eval('[data-testid="costs-table"] tbody tr [data-col="calls"]', (els) => els.map((e) => e.textContent));
    expect(calls).toEqual(c.groups.map((g) => String(g.calls)));
    expect(await search()).toContain('by=process');
    expect(pageErrors).toEqual([]);
    await shot('costs-by-process');
  });
});
