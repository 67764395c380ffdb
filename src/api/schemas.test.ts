import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import { MAX_VALUE_CHARS, MAX_VALUES, parseCallsQuery, parseExchangesQuery, parseId, parseTime, parseTimeseriesQuery } from './schemas.js';

/** The 400 message, or null when the query parsed. */
function rejection(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (e) {
    if (e instanceof ApiError && e.status === 400) return e.message;
    throw e;
  }
}

describe('parseTime', () => {
  it('reads ISO 8601 with µs, zones, dates and epoch ms', () => {
    const base = Date.UTC(2026, 0, 15, 10, 0, 0) * 1000;
    expect(parseTime('2026-01-15T10:00:00Z')).toBe(base);
    expect(parseTime('2026-01-15T10:00:00.123456Z')).toBe(base + 123_456);
    expect(parseTime('2026-01-15T10:00:00.1Z')).toBe(base + 100_000);
    expect(parseTime('2026-01-15T10:00:00.123456789Z')).toBe(base + 123_456);
    expect(parseTime('2026-01-15T11:30:00+01:30')).toBe(base);
    expect(parseTime('2026-01-15T08:00:00-0200')).toBe(base);
    expect(parseTime('2026-01-15T10:00:00')).toBe(base);
    expect(parseTime('2026-01-15')).toBe(Date.UTC(2026, 0, 15) * 1000);
    expect(parseTime(String(base / 1000))).toBe(base);
  });
  it('refuses impossible dates and junk', () => {
    for (const s of ['2026-02-30', '2026-13-01', '2026-01-15T24:00:00Z', '2026-01-15T10:60:00Z', 'yesterday', '', '1e12', '-5', '2026-01-15T10:00:00+25:00']) {
      expect(parseTime(s), s).toBeNull();
    }
  });
});

describe('parseCallsQuery', () => {
  it('maps every parameter to the store filter', () => {
    const { filter, page } = parseCallsQuery({
      from: '2026-01-15T10:00:00Z',
      to: '2026-01-15T11:00:00Z',
      provider: ['openai', 'anthropic'],
      api: 'openai.responses',
      model: 'gpt-5',
      status: ['429', '5xx,error'],
      finish_reason: 'stop,tool_call',
      stream: 'true',
      agent: 'codex',
      session: 's1',
      source: 'demo.pcap',
      client: '192.168.1.23',
      server: 'api.openai.com',
      key: 'fp123',
      q: 'hello\nworld',
      cursor: 'abc',
      limit: '20',
      order: 'asc',
    });
    expect(filter).toEqual({
      from: Date.UTC(2026, 0, 15, 10) * 1000,
      to: Date.UTC(2026, 0, 15, 11) * 1000,
      provider: ['openai', 'anthropic'],
      api: ['openai.responses'],
      model: ['gpt-5'],
      status: [429, '5xx', 'error'],
      finish_reason: ['stop', 'tool_call'],
      stream: true,
      agent: ['codex'],
      session_id: ['s1'],
      source: ['demo.pcap'],
      client_ip: ['192.168.1.23'],
      server: ['api.openai.com'],
      api_key_fingerprint: ['fp123'],
      q: 'hello\nworld',
    });
    expect(page).toEqual({ cursor: 'abc', limit: 20, order: 'asc' });
  });

  it('gives an empty filter for an empty query', () => {
    expect(parseCallsQuery({})).toEqual({ filter: {}, page: {} });
  });

  it.each([
    [{ bogus: '1' }, 'unknown query parameter'],
    [{ limit: '0' }, "'limit'"],
    [{ limit: '501' }, "'limit'"],
    [{ limit: '1.5' }, "'limit'"],
    [{ limit: ['1', '2'] }, 'only once'],
    [{ status: '600' }, "'status'"],
    [{ status: '4xxx' }, "'status'"],
    [{ status: "' OR 1=1 --" }, "'status'"],
    [{ finish_reason: 'stopped' }, "'finish_reason'"],
    [{ stream: 'yes' }, "'stream'"],
    [{ client: 'not-an-ip' }, "'client'"],
    [{ from: 'tomorrow' }, "'from'"],
    [{ from: '2026-01-15T11:00:00Z', to: '2026-01-15T10:00:00Z' }, "'from' is after 'to'"],
    [{ model: '' }, "'model'"],
    [{ model: 'x'.repeat(MAX_VALUE_CHARS + 1) }, "'model'"],
    [{ model: Array.from({ length: MAX_VALUES + 1 }, (_, i) => `m${i}`) }, "'model'"],
    [{ model: 'a\u0000b' }, "'model'"],
    [{ model: 'a\nb' }, "'model'"],
    [{ model: '\ud800' }, "'model'"],
    [{ q: 'x'.repeat(1001) }, "'q'"],
    [{ q: 'nul\u0000' }, "'q'"],
    [{ order: 'sideways' }, "'order'"],
  ])('refuses %j', (query, message) => {
    expect(rejection(() => parseCallsQuery(query))).toContain(message);
  });

  it('accepts what injection attempts look like in free-text parameters: the store binds them', () => {
    for (const s of ["' OR 1=1 --", '%', '_', '\\', '"', "''", '日本語 ✓', 'x'.repeat(MAX_VALUE_CHARS)]) {
      expect(parseCallsQuery({ model: s }).filter.model).toEqual([s]);
    }
  });

  it('keeps the whole unknown-parameter name out of the message when it is long', () => {
    expect(rejection(() => parseCallsQuery({ ['k'.repeat(5000)]: '1' }))!.length).toBeLessThan(200);
  });
});

