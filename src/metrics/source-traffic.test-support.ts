/**
 * Random traffic of several sources whose capture clocks differ, for the per-source clock tests
 * of the live windows and the alert rules (DESIGN §1: a watermark per source): each source's
 * calls (arriving when they end, a little out of order) and clock ticks, and a random
 * interleaving of the sources that keeps each source's own order.
 */
import type { LlmCallRecord } from '../core/record.js';
import type { Micros } from '../core/time.js';
import { callAt, sec } from './test-calls.test-support.js';

export type SourceEvent = { source: string; call: LlmCallRecord } | { source: string; tick: Micros };

/** The store's seeded mulberry32 (one copy of it for every test that needs one). */
export { rng as mulberry32 } from '../store/synthetic-records.js';

/**
 * One source's events from `base` seconds after T0: bursts and quiet gaps (longer than the
 * windows, so windows empty and rules clear), errors and throttles, two models, latencies; each
 * call arrives at its end plus up to 2 s (connections end in any order), with ticks between.
 */
export function sourceTraffic(source: string, base: number, rnd: () => number): SourceEvent[] {
  const timed: { arrive: number; e: SourceEvent }[] = [];
  let t = base;
  const n = 20 + Math.floor(rnd() * 60);
  for (let i = 0; i < n; i++) {
    const e2eMs = 200 + Math.floor(rnd() * 3000);
    const r = rnd();
    const call = callAt({
      at: t,
      e2eMs,
      ttftMs: rnd() < 0.7 ? Math.floor(rnd() * e2eMs) : null,
      status: r < 0.15 ? 500 : r < 0.25 ? 429 : 200,
      model: rnd() < 0.5 ? 'a' : 'b',
      input: Math.floor(rnd() * 1000),
      cost: rnd() < 0.8 ? Math.floor(rnd() * 1000) / 1e5 : null,
    });
    call.source = source;
    timed.push({ arrive: t + e2eMs / 1000 + rnd() * 2, e: { source, call } });
    t += [0.1, 0.5, 1, 3, 8, 20, 45, 90][Math.floor(rnd() * 8)]!;
    if (rnd() < 0.3) timed.push({ arrive: t, e: { source, tick: sec(t) } });
  }
  timed.sort((a, b) => a.arrive - b.arrive);
  return timed.map((x) => x.e);
}

/** A random interleaving of the sources' event lists, each kept in its own order. */
export function interleave<E>(lists: E[][], rnd: () => number): E[] {
  const at = lists.map(() => 0);
  const out: E[] = [];
  for (;;) {
    const open = lists.flatMap((l, i) => (at[i]! < l.length ? [i] : []));
    if (open.length === 0) return out;
    const i = open[Math.floor(rnd() * open.length)]!;
    out.push(lists[i]![at[i]!++]!);
  }
}
