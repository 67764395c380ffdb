import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebhookConfig } from '../config/types.js';
import type { AlertRecord } from '../core/record.js';
import { AlertDelivery, BACKOFF_BASE_MS, MAX_OUTBOX } from './delivery.js';

const TOKEN = 'whsec-0123456789abcdef0123456789abcdef';

function alert(over: Partial<AlertRecord> = {}): AlertRecord {
  return {
    kind: 'alert',
    id: '019b7a1c-0000-7000-8000-000000000001',
    rule: 'errors',
    rule_kind: 'rule',
    state: 'firing',
    severity: 'critical',
    metric: 'error_rate',
    value: 0.6,
    threshold: 0.5,
    window_ms: 300_000,
    filters: { provider: 'openai' },
    source: 'probe-a',
    fired_at: '2026-01-01T00:00:05.000000Z',
    resolved_at: null,
    message: 'error_rate 0.6 > 0.5 over 5m {provider=openai} (5 calls)',
    budget: null,
    ...over,
  };
}

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let servers: Server[] = [];
afterEach(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  servers = [];
});

/** A local receiver whose n-th request (0-based) is answered by `answers[n]` (the last repeats). */
async function receiver(answers: ((req: IncomingMessage, res: ServerResponse) => void)[]): Promise<{ url: string; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = got.length;
      got.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      answers[Math.min(n, answers.length - 1)]!(req, res);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/hooks/secret-path-T0001`, got };
}

const status = (code: number, headers: Record<string, string> = {}) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(code, headers);
  res.end('{}');
};
const hangUp = (req: IncomingMessage) => req.socket.destroy();
const never = () => undefined;

function hook(url: string, over: Partial<WebhookConfig> = {}): WebhookConfig {
  return { url, headers: { 'X-Webhook-Token': TOKEN }, max_attempts: 5, timeout_ms: 2000, ...over };
}

function delivery(webhooks: Record<string, WebhookConfig>, over: { fetch?: typeof fetch } = {}) {
  const lines: string[] = [];
  const waits: number[] = [];
  const d = new AlertDelivery(webhooks, {
    log: (l) => lines.push(l),
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
    ...over,
  });
  return { d, lines, waits };
}

describe('AlertDelivery to a webhook', () => {
  it('retries through a 503 and a dropped connection, and the alert arrives once, intact, with its headers', async () => {
    const r = await receiver([status(503), hangUp, status(200)]);
    const { d, lines, waits } = delivery({ ops: hook(r.url) });
    const a = alert();
    d.deliver(a, ['ops']);
    await d.close();
    expect(r.got).toHaveLength(3);
    const accepted = r.got[2]!;
    expect(JSON.parse(accepted.body)).toEqual({ ...a, text: '[FIRING critical] errors on probe-a: error_rate 0.6 > 0.5 over 5m {provider=openai} (5 calls)' });
    expect(accepted.path).toBe('/hooks/secret-path-T0001');
    expect(accepted.headers['x-webhook-token']).toBe(TOKEN);
    expect(accepted.headers['content-type']).toBe('application/json');
    // Every try carried the same payload.
    expect(new Set(r.got.map((g) => g.body)).size).toBe(1);
    expect(d.stats()).toMatchObject({ sent: 1, failed: 0, retries: 2, dropped: 0, queued: 0 });
    // Exponential with equal jitter (random 0.5): base·2^(n−1) · 3/4.
    expect(waits).toEqual([BACKOFF_BASE_MS * 0.75, BACKOFF_BASE_MS * 2 * 0.75]);
    expect(lines).toEqual([]);
  });

  it('gives up after max_attempts and says so without the token or the URL', async () => {
    const r = await receiver([status(502)]);
    const { d, lines } = delivery({ ops: hook(r.url, { max_attempts: 3 }) });
    d.deliver(alert(), ['ops']);
    await d.close();
    expect(r.got).toHaveLength(3);
    expect(d.stats()).toMatchObject({ sent: 0, failed: 1, retries: 2 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('webhook "ops"');
    expect(lines[0]).toContain('after 3 tries: HTTP 502');
    expect(lines.join('\n')).not.toContain(TOKEN);
    expect(lines.join('\n')).not.toContain('secret-path');
  });

  it('bounds each try by timeout_ms', async () => {
    const r = await receiver([never]);
    const { d, lines } = delivery({ ops: hook(r.url, { max_attempts: 2, timeout_ms: 150 }) });
    d.deliver(alert(), ['ops']);
    await d.close();
    expect(r.got).toHaveLength(2);
    expect(d.stats()).toMatchObject({ sent: 0, failed: 1, retries: 1 });
    expect(lines[0]).toContain('no answer within 150 ms');
  });

  it('does not retry a client error, and does not follow a redirect (it would carry the token elsewhere)', async () => {
    const r = await receiver([status(400), status(302, { location: '/elsewhere' })]);
    const { d } = delivery({ ops: hook(r.url) });
    d.deliver(alert(), ['ops']);
    d.deliver(alert({ state: 'resolved', resolved_at: '2026-01-01T00:00:09.000000Z' }), ['ops']);
    await d.close();
    expect(r.got.map((g) => g.path)).toEqual(['/hooks/secret-path-T0001', '/hooks/secret-path-T0001']);
    expect(d.stats()).toMatchObject({ sent: 0, failed: 2, retries: 0 });
  });

  it('waits at least what a 429 Retry-After asks', async () => {
    const r = await receiver([status(429, { 'retry-after': '3' }), status(204)]);
    const { d, waits } = delivery({ ops: hook(r.url) });
    d.deliver(alert(), ['ops']);
    await d.close();
    expect(waits).toEqual([3000]);
    expect(d.stats()).toMatchObject({ sent: 1, retries: 1 });
  });

  it('sends in order per webhook: a resolution never overtakes its firing', async () => {
    const r = await receiver([status(503), status(200)]);
    const { d } = delivery({ ops: hook(r.url) });
    d.deliver(alert(), ['ops']);
    d.deliver(alert({ state: 'resolved', resolved_at: '2026-01-01T00:00:09.000000Z' }), ['ops']);
    await d.close();
    expect(r.got.map((g) => (JSON.parse(g.body) as AlertRecord).state)).toEqual(['firing', 'firing', 'resolved']);
  });
});

describe('AlertDelivery: bounds', () => {
  it(`keeps at most ${MAX_OUTBOX} alerts waiting per webhook and counts what it drops`, async () => {
    let release = (): void => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const bodies: string[] = [];
    const fakeFetch = (async (_url: string | URL | Request, init?: RequestInit) => {
      await gate;
      bodies.push(String(init?.body));
      return new Response(null, { status: 200 });
    }) as typeof fetch;
    const { d } = delivery({ ops: hook('http://receiver.invalid/x') }, { fetch: fakeFetch });
    // The first goes in flight at once; MAX_OUTBOX wait behind it; the 3 oldest waiting are dropped.
    for (let i = 0; i < MAX_OUTBOX + 4; i++) d.deliver(alert({ id: `id-${i}` }), ['ops']);
    expect(d.stats()).toMatchObject({ dropped: 3, queued: MAX_OUTBOX + 1 });
    release();
    await d.close();
    expect(d.stats()).toMatchObject({ sent: MAX_OUTBOX + 1, dropped: 3, queued: 0 });
    const ids = bodies.map((b) => (JSON.parse(b) as AlertRecord).id);
    expect(ids.slice(0, 2)).toEqual(['id-0', 'id-4']);
    expect(ids.at(-1)).toBe(`id-${MAX_OUTBOX + 3}`);
  });

  it('close gives up after its timeout, aborting the try in flight, and counts the rest as dropped', async () => {
    const r = await receiver([never]);
    const { d } = delivery({ ops: hook(r.url, { timeout_ms: 60_000 }) });
    d.deliver(alert({ id: 'a' }), ['ops']);
    d.deliver(alert({ id: 'b' }), ['ops']);
    await d.close(100);
    expect(d.stats()).toMatchObject({ sent: 0, dropped: 2, queued: 0 });
  });

  it('writes log targets as one line at once and counts unknown targets', () => {
    const { d, lines } = delivery({});
    d.deliver(alert({ state: 'resolved', resolved_at: '2026-01-01T00:00:09.000000Z', message: 'ok again' }), ['log', 'nowhere', 'log']);
    expect(lines).toEqual(['alert [RESOLVED critical] errors on probe-a: ok again (at 2026-01-01T00:00:09.000000Z)']);
    expect(d.stats()).toMatchObject({ logged: 1, unknown_targets: 1 });
  });

  it('a log line names no source when the alert has none (budgets, score rules)', () => {
    const { d, lines } = delivery({});
    d.deliver(alert({ source: null, message: 'm' }), ['log']);
    expect(lines).toEqual(['alert [FIRING critical] errors: m (at 2026-01-01T00:00:05.000000Z)']);
  });
});
