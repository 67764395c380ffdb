/**
 * Issue 5, "How we will know": metric values over a replayed capture equal the values computed
 * independently from the JSONL records of the same replay, and `/metrics` passes
 * `promtool check metrics`. The expected numbers are computed below from the records, plainly,
 * without the metrics code.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmCallRecord } from '../../src/core/record.js';
import { repoRoot } from '../corpus.js';
import { buildSession, type ApiName, type Session } from '../gen/llm-traffic.js';
import { pcapBytes } from '../gen/pcap-writer.js';
import { mergeConnections } from '../gen/tcp-conversation.js';
import { parseSamples, sumOf } from './prom-text.js';
import { replayWithMetrics, WINDOWS_MS, type ReplayedMetrics } from './replay-metrics.js';

const DURATION_BOUNDS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const TOKEN_BOUNDS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;

// ───────────────────────── plain computations over the records ─────────────────────────

function micros(iso: string): number {
  const [sec, frac = '0'] = iso.replace('Z', '').split('.');
  return Date.parse(`${sec}Z`) * 1000 + Number(frac.padEnd(6, '0'));
}

/** When a call counts in a window: its last response byte (else its request start). */
function endOf(c: LlmCallRecord): number {
  return micros(c.timing.response_end ?? c.timing.request_start);
}

const isError = (c: LlmCallRecord): boolean => (c.status_code !== null && c.status_code >= 400) || c.error !== null;
const n = (v: number | null): number => v ?? 0;
const sum = (cs: LlmCallRecord[], f: (c: LlmCallRecord) => number): number => cs.reduce((a, c) => a + f(c), 0);

/** The calls a window holds at `now`: 60 buckets of span/60, counted from now's bucket. */
function inWindow(calls: LlmCallRecord[], spanMs: number, now: number): LlmCallRecord[] {
  const bucketUs = (spanMs * 1000) / 60;
  const nowBucket = Math.floor(now / bucketUs);
  return calls.filter((c) => Math.floor(endOf(c) / bucketUs) > nowBucket - 60);
}

function exactQuantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(q * (s.length - 1))]!;
}

/** Model label as the metrics carry it: the response model, else the requested one, else "". */
const modelOf = (c: LlmCallRecord): string => c.response_model ?? c.request_model ?? '';

// ───────────────────────── the checks, run on each capture ─────────────────────────

