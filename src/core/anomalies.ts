/**
 * Named anomalies (DESIGN §1): parsers never throw on bad bytes; they count a name of the form
 * `<layer>_<condition>` (e.g. `tcp_gap`, `http_bad_chunk_size`) and take the safe choice.
 */
import { compareNames } from './name-order.js';

export class AnomalyCounter {
  private readonly counts = new Map<string, number>();

  add(name: string, n = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + n);
  }

  get(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  /** Sorted by count, largest first. */
  entries(): [string, number][] {
    return [...this.counts.entries()].sort((a, b) => b[1] - a[1] || compareNames(a[0], b[0]));
  }

  get total(): number {
    let t = 0;
    for (const v of this.counts.values()) t += v;
    return t;
  }
}

/** What a parser needs to report an anomaly; implemented by AnomalyCounter. */
export interface AnomalySink {
  add(name: string, n?: number): void;
}
