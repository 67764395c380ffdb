/**
 * OTLP export as a collector sees it (issue 5, "How we will know"): the example capture is
 * replayed through the pipeline (replayFile → TurnTracker → observer, as the replay command
 * wires it), exported to a real local HTTP receiver that decodes the protobuf with its own
 * definitions, and every call is found as a span with the right attributes and parent turn.
 */
import { join } from 'node:path';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { agentCallInput } from '../../src/agents/profiles.js';
import { TurnTracker } from '../../src/agents/turn-tracker.js';
import type { OtlpConfig } from '../../src/config/types.js';
import type { AgentTurnRecord, LlmCallRecord } from '../../src/core/record.js';
import { REAL_DEPS, type RetryPolicy, type SenderDeps } from '../../src/metrics/otlp/http-sender.js';
import { otlpMetricReader } from '../../src/metrics/otlp/metric-export.js';
import { OtlpSpanExporter } from '../../src/metrics/otlp/span-exporter.js';
import { replayFile } from '../../src/pipeline/replay.js';
import { repoRoot } from '../corpus.js';
import { decodeTraces, OtlpReceiver, partialSuccess, type ReceivedSpan } from './otlp-receiver.js';

const demo = join(repoRoot, 'examples', 'demo.pcap');
const TOKEN = 'Bearer otlp-test-token-4f2a9c';

function config(endpoint: string, over: Partial<OtlpConfig> = {}): OtlpConfig {
  return {
    endpoint,
    headers: { authorization: TOKEN },
    traces: true,
    metrics: true,
    export_interval_ms: 60_000,
    max_queue: 2048,
    max_batch: 5,
    batch_delay_ms: 5,
    timeout_ms: 5_000,
    service_name: 'llmtap-test',
    ...over,
  };
}

/** Retry waits are recorded and skipped: no test waits for a backoff. */
function instantDeps(waits: number[]): SenderDeps {
  return { ...REAL_DEPS, sleep: async (ms) => void waits.push(ms), random: () => 0.5 };
}
const FAST_RETRY: RetryPolicy = { maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 1000, multiplier: 2, jitter: 0.2, maxRetryAfterMs: 60_000 };

/** ISO 8601 with µs → ns since the epoch as a decimal string, computed apart from the exporter. */
function isoToNs(iso: string): string {
  const m = /^(.*T\d{2}:\d{2}:\d{2})\.(\d{6})Z$/.exec(iso);
  if (!m) throw new Error(`not an llmtap time: ${iso}`);
  return (BigInt(Date.parse(`${m[1]}Z`)) * 1_000_000n + BigInt(m[2]!) * 1000n).toString();
}

/** Replays the demo capture as the replay command does, handing records to `exporter`. */
async function replayInto(exporter: OtlpSpanExporter | null): Promise<{ calls: LlmCallRecord[]; turns: AgentTurnRecord[] }> {
  const calls: LlmCallRecord[] = [];
  const turns: AgentTurnRecord[] = [];
  const tracker = new TurnTracker({
    snapshots: true,
    onTurn: (t, final) => {
      if (final) turns.push(t);
      exporter?.onTurn(t, final);
    },
  });
  await replayFile(demo, {
    source: 'demo.pcap',
    fingerprintSalt: 'test-salt',
    onCall: (r, ex, call) =>
      tracker.add(agentCallInput(r, ex, call), () => {
        calls.push(r);
        exporter?.onCall(r);
      }),
  });
  tracker.flush();
  await exporter?.close();
  return { calls, turns };
}

let receiver: OtlpReceiver;
beforeEach(async () => {
  receiver = new OtlpReceiver();
  await receiver.start();
});
afterEach(async () => {
  await receiver.stop();
});

let records: { calls: LlmCallRecord[]; turns: AgentTurnRecord[] };
beforeAll(async () => {
  records = await replayInto(null);
});

function feed(exporter: OtlpSpanExporter): void {
  for (const c of records.calls) exporter.onCall(c);
  for (const t of records.turns) exporter.onTurn(t, true);
}

