/**
 * Issue 5, "How we will know": a crafted capture makes an alert fire exactly once, at the right
 * capture time, and clear; a budget sends its 50/80/100 % notices once each; webhook delivery
 * retries through a receiver that fails first. The capture is generated (test/gen), replayed
 * through the pipeline (replayFile), and the alerting observer gets calls and the capture clock as
 * the replay command gives them (onCall per call, onTime between reads and at the end).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlerting } from '../../src/alerts/alerting.js';
import type { AlertRuleConfig, BudgetConfig, LlmtapConfig } from '../../src/config/types.js';
import type { AlertRecord, LlmCallRecord } from '../../src/core/record.js';
import { isoMicros } from '../../src/core/time.js';
import { isoToMicros } from '../../src/metrics/record-time.js';
import { replayFile } from '../../src/pipeline/replay.js';
import { PipelineStats } from '../../src/pipeline/stats.js';
import { buildSession, type Session } from '../gen/llm-traffic.js';
import { pcapBytes } from '../gen/pcap-writer.js';
import { mergeConnections } from '../gen/tcp-conversation.js';

const START = Date.UTC(2026, 4, 4, 9, 30, 0) * 1000; // µs
const WEBHOOK_TOKEN = 'hooktoken-5f2d8c1e9a7b4c3d2e1f0a9b8c7d6e5f';

/** Two OK calls, four rate-limited, four OK, one after another on a keep-alive connection. */
function scenario(): Session {
  const small = { requestBytes: 6_000, outputTokens: 40 };
  const statuses = [200, 200, 429, 429, 429, 429, 200, 200, 200, 200];
  return buildSession({
    seed: 77,
    client: { ip: '10.1.2.3', port: 50123 },
    start: START,
    thinkUs: 1_000_000,
    calls: statuses.map((s) => (s === 200 ? { api: 'openai.chat_completions' as const, ...small } : { api: 'openai.chat_completions' as const, ...small, errorStatus: s })),
  });
}

const errorRule: AlertRuleConfig = {
  name: 'openai-errors',
  metric: 'error_rate',
  window_ms: 600_000,
  op: '>',
  threshold: 0.5,
  filters: { provider: 'openai' },
  min_calls: 3,
  cooldown_ms: 300_000,
  severity: 'critical',
  notify: ['log', 'ops'],
};

let dir = '';
let pcapPath = '';
let session: Session;
let server: Server;
let hookUrl = '';
/** What the receiver answered 2xx to, in order. */
const accepted: { body: string; headers: IncomingMessage['headers'] }[] = [];
let requests = 0;

interface Run {
  calls: LlmCallRecord[];
  alerts: AlertRecord[];
  lines: string[];
  stats: ReturnType<ReturnType<typeof createAlerting>['stats']>;
}

async function replayWith(config: Pick<LlmtapConfig, 'alerts' | 'budgets' | 'webhooks'>): Promise<Run> {
  const calls: LlmCallRecord[] = [];
  const alerts: AlertRecord[] = [];
  const lines: string[] = [];
  const alerting = createAlerting(config, { onAlert: (a) => alerts.push(a), log: (l) => lines.push(l), sleep: () => Promise.resolve() });
  const stats = new PipelineStats();
  const summary = await replayFile(pcapPath, {
    source: 'alerts-test',
    fingerprintSalt: 'alerts-test',
    stats,
    onCall: (r) => {
      calls.push(r);
      alerting.onCall(r);
      if (stats.lastTs !== null) alerting.onTime(stats.lastTs);
    },
    afterChunk: () => {
      if (stats.lastTs !== null) alerting.onTime(stats.lastTs);
    },
  });
  if (summary.lastPacketTs !== null) alerting.onTime(summary.lastPacketTs);
  await alerting.close();
  return { calls, alerts, lines, stats: alerting.stats() };
}

