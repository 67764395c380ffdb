/**
 * The console's global time range in a real browser: the sidebar's presets count back from the
 * newest stored call (the captures are from January 2026, long before the wall clock), the range
 * lives in the address as the API's own `from`/`to`, every page sends it to the API (compared with
 * the API's answer for the same from/to), it follows the user through the nav, a custom range
 * works, and live calls outside a fixed range stay out. Also: after the live feed reconnects,
 * the calls and turns lists fetch their first page again (the feed replays nothing), and at
 * 1440×900 no list page cuts off a column header or a time.
 *
 * Data: the demo capture (10:00), the console tests' bulk calls (09:00) and payload call (11:00),
 * and a Claude Code session (12:00, the newest), through `llmtap replay --db` into one DuckDB file.
 * Skipped when /usr/bin/chromium is missing, except under CI=true where that is a failure.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page as PwPage } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentCallInput } from '../../src/agents/profiles.js';
import { TurnTracker } from '../../src/agents/turn-tracker.js';
import { LiveFeed } from '../../src/api/live-feed.js';
import { createServer, type ApiServer } from '../../src/api/server.js';
import { healthOf } from '../../src/cli/health.js';
import { runReplay } from '../../src/cli/replay-command.js';
import type { AgentTurnRecord, LlmCallRecord } from '../../src/core/record.js';
import { replayFile } from '../../src/pipeline/replay.js';
import { StoreSink } from '../../src/pipeline/store-sink.js';
import { openStore, type CallListItem, type ModelStats, type Page, type SessionSummary, type Store, type Summary } from '../../src/store/index.js';
import { repoRoot } from '../corpus.js';
import { int } from '../../console/src/format.js';
import { presetFrom, showTime } from '../../console/src/time-range.js';
import { claudeCodeCapture, liveCapture } from './agent-captures.js';
import { bulkPcap, payloadPcap } from './console-captures.js';
import { ARTIFACTS, browserTestsRun, buildConsoleInto, launchBrowser, pageHelpers } from './page-helpers.js';

/** How long expect.poll waits for the page to catch up (a wait, not a timing assertion). */
const POLL = { timeout: 15_000 };
const MIN = 60_000;

/**
 * Browser-side code (a string: the tests are type-checked without the DOM library) listing the
 * cells matching `selector` whose text is wider than the cell: the text's own width (a Range,
 * fractional) against the cell's box less its padding, since scrollWidth rounds and half a pixel
 * of overflow already draws an ellipsis.
 */
function cutOffCells(selector: string): string {
  return `[...document.querySelectorAll(${JSON.stringify(selector)})]
    .filter((e) => {
      const range = document.createRange();
      range.selectNodeContents(e);
      const style = getComputedStyle(e);
      const room = e.getBoundingClientRect().width - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      return range.getBoundingClientRect().width > room + 0.01;
    })
    .map((e) => (e.getAttribute('data-col') ?? 'header') + ': ' + e.textContent)`;
}