function checkCumulative(r: ReplayedMetrics): void {
  const samples = parseSamples(r.prometheus);
  const { calls } = r;

  // Calls by API, requested and responded model, and HTTP status.
  const byKey = new Map<string, number>();
  for (const c of calls) {
    const k = JSON.stringify([c.api, c.request_model ?? '', c.response_model ?? '', c.status_code === null ? 'none' : String(c.status_code)]);
    byKey.set(k, (byKey.get(k) ?? 0) + 1);
  }
  const seen = new Map<string, number>();
  for (const s of samples.filter((x) => x.name === 'llmtap_calls_total')) {
    const l = s.labels;
    const k = JSON.stringify([l['llmtap_api'] ?? '', l['gen_ai_request_model'] ?? '', l['gen_ai_response_model'] ?? '', l['http_response_status_code'] ?? '']);
    seen.set(k, (seen.get(k) ?? 0) + s.value);
  }
  expect(seen).toEqual(byKey);

  expect(sumOf(samples, 'llmtap_call_errors_total')).toBe(calls.filter(isError).length);
  expect(sumOf(samples, 'llmtap_calls_total', { http_response_status_code: '429' })).toBe(calls.filter((c) => c.status_code === 429).length);

  // Tokens by type.
  expect(sumOf(samples, 'llmtap_tokens_total', { llmtap_token_type: 'input' })).toBe(sum(calls, (c) => n(c.usage.input_tokens)));
  expect(sumOf(samples, 'llmtap_tokens_total', { llmtap_token_type: 'output' })).toBe(sum(calls, (c) => n(c.usage.output_tokens)));
  expect(sumOf(samples, 'llmtap_tokens_total', { llmtap_token_type: 'cache_read' })).toBe(sum(calls, (c) => n(c.usage.cache_read_tokens)));
  expect(sumOf(samples, 'llmtap_tokens_total', { llmtap_token_type: 'reasoning' })).toBe(sum(calls, (c) => n(c.usage.reasoning_tokens)));
  expect(sumOf(samples, 'llmtap_cost_usd_total')).toBeCloseTo(sum(calls, (c) => n(c.cost_usd)), 10);
  expect(sumOf(samples, 'llmtap_calls_unpriced_total')).toBe(calls.filter((c) => c.cost_usd === null).length);

  // Histogram buckets per response model: cumulative counts at each boundary (le).
  const bucketsOf = (name: string, where: Record<string, string>, le: number): number =>
    sumOf(
      samples.filter((s) => s.labels['le'] !== undefined && Number(s.labels['le']) === le),
      name,
      where,
    );
  for (const model of new Set(calls.map((c) => c.response_model ?? ''))) {
    const mine = calls.filter((c) => (c.response_model ?? '') === model);
    const where = { gen_ai_response_model: model };
    for (const b of DURATION_BOUNDS) {
      expect(bucketsOf('gen_ai_client_operation_duration_seconds_bucket', where, b), `duration ≤ ${b}s, ${model}`).toBe(
        mine.filter((c) => c.e2e_ms !== null && c.e2e_ms / 1000 <= b).length,
      );
      expect(bucketsOf('gen_ai_client_operation_time_to_first_chunk_seconds_bucket', where, b), `ttfc ≤ ${b}s, ${model}`).toBe(
        mine.filter((c) => c.stream && c.ttft_ms !== null && c.ttft_ms / 1000 <= b).length,
      );
    }
    for (const b of TOKEN_BOUNDS) {
      expect(bucketsOf('gen_ai_client_token_usage_bucket', { ...where, gen_ai_token_type: 'output' }, b), `output ≤ ${b}, ${model}`).toBe(
        mine.filter((c) => c.usage.output_tokens !== null && c.usage.output_tokens <= b).length,
      );
    }
    expect(sumOf(samples, 'gen_ai_client_operation_duration_seconds_count', where)).toBe(mine.filter((c) => c.e2e_ms !== null).length);
    expect(sumOf(samples, 'gen_ai_client_operation_duration_seconds_sum', where)).toBeCloseTo(sum(mine, (c) => n(c.e2e_ms) / 1000), 9);
  }

  // Self-metrics are the pipeline's counters.
  expect(sumOf(samples, 'llmtap_packets_total')).toBe(r.stats.packets);
  expect(sumOf(samples, 'llmtap_pipeline_calls_total')).toBe(calls.length);
  const anomalies = new Map(samples.filter((s) => s.name === 'llmtap_anomalies_total').map((s) => [s.labels['name'], s.value]));
  expect(anomalies).toEqual(new Map(r.stats.anomalies.entries()));
}

function checkWindows(r: ReplayedMetrics): void {
  const { calls } = r;
  const now = Math.max(r.stats.lastTs ?? 0, ...calls.map(endOf));
  for (const span of WINDOWS_MS) {
    const inside = inWindow(calls, span, now);
    const got = r.live.snapshot(span).total;
    const input = sum(inside, (c) => n(c.usage.input_tokens));
    expect(got, `${span} ms window`).toMatchObject({
      calls: inside.length,
      errors: inside.filter(isError).length,
      throttled: inside.filter((c) => c.status_code === 429).length,
      server_errors: inside.filter((c) => c.status_code !== null && c.status_code >= 500).length,
      input_tokens: input,
      output_tokens: sum(inside, (c) => n(c.usage.output_tokens)),
      cache_read_tokens: sum(inside, (c) => n(c.usage.cache_read_tokens)),
    });
    expect(got.cost_usd).toBeCloseTo(sum(inside, (c) => n(c.cost_usd)), 10);
    expect(got.call_rate).toBeCloseTo(inside.length / (span / 1000), 12);
    expect(got.cache_hit_ratio).toEqual(input === 0 ? null : sum(inside, (c) => n(c.usage.cache_read_tokens)) / input);
    const e2e = inside.map((c) => c.e2e_ms).filter((v): v is number => v !== null);
    if (e2e.length === 0) expect(got.e2e_ms).toBeNull();
    for (const [q, key] of [
      [0.5, 'p50'],
      [0.95, 'p95'],
      [0.99, 'p99'],
    ] as const) {
      if (e2e.length === 0) continue;
      const exact = exactQuantile(e2e, q);
      expect(Math.abs(got.e2e_ms![key] - exact) / exact, `e2e ${key}, ${span} ms`).toBeLessThanOrEqual(0.0101);
    }
    // By model: the same calls, split.
    const byModel = new Map<string, number>();
    for (const c of inside) byModel.set(modelOf(c), (byModel.get(modelOf(c)) ?? 0) + 1);
    const snap = r.live.snapshot(span, ['model']);
    expect(new Map(snap.series.map((s) => [s.labels['model'], s.stats.calls]))).toEqual(byModel);
  }
}

