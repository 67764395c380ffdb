import { describe, expect, it } from 'vitest';
import type { AlertRuleConfig } from '../config/types.js';
import type { AlertRecord, AnnotationRecord } from '../core/record.js';
import { isoMicros } from '../core/time.js';
import { callAt, sec, T0 } from '../metrics/test-calls.test-support.js';
import { RuleEngine } from './rule-engine.js';

function rule(over: Partial<AlertRuleConfig> = {}): AlertRuleConfig {
  return {
    name: 'errors',
    metric: 'error_rate',
    window_ms: 60_000,
    op: '>',
    threshold: 0.5,
    filters: {},
    min_calls: 3,
    cooldown_ms: 0,
    severity: 'warning',
    notify: ['log'],
    ...over,
  };
}

function engine(rules: AlertRuleConfig[]): { e: RuleEngine; out: AlertRecord[] } {
  const out: AlertRecord[] = [];
  return { e: new RuleEngine(rules, (a) => out.push(a)), out };
}

/** A call whose request starts `at` s after T0 and ends 1 s later (callAt's default e2e). */
const ok = (at: number, over: Parameters<typeof callAt>[0] = { at }) => callAt({ ...over, at });
const err = (at: number) => callAt({ at, status: 503 });

describe('RuleEngine: call rules', () => {
  it('fires once at the capture time of the call that crosses, and resolves at the call that uncrosses', () => {
    const { e, out } = engine([rule({ window_ms: 600_000 })]);
    // Error rate after each call (each ends 1 s after it starts): 0, 0, 1/3, 2/4, 3/5 at 5 s
    // (crosses), 4/6, 4/7, 4/8 = 0.5 at 8 s (no longer > 0.5), 4/9.
    for (const c of [ok(0), ok(1), err(2), err(3), err(4), err(5), ok(6), ok(7), ok(8)]) e.onCall(c);
    e.onTime(sec(20));
    expect(out.map((a) => a.state)).toEqual(['firing', 'resolved']);
    const [fired, resolved] = out as [AlertRecord, AlertRecord];
    // Calls count at their end: request start + 1 s.
    expect(fired.fired_at).toBe(isoMicros(sec(5)));
    expect(fired.value).toBeCloseTo(3 / 5, 12);
    expect(resolved.id).toBe(fired.id);
    expect(resolved.fired_at).toBe(fired.fired_at);
    expect(resolved.resolved_at).toBe(isoMicros(sec(8)));
    expect(fired).toMatchObject({ kind: 'alert', rule: 'errors', rule_kind: 'rule', metric: 'error_rate', threshold: 0.5, window_ms: 600_000, severity: 'warning', budget: null, resolved_at: null });
    // A rule on calls runs per source: the alert names the one whose calls raised it.
    expect(fired.source).toBe(callAt({ at: 0 }).source);
    expect(fired.message).toContain('error_rate 0.6 > 0.5 over 10m (5 calls)');
    expect(e.stats()).toMatchObject({ fired: 1, resolved: 1 });
  });

  it('clears when the bad calls leave the window, at the exact capture time they leave, however late the clock is reported', () => {
    const { e, out } = engine([rule()]);
    // Three errors ending at 10.5 s, 11.5 s, 12.5 s: a 60 s window of 60 one-second buckets holds
    // the bucket [10 s, 11 s) until capture time reaches 70 s; then 2 errors remain (< min_calls 3).
    for (const at of [9.5, 10.5, 11.5]) e.onCall(err(at));
    expect(out.map((a) => a.state)).toEqual(['firing']);
    expect(out[0]!.fired_at).toBe(isoMicros(sec(12.5)));
    e.onTime(sec(70) - 1);
    expect(out).toHaveLength(1);
    // The source next reports a time long after: the clear is still placed at 70 s.
    e.onTime(sec(500));
    expect(out.map((a) => a.state)).toEqual(['firing', 'resolved']);
    expect(out[1]!.resolved_at).toBe(isoMicros(sec(70)));
    expect(out[1]!.message).toContain('fewer than min_calls 3');
  });

  it('does not fire on fewer than min_calls calls, however bad they are', () => {
    const { e, out } = engine([rule({ min_calls: 4 })]);
    for (const at of [0, 1, 2]) e.onCall(err(at));
    expect(out).toEqual([]);
    e.onCall(err(3));
    expect(out.map((a) => a.fired_at)).toEqual([isoMicros(sec(4))]);
  });

  it('stays quiet for the cooldown after resolving, then fires at the cooldown end if still true', () => {
    const { e, out } = engine([rule({ window_ms: 600_000, cooldown_ms: 30_000, min_calls: 1 })]);
    e.onCall(err(0)); // fires at 1 s
    e.onCall(ok(1)); // 1/2: resolves at 2 s; quiet until 32 s
    e.onCall(err(2)); // 2/3 at 3 s: true again, within cooldown
    e.onCall(err(3)); // 3/4 at 4 s: still within cooldown
    expect(out.map((a) => a.state)).toEqual(['firing', 'resolved']);
    expect(e.stats().cooldown_suppressed).toBe(2);
    e.onTime(sec(100));
    expect(out.map((a) => a.state)).toEqual(['firing', 'resolved', 'firing']);
    expect(out[2]!.fired_at).toBe(isoMicros(sec(32)));
    expect(out[2]!.id).not.toBe(out[0]!.id);
  });

  it('does not fire after the cooldown when the condition stopped holding meanwhile', () => {
    const { e, out } = engine([rule({ window_ms: 600_000, cooldown_ms: 30_000, min_calls: 1 })]);
    e.onCall(err(0));
    e.onCall(ok(1));
    e.onCall(err(2)); // 2/3, suppressed
    e.onCall(ok(3));
    e.onCall(ok(4)); // 2/5
    e.onTime(sec(100));
    expect(out.map((a) => a.state)).toEqual(['firing', 'resolved']);
  });

  it('counts only the calls that match its filters', () => {
    const { e, out } = engine([rule({ filters: { provider: 'anthropic' }, min_calls: 2 })]);
    for (const at of [0, 1, 2, 3]) e.onCall(callAt({ at, status: 500, provider: 'openai' }));
    expect(out).toEqual([]);
    e.onCall(callAt({ at: 4, status: 529, provider: 'anthropic' }));
    e.onCall(callAt({ at: 5, status: 529, provider: 'anthropic' }));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ filters: { provider: 'anthropic' }, fired_at: isoMicros(sec(6)), value: 1 });
    expect(out[0]!.message).toContain('{provider=anthropic}');
  });

  it('watches latency percentiles and throughput metrics', () => {
    const { e, out } = engine([
      rule({ name: 'slow', metric: 'e2e_p50', op: '>=', threshold: 4000, min_calls: 1 }),
      rule({ name: 'busy', metric: 'calls', op: '>', threshold: 2, min_calls: 1 }),
    ]);
    e.onCall(callAt({ at: 0, e2eMs: 500 })); // ends 0.5 s
    e.onCall(callAt({ at: 1, e2eMs: 5000 })); // ends 6 s: p50 of {500, 5000} is ~500 (DDSketch lower median)
    e.onCall(callAt({ at: 2, e2eMs: 6000 })); // ends 8 s: p50 5000, and a third call
    expect(out.map((a) => [a.rule, a.fired_at])).toEqual([
      ['slow', isoMicros(sec(8))],
      ['busy', isoMicros(sec(8))],
    ]);
    expect(out[0]!.value).toBeGreaterThan(4900);
    expect(out[0]!.value).toBeLessThan(5100);
  });

  it('a call that ends before the window already holds is still counted; one from before the window is not', () => {
    const { e, out } = engine([rule({ metric: 'calls', op: '>=', threshold: 2, min_calls: 1 })]);
    e.onCall(ok(100)); // ends 101 s
    e.onCall(ok(80)); // ends 81 s: inside the 60 s window ending at 101 s
    expect(out.map((a) => a.fired_at)).toEqual([isoMicros(sec(101))]);
    e.onCall(ok(10)); // ends 11 s: left the window long ago
    expect(e.stats().late_samples).toBe(1);
  });

  it('takes records without readable times or with garbage in them without throwing', () => {
    const { e, out } = engine([rule({ min_calls: 1 })]);
    const broken = callAt({ at: 0 });
    broken.timing = { request_start: 'yesterday', request_end: null, response_start: null, first_token: null, last_token: null, response_end: null };
    broken.status_code = 500;
    e.onCall(broken); // no time known yet: nowhere to place it
    expect(out).toEqual([]);
    e.onCall(ok(0));
    e.onCall(broken); // placed at the window's current time (1 s)
    expect(out.map((a) => a.fired_at)).toEqual([]);
    e.onCall(broken); // 2 errors of 3
    expect(out.map((a) => a.fired_at)).toEqual([isoMicros(sec(1))]);
    e.onTime(Number.NaN);
    e.onTime(-5);
  });

  it('refuses a rule whose metric is outside the grammar instead of throwing', () => {
    const { e } = engine([rule({ name: 'bad', metric: 'nonsense' as 'calls' }), rule()]);
    expect(e.stats()).toMatchObject({ rules: 1, invalid_rules: ['bad'] });
  });
});

