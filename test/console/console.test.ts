/**
 * The console in a real browser (issue 3, "How we will know"): Debian's chromium driven by
 * playwright-core opens every page over a replayed capture stored in a real DuckDB file, served
 * by the real API server, and checks that what is on screen equals what the API returns; captured
 * HTML/script payloads show as text and run nothing; a screenshot of each page is saved under
 * test-artifacts/console/.
 *
 * Skipped when /usr/bin/chromium is missing, except under CI=true where that is a failure.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page as PwPage } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveFeed } from '../../src/api/live-feed.js';
import { createServer, type ApiServer } from '../../src/api/server.js';
import { healthOf, type FileSourceState } from '../../src/cli/health.js';
import { replayFile } from '../../src/pipeline/replay.js';
import { PipelineStats } from '../../src/pipeline/stats.js';
import { StoreSink } from '../../src/pipeline/store-sink.js';
import { openStore, type CallListItem, type ErrorGroup, type ModelStats, type Page, type Store, type Summary } from '../../src/store/index.js';
import { repoRoot } from '../corpus.js';
import { ARTIFACTS, browserTestsRun, buildConsoleInto, launchBrowser, pageHelpers } from './page-helpers.js';
import { int, ms, pct } from '../../console/src/format.js';
import { bulkPcap, IMG_PAYLOAD, PAYLOAD_MODEL, payloadPcap, SCRIPT_PAYLOAD, TOOL_PAYLOAD } from './console-captures.js';

/** How long expect.poll waits for the page to catch up (a wait, not a timing assertion). */
const POLL = { timeout: 15_000 };

