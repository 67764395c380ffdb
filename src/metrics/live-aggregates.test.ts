import { describe, expect, it } from 'vitest';
import { LiveAggregates } from './live-aggregates.js';
import { isoMicros } from '../core/time.js';
import { callAt, sec } from './test-calls.test-support.js';

const CFG = { dimensions: ['provider', 'model', 'team'], windows_ms: [60_000, 300_000], max_series: 100 };

describe('LiveAggregates', () => {
  it('totals a window and groups it by any subset of the dimensions', () => {
    const live = new LiveAggregates(CFG);
    live.onCall(callAt({ at: 1, model: 'a', provider: 'openai', input: 10, attributes: { team: 'x' } }));
    live.onCall(callAt({ at: 2, model: 'a', provider: 'openai', input: 20, status: 429 }));
    live.onCall(callAt({ at: 3, model: 'b', provider: 'anthropic', input: 40, attributes: { team: 'x' } }));
    const all = live.snapshot(60_000);
    expect(all.total).toMatchObject({ calls: 3, input_tokens: 70, throttled: 1 });
    expect(all.series).toEqual([]);

    const byModel = live.snapshot(60_000, ['model']);
    expect(byModel.series.map((s) => [s.labels, s.stats.calls, s.stats.input_tokens])).toEqual([
      [{ model: 'a' }, 2, 30],
      [{ model: 'b' }, 1, 40],
    ]);
    // A call without the attribute has the label value "".
    const byTeam = live.snapshot(300_000, ['team']);
    expect(byTeam.series.map((s) => [s.labels.team, s.stats.calls])).toEqual([
      ['x', 2],
      ['', 1],
    ]);
  });

  it('each window slides on its own: after 2 minutes the 1 m window is empty, the 5 m one is not', () => {
    const live = new LiveAggregates(CFG);
    live.onCall(callAt({ at: 1, model: 'a' }));
    live.onTime(sec(122));
    expect(live.snapshot(60_000).total.calls).toBe(0);
    expect(live.snapshot(300_000).total.calls).toBe(1);
    expect(live.snapshot(300_000).now).toBe(isoMicros(sec(122)));
  });

  it('a series that went quiet does not count old calls when merged with a busy one', () => {
    const live = new LiveAggregates(CFG);
    live.onCall(callAt({ at: 1, model: 'quiet' }));
    for (let t = 100; t < 110; t++) live.onCall(callAt({ at: t, model: 'busy' }));
    // The quiet series saw nothing since 2 s; the 1 m window at ~110 s must not hold its call.
    expect(live.snapshot(60_000).total.calls).toBe(10);
    expect(live.snapshot(60_000, ['model']).series.map((s) => s.labels.model)).toEqual(['busy']);
  });

  it('folds label sets past max_series into one "__other__" series and counts the calls', () => {
    const live = new LiveAggregates({ ...CFG, max_series: 2 });
    for (const m of ['a', 'b', 'c', 'd', 'c']) live.onCall(callAt({ at: 1, model: m }));
    const s = live.snapshot(60_000, ['model']);
    expect(s.total.calls).toBe(5);
    expect(s.series.map((x) => [x.labels.model, x.stats.calls])).toEqual([
      ['__other__', 3],
      ['a', 1],
      ['b', 1],
    ]);
    expect(s.cardinality).toEqual({ series: 3, max_series: 2, folded_calls: 3 });
  });

  it('frees the place of a series with nothing left in its longest window', () => {
    const live = new LiveAggregates({ ...CFG, max_series: 1 });
    live.onCall(callAt({ at: 1, model: 'a' }));
    live.onTime(sec(1000)); // past 5 m: series a is empty and swept
    live.onCall(callAt({ at: 1000, model: 'b' }));
    expect(live.snapshot(60_000, ['model']).series.map((x) => x.labels.model)).toEqual(['b']);
    expect(live.snapshot(60_000).cardinality.folded_calls).toBe(0);
  });

  it('refuses a window or a dimension that is not configured', () => {
    const live = new LiveAggregates(CFG);
    expect(() => live.snapshot(120_000)).toThrow(RangeError);
    expect(() => live.snapshot(60_000, ['agent'])).toThrow(/not a metrics dimension/);
  });

  it('cuts label values taken from traffic to 128 characters', () => {
    const live = new LiveAggregates(CFG);
    live.onCall(callAt({ at: 1, model: 'm'.repeat(10_000) }));
    const label = live.snapshot(60_000, ['model']).series[0]!.labels.model!;
    expect(label.length).toBe(128);
    expect(label.endsWith('…')).toBe(true);
  });
});
