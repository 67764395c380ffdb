/**
 * The issue 5 pages in a real browser: Costs (total, breakdown by a dimension or an attribute,
 * spend over time, unpriced calls shown as unpriced), Alerts (firing first, history, budget notices
 * with spent/limit bars) and the score form on call and turn detail. What is on screen is checked
 * against the API; screenshots go to test-artifacts/console/.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page as PwPage } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveFeed } from '../../src/api/live-feed.js';
import { createServer, type ApiServer } from '../../src/api/server.js';
import { healthOf } from '../../src/cli/health.js';
import type { AgentTurnRecord, AlertRecord, AnnotationRecord, LlmCallRecord } from '../../src/core/record.js';
import { replayFile } from '../../src/pipeline/replay.js';
import { openStore, type CostBreakdown, type Page, type Store } from '../../src/store/index.js';
import { syntheticTurn } from '../../src/store/synthetic-records.js';
import { repoRoot } from '../corpus.js';
import { ARTIFACTS, browserTestsRun, buildConsoleInto, launchBrowser, pageHelpers } from './page-helpers.js';

/** How long expect.poll waits for the page to catch up (a wait, not a timing assertion). */
const POLL = { timeout: 15_000 };
const SCRIPT_COMMENT = '<img src="x" onerror="window.__pwned=1"><script>window.__pwned=2</script>';

/** Dollars shown as "$0.0123" or "$12.34" (console/src/agent-ui.tsx cost) back to a number. */
function dollars(text: string): number {
  const m = /\$([0-9.]+)/.exec(text);
  if (!m) throw new Error(`no dollar amount in ${JSON.stringify(text)}`);
  return Number(m[1]);
}

const alert = (n: number, over: Partial<AlertRecord>): AlertRecord => ({
  kind: 'alert',
  id: `01900000-0000-7000-8000-00000000000${n}`,
  rule: 'error-spike',
  rule_kind: 'rule',
  state: 'firing',
  severity: 'warning',
  metric: 'error_rate',
  value: 0.5,
  threshold: 0.05,
  window_ms: 300_000,
  filters: { provider: 'openai' },
  source: 'probe-a',
  fired_at: '2026-01-15T10:00:02.000000Z',
  resolved_at: null,
  message: 'error_rate 0.5 > 0.05',
  budget: null,
  ...over,
});

