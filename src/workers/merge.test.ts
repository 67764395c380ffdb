import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareKeys, OrderedMerge } from './merge.js';
import type { Emission, OrderKey } from './messages.js';

function em(f: number, p = 0, a = 0, b = 0, local = `${f}.${p}.${a}.${b}`): Emission {
  return { f, p, a, b, kind: 'closed', local };
}
const names = (es: Emission[]): string[] => es.map((e) => (e.kind === 'closed' ? e.local : e.kind));

describe('OrderedMerge', () => {
  it('holds records back until every worker is past their frame, then releases them in frame order', () => {
    const out: Emission[] = [];
    const m = new OrderedMerge(2, (e) => out.push(e));
    m.add(0, [em(1, 0, 0, 0, 'w0-f1'), em(4, 0, 0, 0, 'w0-f4')], 4);
    // Worker 1 has not reported: nothing can be final yet.
    expect(out).toEqual([]);
    expect(m.pending).toBe(2);
    m.add(1, [em(2, 0, 0, 0, 'w1-f2')], 2);
    expect(names(out)).toEqual(['w0-f1', 'w1-f2']);
    m.add(1, [em(3, 1, 5, 0, 'w1-expire-after-3'), em(5, 0, 0, 0, 'w1-f5')], 6);
    expect(names(out)).toEqual(['w0-f1', 'w1-f2', 'w1-expire-after-3', 'w0-f4']);
    m.add(0, [], 6);
    expect(names(out)).toEqual(['w0-f1', 'w1-f2', 'w1-expire-after-3', 'w0-f4', 'w1-f5']);
    expect(m.pending).toBe(0);
  });

  it('orders expiry and end-of-input records across workers by connection, after the frame’s own', () => {
    const out: Emission[] = [];
    const m = new OrderedMerge(2, (e) => out.push(e));
    m.add(0, [em(10, 0, 0, 0, 'frame-10'), em(10, 1, 3, 0, 'expire-c3'), em(Number.MAX_SAFE_INTEGER, 2, 0, 2, 'eof-src0-c2')], Infinity);
    m.add(1, [em(10, 1, 1, 0, 'expire-c1'), em(Number.MAX_SAFE_INTEGER, 2, 0, 1, 'eof-src0-c1'), em(Number.MAX_SAFE_INTEGER, 2, 1, 0, 'eof-src1')], Infinity);
    expect(names(out)).toEqual(['frame-10', 'expire-c1', 'expire-c3', 'eof-src0-c1', 'eof-src0-c2', 'eof-src1']);
  });

  it('runs a boundary after every record up to its frame and before any later one', () => {
    const out: string[] = [];
    const m = new OrderedMerge(2, (e) => out.push(names([e])[0]!));
    m.add(0, [em(1), em(3)], 3);
    m.addBoundary(2, () => out.push('read-end@2'));
    expect(out).toEqual([]); // worker 1 may still have frame 2's records
    m.add(1, [em(2)], 2);
    expect(out).toEqual(['1.0.0.0', '2.0.0.0', 'read-end@2']);
    m.add(1, [], 3);
    expect(out).toEqual(['1.0.0.0', '2.0.0.0', 'read-end@2', '3.0.0.0']);
    // A boundary at a frame already released runs at once.
    m.addBoundary(3, () => out.push('read-end@3'));
    expect(out.at(-1)).toBe('read-end@3');
  });

  it('releases exactly the sorted order however the emissions are split among workers and replies', () => {
    const keyArb = fc.record({ f: fc.integer({ min: 1, max: 40 }), p: fc.integer({ min: 0, max: 2 }), a: fc.integer({ min: 0, max: 5 }) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(keyArb, { maxLength: 60 }), fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 10 }), (workers, keys, cuts) => {
        // Each key lives on one worker (as a connection does); each worker reports in key order.
        const unique = [...new Map(keys.map((k) => [`${k.f}.${k.p}.${k.a}`, k])).values()];
        const per: Emission[][] = Array.from({ length: workers }, () => []);
        unique.forEach((k, i) => per[i % workers]!.push(em(k.f, k.p, k.a)));
        for (const q of per) q.sort(compareKeys);
        const out: Emission[] = [];
        const m = new OrderedMerge(workers, (e) => out.push(e));
        const marks = [...new Set(cuts)].sort((x, y) => x - y);
        for (const mark of [...marks, Infinity]) {
          for (let w = 0; w < workers; w++) {
            const q = per[w]!;
            let n = 0;
            while (n < q.length && q[n]!.f <= mark) n++;
            m.add(w, q.splice(0, n), mark);
          }
        }
        const expected = unique.map((k) => em(k.f, k.p, k.a)).sort(compareKeys);
        expect(out.map((e: OrderKey) => [e.f, e.p, e.a])).toEqual(expected.map((e) => [e.f, e.p, e.a]));
      }),
    );
  });
});
