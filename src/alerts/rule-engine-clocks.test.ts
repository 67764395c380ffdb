/**
 * The alert rules' clock per source (DESIGN §1): two sources whose capture clocks are an hour
 * apart, fed to one RuleEngine in any interleaving, raise the alerts each raises alone (same ids,
 * times, values, messages, in each source's own order), and the same incidents stay open.
 */
import { describe, expect, it } from 'vitest';
import type { AlertRuleConfig } from '../config/types.js';
import type { AlertRecord } from '../core/record.js';
import { isoMicros } from '../core/time.js';
import { interleave, mulberry32, sourceTraffic, type SourceEvent } from '../metrics/source-traffic.test-support.js';
import { callAt, sec, T0 } from '../metrics/test-calls.test-support.js';
import { RuleEngine } from './rule-engine.js';

function rule(over: Partial<AlertRuleConfig>): AlertRuleConfig {
  return { name: 'r', metric: 'error_rate', window_ms: 60_000, op: '>', threshold: 0.5, filters: {}, min_calls: 1, cooldown_ms: 0, severity: 'warning', notify: [], ...over };
}

const RULES: AlertRuleConfig[] = [
  rule({ name: 'errors', metric: 'error_rate', window_ms: 30_000, threshold: 0.2, min_calls: 2, cooldown_ms: 5_000 }),
  rule({ name: 'throttled-b', metric: 'throttle_rate', window_ms: 10_000, threshold: 0, filters: { model: 'b' } }),
  rule({ name: 'busy', metric: 'calls', window_ms: 60_000, threshold: 4, cooldown_ms: 20_000 }),
  rule({ name: 'slow', metric: 'e2e_p95', window_ms: 60_000, threshold: 2500, min_calls: 3 }),
  rule({ name: 'spend', metric: 'cost_rate', window_ms: 300_000, threshold: 0.00005 }),
];

/** Which source an alert belongs to: the sources' clocks are an hour apart. */
const sourceOfAlert = (a: AlertRecord): string => (Date.parse(a.fired_at) * 1000 < T0 + 1800e6 ? 'early' : 'late');

function run(engine: RuleEngine, e: SourceEvent, bySource: boolean): void {
  if ('call' in e) engine.onCall(e.call);
  else if (bySource) engine.onTime(e.tick, e.source);
  else engine.onTime(e.tick);
}

describe('RuleEngine: a clock per source', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])('two sources an hour apart raise the alerts each raises alone (seed %i)', (seed) => {
    const rnd = mulberry32(seed);
    const lists = [sourceTraffic('early', 0, rnd), sourceTraffic('late', 3600, rnd)];
    const out: AlertRecord[] = [];
    const together = new RuleEngine(RULES, (a) => out.push(a));
    const alone = new Map<string, { e: RuleEngine; out: AlertRecord[] }>();
    for (const s of ['early', 'late']) {
      const o: AlertRecord[] = [];
      alone.set(s, { e: new RuleEngine(RULES, (a) => o.push(a)), out: o });
    }
    for (const e of interleave(lists, rnd)) {
      run(together, e, true);
      run(alone.get(e.source)!.e, e, false);
    }
    let total = 0;
    for (const [source, a] of alone) {
      expect(out.filter((x) => sourceOfAlert(x) === source), source).toEqual(a.out);
      total += a.out.length;
    }
    expect(out).toHaveLength(total);
    // Each alert names the source whose calls raised it (the one whose clock it fired on).
    expect(out.map((a) => a.source)).toEqual(out.map(sourceOfAlert));
    // Not vacuous: rules fired and cleared.
    expect(out.some((a) => a.state === 'resolved')).toBe(true);
    const open = [...alone.values()].flatMap((a) => a.e.firing());
    expect(new Set(together.firing().map((f) => f.id))).toEqual(new Set(open.map((f) => f.id)));
    expect(together.stats().late_samples).toBe([...alone.values()].reduce((n, a) => n + a.e.stats().late_samples, 0));
  });

  it('past the cap on clocks, sources share the newest clock, and each of their calls is counted', () => {
    let capped = 0;
    const out: AlertRecord[] = [];
    const engine = new RuleEngine([rule({ name: 'busy', metric: 'calls', threshold: 1, window_ms: 10_000 })], (a) => out.push(a), { maxSources: 1, onSourceCapped: () => capped++ });
    const first = callAt({ at: 3600 });
    first.source = 'first';
    engine.onCall(first);
    for (const at of [3595, 3596]) {
      const c = callAt({ at });
      c.source = 'second';
      engine.onCall(c);
    }
    // The shared clock is the newest (3601 s): the two calls ending at 3596 s and 3597 s are in
    // its 10 s window and fire the rule there.
    expect(capped).toBe(2);
    expect(out.map((a) => [a.state, a.fired_at])).toEqual([['firing', isoMicros(sec(3601))]]);
    // Which of the sources sharing the clock raised it is not known.
    expect(out[0]!.source).toBeNull();
    // The first source's clock moves the shared one: the calls leave its window at 3606 s.
    engine.onTime(sec(3700), 'first');
    expect(out.map((a) => a.state)).toEqual(['firing', 'resolved']);
  });

  it('a source first seen after a tick of every clock starts there, as one clock would', () => {
    const out: AlertRecord[] = [];
    const engine = new RuleEngine([rule({ name: 'busy', metric: 'calls', threshold: 0, window_ms: 10_000 })], (a) => out.push(a));
    engine.onTime(sec(100));
    const old = callAt({ at: 50 });
    old.source = 'new';
    engine.onCall(old);
    expect(out).toEqual([]);
    expect(engine.stats().late_samples).toBe(1);
  });

  it('two sources firing one rule at the same microsecond get incidents of their own ids', () => {
    const out: AlertRecord[] = [];
    const engine = new RuleEngine([rule({ name: 'busy', metric: 'calls', threshold: 1, window_ms: 10_000 })], (a) => out.push(a));
    // Two probes that see the same traffic: their calls end at the same times.
    for (const at of [1, 2]) {
      for (const source of ['probe-a', 'probe-b']) {
        const c = callAt({ at });
        c.source = source;
        engine.onCall(c);
      }
    }
    expect(out.map((a) => [a.state, a.fired_at])).toEqual([
      ['firing', isoMicros(sec(3))],
      ['firing', isoMicros(sec(3))],
    ]);
    expect(new Set(out.map((a) => a.id)).size).toBe(2);
    expect(out.map((a) => a.source)).toEqual(['probe-a', 'probe-b']);
    // The first keeps the id a replay of its source alone gives.
    const alone: AlertRecord[] = [];
    const one = new RuleEngine([rule({ name: 'busy', metric: 'calls', threshold: 1, window_ms: 10_000 })], (a) => alone.push(a));
    for (const at of [1, 2]) one.onCall(callAt({ at }));
    expect(out[0]!.id).toBe(alone[0]!.id);
  });
});