describe.skipIf(!browserTestsRun)('costs, alerts and scores in a browser', () => {
  let dir: string;
  let store: Store;
  let server: ApiServer;
  let base: string;
  let context: BrowserContext;
  let page: PwPage;
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  const records: LlmCallRecord[] = [];
  let turn: AgentTurnRecord;
  const { api, open, shot, expectNothingRan } = pageHelpers(() => ({ page, base, dialogs }));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmtap-console5-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    const consoleDir = await buildConsoleInto(dir);
    await replayFile(join(repoRoot, 'examples', 'demo.pcap'), {
      source: 'demo.pcap',
      fingerprintSalt: 'console5',
      onCall: (r) => {
        records.push(r);
      },
    });
    records.forEach((r, i) => {
      r.attributes = { team: i % 3 === 0 ? 'search' : 'ads' };
    });
    const first = records.slice(0, 3).map((r) => Object.assign(r, { agent: 'claude-code', session_id: 'sess-c5', turn_id: '01900000-0000-7000-8000-0000000000c5' }));
    turn = syntheticTurn(0, first)!;
    store = await openStore({ path: join(dir, 'c5.duckdb'), retention: false });
    await store.insertCalls(records);
    await store.upsertTurns([turn]);
    await store.insertAlert(alert(1, {}));
    await store.insertAlert(alert(2, { rule: 'slow-ttft', metric: 'ttft_p95', fired_at: '2026-01-15T10:00:01.000000Z' }));
    await store.insertAlert({ ...alert(2, { rule: 'slow-ttft', metric: 'ttft_p95', fired_at: '2026-01-15T10:00:01.000000Z', source: null }), state: 'resolved', resolved_at: '2026-01-15T10:00:04.000000Z' });
    await store.insertAlert(
      alert(3, {
        rule: 'team-ads-daily',
        rule_kind: 'budget',
        state: 'notice',
        metric: 'cost_usd',
        window_ms: null,
        filters: {},
        message: 'team=ads spent 80% of its daily budget',
        budget: { period: 'day', period_start: '2026-01-15T00:00:00.000000Z', scope: 'team', scope_value: 'ads', spent_usd: 8, limit_usd: 10, fraction: 0.8 },
      }),
    );
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

  it('costs: the total, the unpriced count and each model row show /api/v1/costs', async () => {
    const c = await api<CostBreakdown>('/costs?by=model');
    expect(c.total.unpriced_calls).toBeGreaterThan(0);
    await open('/costs', '[data-testid="costs-table"] tbody tr');
    expect(dollars((await page.textContent('[data-testid="cost-total-value"]')) ?? '')).toBeCloseTo(c.total.cost_usd!, 4);
    expect(await page.textContent('[data-testid="cost-unpriced-value"]')).toBe(String(c.total.unpriced_calls));
    const rows = await page.$$eval('[data-testid="costs-table"] tbody tr', (els) =>
      els.map((e) => ({
        group: e.getAttribute('data-group'),
        cost: e.querySelector('[data-col="cost"]')?.textContent ?? '',
        calls: e.querySelector('[data-col="calls"]')?.textContent ?? '',
      })),
    );
    expect(rows.map((r) => r.group)).toEqual(c.groups.map((g) => g.value ?? ''));
    for (const [i, g] of c.groups.entries()) {
      expect(rows[i]!.calls).toBe(String(g.calls));
      if (g.cost_usd === null) expect(rows[i]!.cost).toBe('unpriced');
      else expect(dollars(rows[i]!.cost)).toBeCloseTo(g.cost_usd, 4);
    }
    await page.waitForSelector('[data-testid="chart-cost"] svg');
    await shot('costs');
  });

  it('costs: breaking down by an attribute found in the data, kept in the address', async () => {
    await open('/costs', '[data-testid="costs-table"] tbody tr');
    await expect.poll(() => page.$$eval('[data-testid="costs-by"] option', (els) => els.map((e) => e.getAttribute('value'))), POLL).toContain('team');
    await page.selectOption('[data-testid="costs-by"]', 'team');
    const c = await api<CostBreakdown>('/costs?by=team');
    await expect.poll(() => page.$$eval('[data-testid="costs-table"] tbody tr', (els) => els.map((e) => e.getAttribute('data-group'))), POLL).toEqual(
      c.groups.map((g) => g.value ?? ''),
    );
    expect(await page.evaluate('window.location.search')).toContain('by=team');
    await shot('costs-by-team');
  });

  it('alerts: firing incidents first, the resolved history, budget notices with spent/limit', async () => {
    await open('/alerts', '[data-testid="alerts-firing"]');
    const firing = await page.$$eval('[data-testid="alerts-firing"] tbody tr', (els) => els.map((e) => e.getAttribute('data-alert')));
    expect(firing).toEqual([alert(1, {}).id]);
    const history = await page.$$eval('[data-testid="alerts-history"] tbody tr', (els) => els.map((e) => e.getAttribute('data-alert')));
    expect(history).toEqual([alert(2, {}).id]);
    // Each incident names its source; one without (a rule on scores, or stored before llmtap named sources) shows a dash.
    const sources = await page.$$eval('[data-testid="alerts-firing"] tbody tr, [data-testid="alerts-history"] tbody tr', (els) =>
      els.map((e) => e.querySelector('[data-col="source"]')?.textContent ?? ''),
    );
    expect(sources).toEqual(['probe-a', '–']);
    const spent = await page.textContent('[data-testid="budget-notices"] [data-col="spent"]');
    expect(spent).toContain('$8.00 / $10.00');
    expect(spent).toContain('80');
    expect(await page.$$('[data-testid="budget-notices"] svg.budget-bar')).toHaveLength(1);
    await shot('alerts');
  });

  it('alerts: the Source filter shows one source’s incidents, from the calls’ sources and the incidents’, kept in the address', async () => {
    await open('/alerts', '[data-testid="alerts-firing"]');
    await page.waitForSelector('[data-testid="filters"] select[name="source"]');
    // The calls' source (the demo replay) and the incidents' (probe-a, which has no calls here).
    const choices = await page.$$eval('select[name="source"] option', (els) => els.map((e) => e.getAttribute('value')));
    expect(choices).toEqual(['', 'demo.pcap', 'probe-a']);
    await page.selectOption('select[name="source"]', 'probe-a');
    await expect.poll(() => page.evaluate('window.location.search'), POLL).toBe('?source=probe-a');
    const firing = await api<Page<AlertRecord>>('/alerts?source=probe-a&state=firing&rule_kind=rule');
    expect(firing.items.map((a) => a.id)).toEqual([alert(1, {}).id]);
    await expect.poll(() => page.$$eval('[data-testid="alerts-firing"] tbody tr', (els) => els.map((e) => e.getAttribute('data-alert'))), POLL).toEqual([alert(1, {}).id]);
    // The resolved incident has no source: not this source's.
    await expect.poll(() => page.$('[data-testid="alerts-history"]'), POLL).toBeNull();
    await page.selectOption('select[name="source"]', 'demo.pcap');
    await expect.poll(() => page.textContent('.page'), POLL).toContain('Nothing is firing.');
    // Budgets have no source: their notices stay whatever the filter.
    expect(await page.$$('[data-testid="budget-notices"] tbody tr')).toHaveLength(1);
    await page.selectOption('select[name="source"]', '');
    await expect.poll(() => page.evaluate('window.location.search'), POLL).toBe('');
    await shot('alerts-by-source');
  });

  it('call detail: a score added with the form is stored, listed, and its comment stays text', async () => {
    const call = records[5]!;
    await open(`/calls/${call.id}`, '[data-testid="annotation-form"]');
    await page.fill('input[aria-label="score name"]', 'helpfulness');
    await page.fill('input[aria-label="score value"]', '0.75');
    await page.fill('input[aria-label="comment"]', SCRIPT_COMMENT);
    await page.click('[data-testid="annotation-form"] button[type="submit"]');
    await page.waitForSelector('[data-testid="annotations"] tr[data-name="helpfulness"]');
    const stored = await api<Page<AnnotationRecord>>(`/calls/${call.id}/annotations`);
    expect(stored.items).toEqual([expect.objectContaining({ name: 'helpfulness', value: 0.75, comment: SCRIPT_COMMENT, ts: call.timing.request_start })]);
    expect(await page.textContent('[data-testid="annotations"] tr[data-name="helpfulness"] .pre-wrap')).toBe(SCRIPT_COMMENT);
    await page.click('[data-testid="thumb-up"]');
    await page.waitForSelector('[data-testid="annotations"] tr[data-name="thumbs_up"]');
    expect((await api<Page<AnnotationRecord>>(`/calls/${call.id}/annotations`)).items.map((a) => [a.name, a.value])).toEqual(
      expect.arrayContaining([['thumbs_up', 1], ['helpfulness', 0.75]]),
    );
    // A bad value is refused in the page, nothing is posted.
    await page.fill('input[aria-label="score name"]', 'x');
    await page.fill('input[aria-label="score value"]', 'abc');
    await page.click('[data-testid="annotation-form"] button[type="submit"]');
    await page.waitForSelector('.form-error');
    expect((await api<Page<AnnotationRecord>>(`/calls/${call.id}/annotations`)).items).toHaveLength(2);
    await expectNothingRan();
    await shot('call-scores');
  });

  it('turn detail: a score on the turn; scores are drawn on the costs page', async () => {
    await open(`/turns/${turn.id}`, '[data-testid="annotation-form"]');
    await page.click('[data-testid="thumb-down"]');
    await page.waitForSelector('[data-testid="annotations"] tr[data-name="thumbs_up"]');
    expect((await api<Page<AnnotationRecord>>(`/turns/${turn.id}/annotations`)).items).toEqual([
      expect.objectContaining({ target_kind: 'turn', name: 'thumbs_up', value: 0, ts: turn.start }),
    ]);
    await open('/costs', '[data-testid="chart-scores"] svg');
    expect(pageErrors).toEqual([]);
  });
});
