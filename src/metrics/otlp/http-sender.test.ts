import { describe, expect, it } from 'vitest';
import { OtlpHttpSender, parseRetryAfter, safeUrl, splitCredentials, type RetryPolicy, type SenderDeps } from './http-sender.js';

const POLICY: RetryPolicy = { maxAttempts: 4, initialBackoffMs: 100, maxBackoffMs: 250, multiplier: 2, jitter: 0.2, maxRetryAfterMs: 60_000 };

/** A fetch answering from a script (a status or a thrown network error), recording requests. */
function scripted(script: (number | 'net')[], waits: number[], random = 0.5): { deps: SenderDeps; seen: RequestInit[] } {
  const seen: RequestInit[] = [];
  let i = 0;
  const deps: SenderDeps = {
    fetch: async (_url, init) => {
      seen.push(init ?? {});
      const step = script[Math.min(i++, script.length - 1)]!;
      if (step === 'net') throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
      return new Response(new Uint8Array(0), { status: step });
    },
    sleep: async (ms) => void waits.push(ms),
    random: () => random,
    nowMs: () => Date.parse('2026-01-01T00:00:00Z'),
  };
  return { deps, seen };
}

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP-dates, and ignores the rest', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});

describe('OtlpHttpSender', () => {
  it('retries 429/502/503/504 and network errors with growing, capped backoff', async () => {
    const waits: number[] = [];
    const { deps, seen } = scripted([503, 'net', 429, 200], waits);
    const out = await new OtlpHttpSender('http://c:4318/v1/traces', {}, 1000, POLICY, deps).post(new Uint8Array([1]), new AbortController().signal);
    expect(out.ok).toBe(true);
    expect(seen).toHaveLength(4);
    expect(waits).toEqual([100, 200, 250]);
  });

  it('applies jitter within its fraction', async () => {
    const low: number[] = [];
    const high: number[] = [];
    await new OtlpHttpSender('http://c/v1/traces', {}, 1000, POLICY, scripted([503, 200], low, 0).deps).post(new Uint8Array(), new AbortController().signal);
    await new OtlpHttpSender('http://c/v1/traces', {}, 1000, POLICY, scripted([503, 200], high, 1).deps).post(new Uint8Array(), new AbortController().signal);
    expect(low).toEqual([80]);
    expect(high).toEqual([120]);
  });

  it('does not retry other statuses, and gives up after maxAttempts', async () => {
    for (const status of [400, 401, 404, 413, 500]) {
      const { deps, seen } = scripted([status], []);
      const out = await new OtlpHttpSender('http://c/v1/traces', {}, 1000, POLICY, deps).post(new Uint8Array(), new AbortController().signal);
      expect(out).toMatchObject({ ok: false, attempts: 1 });
      expect(seen).toHaveLength(1);
    }
    const { deps, seen } = scripted([503], []);
    const out = await new OtlpHttpSender('http://c/v1/traces', {}, 1000, POLICY, deps).post(new Uint8Array(), new AbortController().signal);
    expect(out).toMatchObject({ ok: false, attempts: 4 });
    expect(seen).toHaveLength(4);
    if (!out.ok) expect(out.reason).toContain('HTTP 503');
  });

  it('sends the protobuf content type and the configured headers; reasons name no header', async () => {
    const { deps, seen } = scripted(['net'], []);
    const out = await new OtlpHttpSender('http://c/v1/traces', { 'x-token': 'tok-123' }, 1000, { ...POLICY, maxAttempts: 1 }, deps).post(new Uint8Array(), new AbortController().signal);
    expect(seen[0]?.headers).toMatchObject({ 'x-token': 'tok-123', 'content-type': 'application/x-protobuf' });
    expect(out.ok).toBe(false);
    if (!out.ok) {
      expect(out.reason).toContain('ECONNREFUSED');
      expect(out.reason).not.toContain('tok-123');
    }
  });
});

describe('endpoint credentials', () => {
  it('move from the URL into a Basic header, and never show in the safe URL', () => {
    const r = splitCredentials('http://me:p%40ss@c:4318/v1/traces', {});
    expect(r.url).toBe('http://c:4318/v1/traces');
    expect(r.headers['authorization']).toBe(`Basic ${Buffer.from('me:p@ss').toString('base64')}`);
    expect(splitCredentials('http://me:x@c/v1/traces', { Authorization: 'Bearer t' }).headers).toEqual({ Authorization: 'Bearer t' });
    expect(safeUrl('http://me:x@c:4318/v1/traces?token=y')).toBe('http://c:4318/v1/traces');
  });
});