describe('OTLP trace export of a replayed capture', () => {
  it('sends every call as a GenAI span under its turn span, with the record attributes and exact times', async () => {
    const errors: string[] = [];
    const exporter = new OtlpSpanExporter(config(receiver.url), { onError: (m) => errors.push(m) });
    const { calls, turns } = await replayInto(exporter);
    expect(calls).toHaveLength(21);
    expect(turns).toHaveLength(14);

    const spans = receiver.spans();
    expect(spans).toHaveLength(calls.length + turns.length);
    expect(exporter.stats()).toMatchObject({ queued: 0, sent: calls.length + turns.length, dropped: 0, failedBatches: 0 });
    expect(errors).toEqual([]);

    const byCall = new Map<string, ReceivedSpan>();
    for (const s of spans) if (typeof s.attributes['llmtap.call.id'] === 'string') byCall.set(s.attributes['llmtap.call.id'], s);
    const turnSpans = spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'invoke_agent');
    expect(turnSpans).toHaveLength(turns.length);

    for (const c of calls) {
      const s = byCall.get(c.id);
      expect(s, `span of call ${c.id}`).toBeDefined();
      if (!s) continue;
      expect(s.name).toBe(`${c.operation} ${c.request_model}`);
      expect(s.kind).toBe('SPAN_KIND_CLIENT');
      expect(s.resource['service.name']).toBe('llmtap-test');
      expect(s.startNs).toBe(isoToNs(c.timing.request_start));
      expect(s.endNs).toBe(isoToNs(c.timing.response_end!));
      const a = s.attributes;
      expect(a['gen_ai.operation.name']).toBe(c.operation);
      expect(a['gen_ai.request.model']).toBe(c.request_model);
      expect(a['gen_ai.response.model'] ?? null).toBe(c.response_model);
      expect(a['gen_ai.usage.input_tokens'] ?? null).toBe(c.usage.input_tokens);
      expect(a['gen_ai.usage.output_tokens'] ?? null).toBe(c.usage.output_tokens);
      expect(a['gen_ai.usage.cache_read.input_tokens'] ?? null).toBe(c.usage.cache_read_tokens);
      const finish = c.finish_reason_raw ?? c.finish_reason;
      expect(a['gen_ai.response.finish_reasons'] ?? null).toEqual(finish === null ? null : [finish]);
      expect(a['server.address']).toBe(c.server.host);
      expect(a['server.port']).toBe(c.server.port);
      expect(a['gen_ai.conversation.id'] ?? null).toBe(c.session_id);
      expect(a['llmtap.cost_usd'] ?? null).toBe(c.cost_usd);
      expect(a['llmtap.cost_status']).toBe(c.cost_status);
      const provider = { openai: 'openai', anthropic: 'anthropic', google: 'gcp.gemini' }[c.provider];
      expect(a['gen_ai.provider.name']).toBe(provider);
      if (c.status_code !== null && c.status_code >= 400) {
        expect(s.status.code).toBe('STATUS_CODE_ERROR');
        expect(a['error.type']).toBe(c.error?.type ?? String(c.status_code));
      } else {
        expect(a['error.type']).toBeUndefined();
      }

      if (c.turn_id === null) {
        expect(s.parentSpanId).toBeNull();
      } else {
        // The parent is the turn's own span, received too, in the same trace.
        const parent = turnSpans.find((t) => t.attributes['llmtap.turn.id'] === c.turn_id);
        expect(parent, `turn span of ${c.turn_id}`).toBeDefined();
        expect(s.parentSpanId).toBe(parent?.spanId);
        expect(s.traceId).toBe(parent?.traceId);
      }
    }
    // The example has both: calls of turns and calls outside any turn (auxiliary ones).
    expect(calls.some((c) => c.turn_id === null)).toBe(true);
    expect(calls.some((c) => c.status_code === 429)).toBe(true);

    for (const t of turns) {
      const s = turnSpans.find((x) => x.attributes['llmtap.turn.id'] === t.id)!;
      expect(s.name).toBe(`invoke_agent ${t.agent}`);
      expect(s.parentSpanId).toBeNull();
      expect(s.startNs).toBe(isoToNs(t.start));
      expect(s.attributes['gen_ai.conversation.id']).toBe(t.session_id);
      expect(s.attributes['llmtap.turn.call_count']).toBe(t.call_count);
      expect(calls.filter((c) => c.turn_id === t.id)).toHaveLength(t.call_count);
    }

    // No content and no secret leaves: the generated text, previews and the token are absent.
    const sent = JSON.stringify(spans);
    for (const c of calls) if (c.content.output_text.length > 20) expect(sent).not.toContain(c.content.output_text.slice(0, 20));
    for (const t of turns) if (t.user_preview && t.user_preview.length > 20) expect(sent).not.toContain(t.user_preview.slice(0, 20));
    expect(sent).not.toContain('otlp-test-token');
    // The headers reached the receiver, with the OTLP/HTTP protobuf content type.
    for (const r of receiver.requests) {
      expect(r.path).toBe('/v1/traces');
      expect(r.headers['content-type']).toBe('application/x-protobuf');
      expect(r.headers['authorization']).toBe(TOKEN);
    }
  });

  it('sends batches of at most max_batch spans', async () => {
    const exporter = new OtlpSpanExporter(config(receiver.url, { max_batch: 4, batch_delay_ms: 60_000 }));
    feed(exporter);
    await exporter.close();
    const total = records.calls.length + records.turns.length;
    const sizes = receiver.requests.map((r) => decodeTraces(r.body).length);
    expect(receiver.spans()).toHaveLength(total);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4);
    expect(receiver.requests).toHaveLength(Math.ceil(total / 4));
  });

  it('gives the same trace and span ids when the same capture is exported again', async () => {
    const first = new OtlpSpanExporter(config(receiver.url));
    feed(first);
    await first.close();
    const firstIds = receiver.spans().map((s) => `${s.traceId}/${s.spanId}/${s.parentSpanId}`);
    receiver.requests.length = 0;
    await replayInto(new OtlpSpanExporter(config(receiver.url)));
    const again = receiver.spans().map((s) => `${s.traceId}/${s.spanId}/${s.parentSpanId}`);
    expect(new Set(again)).toEqual(new Set(firstIds));
    expect(new Set(firstIds).size).toBe(firstIds.length);
  });
});

