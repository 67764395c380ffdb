import { describe, expect, it } from 'vitest';
import type { TcpSegment } from '../capture/types.js';
import { FlowKeyCache, flowKey, sourceIsLow } from './flow-key.js';

function seg(srcIp: string, srcPort: number, dstIp: string, dstPort: number): TcpSegment {
  return { ts: 0, srcIp, srcPort, dstIp, dstPort, seq: 0, ack: 0, flags: 0, payload: new Uint8Array(0) };
}

describe('flow keys', () => {
  it('map both directions to one key, with opposite sides', () => {
    for (const [a, b] of [
      [seg('10.0.0.1', 443, '10.0.0.2', 50000), seg('10.0.0.2', 50000, '10.0.0.1', 443)],
      [seg('::1', 8000, '::1', 41000), seg('::1', 41000, '::1', 8000)],
      [seg('fe80::1', 1, 'fe80::1:0', 1), seg('fe80::1:0', 1, 'fe80::1', 1)],
    ] as const) {
      expect(flowKey(a, sourceIsLow(a))).toBe(flowKey(b, sourceIsLow(b)));
      expect(sourceIsLow(a)).not.toBe(sourceIsLow(b));
    }
  });

  it('keeps different 4-tuples apart, even when fields could run together', () => {
    const keys = new Set(
      [seg('1.1.1.1', 12, '3.3.3.3', 4), seg('1.1.1.11', 2, '3.3.3.3', 4), seg('1.1.1.1', 12, '3.3.3.34', 4)].map((s) =>
        flowKey(s, sourceIsLow(s)),
      ),
    );
    expect(keys.size).toBe(3);
  });

  it('the cache gives the same key and side as computing afresh, in any sequence', () => {
    const cache = new FlowKeyCache();
    const segs = [
      seg('10.0.0.1', 443, '10.0.0.2', 50000),
      seg('10.0.0.1', 443, '10.0.0.2', 50000),
      seg('10.0.0.2', 50000, '10.0.0.1', 443),
      seg('10.0.0.2', 50001, '10.0.0.1', 443),
      seg('10.0.0.1', 443, '10.0.0.2', 50000),
      seg('10.0.0.1', 443, '10.0.0.2', 50001),
    ];
    for (const s of segs) {
      expect(cache.keyOf(s)).toBe(flowKey(s, sourceIsLow(s)));
      expect(cache.side).toBe(sourceIsLow(s) ? 0 : 1);
    }
  });
});
