/**
 * The live windows' clock per source (DESIGN §1): two sources whose capture clocks are an hour
 * apart, fed to one LiveAggregates in any interleaving, each read at any moment as the windows
 * of that source alone read then; the total is their sum.
 */
import { describe, expect, it } from 'vitest';
import { LiveAggregates } from './live-aggregates.js';
import { interleave, mulberry32, sourceTraffic, type SourceEvent } from './source-traffic.test-support.js';
import { callAt, sec } from './test-calls.test-support.js';

const CFG = { dimensions: ['source', 'model'], windows_ms: [10_000, 60_000, 300_000], max_series: 1000 };
const ALONE = { ...CFG, dimensions: ['model'] };

function feed(live: LiveAggregates, e: SourceEvent, bySource: boolean): void {
  if ('call' in e) live.onCall(e.call);
  else if (bySource) live.onTime(e.tick, e.source);
  else live.onTime(e.tick);
}

describe('LiveAggregates: a clock per source', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('two sources an hour apart read as each alone (seed %i)', (seed) => {
    const rnd = mulberry32(seed);
    const lists = [sourceTraffic('early', 0, rnd), sourceTraffic('late', 3600, rnd)];
    const together = new LiveAggregates(CFG);
    const alone = new Map([
      ['early', new LiveAggregates(ALONE)],
      ['late', new LiveAggregates(ALONE)],
    ]);
    let checks = 0;
    let seen = 0;
    for (const e of interleave(lists, rnd)) {
      feed(together, e, true);
      // Alone, a source's ticks carry no source (one-source commands tick every clock).
      feed(alone.get(e.source)!, e, false);
      if (rnd() > 0.15) continue;
      for (const ms of CFG.windows_ms) {
        const bySource = together.snapshot(ms, ['source']).series;
        let calls = 0;
        for (const [source, a] of alone) {
          const want = a.snapshot(ms).total;
          calls += want.calls;
          seen += want.calls;
          const got = bySource.find((s) => s.labels.source === source)?.stats;
          if (want.calls === 0) expect(got, source).toBeUndefined();
          else expect(got, `${source} ${ms} ms`).toEqual(want);
          // By model within the source, too.
          const mine = together.snapshot(ms, ['source', 'model']).series.filter((s) => s.labels.source === source);
          expect(mine.map((s) => [s.labels.model, s.stats])).toEqual(a.snapshot(ms, ['model']).series.map((s) => [s.labels.model, s.stats]));
        }
        expect(together.snapshot(ms).total.calls).toBe(calls);
        checks++;
      }
    }
    expect(checks).toBeGreaterThan(10);
    // Not vacuous: the windows held calls when read.
    expect(seen).toBeGreaterThan(20);
  });

  it('past the cap on clocks, sources share the newest clock, and each of their calls is counted', () => {
    let capped = 0;
    const live = new LiveAggregates(CFG, { maxSources: 1, onSourceCapped: () => capped++ });
    const own = callAt({ at: 3600 });
    own.source = 'first';
    live.onCall(own);
    const other = callAt({ at: 3599 });
    other.source = 'second';
    live.onCall(other);
    // The shared clock is the newest (3601 s): the call ending at 3600 s is inside its 10 s window.
    expect(live.snapshot(10_000, ['source']).series.map((s) => [s.labels.source, s.stats.calls])).toEqual([
      ['first', 1],
      ['second', 1],
    ]);
    expect(capped).toBe(1);
    // Ticks of the first source move the shared clock with it.
    live.onTime(sec(3700), 'first');
    expect(live.snapshot(10_000).total.calls).toBe(0);
    expect(live.snapshot(300_000).total.calls).toBe(2);
  });

  it('max_series caps the series of all sources together, folding the rest into each source\'s "__other__"', () => {
    const live = new LiveAggregates({ ...CFG, dimensions: ['model'], max_series: 2 });
    for (const [source, model] of [['x', 'a'], ['y', 'a'], ['y', 'b'], ['x', 'c']] as const) {
      const c = callAt({ at: 1, model });
      c.source = source;
      live.onCall(c);
    }
    const s = live.snapshot(60_000, ['model']);
    expect(s.series.map((x) => [x.labels.model, x.stats.calls])).toEqual([
      ['__other__', 2],
      ['a', 2],
    ]);
    expect(s.cardinality).toEqual({ series: 4, max_series: 2, folded_calls: 2 });
  });
});
