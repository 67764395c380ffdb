/**
 * Label sets of the live aggregates and the cumulative instruments: one value per configured
 * dimension (src/metrics/dimensions.ts), a missing value being "", and a cap on how many distinct
 * sets are kept. Past the cap a new set is folded into the one set whose every label is
 * "__other__", and the fold is counted: a label taken from traffic (a model name, a client
 * address, a header value) must not be able to grow memory or a Prometheus scrape without bound.
 */
import type { LlmCallRecord } from '../core/record.js';
import { dimensionValue } from './dimensions.js';

export const OTHER = '__other__';

/**
 * Longest label value kept (longer values are cut and marked with "…"). Model names, hosts and
 * header attributes are far shorter; 128 characters bounds a series key and a scrape line.
 */
export const MAX_LABEL_CHARS = 128;

export type Labels = Record<string, string>;

export function callLabels(call: LlmCallRecord, dimensions: readonly string[]): Labels {
  const labels: Labels = {};
  for (const d of dimensions) labels[d] = clipLabel(dimensionValue(call, d) ?? '');
  return labels;
}

export function clipLabel(v: string): string {
  return v.length > MAX_LABEL_CHARS ? `${v.slice(0, MAX_LABEL_CHARS - 1)}…` : v;
}

/** Every dimension "__other__": where label sets beyond the cap are counted. */
export function otherLabels(dimensions: readonly string[]): Labels {
  return Object.fromEntries(dimensions.map((d) => [d, OTHER]));
}

/** A map key for a label set (JSON of the values in dimension order: unambiguous, any characters). */
export function labelKey(labels: Labels, dimensions: readonly string[]): string {
  return JSON.stringify(dimensions.map((d) => labels[d] ?? ''));
}

/**
 * Assigns label sets to series under a cap. `admit(labels)` answers the key a call's values go
 * to: its own when known or when there is room, else the overflow set's.
 */
export class SeriesCap {
  private readonly known = new Set<string>();
  readonly otherKey: string;
  readonly other: Labels;
  /** Records folded into "__other__" because the cap was reached. */
  folded = 0;

  constructor(
    readonly dimensions: readonly string[],
    readonly maxSeries: number,
  ) {
    this.other = otherLabels(dimensions);
    this.otherKey = labelKey(this.other, dimensions);
  }

  get size(): number {
    return this.known.size;
  }

  /** The key for `labels`, or `otherKey` when the cap is full (the overflow series does not count
   * against the cap: it is the one series that is always allowed). */
  admit(labels: Labels): { key: string; labels: Labels } {
    const key = labelKey(labels, this.dimensions);
    return this.admitKey(key) ? { key, labels } : { key: this.otherKey, labels: this.other };
  }

  /** True when `key` has (or now takes) a place under the cap; false (and counted) when folded. */
  admitKey(key: string): boolean {
    if (this.known.has(key)) return true;
    if (this.known.size < this.maxSeries) {
      this.known.add(key);
      return true;
    }
    this.folded++;
    return false;
  }

  /** A series that went away (its window emptied) frees its place. */
  release(key: string): void {
    this.known.delete(key);
  }
}
