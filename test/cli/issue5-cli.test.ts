/**
 * Issue 5 end to end through the real command, as a user runs it: one configuration file with
 * an attribute from a request header, metric dimensions, an alert rule, a score rule, a budget,
 * a webhook that fails first and OTLP export with a token from the environment;
 * `llmtap replay examples/demo.pcap --config F --db D --listen 127.0.0.1:0 --jsonl J`, then what
 * the JSONL says is checked against what every output shows: /metrics (and promtool), the live
 * aggregates, alerts in the API, the webhook and the log, OTLP spans, costs by attribute, a
 * posted score firing its rule, the self-metrics and health of the exports, Ctrl-C, `serve` of
 * the same database, bad configurations, and `reprice` with a price override.
 *
 * The CLI runs from dist/ (`npm test` builds first; a bare vitest run builds when dist/ is absent).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentTurnRecord, AlertRecord, LlmCallRecord } from '../../src/core/record.js';
import type { HealthResponse } from '../../src/api/types.js';
import type { LiveSnapshot } from '../../src/metrics/live-aggregates.js';
import type { CostBreakdown } from '../../src/store/types.js';
import { storeFiles } from '../../src/store/duckdb/packs.js';
import { openStore } from '../../src/store/index.js';
import { repoRoot } from '../corpus.js';
import { ensureBuilt } from '../e2e/replay-cli.js';
import { browserTestsRun, launchBrowser } from '../console/page-helpers.js';
import { parseSamples, sumOf, type Sample } from '../metrics/prom-text.js';
import { OtlpReceiver } from '../otlp/otlp-receiver.js';
import { CliProcess, runCli } from './cli-process.js';
import { WebhookReceiver } from './webhook-receiver.js';

const demo = join(repoRoot, 'examples', 'demo.pcap');
const promtool = spawnSync('promtool', ['--version']).status === 0;

const OTLP_TOKEN = 'otlp-secret-3b9e61d04f7a4c2b';
const HOOK_TOKEN = 'hook-secret-a41c7e0925d84f6e';
const env: NodeJS.ProcessEnv = { ...process.env, LLMTAP_TEST_OTLP_TOKEN: OTLP_TOKEN, LLMTAP_TEST_HOOK_TOKEN: HOOK_TOKEN };
// A stray LLMTAP_CONFIG or token in the developer's environment must not change the run.
delete env['LLMTAP_CONFIG'];
delete env['LLMTAP_TOKEN'];

let dir: string;
let db: string;
let jsonl: string;
let config: string;
const otlp = new OtlpReceiver();
const hook = new WebhookReceiver();
let replay: CliProcess | null = null;
let base: string;

/** What the JSONL of the run says, read once the capture has drained. */
let calls: LlmCallRecord[] = [];
let turns: AgentTurnRecord[] = [];
let alerts: AlertRecord[] = [];

function configText(otlpUrl: string, hookUrl: string): string {
  return `
attributes:
  - name: team
    header: X-Stainless-Lang     # the SDKs' language header: "js", "python", else the default
    default: unassigned
metrics:
  dimensions: [provider, model, agent, team]
  windows: [1m, 5m, 1h]
otlp:
  endpoint: ${otlpUrl}
  headers:
    authorization: "Bearer \${LLMTAP_TEST_OTLP_TOKEN}"
  batch_delay: 100ms
  export_interval: 60s
  service_name: llmtap-issue5
webhooks:
  pager:
    url: ${hookUrl}
    headers:
      authorization: "Bearer \${LLMTAP_TEST_HOOK_TOKEN}"
    max_attempts: 5
    timeout: 5s
alerts:
  - name: openai-throttled
    metric: throttle_rate
    window: 10s
    op: ">"
    threshold: 0
    filters: { provider: openai }
    min_calls: 1
    cooldown: 0
    severity: critical
    notify: [pager, log]
  - name: unhelpful-answers
    metric: score:helpfulness
    window: 1h
    op: "<"
    threshold: 0.5
    min_calls: 1
    notify: [pager, log]
budgets:
  - name: team-daily
    period: day
    scope: team
    limit_usd: 0.01
    notify: [pager, log]
`;
}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(`${base}${path}`);
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function metricsText(): Promise<string> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