describe('OTLP delivery', () => {
  it('retries through a receiver that answers 503 twice, obeying Retry-After', async () => {
    receiver.reply = (i) => (i === 0 ? { status: 503, headers: { 'retry-after': '7' } } : i === 1 ? { status: 503 } : { status: 200 });
    const waits: number[] = [];
    const exporter = new OtlpSpanExporter(config(receiver.url, { max_batch: 100 }), { retry: FAST_RETRY, deps: instantDeps(waits) });
    feed(exporter);
    await exporter.close();
    expect(receiver.spans()).toHaveLength(records.calls.length + records.turns.length);
    expect(exporter.stats()).toMatchObject({ sent: records.calls.length + records.turns.length, dropped: 0, failedBatches: 0, retries: 2 });
    // 7 s asked by the receiver; then, with no Retry-After, the second retry's exponential
    // backoff: 100 ms × 2 (random() = 0.5 puts the jitter at its centre).
    expect(waits).toEqual([7000, 200]);
  });

  it('does not retry a request refused for good, counts the loss, and keeps the token out of the message', async () => {
    receiver.reply = () => ({ status: 400 });
    const errors: string[] = [];
    const withUser = receiver.url.replace('http://', 'http://user:secret-in-url@');
    const exporter = new OtlpSpanExporter(config(withUser, { max_batch: 100 }), { retry: FAST_RETRY, deps: instantDeps([]), onError: (m) => errors.push(m) });
    feed(exporter);
    await exporter.close();
    const total = records.calls.length + records.turns.length;
    expect(receiver.requests).toHaveLength(1);
    expect(exporter.stats()).toMatchObject({ sent: 0, dropped: total, failedBatches: 1, retries: 0 });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('HTTP 400');
    expect(errors.join('\n')).not.toMatch(/otlp-test-token|secret-in-url/);
  });

  it('counts spans the receiver rejects in a partial success', async () => {
    receiver.reply = () => ({ status: 200, body: partialSuccess(3) });
    const exporter = new OtlpSpanExporter(config(receiver.url, { max_batch: 100 }));
    feed(exporter);
    await exporter.close();
    const total = records.calls.length + records.turns.length;
    expect(exporter.stats()).toMatchObject({ sent: total - 3, rejected: 3, dropped: 0 });
  });

  it('with a receiver that never answers and a tiny queue: drops are counted and close() returns', async () => {
    receiver.reply = () => 'hang';
    const errors: string[] = [];
    const exporter = new OtlpSpanExporter(config(receiver.url, { max_queue: 3, max_batch: 2, timeout_ms: 50 }), {
      retry: { ...FAST_RETRY, maxAttempts: 2 },
      deps: instantDeps([]),
      onError: (m) => errors.push(m),
    });
    feed(exporter);
    await exporter.close();
    const total = records.calls.length + records.turns.length;
    const s = exporter.stats();
    expect(s.sent).toBe(0);
    expect(s.queued).toBe(0);
    // Everything offered is accounted for as dropped: most at the full queue, the rest with
    // the batches that timed out twice: the first full batch (2 spans) went out at once, and
    // the queue it left behind (3 spans) made two more batches (2 + 1).
    expect(s.dropped).toBe(total);
    expect(s.failedBatches).toBe(3);
    expect(s.retries).toBe(3);
    expect(errors.every((e) => e.includes('no answer within 50 ms'))).toBe(true);
  });

  it('close() gives up at its deadline even when one request may take long', async () => {
    receiver.reply = () => 'hang';
    const exporter = new OtlpSpanExporter(config(receiver.url, { max_batch: 100, timeout_ms: 600_000 }), { closeDeadlineMs: 20 });
    feed(exporter);
    await exporter.close();
    expect(exporter.stats()).toMatchObject({ sent: 0, queued: 0, dropped: records.calls.length + records.turns.length });
    // Records after close are dropped and counted, not queued.
    exporter.onCall(records.calls[0]!);
    expect(exporter.stats().queued).toBe(0);
  });

  it('holds a replay back until the queue has room (drain)', async () => {
    const exporter = new OtlpSpanExporter(config(receiver.url, { max_queue: 8, max_batch: 2, batch_delay_ms: 60_000 }));
    let dropped = 0;
    for (const c of records.calls) {
      exporter.onCall(c);
      await exporter.drain();
      dropped = exporter.stats().dropped;
    }
    await exporter.close();
    expect(dropped).toBe(0);
    expect(receiver.spans()).toHaveLength(records.calls.length);
  });
});