beforeAll(async () => {
  session = scenario();
  dir = mkdtempSync(join(tmpdir(), 'llmtap-alerts-'));
  pcapPath = join(dir, 'errors.pcap');
  writeFileSync(pcapPath, pcapBytes(mergeConnections([session.connection])));
  // The receiver fails its first request with 503 and drops the connection of the second.
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = requests++;
      if (n === 0) {
        res.writeHead(503).end();
      } else if (n === 1) {
        req.socket.destroy();
      } else {
        accepted.push({ body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
        res.writeHead(200).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

describe('alerts over a replayed capture', () => {
  let run: Run;
  let budget: BudgetConfig;
  let priced: LlmCallRecord[];

  beforeAll(async () => {
    // First pass: what the capture costs, to set a budget it overruns.
    const first = await replayWith({ alerts: [], budgets: [], webhooks: {} });
    priced = first.calls.filter((c) => c.cost_usd !== null);
    const total = priced.reduce((s, c) => s + c.cost_usd!, 0);
    budget = { name: 'daily-total', period: 'day', scope: 'all', value: null, limit_usd: total / 1.1, notify_at: [0.5, 0.8, 1], notify: ['ops'] };
    run = await replayWith({
      alerts: [errorRule],
      budgets: [budget],
      webhooks: { ops: { url: hookUrl, headers: { Authorization: `Bearer ${WEBHOOK_TOKEN}` }, max_attempts: 5, timeout_ms: 5000 } },
    });
  });

  it('the capture holds the calls the scenario made', () => {
    expect(run.calls.map((c) => c.status_code)).toEqual(session.exchanges.map((e) => e.expected.statusCode));
    // Rate-limited calls carry no usage: unpriced; the OK ones are priced.
    expect(priced.length).toBe(6);
  });

  it('the error-rate rule fires exactly once, at the end of the call that crossed, and clears at the call that uncrossed', () => {
    // By hand, from what the generator put on the wire: a call counts when its response ends.
    let calls = 0;
    let errors = 0;
    let fire: number | null = null;
    let clear: number | null = null;
    for (const e of session.exchanges.map((x) => x.expected)) {
      calls++;
      if ((e.statusCode ?? 0) >= 400) errors++;
      const bad = calls >= 3 && errors / calls > 0.5;
      if (fire === null && bad) fire = e.responseEnd;
      else if (fire !== null && clear === null && !bad) clear = e.responseEnd;
    }
    expect(fire).not.toBeNull();
    expect(clear).not.toBeNull();
    const mine = run.alerts.filter((a) => a.rule === 'openai-errors');
    expect(mine.map((a) => a.state)).toEqual(['firing', 'resolved']);
    expect(mine[0]!.fired_at).toBe(isoMicros(fire!));
    expect(mine[1]!.resolved_at).toBe(isoMicros(clear!));
    expect(mine[1]!.id).toBe(mine[0]!.id);
    expect(mine[0]!.value).toBeCloseTo(3 / 5, 12);
    // A rule on calls runs per source, and its line says which source raised it.
    expect(mine.map((a) => a.source)).toEqual(['alerts-test', 'alerts-test']);
    const on = ' on alerts-test';
    expect(run.lines.filter((l) => l.includes('openai-errors'))).toEqual([
      `alert [FIRING critical] openai-errors${on}: ${mine[0]!.message} (at ${isoMicros(fire!)})`,
      `alert [RESOLVED critical] openai-errors${on}: ${mine[1]!.message} (at ${isoMicros(clear!)})`,
    ]);
  });

  it('the budget sends its 50/80/100 % notices once each, at the calls that reached them', () => {
    const want: [number, string][] = [];
    let spent = 0;
    for (const c of run.calls) {
      if (c.cost_usd === null) continue;
      spent += c.cost_usd;
      for (const f of budget.notify_at) {
        if (spent >= f * budget.limit_usd && !want.some((w) => w[0] === f)) want.push([f, c.timing.response_end!]);
      }
    }
    const notices = run.alerts.filter((a) => a.rule_kind === 'budget');
    expect(notices.map((n) => [n.budget!.fraction, n.fired_at])).toEqual(want);
    expect(want.map((w) => w[0])).toEqual([0.5, 0.8, 1]);
    expect(notices[2]!.message).toContain('4 unpriced calls not counted');
    const day = new Date(isoToMicros(notices[0]!.fired_at)! / 1000).toISOString().slice(0, 10);
    expect(notices[0]!.budget!.period_start).toBe(`${day}T00:00:00.000000Z`);
  });

  it('the webhook gets every alert once, intact, through a receiver that failed first', () => {
    expect(requests).toBe(accepted.length + 2);
    const got = accepted.map((a) => JSON.parse(a.body) as AlertRecord & { text: string });
    // Sent in the order made; each exactly once.
    expect(got.map(({ text: _t, ...a }) => a)).toEqual(run.alerts);
    for (const g of got) expect(g.text).toMatch(/^\[(FIRING|RESOLVED|BUDGET) (info|warning|critical)\] /);
    expect(accepted.every((a) => a.headers.authorization === `Bearer ${WEBHOOK_TOKEN}`)).toBe(true);
    expect(run.stats.delivery).toMatchObject({ sent: run.alerts.length, failed: 0, retries: 2, dropped: 0, queued: 0 });
    expect(run.lines.join('\n')).not.toContain(WEBHOOK_TOKEN);
  });
});