describe.skipIf(!browserTestsRun)('console: the global time range in a browser', () => {
  let dir: string;
  let store: Store;
  let server: ApiServer;
  let base: string;
  let context: BrowserContext;
  let page: PwPage;
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  const liveFeed = new LiveFeed();

  const { api, open, shot, rowIds, search } = pageHelpers(() => ({ page, base, dialogs }));

  /** Every id of a list endpoint for a query, walking its pages. */
  async function allIds(path: string, query: string, key: (row: { id?: string; session_id?: string }) => string = (r) => r.id ?? ''): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const p: Page<{ id?: string; session_id?: string }> = await api(`${path}?${query}${query ? '&' : ''}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      ids.push(...p.items.map(key));
      cursor = p.next_cursor;
    } while (cursor);
    return ids;
  }

  /** The page's own range parameters, as the address holds them. */
  async function rangeInUrl(): Promise<{ from: string | null; to: string | null; range: string | null }> {
    const s = new URLSearchParams(await search());
    return { from: s.get('from'), to: s.get('to'), range: s.get('range') };
  }

  /** Waits until a virtualised table shows the start of `expected` (only the rows in view are in
   * the DOM), then checks it once more for a readable failure. */
  async function expectRows(testId: string, expected: string[]): Promise<void> {
    const prefix = async (): Promise<boolean> => {
      const shown = await rowIds(testId);
      return shown.length >= Math.min(expected.length, 10) && shown.every((id, i) => id === expected[i]);
    };
    await expect.poll(prefix, POLL).toBe(true);
    const shown = await rowIds(testId);
    expect(shown).toEqual(expected.slice(0, shown.length));
  }

  async function newest(): Promise<string> {
    const p = await api<Page<CallListItem>>('/calls?limit=1');
    return p.items[0]!.timing.request_start;
  }

  /** Clicks a sidebar nav item (an in-app navigation, not a page load). */
  async function nav(label: string, ready: string): Promise<void> {
    await page.click(`nav.sidebar a.nav-item:text-is("${label}")`);
    await page.waitForSelector(ready);
  }

  /** Ends every live-feed connection, as the feed ends a client that fell 4 MiB behind
   * (LiveFeed.broadcast); the browser's EventSource then reconnects by itself. The feed has no
   * public way to drop its clients short of close(), which ends the feed for good. */
  function dropLiveClients(): void {
    for (const c of [...liveFeed['clients']]) c.close();
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmtap-range-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    const consoleDir = await buildConsoleInto(dir);

    const db = join(dir, 'range.duckdb');
    writeFileSync(join(dir, 'payload.pcap'), payloadPcap());
    writeFileSync(join(dir, 'bulk.pcap'), bulkPcap());
    writeFileSync(join(dir, 'claude-code.pcap'), claudeCodeCapture().pcap);
    // `llmtap replay <file> --db range.duckdb --exit-after-drain --quiet`, once per capture.
    for (const file of [join(repoRoot, 'examples', 'demo.pcap'), join(dir, 'payload.pcap'), join(dir, 'bulk.pcap'), join(dir, 'claude-code.pcap')]) {
      await runReplay(file, { db, exitAfterDrain: true, quiet: true, retention: false });
    }
    store = await openStore({ path: db, retention: false });
    server = createServer({ store, liveFeed, health: () => healthOf(null, null), consoleDir });
    base = await server.listen({ port: 0 });

    ({ context, page } = await launchBrowser(dir, { dialogs, pageErrors }));
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a preset counts back from the newest stored call and narrows the calls list to the API\'s answer', async () => {
    await open('/calls', '[data-testid="calls-table"] [data-row-id]');
    expect(await page.textContent('[data-testid="range-note"]')).toBe('all stored data');
    const everything = await allIds('/calls', '');
    const last = await newest();

    await page.selectOption('select[name="time-range"]', '15m');
    await expect.poll(async () => (await rangeInUrl()).range, POLL).toBe('15m');
    const { from, to } = await rangeInUrl();
    // 15 minutes before the newest call's request start, not before the wall clock; open end.
    expect(from).toBe(presetFrom(last, 15 * MIN));
    expect(Date.parse(from!)).toBe(Date.parse(last) - 15 * MIN);
    expect(to).toBeNull();
    expect(await page.textContent('[data-testid="range-from"]')).toBe(showTime(from!));

    const inRange = await allIds('/calls', `from=${encodeURIComponent(from!)}`);
    expect(inRange.length).toBeGreaterThan(0);
    expect(inRange.length).toBeLessThan(everything.length);
    await expectRows('calls-table', inRange);
    const times = await page.$$eval('[data-testid="calls-table"] [data-col="time"]', (els) => els.map((e) => e.textContent ?? ''));
    for (const t of times) expect(t >= showTime(from!)).toBe(true);
    expect(await page.textContent('[data-testid="calls-count"]')).toBe(`${int(inRange.length)} calls shown`);
    await shot('range-calls-15m');

    // A wider preset shows more, again exactly the API's calls for its from.
    await page.selectOption('select[name="time-range"]', '6h');
    await expect.poll(async () => (await rangeInUrl()).from, POLL).toBe(presetFrom(last, 360 * MIN));
    const sixHours = await allIds('/calls', `from=${encodeURIComponent(presetFrom(last, 360 * MIN))}`);
    await expectRows('calls-table', sixHours);

    // "all" removes the range.
    await page.selectOption('select[name="time-range"]', 'all');
    await expect.poll(() => rangeInUrl(), POLL).toEqual({ from: null, to: null, range: null });
    await expect.poll(async () => (await rowIds('calls-table')).slice(0, 5), POLL).toEqual(everything.slice(0, 5));
  });

  it('the range survives navigation through the nav, and every page asks the API for it', async () => {
    await open('/calls', '[data-testid="calls-table"] [data-row-id]');
    await page.selectOption('select[name="time-range"]', '1h');
    await expect.poll(async () => (await rangeInUrl()).range, POLL).toBe('1h');
    const range = await rangeInUrl();
    const q = `from=${encodeURIComponent(range.from!)}`;

    await nav('Agent turns', '[data-testid="turns-table"] [data-row-id]');
    expect(await rangeInUrl()).toEqual(range);
    expect(await page.inputValue('select[name="time-range"]')).toBe('1h');
    await expectRows('turns-table', await allIds('/turns', q));

    await nav('Models', '[data-testid="models-table"] tbody tr');
    expect(await rangeInUrl()).toEqual(range);
    const models = await api<{ items: ModelStats[] }>(`/models?${q}`);
    const all = await api<{ items: ModelStats[] }>('/models');
    // The hour before the newest call holds fewer models than the whole store.
    expect(models.items.length).toBeLessThan(all.items.length);
    const rows = await page.$$eval('[data-testid="models-table"] tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-model'), tr.querySelector('[data-col="calls"]')?.textContent]));
    expect(rows).toEqual(models.items.map((m) => [m.model ?? '', int(m.calls)]));

    await nav('Overview', '[data-testid="card-calls-value"]');
    expect(await rangeInUrl()).toEqual(range);
    const summary = await api<Summary>(`/summary?${q}`);
    await expect.poll(() => page.textContent('[data-testid="card-calls-value"]'), POLL).toBe(int(summary.calls));

    await nav('Sessions', '[data-testid="sessions-table"] [data-row-id]');
    expect(await rangeInUrl()).toEqual(range);
    await expect.poll(() => rowIds('sessions-table'), POLL).toEqual((await api<Page<SessionSummary>>(`/sessions?${q}&limit=100`)).items.map((s) => s.session_id));

    await nav('HTTP exchanges', '[data-testid="exchanges-table"] [data-row-id]');
    expect(await rangeInUrl()).toEqual(range);
    await expectRows('exchanges-table', await allIds('/exchanges', q));

    // The remaining aggregate pages keep it too (their charts come from the same from).
    for (const [label, ready] of [
      ['Performance', '[data-testid="percentiles"]'],
      ['Traffic', '[data-testid="chart-calls"]'],
      ['Errors', 'h1:text-is("Errors")'],
      ['Calls', '[data-testid="calls-table"] [data-row-id]'],
    ] as const) {
      await nav(label, ready);
      expect(await rangeInUrl()).toEqual(range);
    }
    // A page load of the address keeps it as well (a shared link).
    await page.reload();
    await page.waitForSelector('[data-testid="calls-table"] [data-row-id]');
    expect(await page.inputValue('select[name="time-range"]')).toBe('1h');
    await expectRows('calls-table', await allIds('/calls', q));
  });

  it('a custom from/to (UTC) goes to the address in the API\'s format and to the API', async () => {
    await open('/calls', '[data-testid="calls-table"] [data-row-id]');
    await page.selectOption('select[name="time-range"]', 'custom');
    await page.fill('input[name="range-from"]', 'yesterday');
    await page.click('[data-testid="range-custom"] button[type="submit"]');
    expect(await page.textContent('.range-problem')).toContain('from: not a time');
    expect(await rangeInUrl()).toEqual({ from: null, to: null, range: null });

    await page.fill('input[name="range-from"]', '2026-01-15 10:00:00');
    await page.fill('input[name="range-to"]', '2026-01-15 10:00:05');
    await page.click('[data-testid="range-custom"] button[type="submit"]');
    await expect.poll(() => rangeInUrl(), POLL).toEqual({ from: '2026-01-15T10:00:00', to: '2026-01-15T10:00:05', range: null });
    const expected = await allIds('/calls', 'from=2026-01-15T10:00:00&to=2026-01-15T10:00:05');
    expect(expected.length).toBeGreaterThan(0);
    await expect.poll(() => rowIds('calls-table'), POLL).toEqual(expected);
    expect(await page.textContent('[data-testid="range-note"]')).toBe('2026-01-15 10:00:00 → 2026-01-15 10:00:05 UTC');
    expect(await page.inputValue('select[name="time-range"]')).toBe('custom');
    await shot('range-calls-custom');

    await nav('Overview', '[data-testid="card-calls-value"]');
    await expect.poll(() => page.textContent('[data-testid="card-calls-value"]'), POLL).toBe(int(expected.length));
  });

  it('live calls outside a fixed `to` are not put on top; those inside are', async () => {
    await open('/calls?from=2026-01-15T10:00:05&to=2026-01-15T10:00:10', '[data-testid="calls-table"] [data-row-id]');
    await page.waitForSelector('text=live feed connected');
    const before = await rowIds('calls-table');
    // The demo capture again under another source id (new ids), committed and announced one by one.
    const fresh: LlmCallRecord[] = [];
    const sink = new StoreSink(store, (calls) => fresh.push(...calls));
    await replayFile(join(repoRoot, 'examples', 'demo.pcap'), { source: 'live-range', fingerprintSalt: 'range-test', onCall: (r, ex) => sink.addCall(r, ex), afterChunk: () => sink.drain() });
    await sink.flush();
    fresh.sort((a, b) => a.timing.request_start.localeCompare(b.timing.request_start));
    const inside = fresh.filter((c) => c.timing.request_start >= '2026-01-15T10:00:05' && c.timing.request_start < '2026-01-15T10:00:10');
    const outside = fresh.filter((c) => !inside.includes(c));
    expect(inside.length).toBeGreaterThan(0);
    expect(outside.length).toBeGreaterThan(0);
    // Outside ones first: once the last inside one shows, the feed (in order) has delivered them all.
    for (const c of [...outside, ...inside]) liveFeed.publish(c);
    for (const c of inside) await page.waitForSelector(`[data-testid="calls-table"] [data-row-id="${c.id}"]`);
    const after = await rowIds('calls-table');
    for (const c of outside) expect(after).not.toContain(c.id);
    expect(after.slice(0, inside.length).sort()).toEqual(inside.map((c) => c.id).sort());
    expect(after.slice(inside.length)).toEqual(before.slice(0, after.length - inside.length));
  });

  it('after the live feed reconnects, the calls and turns lists fetch what it missed', async () => {
    // A second Claude Code session (13:00, the newest) through the real turn tracker.
    const live = liveCapture();
    const pcap = join(dir, 'live.pcap');
    writeFileSync(pcap, live.pcap);
    const calls: LlmCallRecord[] = [];
    const turns: AgentTurnRecord[] = [];
    const tracker = new TurnTracker({ snapshots: true, onTurn: (turn) => turns.push(turn) });
    await replayFile(pcap, {
      source: 'live.pcap',
      fingerprintSalt: 'range-test',
      onCall: (record, ex, call) =>
        tracker.add(agentCallInput(record, ex, call), () => calls.push(record)),
    });
    tracker.flush();
    const final = turns[turns.length - 1]!;
    expect(final.status).toBe('complete');

    // Calls: committed while the page's feed is down (nothing announced), then the feed drops.
    await open('/calls', '[data-testid="calls-table"] [data-row-id]');
    await page.waitForSelector('text=live feed connected');
    await store.insertCalls(calls);
    expect(await rowIds('calls-table')).not.toContain(calls[0]!.id);
    dropLiveClients();
    for (const c of calls) await page.waitForSelector(`[data-testid="calls-table"] [data-row-id="${c.id}"]`, POLL);
    await page.waitForSelector('text=live feed connected');

    // Turns: the same, for the session's finished turn.
    await open('/turns', '[data-testid="turns-table"] [data-row-id]');
    await page.waitForSelector('text=live feed connected');
    await store.upsertTurns([final]);
    expect(await rowIds('turns-table')).not.toContain(final.id);
    dropLiveClients();
    await page.waitForSelector(`[data-testid="turns-table"] [data-row-id="${final.id}"] [data-status="complete"]`, POLL);
  });

  it('at 1440×900 no list page cuts off a column header or a time', async () => {
    const pages = [
      ['/calls', 'calls-table'],
      ['/turns', 'turns-table'],
      ['/sessions', 'sessions-table'],
      ['/exchanges', 'exchanges-table'],
    ] as const;
    for (const [path, testId] of pages) {
      await open(path, `[data-testid="${testId}"] [data-row-id]`);
      await shot(`range-width-${testId}`);
      // Cells whose text is wider than the cell (ellipsis): headers, and the time column's cells.
      // The text's own width (a Range, fractional) against the cell's box less its padding:
      // scrollWidth rounds, and an overflow of half a pixel already draws an ellipsis.
      const cut = await page.evaluate<string[]>(cutOffCells(`[data-testid="${testId}"] [role="columnheader"], [data-testid="${testId}"] [data-col="time"], [data-testid="${testId}"] [data-col="end"]`));
      expect(cut, path).toEqual([]);
      // And the table fits the window: no column hidden behind a horizontal scroll.
      const overflow = await page.$eval(`[data-testid="${testId}"] .vtable-scroll`, (el) => el.scrollWidth - el.clientWidth);
      expect(overflow, path).toBeLessThanOrEqual(0);
    }
    for (const [path, ready] of [
      ['/models', '[data-testid="models-table"] tbody tr'],
      ['/errors', '[data-testid="errors-table"] tbody tr'],
    ] as const) {
      await open(path, ready);
      await shot(`range-width-${path.slice(1)}`);
      const overflow = await page.$eval('main.content', (el) => el.scrollWidth - el.clientWidth);
      expect(overflow, path).toBeLessThanOrEqual(0);
    }
  });

  it('threw nothing on any page', () => {
    expect(pageErrors).toEqual([]);
    expect(dialogs).toEqual([]);
  });
});
