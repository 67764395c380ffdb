/**
 * Deadlines bucketed by slot (a hashed timing wheel, Varghese & Lauck 1987) so idle expiry costs
 * nothing per packet: a packet only bumps its connection's `lastSeen`; entries are re-filed lazily
 * when their slot comes up and the real deadline turns out later. Each item sits in at most one
 * live slot (`wheelSlot`); older copies left in other slots are recognised and skipped.
 */
import type { Micros } from '../core/time.js';

export interface WheelEntry {
  /** Slot the item is filed in, or -1 when it is not scheduled. Owned by the wheel. */
  wheelSlot: number;
}

export class ExpiryWheel<T extends WheelEntry> {
  private slots = new Map<number, T[]>();
  /** Every slot up to this one has been processed. */
  private swept = -Infinity;

  constructor(private readonly slotUs: Micros) {}

  schedule(item: T, deadline: Micros): void {
    let slot = Math.floor(deadline / this.slotUs);
    if (!(slot > this.swept)) slot = this.swept + 1; // also catches NaN
    item.wheelSlot = slot;
    const list = this.slots.get(slot);
    if (list === undefined) this.slots.set(slot, [item]);
    else list.push(item);
  }

  /**
   * Hand every item whose slot has come up (slot ≤ now) to `visit`, oldest slot first. The item is
   * unscheduled before the call; `visit` re-schedules it if its real deadline is still ahead.
   */
  sweep(now: Micros, visit: (item: T) => void): void {
    const nowSlot = Math.floor(now / this.slotUs);
    if (!(nowSlot > this.swept)) return;
    if (nowSlot - this.swept <= this.slots.size * 4 + 64) {
      for (let s = this.swept + 1; s <= nowSlot; s++) this.processSlot(s, visit);
    } else {
      // A long jump in capture time (or the first sweep): walk the occupied slots, not every second.
      const due: number[] = [];
      for (const k of this.slots.keys()) if (k <= nowSlot) due.push(k);
      due.sort((a, b) => a - b);
      for (const k of due) this.processSlot(k, visit);
    }
    this.swept = nowSlot;
  }

  /**
   * Remove and return the item with the earliest real deadline (`deadlineOf` gives it; items whose
   * slot was stale are re-filed on the way), or undefined when nothing is scheduled.
   */
  takeOldest(deadlineOf: (item: T) => Micros): T | undefined {
    while (this.slots.size > 0) {
      let min = Infinity;
      for (const k of this.slots.keys()) if (k < min) min = k;
      const list = this.slots.get(min)!;
      // Compact the slot: drop stale copies, re-file items whose deadline moved on, find the oldest.
      let kept = 0;
      let best = -1;
      let bestDeadline = Infinity;
      for (let r = 0; r < list.length; r++) {
        const item = list[r]!;
        if (item.wheelSlot !== min) continue;
        const deadline = deadlineOf(item);
        if (Math.floor(deadline / this.slotUs) > min) {
          this.schedule(item, deadline); // lands in a later slot, never this one
          continue;
        }
        list[kept] = item;
        if (deadline < bestDeadline) {
          bestDeadline = deadline;
          best = kept;
        }
        kept++;
      }
      list.length = kept;
      if (best >= 0) {
        const item = list[best]!;
        list[best] = list[kept - 1]!;
        list.length = kept - 1;
        if (list.length === 0) this.slots.delete(min);
        item.wheelSlot = -1;
        return item;
      }
      this.slots.delete(min);
    }
    return undefined;
  }

  clear(): void {
    this.slots = new Map();
  }

  private processSlot(slot: number, visit: (item: T) => void): void {
    const list = this.slots.get(slot);
    this.swept = slot; // re-schedules from `visit` land in later slots
    if (list === undefined) return;
    this.slots.delete(slot);
    for (const item of list) {
      if (item.wheelSlot !== slot) continue;
      item.wheelSlot = -1;
      visit(item);
    }
  }
}