function checkPromtool(text: string): void {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  expect(r.stderr + r.stdout).toBe('');
  expect(r.status).toBe(0);
}

// ───────────────────────── captures ─────────────────────────

describe('metrics over examples/demo.pcap', () => {
  let r: ReplayedMetrics;
  beforeAll(async () => {
    r = await replayWithMetrics(join(repoRoot, 'examples', 'demo.pcap'));
  });

  it('replays the 21 calls, with a 429 among them', () => {
    expect(r.calls.length).toBe(21);
    expect(r.calls.some((c) => c.status_code === 429)).toBe(true);
  });
  it('cumulative metrics equal the sums over the records', () => checkCumulative(r));
  it('window stats equal the records in each window', () => checkWindows(r));
  it.skipIf(!promtool)('/metrics passes promtool check metrics', () => checkPromtool(r.prometheus));
});

/** Nine minutes of traffic over 45 connections: every API, 429s, 500s, in-stream errors, caches. */
function generatedSessions(start: number): Session[] {
  const apis: ApiName[] = ['openai.chat_completions', 'openai.responses', 'anthropic.messages', 'gemini.generate_content'];
  const sessions: Session[] = [];
  for (let i = 0; i < 45; i++) {
    const api = apis[i % apis.length]!;
    sessions.push(
      buildSession({
        seed: 7000 + i,
        client: { ip: `10.9.${Math.floor(i / 200)}.${1 + (i % 200)}`, port: 40000 + i },
        start: start + i * 12_000_000,
        thinkUs: 4_000_000,
        calls: [
          { api, requestBytes: 4_000, outputTokens: 20 + i, cache: i % 3 === 0 },
          { api, requestBytes: 4_000, outputTokens: 40, ...(i % 5 === 0 ? { errorStatus: 429 } : i % 7 === 0 ? { errorStatus: 500 } : {}) },
          { api, requestBytes: 4_000, outputTokens: 60, stream: i % 2 === 0, ...(api === 'anthropic.messages' && i % 4 === 2 ? { inStreamError: true, stream: true } : {}) },
        ],
      }),
    );
  }
  return sessions;
}

describe('metrics over a generated nine-minute capture', () => {
  let dir: string;
  let r: ReplayedMetrics;
  let generated: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmtap-metrics-'));
    const sessions = generatedSessions(Date.UTC(2026, 2, 1, 12, 0, 0) * 1000);
    generated = sessions.reduce((a, s) => a + s.exchanges.length, 0);
    const path = join(dir, 'nine-minutes.pcap');
    writeFileSync(path, pcapBytes(mergeConnections(sessions.map((s) => s.connection))));
    r = await replayWithMetrics(path);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('replays every generated call, spread over more than five minutes', () => {
    expect(r.calls.length).toBe(generated);
    const ends = r.calls.map(endOf);
    expect(Math.max(...ends) - Math.min(...ends)).toBeGreaterThan(5 * 60 * 1e6);
    expect(r.calls.filter((c) => c.status_code === 500).length).toBeGreaterThan(0);
    expect(r.calls.filter((c) => c.status_code === 200 && c.error !== null).length).toBeGreaterThan(0);
  });
  it('cumulative metrics equal the sums over the records', () => checkCumulative(r));
  it('window stats equal the records in each window (1 m and 5 m cut the capture)', () => {
    const now = Math.max(r.stats.lastTs ?? 0, ...r.calls.map(endOf));
    expect(inWindow(r.calls, 60_000, now).length).toBeLessThan(r.calls.length);
    expect(inWindow(r.calls, 300_000, now).length).toBeLessThan(r.calls.length);
    checkWindows(r);
  });
  it.skipIf(!promtool)('/metrics passes promtool check metrics', () => checkPromtool(r.prometheus));
});