describe('parseTimeseriesQuery', () => {
  it('reads bucket durations, metrics and grouping', () => {
    const p = parseTimeseriesQuery({ bucket: '5m', metrics: 'calls,ttft_ms', group_by: 'model', group_limit: '5', provider: 'openai' });
    expect(p).toEqual({ filter: { provider: ['openai'] }, bucketMs: 300_000, metrics: ['calls', 'ttft_ms'], groupBy: 'model', groupLimit: 5 });
    expect(parseTimeseriesQuery({ bucket: '250' }).bucketMs).toBe(250);
    expect(parseTimeseriesQuery({ bucket: '250ms' }).bucketMs).toBe(250);
    expect(parseTimeseriesQuery({ bucket: '1d' }).bucketMs).toBe(86_400_000);
    expect(parseTimeseriesQuery({}).bucketMs).toBeUndefined();
  });
  it.each([{ bucket: '0' }, { bucket: '5y' }, { bucket: '-1s' }, { bucket: '367d' }, { metrics: 'calls,nope' }, { group_by: 'prompt' }, { group_limit: '51' }])(
    'refuses %j',
    (q) => {
      expect(rejection(() => parseTimeseriesQuery(q))).not.toBeNull();
    },
  );
});

describe('parseExchangesQuery', () => {
  it('maps its parameters', () => {
    expect(parseExchangesQuery({ kind: 'other', reason: 'not_llm_route', method: 'GET', connection: 'c1', client: '::1', limit: '3' })).toEqual({
      filter: { kind: ['other'], reason: ['not_llm_route'], method: ['GET'], connection_id: ['c1'], client_ip: ['::1'] },
      page: { limit: 3 },
    });
    expect(rejection(() => parseExchangesQuery({ kind: 'call' }))).toContain("'kind'");
    expect(rejection(() => parseExchangesQuery({ model: 'x' }))).toContain('unknown');
  });
});

describe('parseId', () => {
  it('accepts UUIDs only', () => {
    expect(parseId('019BC1A4-0000-7000-8000-000000000000')).toBe('019bc1a4-0000-7000-8000-000000000000');
    for (const s of ["1' OR '1'='1", '', 'x'.repeat(36), '019bc1a4-0000-7000-8000-00000000000']) {
      expect(rejection(() => parseId(s)), s).toContain('UUID');
    }
  });
});