function countBy<T>(items: T[], key: (t: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of items) m.set(key(t), (m.get(key(t)) ?? 0) + 1);
  return m;
}

function sorted(m: Map<string, number>): [string, number][] {
  return [...m].sort(([a], [b]) => a.localeCompare(b));
}

/** Sum of priced costs, as a user adds up the JSONL (unpriced calls have cost_usd null). */
function costOf(cs: LlmCallRecord[]): number {
  return cs.reduce((s, c) => s + (c.cost_usd ?? 0), 0);
}

/** The latest state of each alert id, as the JSONL tells it (a resolution follows its firing). */
function latestById(records: AlertRecord[]): Map<string, AlertRecord> {
  const m = new Map<string, AlertRecord>();
  for (const a of records) m.set(a.id, a);
  return m;
}

/** Polls `f` until it returns a value (a background delivery or write), at most ~20 s. */
async function eventually<T>(f: () => Promise<T | null>, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await f();
    if (v !== null) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'llmtap-issue5-'));
  db = join(dir, 'run.duckdb');
  jsonl = join(dir, 'run.jsonl');
  config = join(dir, 'llmtap.yaml');
  await otlp.start();
  await hook.start();
  // The webhook is down for its first request: delivery must retry through it.
  hook.reply = (i) => (i === 0 ? 503 : 200);
  writeFileSync(config, configText(otlp.url, hook.url));
  replay = new CliProcess(['replay', demo, '--config', config, '--db', db, '--listen', '127.0.0.1:0', '--jsonl', jsonl], env);
  base = (await replay.waitFor(/serving (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  await replay.waitFor(/capture drained; serving .* until interrupted/);
  const records = readFileSync(jsonl, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { kind: string });
  calls = records.filter((r): r is LlmCallRecord => r.kind === 'llm_call');
  turns = records.filter((r): r is AgentTurnRecord => r.kind === 'agent_turn');
  alerts = records.filter((r): r is AlertRecord => r.kind === 'alert');
}, 300_000);

afterAll(async () => {
  await replay?.kill();
  await otlp.stop();
  await hook.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('issue 5 through `llmtap replay --config`', () => {
  it('the configuration took effect: the attribute, the alert rule and the budget all show in the JSONL', () => {
    expect(calls).toHaveLength(21);
    expect(turns).toHaveLength(14);
    // Every call has the attribute: the header's value, or the default.
    expect(new Set(calls.map((c) => c.attributes['team']))).toEqual(new Set(['js', 'python', 'unassigned']));
    // The demo's one 429 (OpenAI) fires the throttling rule, which resolves 10 s later.
    const rule = alerts.filter((a) => a.rule === 'openai-throttled');
    expect(rule.map((a) => a.state)).toEqual(['firing', 'resolved']);
    expect(rule[0]!.id).toBe(rule[1]!.id);
    // Budget notices, once per (team, fraction).
    const notices = alerts.filter((a) => a.rule_kind === 'budget');
    expect(notices.length).toBeGreaterThan(0);
    const keys = notices.map((a) => `${a.budget?.scope_value}@${a.budget?.fraction}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const n of notices) expect(n.budget!.spent_usd).toBeGreaterThanOrEqual(n.budget!.fraction * 0.01 - 1e-12);
  });

  it.skipIf(!promtool)('/metrics passes promtool check metrics', async () => {
    const text = await metricsText();
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('/metrics counts per model equal the JSONL', async () => {
    const samples = parseSamples(await metricsText());
    const timed = calls.filter((c) => typeof c.e2e_ms === 'number');
    const perModel = new Map<string, number>();
    for (const s of samples) {
      if (s.name !== 'gen_ai_client_operation_duration_seconds_count') continue;
      const m = s.labels['gen_ai_request_model'] ?? '';
      perModel.set(m, (perModel.get(m) ?? 0) + s.value);
    }
    expect(sorted(perModel)).toEqual(sorted(countBy(timed, (c) => c.request_model ?? '')));
    expect(sumOf(samples, 'llmtap_calls_total')).toBe(calls.length);
    // The attribute is a label too, with the JSONL's counts.
    const perTeam = new Map<string, number>();
    for (const s of samples) if (s.name === 'llmtap_calls_total') perTeam.set(s.labels['llmtap_team']!, (perTeam.get(s.labels['llmtap_team']!) ?? 0) + s.value);
    expect(sorted(perTeam)).toEqual(sorted(countBy(calls, (c) => c.attributes['team']!)));
    expect(sumOf(samples, 'llmtap_calls_unpriced_total')).toBe(calls.filter((c) => c.cost_usd === null).length);
    expect(sumOf(samples, 'llmtap_cost_usd_total')).toBeCloseTo(costOf(calls), 12);
  });

  it('/api/v1/metrics/live?window=1h&by=model agrees with the JSONL', async () => {
    const live = await getJson<LiveSnapshot & { window: string }>('/api/v1/metrics/live?window=1h&by=model');
    expect(live.window).toBe('1h');
    // The capture spans about 30 s: a 1-hour window still holds every call.
    expect(live.total.calls).toBe(calls.length);
    expect(live.total.throttled).toBe(calls.filter((c) => c.status_code === 429).length);
    expect(live.total.cost_usd).toBeCloseTo(costOf(calls), 12);
    const model = (c: LlmCallRecord): string => c.response_model ?? c.request_model ?? '';
    expect(sorted(new Map(live.series.map((s) => [s.labels['model']!, s.stats.calls])))).toEqual(sorted(countBy(calls, model)));
    for (const s of live.series) {
      const mine = calls.filter((c) => model(c) === s.labels['model']);
      expect(s.stats.input_tokens, s.labels['model']).toBe(mine.reduce((n, c) => n + (c.usage.input_tokens ?? 0), 0));
      expect(s.stats.output_tokens, s.labels['model']).toBe(mine.reduce((n, c) => n + (c.usage.output_tokens ?? 0), 0));
      expect(s.stats.cost_usd, s.labels['model']).toBeCloseTo(costOf(mine), 12);
    }
  });

  it('/api/v1/alerts lists exactly the JSONL alerts; the webhook got each once after its 503, and the log has them', async () => {
    const api = await getJson<{ items: AlertRecord[] }>('/api/v1/alerts?limit=500');
    const want = latestById(alerts);
    expect(new Map(api.items.map((a) => [a.id, a]))).toEqual(want);

    // The first POST was refused (503) and retried; then every record arrived once, in order.
    expect(hook.requests[0]!.status).toBe(503);
    const delivered = hook.accepted<AlertRecord & { text: string }>();
    expect(delivered.map((a) => `${a.id}/${a.state}`)).toEqual(alerts.map((a) => `${a.id}/${a.state}`));
    for (const r of hook.requests) {
      expect(r.headers['authorization']).toBe(`Bearer ${HOOK_TOKEN}`);
      expect(r.headers['content-type']).toBe('application/json');
    }

    // `notify: [.., log]`: one stderr line per record, at its capture time.
    const logLines = replay!.stderr.split('\n').filter((l) => l.startsWith('llmtap: alert '));
    expect(logLines).toHaveLength(alerts.length);
    for (const a of alerts) {
      const at = a.state === 'resolved' ? a.resolved_at : a.fired_at;
      // Rules on calls name the source that raised them; budgets and score rules have none.
      const on = a.source === null ? '' : ` on ${a.source}`;
      expect(logLines.filter((l) => l.includes(` ${a.rule}${on}: `) && l.endsWith(`(at ${at})`)).length, `${a.rule} ${a.state}`).toBeGreaterThan(0);
    }
  });

  it('OTLP: every call is a span under its turn span, every turn a span, with the token header', () => {
    const spans = otlp.spans();
    const callSpans = spans.filter((s) => typeof s.attributes['llmtap.call.id'] === 'string');
    const turnSpans = spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'invoke_agent');
    expect(callSpans.map((s) => s.attributes['llmtap.call.id']).sort()).toEqual(calls.map((c) => c.id).sort());
    expect(turnSpans.map((s) => s.attributes['llmtap.turn.id']).sort()).toEqual(turns.map((t) => t.id).sort());
    for (const c of calls) {
      const s = callSpans.find((x) => x.attributes['llmtap.call.id'] === c.id)!;
      expect(s.resource['service.name']).toBe('llmtap-issue5');
      expect(s.attributes['gen_ai.request.model']).toBe(c.request_model);
      expect(s.attributes['llmtap.attr.team']).toBe(c.attributes['team']);
      const parent = c.turn_id === null ? undefined : turnSpans.find((t) => t.attributes['llmtap.turn.id'] === c.turn_id);
      expect(s.parentSpanId).toBe(parent?.spanId ?? null);
    }
    expect(otlp.requests.length).toBeGreaterThan(0);
    for (const r of otlp.requests) expect(r.headers['authorization']).toBe(`Bearer ${OTLP_TOKEN}`);
  });

  it('/api/v1/costs?by=team sums to the JSONL cost total, unpriced calls counted', async () => {
    const costs = await getJson<CostBreakdown>('/api/v1/costs?by=team');
    expect(costs.total.calls).toBe(calls.length);
    expect(costs.total.cost_usd).toBeCloseTo(costOf(calls), 12);
    expect(costs.total.unpriced_calls).toBe(calls.filter((c) => c.cost_status === 'unpriced').length);
    expect(costs.total.unpriced_calls).toBeGreaterThan(0);
    const groups = new Map(costs.groups.map((g) => [g.value, g]));
    const byTeam = countBy(calls, (c) => c.attributes['team']!);
    expect(sorted(new Map([...groups].map(([k, g]) => [k ?? '(none)', g.calls])))).toEqual(sorted(byTeam));
    for (const [team] of byTeam) {
      const mine = calls.filter((c) => c.attributes['team'] === team);
      const g = groups.get(team)!;
      expect(g.cost_usd ?? 0, team).toBeCloseTo(costOf(mine), 12);
      expect(g.unpriced_calls, team).toBe(mine.filter((c) => c.cost_status === 'unpriced').length);
    }
    expect(costs.groups.reduce((s, g) => s + (g.cost_usd ?? 0), 0)).toBeCloseTo(costOf(calls), 12);
  });

  it('the exports count themselves: llmtap_* self-metrics and /api/v1/health agree with the receivers', async () => {
    const samples: Sample[] = parseSamples(await metricsText());
    const spans = calls.length + turns.length;
    expect(sumOf(samples, 'llmtap_otlp_spans_sent_total')).toBe(spans);
    expect(sumOf(samples, 'llmtap_otlp_spans_dropped_total')).toBe(0);
    expect(sumOf(samples, 'llmtap_otlp_spans_queued')).toBe(0);
    expect(sumOf(samples, 'llmtap_otlp_span_batches_failed_total')).toBe(0);
    const accepted = hook.accepted<AlertRecord>().length;
    expect(sumOf(samples, 'llmtap_alert_webhook_sent_total')).toBe(accepted);
    expect(sumOf(samples, 'llmtap_alert_webhook_retries_total')).toBe(hook.requests.length - accepted);
    expect(sumOf(samples, 'llmtap_alert_webhook_failed_total')).toBe(0);
    expect(sumOf(samples, 'llmtap_alerts_total', { state: 'notice' })).toBe(alerts.filter((a) => a.state === 'notice').length);
    expect(sumOf(samples, 'llmtap_alerts_total', { state: 'firing' })).toBe(alerts.filter((a) => a.state === 'firing').length);
    expect(sumOf(samples, 'llmtap_observer_failures_total')).toBe(0);

    const h = await getJson<HealthResponse>('/api/v1/health');
    expect(h.outputs?.otlp?.spans).toMatchObject({ sent: spans, dropped: 0, queued: 0, failed_batches: 0 });
    expect(h.outputs?.otlp?.endpoint).toBe(`${otlp.url}/`);
    expect(h.outputs?.alerts?.webhooks).toMatchObject({ sent: accepted, retries: hook.requests.length - accepted, failed: 0, dropped: 0 });
    expect(h.outputs?.observer_failures).toBe(0);
    expect(JSON.stringify(h)).not.toContain(OTLP_TOKEN);
  });

  it.skipIf(!browserTestsRun || !existsSync(join(repoRoot, 'console', 'dist', 'index.html')))('the console’s health page shows the exports’ counters', async () => {
    const seen = { dialogs: [] as string[], pageErrors: [] as string[] };
    const { context, page } = await launchBrowser(dir, seen);
    try {
      await page.goto(`${base}/health`);
      const spans = await page.locator('[data-testid="otlp-spans"]').textContent();
      expect(spans).toContain(`${calls.length + turns.length} sent`);
      expect(spans).toContain('0 dropped');
      const accepted = hook.accepted<AlertRecord>().length;
      expect(await page.locator('[data-testid="webhook-delivery"]').textContent()).toContain(`${accepted} sent · 0 queued · ${hook.requests.length - accepted} retries`);
      expect(seen.pageErrors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('a posted score of 0.2 fires the score rule while serving', async () => {
    const target = calls.find((c) => c.turn_id !== null)!;
    const res = await fetch(`${base}/api/v1/calls/${target.id}/annotations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'helpfulness', value: 0.2 }),
    });
    expect(res.status).toBe(201);
    const fired = await eventually(async () => {
      const page = await getJson<{ items: AlertRecord[] }>('/api/v1/alerts?rule=unhelpful-answers');
      return page.items.length > 0 ? page.items : null;
    }, 'the score alert in /api/v1/alerts');
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({ metric: 'score:helpfulness', state: 'firing', value: 0.2, rule_kind: 'rule' });
    // Delivered like the others (webhook and log), though the capture has long drained.
    await eventually(async () => (hook.accepted<AlertRecord>().some((a) => a.rule === 'unhelpful-answers') ? true : null), 'the score alert at the webhook');
    expect(replay!.stderr).toMatch(/llmtap: alert \[FIRING warning\] unhelpful-answers: /);
  });

  it('Ctrl-C exits 0; no token reached stderr, the JSONL or the database; `serve` lists the alerts, and its scores drive the rules', async () => {
    expect(await replay!.interrupt()).toBe(0);
    const stored = storeFiles(db).map((f) => readFileSync(f));
    for (const token of [OTLP_TOKEN, HOOK_TOKEN]) {
      expect(replay!.stderr).not.toContain(token);
      expect(readFileSync(jsonl, 'utf8')).not.toContain(token);
      for (const bytes of stored) expect(bytes.includes(token)).toBe(false);
    }
    // The last OTLP metric push went out at shutdown, with the token.
    expect(otlp.metrics().some((m) => m.name === 'gen_ai.client.operation.duration')).toBe(true);

    const serve = new CliProcess(['serve', '--db', db, '--config', config, '--listen', '127.0.0.1:0'], env);
    try {
      base = (await serve.waitFor(/at (http:\/\/127\.0\.0\.1:\d+) until interrupted/))[1]!;
      const api = await getJson<{ items: AlertRecord[] }>('/api/v1/alerts?limit=500');
      const want = new Set([...latestById(alerts).keys()]);
      expect(api.items.filter((a) => want.has(a.id))).toHaveLength(want.size);
      const before = api.items.filter((a) => a.rule === 'unhelpful-answers');
      expect(before).toHaveLength(1);

      // docs/alerts.md: in `serve` (no capture) scores still drive the rules, on their own times.
      const other = calls.filter((c) => c.timing.request_start < before[0]!.fired_at)[0]!;
      const res = await fetch(`${base}/api/v1/calls/${other.id}/annotations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'helpfulness', value: 0.1 }),
      });
      expect(res.status).toBe(201);
      const now = await eventually(async () => {
        const page = await getJson<{ items: AlertRecord[] }>('/api/v1/alerts?rule=unhelpful-answers');
        return page.items.length > 1 ? page.items : null;
      }, 'the score alert raised by serve');
      expect(now.find((a) => a.id !== before[0]!.id)).toMatchObject({ state: 'firing', value: 0.1, fired_at: other.timing.request_start });
      expect(await serve.interrupt()).toBe(0);
      expect(serve.stderr).toMatch(/llmtap: alert \[FIRING warning\] unhelpful-answers: /);
      expect(hook.accepted<AlertRecord>().filter((a) => a.rule === 'unhelpful-answers')).toHaveLength(2);
      expect(serve.stderr).not.toContain(HOOK_TOKEN);
    } finally {
      await serve.kill();
    }
  });

  it('`reprice --config` with a price override changes that model’s costs and no other', async () => {
    const before = await storedCalls();
    const override = join(dir, 'prices.yaml');
    writeFileSync(override, 'pricing:\n  models:\n    - { model: gemini-2.5-flash, provider: google, input_per_mtok: 100, output_per_mtok: 1000 }\n');
    const r = runCli(['reprice', '--db', db, '--config', override], env);
    const gemini = calls.filter((c) => c.request_model === 'gemini-2.5-flash').length;
    expect(gemini).toBeGreaterThan(0);
    expect(r.stderr).toContain(`changed ${gemini},`);
    expect(r.code).toBe(0);
    const after = await storedCalls();
    for (const c of after.values()) {
      const old = before.get(c.id)!;
      if (c.request_model === 'gemini-2.5-flash') {
        // No cache prices configured: cache reads and writes are priced as input (docs/configuration.md).
        expect(c.cost_usd).toBeCloseTo((c.usage.input_tokens! * 100 + c.usage.output_tokens! * 1000) / 1e6, 12);
        expect(c.cost_usd).not.toBeCloseTo(old.cost_usd!, 6);
      } else {
        expect(c.cost_usd).toBe(old.cost_usd);
      }
    }
  });
});

async function storedCalls(): Promise<Map<string, LlmCallRecord>> {
  const store = await openStore({ path: db, retention: false });
  try {
    const page = await store.listCalls({}, { limit: 500 });
    return new Map((page.items as unknown as LlmCallRecord[]).map((c) => [c.id, c]));
  } finally {
    await store.close();
  }
}

describe('a bad configuration stops `llmtap replay` before anything is written', () => {
  const cases: [string, string, RegExp][] = [
    ['an unknown key', 'alertz: []\n', /unknown key "alertz"/],
    ['a missing environment variable', 'otlp:\n  endpoint: http://127.0.0.1:4318\n  headers:\n    authorization: "Bearer ${LLMTAP_TEST_UNSET_TOKEN}"\n', /LLMTAP_TEST_UNSET_TOKEN/],
  ];
  for (const [what, text, message] of cases) {
    it(what, () => {
      const d = mkdtempSync(join(tmpdir(), 'llmtap-badcfg-'));
      try {
        const f = join(d, 'bad.yaml');
        writeFileSync(f, text);
        const out = { db: join(d, 'x.duckdb'), jsonl: join(d, 'x.jsonl') };
        const r = runCli(['replay', demo, '--config', f, '--db', out.db, '--jsonl', out.jsonl, '--exit-after-drain'], env);
        expect(r.code).toBe(1);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(/^llmtap: .*bad\.yaml/);
        expect(r.stderr).toMatch(message);
        expect(existsSync(out.db)).toBe(false);
        expect(existsSync(out.jsonl)).toBe(false);
      } finally {
        rmSync(d, { recursive: true, force: true });
      }
    });
  }
});
