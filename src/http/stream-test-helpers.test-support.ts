/**
 * Test helpers for the streaming body parsers (sse, ndjson, json-array): feed one input split at
 * every offset and one byte at a time, and check the results and their capture times. Not used by
 * production code.
 */
import { expect } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';

/** An incremental parser under test, wrapped to collect what it emits. */
export interface Harness<T extends { ts: Micros }> {
  push(chunk: Uint8Array, ts: Micros): void;
  end(ts: Micros): void;
  out: T[];
  anomalies: AnomalyCounter;
}

export type HarnessFactory<T extends { ts: Micros }> = () => Harness<T>;

export function run<T extends { ts: Micros }>(
  make: HarnessFactory<T>,
  pieces: readonly Uint8Array[],
  tsOf: (index: number) => Micros,
  endTs: Micros,
): Harness<T> {
  const h = make();
  pieces.forEach((p, k) => h.push(p, tsOf(k)));
  h.end(endTs);
  return h;
}

function withoutTs<T extends { ts: Micros }>(items: readonly T[]): Omit<T, 'ts'>[] {
  return items.map(({ ts: _ts, ...rest }) => rest);
}

/**
 * Feeds `input` whole, one byte at a time, and split in two at every offset, and expects:
 * - the same items and anomaly counts every time;
 * - the capture-time rule: an item carries the ts of the chunk holding the byte that completed it.
 *   One byte per chunk with ts = byte offset (and end ts = input length) tells which byte that is;
 *   split at k with ts 0 for [0,k) and 1 for [k,n), the item's ts must be 0 iff that byte < k
 *   (2 when the end of input completed it).
 * Returns the whole-input result.
 */
export function expectSplitInvariant<T extends { ts: Micros }>(make: HarnessFactory<T>, input: Uint8Array): Harness<T> {
  const n = input.length;
  const whole = run(make, [input], () => 0, 0);
  const bytes = Array.from({ length: n }, (_, k) => input.subarray(k, k + 1));
  const single = run(make, bytes, (k) => k, n);
  expect(withoutTs(single.out)).toEqual(withoutTs(whole.out));
  expect(single.anomalies.entries()).toEqual(whole.anomalies.entries());
  const completedAt = single.out.map((it) => it.ts);
  for (let k = 0; k <= n; k++) {
    const split = run(make, [input.subarray(0, k), input.subarray(k)], (i) => i, 2);
    expect(withoutTs(split.out), `split at ${k}`).toEqual(withoutTs(whole.out));
    expect(split.anomalies.entries(), `anomalies, split at ${k}`).toEqual(whole.anomalies.entries());
    const expectedTs = completedAt.map((at) => (at === n ? 2 : at < k ? 0 : 1));
    expect(
      split.out.map((it) => it.ts),
      `ts, split at ${k}`,
    ).toEqual(expectedTs);
  }
  return whole;
}

const enc = new TextEncoder();
export function bytes(s: string): Uint8Array {
  return enc.encode(s);
}
