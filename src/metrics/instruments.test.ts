import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createInstruments, MAX_ERROR_TYPES, type OutputStats } from './instruments.js';
import { labelName, metricName } from './prometheus.js';
import { callAt } from './test-calls.test-support.js';

const promtool = spawnSync('promtool', ['--version']).status === 0;

function lines(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('createInstruments', () => {
  it('names metrics the OpenTelemetry → Prometheus way', () => {
    expect(metricName('gen_ai.client.operation.duration', 's', false)).toBe('gen_ai_client_operation_duration_seconds');
    expect(metricName('gen_ai.client.token.usage', '{token}', false)).toBe('gen_ai_client_token_usage');
    expect(metricName('llmtap.cost', 'USD', true)).toBe('llmtap_cost_usd_total');
    expect(labelName('gen_ai.request.model')).toBe('gen_ai_request_model');
    expect(labelName('__name__')).toBe('key__name__');
    expect(labelName('9lives')).toBe('_9lives');
  });

  it('folds attribute sets past max_series into "__other__" and counts them', async () => {
    const ins = createInstruments({ dimensions: ['model', 'agent'], maxSeries: 2 });
    for (const m of ['a', 'b', 'c', 'd']) ins.observer.onCall!(callAt({ at: 1, model: m }));
    const text = await ins.prometheusText();
    const calls = lines(text, 'llmtap_calls_total');
    expect(calls).toHaveLength(3);
    expect(calls.filter((l) => l.includes('gen_ai_provider_name="__other__"') && l.includes('llmtap_agent="__other__"'))).toEqual([
      expect.stringMatching(/ 2$/),
    ]);
    expect(lines(text, 'llmtap_metrics_series_folded_total')).toEqual(['llmtap_metrics_series_folded_total 2']);
    expect(ins.cardinality()).toEqual({ series: 2, max_series: 2, folded_calls: 2 });
  });

  it(`keeps at most ${MAX_ERROR_TYPES} error.type values (the server chooses them); the rest are _OTHER`, async () => {
    const ins = createInstruments({ dimensions: [], maxSeries: 10 });
    for (let i = 0; i < MAX_ERROR_TYPES + 10; i++) {
      const c = callAt({ at: 1, status: 400 });
      c.error = { type: `made_up_${i}`, message: 'x' };
      ins.observer.onCall!(c);
    }
    const errors = lines(await ins.prometheusText(), 'llmtap_call_errors_total');
    expect(errors).toHaveLength(MAX_ERROR_TYPES + 1);
    expect(errors.find((l) => l.includes('error_type="_OTHER"'))).toMatch(/ 10$/);
  });

  it('reports time to first chunk only for streamed calls, and drops unusable values', async () => {
    const ins = createInstruments({ dimensions: [], maxSeries: 10 });
    const streamed = callAt({ at: 1, ttftMs: 300, output: 11 });
    streamed.stream = true;
    const plain = callAt({ at: 2, ttftMs: 300 });
    plain.stream = false;
    const broken = callAt({ at: 3, output: -4 });
    broken.e2e_ms = Number.NaN;
    for (const c of [streamed, plain, broken]) ins.observer.onCall!(c);
    const text = await ins.prometheusText();
    expect(lines(text, 'gen_ai_client_operation_time_to_first_chunk_seconds_count')).toEqual([expect.stringMatching(/ 1$/)]);
    expect(lines(text, 'gen_ai_client_operation_duration_seconds_count').map((l) => Number(l.split(' ').pop()))).toEqual([2]);
    expect(lines(text, 'llmtap_calls_total').map((l) => Number(l.split(' ').pop()))).toEqual([3]);
  });

  it.skipIf(!promtool)('label values with quotes, backslashes and newlines still pass promtool', async () => {
    const ins = createInstruments({ dimensions: ['model', 'team'], maxSeries: 10 });
    ins.observer.onCall!(callAt({ at: 1, model: 'we"ird\\mo\ndel', attributes: { team: 'ünïcode ✓' } }));
    const text = await ins.prometheusText();
    expect(text).toContain('gen_ai_request_model="we\\"ird\\\\mo\\ndel"');
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  describe('self-metrics of the exports and alerting', () => {
    const zeroSpans = { queued: 0, sent: 0, dropped: 0, rejected: 0, invalid: 0, failed_batches: 0, retries: 0 };
    const hooks = { sent: 0, failed: 0, retries: 0, dropped: 0, queued: 0 };
    const alerts = { rules: 2, budgets: 1, firing: 0, fired: 0, resolved: 0, notices: 0, logged: 0, record_failures: 0, webhooks: hooks };

    it('reads the counters at each scrape', async () => {
      const now: OutputStats = { otlp: { endpoint: 'http://c:4318/', spans: { ...zeroSpans }, metrics: null }, alerts: structuredClone(alerts), observer_failures: 0 };
      const ins = createInstruments({ dimensions: [], maxSeries: 10, outputs: () => now });
      now.otlp!.spans = { ...zeroSpans, sent: 40, dropped: 3, queued: 7, retries: 2 };
      now.alerts!.fired = 2;
      now.alerts!.notices = 3;
      now.alerts!.webhooks = { ...hooks, sent: 4, retries: 1, queued: 1 };
      now.observer_failures = 1;
      const text = await ins.prometheusText();
      expect(lines(text, 'llmtap_otlp_spans_sent_total')).toEqual(['llmtap_otlp_spans_sent_total 40']);
      expect(lines(text, 'llmtap_otlp_spans_dropped_total')).toEqual(['llmtap_otlp_spans_dropped_total 3']);
      expect(lines(text, 'llmtap_otlp_spans_queued')).toEqual(['llmtap_otlp_spans_queued 7']);
      expect(lines(text, 'llmtap_otlp_retries_total')).toEqual(['llmtap_otlp_retries_total{signal="traces"} 2']);
      expect(lines(text, 'llmtap_alerts_total')).toEqual(['llmtap_alerts_total{state="firing"} 2', 'llmtap_alerts_total{state="resolved"} 0', 'llmtap_alerts_total{state="notice"} 3']);
      expect(lines(text, 'llmtap_alert_webhook_sent_total')).toEqual(['llmtap_alert_webhook_sent_total 4']);
      expect(lines(text, 'llmtap_alert_webhook_queued')).toEqual(['llmtap_alert_webhook_queued 1']);
      expect(lines(text, 'llmtap_observer_failures_total')).toEqual(['llmtap_observer_failures_total 1']);
      // OTLP metrics are off: no metric about their pushes.
      expect(text).not.toContain('llmtap_otlp_metric_exports');
    });

    it('exports only what is configured (no OTLP, no alerting: observer failures alone)', async () => {
      const ins = createInstruments({ dimensions: [], maxSeries: 10, outputs: () => ({ otlp: null, alerts: null, observer_failures: 0 }) });
      const text = await ins.prometheusText();
      expect(text).not.toMatch(/llmtap_otlp_|llmtap_alert/);
      expect(lines(text, 'llmtap_observer_failures_total')).toEqual(['llmtap_observer_failures_total 0']);
    });

    it.skipIf(!promtool)('passes promtool with every part configured', async () => {
      const ins = createInstruments({
        dimensions: [],
        maxSeries: 10,
        outputs: () => ({ otlp: { endpoint: 'http://c:4318/', spans: zeroSpans, metrics: { exported: 1, failed: 0, skipped: 0, retries: 0 } }, alerts, observer_failures: 0 }),
      });
      const r = spawnSync('promtool', ['check', 'metrics'], { input: await ins.prometheusText(), encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    });
  });
});