describe.skipIf(!browserTestsRun)('console in a browser', () => {
  let dir: string;
  let store: Store;
  let server: ApiServer;
  let base: string;
  let context: BrowserContext;
  let page: PwPage;
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  let payloadCallId: string;
  const liveFeed = new LiveFeed();

  const { api, open, shot, rowIds, search, expectNothingRan } = pageHelpers(() => ({ page, base, dialogs }));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmtap-console-'));
    mkdirSync(ARTIFACTS, { recursive: true });

    const consoleDir = await buildConsoleInto(dir);

    writeFileSync(join(dir, 'payload.pcap'), payloadPcap());
    writeFileSync(join(dir, 'bulk.pcap'), bulkPcap());
    store = await openStore({ path: join(dir, 'console.duckdb'), retention: false });
    const stats = new PipelineStats();
    const source: FileSourceState = { id: 'console-test', stats, state: 'running', error: null };
    const sink = new StoreSink(store);
    for (const file of [join(repoRoot, 'examples', 'demo.pcap'), join(dir, 'payload.pcap'), join(dir, 'bulk.pcap')]) {
      await replayFile(file, {
        source: source.id,
        stats,
        fingerprintSalt: 'console-test',
        onCall: (r, ex) => sink.addCall(r, ex),
        onOtherExchange: (r, ex) => sink.addOther(r, ex),
        afterChunk: () => sink.drain(),
      });
    }
    await sink.flush();
    source.state = 'drained';

    server = createServer({ store, liveFeed, health: () => healthOf(source, sink), consoleDir });
    base = await server.listen({ port: 0 });

    ({ context, page } = await launchBrowser(dir, { dialogs, pageErrors, consoleErrors }));

    const found = await api<Page<CallListItem>>(`/calls?model=${PAYLOAD_MODEL}`);
    expect(found.items).toHaveLength(1);
    payloadCallId = found.items[0]!.id;
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the built console with no inline script and a CSP', async () => {
    const res = await fetch(`${base}/`);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toMatch(/<script type="module"[^>]* src="\/assets\/[^"]+\.js"><\/script>/);
    // Every <script> has a src; no inline <style> either.
    expect(html.match(/<script(?![^>]*\ssrc=)[^>]*>/g)).toBeNull();
    expect(html).not.toContain('<style');
  });

  it('overview: the summary cards show /api/v1/summary', async () => {
    await open('/', '[data-testid="card-calls-value"]');
    await page.waitForSelector('[data-testid="chart-calls"] svg');
    const s = await api<Summary>('/summary');
    expect(s.calls).toBeGreaterThan(200);
    const text = async (id: string): Promise<string> => (await page.textContent(`[data-testid="${id}-value"]`)) ?? '';
    expect(await text('card-calls')).toBe(int(s.calls));
    expect(await text('card-error-rate')).toBe(pct(s.error_rate));
    expect(await text('card-cache')).toBe(pct(s.cache_hit_ratio));
    expect(await text('card-ttft')).toBe(`${ms(s.ttft_ms.p50)} / ${ms(s.ttft_ms.p95)}`);
    expect(await text('card-e2e')).toBe(`${ms(s.e2e_ms.p50)} / ${ms(s.e2e_ms.p95)}`);
    await shot('overview');
  });

  it('performance: percentile table equals the summary, and the charts draw', async () => {
    await open('/performance', '[data-testid="percentiles"]');
    await page.waitForSelector('[data-testid="chart-ttft_ms"] svg path');
    const s = await api<Summary>('/summary');
    const cells = await page.$$eval('[data-metric="ttft_ms"] td', (tds) => tds.map((t) => t.textContent));
    expect(cells.slice(1, 5)).toEqual([int(s.ttft_ms.count), ms(s.ttft_ms.p50), ms(s.ttft_ms.p95), ms(s.ttft_ms.p99)]);
    await shot('performance');
  });

  it('traffic: calls, active calls and tokens charts draw', async () => {
    await open('/traffic', '[data-testid="chart-calls"] svg rect');
    await page.waitForSelector('[data-testid="chart-active"] svg path');
    await page.waitForSelector('[data-testid="chart-tokens"] svg rect');
    await shot('traffic');
  });

  it('models: one row per /api/v1/models item with its counts', async () => {
    await open('/models', '[data-testid="models-table"] tbody tr');
    const { items } = await api<{ items: ModelStats[] }>('/models');
    const rows = await page.$$eval('[data-testid="models-table"] tbody tr', (trs) =>
      trs.map((tr) => [tr.getAttribute('data-model'), tr.querySelector('[data-col="calls"]')?.textContent]),
    );
    expect(rows).toEqual(items.map((m) => [m.model ?? '', int(m.calls)]));
    await shot('models');
  });

  it('errors: each group links to its example call', async () => {
    await open('/errors', '[data-testid="errors-table"] tbody tr');
    const { items } = await api<{ items: ErrorGroup[] }>('/errors');
    expect(items.length).toBeGreaterThan(0);
    const examples = await page.$$eval('[data-testid="errors-table"] tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-example')));
    expect(examples).toEqual(items.map((e) => e.example_id));
    await shot('errors');
    await page.click(`[data-example="${items[0]!.example_id}"] a[href^="/calls/"]`);
    await page.waitForSelector('[data-testid="call-id"]');
    expect(await page.textContent('[data-testid="call-id"]')).toBe(items[0]!.example_id);
    expect(await page.textContent('[data-testid="call-status"]')).toBe(String(items[0]!.status_code));
  });

  it('calls: rows equal /api/v1/calls, the table is virtualised and scrolling loads further pages', async () => {
    await open('/calls', '[data-testid="calls-table"] [data-row-id]');
    // The virtualizer renders a first few rows before it has measured its viewport.
    await expect.poll(async () => (await rowIds('calls-table')).length, POLL).toBeGreaterThan(10);
    const first = await api<Page<CallListItem>>('/calls?limit=100');
    const shown = await rowIds('calls-table');
    // Only the rows in view (plus overscan) are in the DOM.
    expect(shown.length).toBeGreaterThan(10);
    expect(shown.length).toBeLessThan(80);
    expect(shown).toEqual(first.items.slice(0, shown.length).map((c) => c.id));
    const cells = await page.$$eval(`[data-row-id="${first.items[0]!.id}"] [data-col]`, (els) => Object.fromEntries(els.map((e) => [e.getAttribute('data-col'), e.textContent])));
    const c0 = first.items[0]!;
    expect(cells['model']).toBe(c0.response_model ?? c0.request_model);
    expect(cells['status']).toBe(String(c0.status_code));
    await shot('calls');

    // Walk the whole list through the API, then scroll the table to its end: every call shows up.
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const p: Page<CallListItem> = await api<Page<CallListItem>>(`/calls?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      all.push(...p.items.map((c) => c.id));
      cursor = p.next_cursor;
    } while (cursor);
    expect(all.length).toBeGreaterThan(200);
    // Each scroll to the end asks for the next page; stop once the footer says the list is complete
    // (bounded so a broken loader fails the test instead of hanging it).
    for (let i = 0; i < 300; i++) {
      await page.$eval('[data-testid="calls-table"] .vtable-scroll', (el) => el.scrollTo(0, el.scrollHeight));
      const text = (await page.textContent('[data-testid="calls-count"]')) ?? '';
      if (text.startsWith(`${int(all.length)} calls shown`) && !text.includes('more')) break;
      await page.waitForTimeout(100);
    }
    expect(await page.textContent('[data-testid="calls-count"]')).toBe(`${int(all.length)} calls shown`);
    // The last page may have arrived after the last scroll: scroll to the (new) end once more and
    // let the virtualizer render the rows there.
    await page.$eval('[data-testid="calls-table"] .vtable-scroll', (el) => el.scrollTo(0, el.scrollHeight));
    await expect
      .poll(async () => {
        const tail = await rowIds('calls-table');
        return tail.length > 0 && tail.every((id, i) => id === all[all.length - tail.length + i]);
      }, POLL)
      .toBe(true);
  });

  it('calls: filters from the URL and from the controls query the API and stay in the URL', async () => {
    await open('/calls?provider=anthropic&stream=true', '[data-testid="calls-table"] [data-row-id]');
    const expected = await api<Page<CallListItem>>('/calls?provider=anthropic&stream=true&limit=100');
    const shown = await rowIds('calls-table');
    expect(shown).toEqual(expected.items.slice(0, shown.length).map((c) => c.id));
    expect(await page.inputValue('select[name="provider"]')).toBe('anthropic');

    await page.click('text=clear filters');
    await expect.poll(() => search(), POLL).toBe('');
    await page.selectOption('select[name="model"]', PAYLOAD_MODEL);
    await expect.poll(() => search(), POLL).toBe(`model=${PAYLOAD_MODEL}`);
    await page.waitForSelector(`[data-row-id="${payloadCallId}"]`);
    expect(await rowIds('calls-table')).toEqual([payloadCallId]);
    // The tool name the model "called" is a payload: literal text in the table.
    expect(await page.textContent(`[data-row-id="${payloadCallId}"] [data-col="tools"]`)).toBe(TOOL_PAYLOAD);

    await page.click('text=clear filters');
    await page.fill('input[name="q"]', 'onerror="window.__pwned');
    await page.press('input[name="q"]', 'Enter');
    await expect.poll(() => search(), POLL).toMatch(/^q=/);
    const q = await api<Page<CallListItem>>(`/calls?q=${encodeURIComponent('onerror="window.__pwned')}`);
    expect(q.items.map((c) => c.id)).toEqual([payloadCallId]);
    await page.waitForSelector(`[data-row-id="${payloadCallId}"]`);
    await expect.poll(async () => (await rowIds('calls-table')).length, POLL).toBe(1);
    await expectNothingRan();
    await shot('calls-filtered');
  });

  it('call detail: model, usage, tools and conversation as stored; payloads are text', async () => {
    await open(`/calls/${payloadCallId}`, '[data-testid="conversation"] [data-role]');
    const { call, exchange } = await api<{ call: CallListItem; exchange: { request_body: string } }>(`/calls/${payloadCallId}`);
    expect(await page.textContent('[data-testid="call-model"]')).toBe(call.response_model);
    expect(await page.textContent('[data-testid="usage-input"]')).toBe(int(call.usage.input_tokens));
    expect(await page.textContent('[data-testid="usage-output"]')).toBe(int(call.usage.output_tokens));
    const roles = await page.$$eval('[data-testid="conversation"] [data-role]', (els) => els.map((e) => e.getAttribute('data-role')));
    expect(roles).toEqual(['system', 'user', 'assistant']);
    const conversation = (await page.textContent('[data-testid="conversation"]')) ?? '';
    expect(conversation).toContain(`Please render this: ${IMG_PAYLOAD}`);
    expect(conversation).toContain(SCRIPT_PAYLOAD);
    expect(await page.$$eval('[data-testid="conversation"] [data-tool]', (els) => els.map((e) => e.getAttribute('data-tool')))).toEqual(call.tool_calls.map((t) => t.name));
    expect(call.tool_calls.map((t) => t.name)).toEqual([TOOL_PAYLOAD]);
    // The raw request body is shown as stored (pretty-printed JSON of the same value).
    const raw = (await page.textContent('[data-testid="request-body"]')) ?? '';
    expect(JSON.parse(raw)).toEqual(JSON.parse(exchange.request_body));
    expect(await page.$$('[data-testid="waterfall"] [data-phase]')).toHaveLength(5);
    await expectNothingRan();
    await shot('call-detail-payload');
  });

  it('call detail of a streamed call: tool calls, reasoning and every SSE event with its offset', async () => {
    const list = await api<Page<CallListItem>>('/calls?api=anthropic.messages&stream=true&limit=500');
    const withTools = list.items.find((c) => c.tool_calls.length > 0);
    expect(withTools).toBeDefined();
    const id = withTools!.id;
    await open(`/calls/${id}`, '[data-testid="sse-events"] tbody tr');
    const detail = await api<{ call: CallListItem & { content: { reasoning_text: string } }; exchange: { response_events: unknown[] } }>(`/calls/${id}`);
    // The demo's first Claude Code call thinks before it calls its tools.
    expect(detail.call.content.reasoning_text).not.toBe('');
    const reasoning = (await page.textContent('[data-testid="conversation"] .generated .reasoning')) ?? '';
    expect(reasoning).toContain(detail.call.content.reasoning_text.slice(0, 200));
    expect(await page.$$('[data-testid="sse-events"] tbody tr')).toHaveLength(Math.min(300, detail.exchange.response_events.length));
    const tools = await page.$$eval('[data-testid="conversation"] .generated [data-tool]', (els) => els.map((e) => e.getAttribute('data-tool')));
    expect(tools).toEqual(detail.call.tool_calls.map((t) => t.name));
    expect(await page.textContent('[data-testid="call-ttft"]')).toBe(ms(detail.call.ttft_ms));
    await shot('call-detail');
  });

  it('HTTP exchanges: list equals /api/v1/exchanges; the detail shows headers as text', async () => {
    await open('/exchanges?kind=other', '[data-testid="exchanges-table"] [data-row-id]');
    const others = await api<Page<{ id: string }>>('/exchanges?kind=other&limit=100');
    expect(await rowIds('exchanges-table')).toEqual(others.items.map((e) => e.id));
    await open('/exchanges', '[data-testid="exchanges-table"] [data-row-id]');
    const first = await api<Page<{ id: string }>>('/exchanges?limit=100');
    const shown = await rowIds('exchanges-table');
    expect(shown).toEqual(first.items.slice(0, shown.length).map((e) => e.id));
    await shot('exchanges');
    await open(`/exchanges/${payloadCallId}`, '[data-testid="exchange-id"]');
    expect(await page.textContent('[data-testid="exchange-id"]')).toBe(payloadCallId);
    expect(await page.textContent('.headers')).toContain(`payload-test ${IMG_PAYLOAD}`);
    await expectNothingRan();
    await shot('exchange-detail');
  });

  it('pipeline health: counts and anomalies from /api/v1/health', async () => {
    await open('/health', '[data-testid="count-calls-value"]');
    const h = await api<{ counts: { calls: number; exchanges: number; packets: number }; anomalies: Record<string, number> }>('/health');
    expect(await page.textContent('[data-testid="count-calls-value"]')).toBe(int(h.counts.calls));
    expect(await page.textContent('[data-testid="count-exchanges-value"]')).toBe(int(h.counts.exchanges));
    expect(await page.textContent('[data-testid="count-packets-value"]')).toBe(int(h.counts.packets));
    const names = await page.$$eval('[data-anomaly]', (els) => els.map((e) => e.getAttribute('data-anomaly')).sort());
    expect(names).toEqual(Object.keys(h.anomalies).sort());
    await shot('health');
  });

  it('navigation: every page is a link (none is still "coming"); unknown paths say not found', async () => {
    await open('/', 'nav');
    expect(await page.$$eval('.nav-item.disabled', (els) => els.length)).toBe(0);
    const links = await page.$$eval('a.nav-item', (els) => els.map((e) => e.textContent));
    expect(links).toEqual(expect.arrayContaining(['Costs', 'Alerts']));
    await open('/no-such-page', '.not-found');
  });

  it('calls: calls committed while the page is open appear at the top, live', async () => {
    await open('/calls', '[data-testid="calls-table"] [data-row-id]');
    const before = await rowIds('calls-table');
    // The demo capture again under another source id: new ids, as a running capture would add.
    const fresh: string[] = [];
    const sink = new StoreSink(store, (calls) => {
      for (const c of calls) {
        fresh.push(c.id);
        liveFeed.publish(c);
      }
    });
    await replayFile(join(repoRoot, 'examples', 'demo.pcap'), {
      source: 'live-test',
      fingerprintSalt: 'console-test',
      onCall: (r, ex) => sink.addCall(r, ex),
      afterChunk: () => sink.drain(),
    });
    await sink.flush();
    expect(fresh.length).toBeGreaterThan(0);
    for (const id of fresh) await page.waitForSelector(`[data-testid="calls-table"] [data-row-id="${id}"]`);
    const after = await rowIds('calls-table');
    expect(after.slice(0, fresh.length).sort()).toEqual([...fresh].sort());
    expect(after).toEqual(expect.arrayContaining(before.slice(0, 10)));
    await shot('calls-live');
  });

  it('calls: once a second source has calls, a Source filter lists both and shows one source’s calls', async () => {
    await open('/calls', '[data-testid="calls-table"] [data-row-id]');
    // One source has no Source choice (the earlier tests); the live test above added a second.
    await page.waitForSelector('[data-testid="filters"] select[name="source"]');
    const choices = await page.$$eval('select[name="source"] option', (els) => els.map((e) => e.getAttribute('value')));
    expect(choices.sort()).toEqual(['', 'console-test', 'live-test']);
    await page.selectOption('select[name="source"]', 'live-test');
    await expect.poll(() => search(), POLL).toBe('source=live-test');
    const expected = (await api<Page<CallListItem>>('/calls?source=live-test&limit=100')).items.map((c) => c.id);
    await expect.poll(async () => (await rowIds('calls-table'))[0], POLL).toBe(expected[0]);
    const shown = await rowIds('calls-table');
    expect(shown).toEqual(expected.slice(0, shown.length));
    await page.click('text=clear filters');
    await expect.poll(() => search(), POLL).toBe('');
  });

  it('ran no script from captured content and broke no CSP rule on any page', () => {
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(consoleErrors.filter((e) => /Content Security Policy|Refused/i.test(e))).toEqual([]);
  });
});