function score(value: number, atSeconds: number, over: Partial<AnnotationRecord> = {}): AnnotationRecord {
  return {
    kind: 'annotation',
    id: `a-${atSeconds}-${value}`,
    target_kind: 'call',
    target_id: 'c',
    name: 'helpfulness',
    value,
    label: null,
    comment: null,
    author: null,
    ts: isoMicros(sec(atSeconds)),
    created_at: isoMicros(T0),
    dimensions: { model: 'gpt-4o', provider: 'openai' },
    ...over,
  };
}

describe('RuleEngine: score rules', () => {
  it('fires on the mean of matching scores placed at their own time, and clears when they leave the window', () => {
    const { e, out } = engine([rule({ name: 'unhelpful', metric: 'score:helpfulness', op: '<', threshold: 0.5, min_calls: 2, filters: { model: 'gpt-4o' } })]);
    e.onTime(sec(30));
    e.onAnnotation(score(0.2, 10));
    e.onAnnotation(score(0.1, 11, { name: 'other' }));
    e.onAnnotation(score(0.1, 11, { dimensions: { model: 'claude-sonnet-4-5' } }));
    expect(out).toEqual([]);
    e.onAnnotation(score(0.6, 12)); // mean 0.4 < 0.5 with 2 scores; evaluated at capture time 30 s
    expect(out.map((a) => [a.state, a.fired_at])).toEqual([['firing', isoMicros(sec(30))]]);
    expect(out[0]!.value).toBeCloseTo(0.4, 12);
    expect(out[0]!.message).toContain('(2 scores)');
    // A score has no source.
    expect(out[0]!.source).toBeNull();
    e.onTime(sec(1000)); // the 10 s score's bucket leaves at 70 s
    expect(out.map((a) => [a.state, a.resolved_at])).toEqual([
      ['firing', null],
      ['resolved', isoMicros(sec(70))],
    ]);
  });

  it('score_min and score_count read the smallest score and how many there are', () => {
    const { e, out } = engine([
      rule({ name: 'worst', metric: 'score_min:thumbs', op: '<=', threshold: 0, min_calls: 1 }),
      rule({ name: 'many', metric: 'score_count:thumbs', op: '>=', threshold: 3, min_calls: 1 }),
    ]);
    e.onAnnotation(score(1, 1, { name: 'thumbs' }));
    e.onAnnotation(score(1, 2, { name: 'thumbs' }));
    expect(out).toEqual([]);
    e.onAnnotation(score(0, 3, { name: 'thumbs' }));
    expect(out.map((a) => [a.rule, a.value])).toEqual([
      ['worst', 0],
      ['many', 3],
    ]);
  });

  it('counts scores with unreadable times and ignores non-finite values', () => {
    const { e, out } = engine([rule({ metric: 'score:h', op: '<', threshold: 1, min_calls: 1 })]);
    e.onAnnotation(score(0, 1, { name: 'h', ts: 'not a time' }));
    e.onAnnotation(score(Number.NaN, 1, { name: 'h' }));
    expect(out).toEqual([]);
    expect(e.stats().bad_annotation_times).toBe(1);
  });
});

describe('RuleEngine: scores and the clock', () => {
  it('a score does not move the capture clock once calls or the source do', () => {
    const { e, out } = engine([rule({ metric: 'score:h', op: '<', threshold: 0.5, min_calls: 1 })]);
    e.onTime(sec(10));
    // A score stamped in the future (a skewed target time) is placed at the current capture time.
    e.onAnnotation(score(0, 5000, { name: 'h' }));
    expect(out.map((a) => a.fired_at)).toEqual([isoMicros(sec(10))]);
    e.onTime(sec(71)); // its bucket [10 s, 11 s) left at 70 s
    expect(out.map((a) => a.resolved_at)).toEqual([null, isoMicros(sec(70))]);
  });

  it('with no capture clock at all (serve), scores carry time themselves', () => {
    const { e, out } = engine([rule({ metric: 'score_count:h', op: '>=', threshold: 2, min_calls: 1 })]);
    e.onAnnotation(score(1, 10, { name: 'h' }));
    e.onAnnotation(score(1, 100, { name: 'h' })); // the first left the window at 70 s
    expect(out).toEqual([]);
    e.onAnnotation(score(1, 101, { name: 'h' }));
    expect(out.map((a) => a.fired_at)).toEqual([isoMicros(sec(101))]);
  });
});
