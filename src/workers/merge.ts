/**
 * Puts the workers' emissions back into the order one pipeline would have made them (calls feed
 * the turn tracker, whose results depend on order; JSONL is written in this order).
 *
 * Every emission carries an OrderKey (messages.ts). Each worker's emissions arrive in key order,
 * and each reply says "done through frame k": nothing with f ≤ k will come from that worker any
 * more. So everything with f ≤ the smallest watermark across workers is final, and a k-way merge
 * by key releases it. Equal keys come from one worker (a frame is processed by one worker only;
 * expiry and end-of-input keys name the connection, which lives on one worker) except for
 * emissions that name no connection, which keep worker order.
 *
 * Boundaries: a callback at frame k runs after every emission with f ≤ k and before any with
 * f > k: what the single pipeline did between reads (the turn tracker's clock moves to the last
 * packet read) happens at the same point of the record stream.
 */
import type { Emission, OrderKey } from './messages.js';

export function compareKeys(x: OrderKey, y: OrderKey): number {
  return x.f - y.f || x.p - y.p || x.a - y.a || x.b - y.b;
}

export class OrderedMerge {
  private readonly queues: Emission[][];
  private readonly heads: number[];
  private readonly marks: number[];
  private waiting = 0;
  private readonly boundaries: { f: number; fire: () => void }[] = [];

  constructor(
    workers: number,
    private readonly release: (e: Emission) => void,
  ) {
    this.queues = Array.from({ length: workers }, () => []);
    this.heads = new Array<number>(workers).fill(0);
    this.marks = new Array<number>(workers).fill(-1);
  }

  /** Emissions held back until the other workers catch up (memory: bounded by the in-flight rounds). */
  get pending(): number {
    return this.waiting;
  }

  /** A worker's reply: its next emissions (in key order) and its new watermark. */
  add(worker: number, emissions: Emission[], through: number): void {
    const q = this.queues[worker]!;
    for (const e of emissions) q.push(e);
    this.waiting += emissions.length;
    if (through > this.marks[worker]!) this.marks[worker] = through;
    this.drain();
  }

  /** Runs `fire` once every emission up to frame `f` is released (boundaries come in frame order). */
  addBoundary(f: number, fire: () => void): void {
    this.boundaries.push({ f, fire });
    this.drain();
  }

  private drain(): void {
    let low = Infinity;
    for (const m of this.marks) if (m < low) low = m;
    const n = this.queues.length;
    for (;;) {
      let best = -1;
      let bestKey: Emission | undefined;
      for (let w = 0; w < n; w++) {
        const e = this.queues[w]![this.heads[w]!];
        if (e === undefined || e.f > low) continue;
        if (bestKey === undefined || compareKeys(e, bestKey) < 0) {
          best = w;
          bestKey = e;
        }
      }
      const boundary = this.boundaries[0];
      if (boundary !== undefined && boundary.f <= low && (bestKey === undefined || bestKey.f > boundary.f)) {
        this.boundaries.shift();
        boundary.fire();
        continue;
      }
      if (bestKey === undefined) break;
      this.heads[best]!++;
      this.waiting--;
      this.compact(best);
      this.release(bestKey);
    }
  }

  /** Drops released entries from the front of a queue now and then (amortised O(1)). */
  private compact(w: number): void {
    const q = this.queues[w]!;
    const h = this.heads[w]!;
    if (h === q.length) {
      q.length = 0;
      this.heads[w] = 0;
    } else if (h > 1024 && h * 2 > q.length) {
      q.splice(0, h);
      this.heads[w] = 0;
    }
  }
}
