/**
 * API answers for top's tests, made by the real producers: the live snapshot by LiveAggregates
 * fed with the calls, the calls page and the cost breakdown as the store shapes them, summed from
 * the same records. A fake fetch serves them by path, and a manual clock runs timers on demand.
 */
import type { LlmCallRecord, ProcessInfo } from '../core/record.js';
import { LiveAggregates } from '../metrics/live-aggregates.js';
import { callAt } from '../metrics/test-calls.test-support.js';
import type { CallListItem, CostBreakdown, CostGroup } from '../store/types.js';
import type { FetchFn, LiveAnswer } from './api-client.js';
import type { Clock } from './controller.js';

export const PROCS: ProcessInfo[] = [
  { pid: 4100, comm: 'python3', exe: '/usr/bin/python3.12' },
  { pid: 4200, comm: 'node', exe: '/usr/bin/node' },
];

/** 12 calls over 30 s of capture time: three models, two processes (every third call captured),
 * one 429. */
export function demoCalls(): LlmCallRecord[] {
  const models = ['gpt-4o', 'claude-sonnet-4-5', 'gemini-2.5-flash'];
  return Array.from({ length: 12 }, (_, i) => {
    const c = callAt({
      at: i * 2.5,
      model: models[i % 3]!,
      provider: ['openai', 'anthropic', 'google'][i % 3]!,
      status: i === 7 ? 429 : 200,
      e2eMs: 400 + i * 100,
      ttftMs: 100 + i * 10,
      input: 1000 + i,
      output: 20 + i,
      cost: i === 7 ? null : 0.001 * (i + 1),
    });
    return i % 3 === 2 ? c : { ...c, process: PROCS[i % 3]! };
  });
}

export function liveOf(calls: LlmCallRecord[], window = '1m'): LiveAnswer {
  const live = new LiveAggregates({ dimensions: ['provider', 'model'], windows_ms: [60_000, 300_000], max_series: 100 });
  for (const c of calls) live.onCall(c);
  const ms = window === '5m' ? 300_000 : 60_000;
  return { window, ...live.snapshot(ms, ['model']) };
}

export function pageOf(calls: LlmCallRecord[]): { items: CallListItem[]; next_cursor: null } {
  const items = [...calls]
    .sort((a, b) => b.timing.request_start.localeCompare(a.timing.request_start))
    .map(({ content, ...rest }) => ({ ...rest, output_preview: content.output_text.slice(0, 200) }));
  return { items, next_cursor: null };
}

export function processCostsOf(calls: LlmCallRecord[]): CostBreakdown {
  const group = (value: string | null, rs: LlmCallRecord[]): CostGroup => {
    const costed = rs.filter((r) => r.cost_usd !== null);
    return {
      value,
      calls: rs.length,
      priced_calls: costed.length,
      estimated_calls: 0,
      unpriced_calls: rs.length - costed.length,
      cost_usd: costed.length === 0 ? null : costed.reduce((a, r) => a + r.cost_usd!, 0),
      estimated_cost_usd: null,
      input_tokens: rs.reduce((a, r) => a + (r.usage.input_tokens ?? 0), 0),
      output_tokens: rs.reduce((a, r) => a + (r.usage.output_tokens ?? 0), 0),
      cache_read_tokens: 0,
      cache_write_tokens: 0,
      reasoning_tokens: 0,
    };
  };
  const names = [...new Set(calls.map((c) => c.process?.comm ?? null))];
  const groups = names.map((n) => group(n, calls.filter((c) => (c.process?.comm ?? null) === n)));
  groups.sort((a, b) => (b.cost_usd ?? -1) - (a.cost_usd ?? -1));
  return { by: 'process', total: group(null, calls), groups, groups_truncated: false };
}

export interface FakeServer {
  fetch: FetchFn;
  /** Paths asked for, with their Authorization header. */
  requests: { path: string; auth: string | null }[];
  /** Replaces the answer to paths starting with a prefix: status and body, or a network error. */
  answer: (prefix: string, reply: { status: number; body: string } | 'down') => void;
  /** Drops every replaced answer: the server answers normally again. */
  restore: () => void;
  calls: LlmCallRecord[];
}

export function fakeServer(calls: LlmCallRecord[], o: { inFlight?: number; windows?: string[] } = {}): FakeServer {
  const overrides = new Map<string, { status: number; body: string } | 'down'>();
  const server: FakeServer = {
    calls,
    requests: [],
    answer: (prefix, reply) => void overrides.set(prefix, reply),
    restore: () => overrides.clear(),
    fetch: async (url, init) => {
      const u = new URL(url);
      server.requests.push({ path: u.pathname + u.search, auth: init.headers['authorization'] ?? null });
      for (const [prefix, reply] of overrides) {
        if (!(u.pathname + u.search).startsWith(prefix)) continue;
        if (reply === 'down') throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
        return new Response(reply.body, { status: reply.status });
      }
      const json = (v: unknown): Response => new Response(JSON.stringify(v), { status: 200 });
      if (u.pathname === '/api/v1/metrics/live') {
        const w = u.searchParams.get('window') ?? '5m';
        if (!(o.windows ?? ['1m', '5m']).includes(w)) {
          return new Response(JSON.stringify({ error: { code: 'bad_request', message: `invalid query parameter 'window': no ${w} window` } }), { status: 400 });
        }
        return json(liveOf(server.calls, w));
      }
      if (u.pathname === '/api/v1/calls') return json(pageOf(server.calls));
      if (u.pathname.startsWith('/api/v1/calls/')) {
        const id = decodeURIComponent(u.pathname.slice('/api/v1/calls/'.length));
        const call = server.calls.find((c) => c.id === id);
        return call ? json({ call, exchange: null }) : new Response('{"error":{"code":"not_found","message":"no call"}}', { status: 404 });
      }
      if (u.pathname === '/api/v1/costs') return json(processCostsOf(server.calls));
      if (u.pathname === '/metrics') return new Response(`# TYPE llmtap_http_requests_in_flight gauge\nllmtap_http_requests_in_flight ${o.inFlight ?? 0}\n`, { status: 200 });
      return new Response('{"error":{"code":"not_found","message":"no route"}}', { status: 404 });
    },
  };
  return server;
}

/** Timers that run only when the test says time has passed. */
export class ManualClock implements Clock {
  t = 1_700_000_000_000;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 1;

  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }
  /** Wait times of the timers pending now, from now. */
  pending(): number[] {
    return this.timers.map((x) => x.at - this.t);
  }
  /** Move time on and run what fell due. */
  advance(ms: number): void {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const x of due) x.fn();
  }
}
