import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createInstruments, MAX_ERROR_TYPES } from './instruments.js';
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
});
