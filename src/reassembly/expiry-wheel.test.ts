import { describe, expect, it } from 'vitest';
import { ExpiryWheel } from './expiry-wheel.js';

interface Item {
  wheelSlot: number;
  name: string;
  deadline: number;
}

function item(name: string, deadline: number): Item {
  return { wheelSlot: -1, name, deadline };
}

describe('ExpiryWheel', () => {
  it('hands out due items oldest slot first, and re-filed items when their real deadline comes', () => {
    const w = new ExpiryWheel<Item>(10);
    const a = item('a', 15);
    const b = item('b', 35);
    const c = item('c', 25);
    for (const x of [a, b, c]) w.schedule(x, x.deadline);
    a.deadline = 55; // a saw traffic: its filed slot is stale
    const seen: string[] = [];
    const visited: string[] = [];
    // The FlowTable's visitor: expire what is due, re-file the rest.
    const visit = (x: Item): void => {
      visited.push(x.name);
      if (x.deadline > now) w.schedule(x, x.deadline);
      else seen.push(x.name);
    };
    let now = 40;
    w.sweep(now, visit);
    expect(visited).toEqual(['a', 'c', 'b']);
    expect(seen).toEqual(['c', 'b']); // a re-filed to 55
    seen.length = 0;
    now = 50; // slot 5 comes up, but a's deadline (55) is still ahead
    w.sweep(now, visit);
    expect(seen).toEqual([]);
    now = 60;
    w.sweep(now, visit);
    expect(seen).toEqual(['a']);
  });

  it('never files into a slot already swept', () => {
    const w = new ExpiryWheel<Item>(10);
    w.sweep(100, () => undefined);
    const late = item('late', 5);
    w.schedule(late, late.deadline);
    const seen: string[] = [];
    w.sweep(105, (x) => seen.push(x.name));
    expect(seen).toEqual([]);
    w.sweep(110, (x) => seen.push(x.name));
    expect(seen).toEqual(['late']);
  });

  it('takeOldest returns the earliest real deadline, skipping stale and re-filed entries', () => {
    const w = new ExpiryWheel<Item>(10);
    const items = [item('x', 12), item('y', 11), item('z', 30), item('v', 13)];
    for (const x of items) w.schedule(x, x.deadline);
    items[1]!.deadline = 40; // y moved on
    w.schedule(items[0]!, 12); // x filed twice: the older copy is stale
    const order: string[] = [];
    for (;;) {
      const x = w.takeOldest((i) => i.deadline);
      if (x === undefined) break;
      order.push(x.name);
    }
    expect(order).toEqual(['x', 'v', 'z', 'y']);
  });

  it('a jump far ahead visits only occupied slots', () => {
    const w = new ExpiryWheel<Item>(1);
    const a = item('a', 1e15);
    w.schedule(a, a.deadline);
    const seen: string[] = [];
    w.sweep(2e15, (x) => seen.push(x.name));
    expect(seen).toEqual(['a']);
  });
});