describe('OTLP metric export', () => {
  it('pushes the MeterProvider metrics to /v1/metrics, cumulative', async () => {
    const reader = otlpMetricReader(config(receiver.url));
    const provider = new MeterProvider({ readers: [reader] });
    const meter = provider.getMeter('llmtap');
    const tokens = meter.createHistogram('gen_ai.client.token.usage', { unit: '{token}' });
    const calls = meter.createCounter('llmtap_calls');
    for (const c of records.calls) {
      if (c.usage.input_tokens !== null) tokens.record(c.usage.input_tokens, { 'gen_ai.token.type': 'input', 'gen_ai.provider.name': c.provider });
      calls.add(1, { provider: c.provider });
    }
    await reader.forceFlush();
    await provider.shutdown();

    const metrics = receiver.metrics();
    const usage = metrics.find((m) => m.name === 'gen_ai.client.token.usage');
    expect(usage?.unit).toBe('{token}');
    expect(usage?.temporality).toBe('AGGREGATION_TEMPORALITY_CUMULATIVE');
    const withInput = records.calls.filter((c) => c.usage.input_tokens !== null);
    for (const p of ['openai', 'anthropic', 'google']) {
      const point = usage?.points.find((x) => x.attributes['gen_ai.provider.name'] === p);
      const mine = withInput.filter((c) => c.provider === p);
      expect(point?.count).toBe(mine.length);
      expect(point?.sum).toBe(mine.reduce((n, c) => n + c.usage.input_tokens!, 0));
    }
    const counted = metrics.find((m) => m.name === 'llmtap_calls');
    expect(counted?.points.reduce((n, p) => n + (p.value ?? 0), 0)).toBe(records.calls.length);
    expect(receiver.requests[0]?.headers['authorization']).toBe(TOKEN);
    expect(reader.otlpStats()).toMatchObject({ failed: 0 });
    expect(reader.otlpStats().exported).toBeGreaterThanOrEqual(1);
  });
});
