/**
 * Mergeable quantile sketches (DESIGN §4: "p50/p95/p99 from mergeable sketches"): DDSketch
 * (Masson, Rim, Lee, "DDSketch: A Fast and Fully-Mergeable Quantile Sketch with Relative-Error
 * Guarantees", VLDB 2019), from @datadog/sketches-js.
 */
import { LogCollapsingLowestDenseDDSketch } from '@datadog/sketches-js';

/** 1 % relative accuracy: a reported p95 of 800 ms is within 792–808 ms of a true sample. */
export const RELATIVE_ACCURACY = 0.01;
/**
 * Bins per sketch, the package's default: with γ = 1.0202 (1 % accuracy) 2048 bins span a
 * ratio of γ^2048 ≈ 4e17 between the smallest and largest value kept exactly, so latencies
 * (0.001 ms … days) never collapse; the cap bounds memory whatever the input (≤ 2048 numbers).
 */
export const BIN_LIMIT = 2048;

export type Sketch = LogCollapsingLowestDenseDDSketch;

export interface Quantiles {
  p50: number;
  p95: number;
  p99: number;
}

export function newSketch(): Sketch {
  return new LogCollapsingLowestDenseDDSketch({ relativeAccuracy: RELATIVE_ACCURACY, binLimit: BIN_LIMIT });
}

/** A sample a sketch may take: finite and not negative (a negative latency is a capture-clock
 * artefact, not a measurement). */
export function isSample(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/** p50/p95/p99 of the merge of `sketches` (null when they hold no sample). */
export function mergedQuantiles(sketches: Iterable<Sketch | null>): Quantiles | null {
  let acc: Sketch | null = null;
  for (const s of sketches) {
    if (s === null || s.count === 0) continue;
    if (acc === null) acc = newSketch();
    acc.merge(s);
  }
  return acc === null ? null : quantilesOf(acc);
}

export function quantilesOf(s: Sketch): Quantiles | null {
  if (s.count === 0) return null;
  // DDSketch answers with a bin's representative value, which for one sample may sit up to 1 %
  // off it; clamp to the exact min/max the sketch also keeps, so p99 never exceeds the max.
  const q = (p: number): number => Math.min(s.max, Math.max(s.min, s.getValueAtQuantile(p)));
  return { p50: q(0.5), p95: q(0.95), p99: q(0.99) };
}
