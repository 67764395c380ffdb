import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import { FragmentReassembler, IPV4_DEFRAG_LIMITS, IPV6_DEFRAG_LIMITS } from './ipv4-defrag.js';
import { PacketDecoder } from './link.js';
import { concat, ethernet, fragHeader, ipv4, ipv6, permutations, splitFragments, tcp, text, v6addr } from './test-builders.test-support.js';
import { LinkType, TcpFlag } from './types.js';

const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const hex = (b: Uint8Array | null): string | null => (b ? Buffer.from(b).toString('hex') : null);

describe('FragmentReassembler', () => {
  const payload = bytes(100);
  const frags = splitFragments(payload, 24); // 0,24,48,72 (+ last of 4 bytes at 96)

  it('reassembles fragments in every order', () => {
    for (const order of permutations(frags)) {
      const a = new AnomalyCounter();
      const r = new FragmentReassembler('ipv4', a);
      const results = order.map((f) => r.add('k', 0, f.offset, f.more, f.data));
      // Only the last fragment to arrive completes the datagram.
      expect(results.slice(0, -1)).toEqual(order.slice(0, -1).map(() => null));
      expect(hex(results[results.length - 1]!)).toBe(hex(payload));
      expect(r.size).toBe(0);
      expect(a.total).toBe(0);
    }
  });

  it('accepts duplicates and overlaps that agree', () => {
    const a = new AnomalyCounter();
    const r = new FragmentReassembler('ipv4', a);
    expect(r.add('k', 0, 0, true, payload.subarray(0, 48))).toBeNull();
    expect(r.add('k', 0, 0, true, payload.subarray(0, 48))).toBeNull(); // exact duplicate
    expect(r.add('k', 0, 24, true, payload.subarray(24, 72))).toBeNull(); // overlap, same bytes
    expect(hex(r.add('k', 0, 72, false, payload.subarray(72)))).toBe(hex(payload));
    expect(a.total).toBe(0);
  });

  it('drops the datagram when overlapping fragments disagree (RFC 5722)', () => {
    const a = new AnomalyCounter();
    const r = new FragmentReassembler('ipv6', a);
    r.add('k', 0, 0, true, payload.subarray(0, 48));
    const evil = payload.slice(24, 72);
    evil[0] = evil[0]! ^ 0xff;
    expect(r.add('k', 0, 24, true, evil)).toBeNull();
    expect(r.add('k', 0, 72, false, payload.subarray(72))).toBeNull(); // starts again, incomplete
    expect(a.entries()).toEqual([['ipv6_fragment_overlap', 1]]);
  });

  it('times out in capture time, oldest first', () => {
    const a = new AnomalyCounter();
    const r = new FragmentReassembler('ipv4', a);
    r.add('old', 0, 0, true, payload.subarray(0, 24));
    r.add('new', 20_000_000, 0, true, payload.subarray(0, 24));
    r.expire(IPV4_DEFRAG_LIMITS.timeoutUs); // exactly at the limit: still in time
    expect(r.size).toBe(2);
    r.expire(IPV4_DEFRAG_LIMITS.timeoutUs + 1);
    expect(r.size).toBe(1);
    expect(a.entries()).toEqual([['ipv4_fragment_timeout', 1]]);
    // The late fragments of the expired datagram do not complete it.
    expect(r.add('old', 31_000_000, 24, false, payload.subarray(24, 40))).toBeNull();
    expect(IPV6_DEFRAG_LIMITS.timeoutUs).toBe(60_000_000);
  });

  it('caps concurrent datagrams and held bytes, evicting the oldest', () => {
    const a = new AnomalyCounter();
    const r = new FragmentReassembler('ipv4', a, { timeoutUs: 1e9, maxDatagrams: 3, maxBytes: 100, maxFragments: 4 });
    for (let i = 0; i < 5; i++) r.add(`d${i}`, i, 0, true, bytes(8));
    expect(r.size).toBe(3);
    expect(a.get('ipv4_fragment_evicted')).toBe(2);
    // 3 × 8 held; 80 more exceeds 100: the oldest other datagram goes, which is enough.
    r.add('d4', 9, 8, true, bytes(80));
    expect(r.size).toBe(2);
    expect(a.get('ipv4_fragment_evicted')).toBe(3);
    // Fragments per datagram.
    const b = new FragmentReassembler('ipv4', a, { timeoutUs: 1e9, maxDatagrams: 3, maxBytes: 1000, maxFragments: 2 });
    b.add('x', 0, 0, true, bytes(8));
    b.add('x', 0, 16, true, bytes(8));
    expect(b.add('x', 0, 32, true, bytes(8))).toBeNull();
    expect(a.get('ipv4_fragment_too_many')).toBe(1);
    expect(b.size).toBe(0);
  });

  it('a lone datagram growing past the byte cap through agreeing overlaps is dropped', () => {
    const a = new AnomalyCounter();
    const r = new FragmentReassembler('ipv4', a, { timeoutUs: 1e9, maxDatagrams: 3, maxBytes: 64, maxFragments: 100 });
    const data = bytes(200);
    expect(r.add('x', 0, 0, true, data.subarray(0, 40))).toBeNull();
    expect(r.add('x', 0, 8, true, data.subarray(8, 48))).toBeNull();
    expect(a.entries()).toEqual([['ipv4_fragment_memory_cap', 1]]);
    expect(r.size).toBe(0);
  });

  it('rejects inconsistent, oversized and misaligned fragments', () => {
    const a = new AnomalyCounter();
    const r = new FragmentReassembler('ipv4', a);
    r.add('k', 0, 16, false, bytes(16)); // the last fragment: the datagram is 32 bytes
    expect(r.add('k', 0, 32, true, bytes(8))).toBeNull(); // then data past its end
    expect(r.add('big', 0, 65528, false, bytes(16))).toBeNull();
    expect(r.add('odd', 0, 0, true, bytes(12))).toBeNull();
    expect(a.entries()).toEqual([
      ['ipv4_fragment_bad_length', 1],
      ['ipv4_fragment_inconsistent', 1],
      ['ipv4_fragment_too_large', 1],
    ]);
  });

  it('flush counts what never completed', () => {
    const a = new AnomalyCounter();
    const r = new FragmentReassembler('ipv6', a);
    r.add('k', 0, 0, true, bytes(8));
    r.flush();
    expect(a.entries()).toEqual([['ipv6_fragment_incomplete', 1]]);
  });

  it('random fragment streams never throw and only complete with the bytes given (property)', () => {
    const src = bytes(70_000, 3);
    const fragArb = fc.record({ key: fc.constantFrom('a', 'b'), off: fc.nat(40).map((n) => n * 8), more: fc.boolean(), len: fc.integer({ min: 0, max: 64 }) });
    fc.assert(
      fc.property(fc.array(fragArb, { maxLength: 30 }), (list) => {
        const r = new FragmentReassembler('ipv4', new AnomalyCounter(), { ...IPV4_DEFRAG_LIMITS, maxBytes: 200 });
        list.forEach((f, i) => {
          const whole = r.add(f.key, i, f.off, f.more, src.subarray(f.off, f.off + f.len));
          if (whole) expect(hex(whole)).toBe(hex(src.subarray(0, whole.length)));
        });
      }),
      { numRuns: 2000 },
    );
  });
});

describe('fragmented TCP through the decoder', () => {
  const payload = text('x'.repeat(50) + 'the body of a request split across IP fragments' + 'y'.repeat(30));
  const seg = tcp({ sport: 40000, dport: 8080, seq: 1, ack: 1, flags: TcpFlag.ACK, payload });

  function run(frames: Uint8Array[]) {
    const a = new AnomalyCounter();
    const d = new PacketDecoder(a);
    const got: string[] = [];
    frames.forEach((f, i) => d.decode({ ts: 1000 + i, linkType: LinkType.ETHERNET, iface: 0, data: f, origLen: f.length }, (s) => got.push(`${s.srcIp}>${s.dstIp} ${s.ts} ${Buffer.from(s.payload).toString()}`)));
    return { got, anomalies: a.entries(), stats: d.stats };
  }

  it('IPv4 fragments in every order yield one segment stamped with the completing packet', () => {
    const pieces = splitFragments(seg, 32);
    expect(pieces.length).toBe(5);
    for (const order of permutations(pieces)) {
      const frames = order.map((f) => ethernet(0x0800, ipv4({ src: [10, 1, 1, 1], dst: [10, 2, 2, 2], id: 777, mf: f.more, fragOffset: f.offset }, f.data), { pad: 4 }));
      const out = run(frames);
      expect(out.got).toEqual([`10.1.1.1>10.2.2.2 1004 ${Buffer.from(payload).toString()}`]);
      expect(out.anomalies).toEqual([]);
    }
  });

  it('IPv6 fragments in every order (the unfragmentable part stays outside)', () => {
    const src = v6addr('2001:db8::a');
    const dst = v6addr('2001:db8::b');
    const pieces = splitFragments(seg, 40);
    expect(pieces.length).toBe(4);
    for (const order of permutations(pieces)) {
      const frames = order.map((f) => ethernet(0x86dd, ipv6({ src, dst, next: 44 }, concat(fragHeader(6, f.offset, f.more, 0xdeadbeef), f.data))));
      const out = run(frames);
      expect(out.got).toEqual([`2001:db8::a>2001:db8::b 1003 ${Buffer.from(payload).toString()}`]);
      expect(out.stats.reassembled).toBe(1);
    }
  });

  it('fragments of two datagrams interleaved stay apart (keyed by id)', () => {
    const p1 = splitFragments(seg, 48);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < p1.length; i++) {
      for (const id of [1, 2]) {
        const f = p1[id === 1 ? i : p1.length - 1 - i]!;
        frames.push(ethernet(0x0800, ipv4({ src: [10, 1, 1, 1], dst: [10, 2, 2, 2], id, mf: f.more, fragOffset: f.offset }, f.data)));
      }
    }
    expect(run(frames).got).toHaveLength(2);
  });

  it('non-TCP fragments are not kept', () => {
    const f = splitFragments(new Uint8Array(64), 32)[0]!;
    const out = run([ethernet(0x0800, ipv4({ src: [1, 1, 1, 1], dst: [2, 2, 2, 2], proto: 17, mf: true }, f.data))]);
    expect(out.stats.notTcp).toBe(1);
    expect(out.stats.fragments).toBe(0);
  });

  it('a datagram left incomplete times out by capture time as later packets arrive', () => {
    const a = new AnomalyCounter();
    const d = new PacketDecoder(a);
    const first = splitFragments(seg, 32)[0]!;
    const frame = ethernet(0x0800, ipv4({ src: [1, 1, 1, 1], dst: [2, 2, 2, 2], id: 5, mf: true }, first.data));
    d.decode({ ts: 0, linkType: 1, iface: 0, data: frame, origLen: frame.length }, () => undefined);
    const later = ethernet(0x0806, new Uint8Array(28));
    d.decode({ ts: 31_000_000, linkType: 1, iface: 0, data: later, origLen: later.length }, () => undefined);
    expect(a.entries()).toEqual([['ipv4_fragment_timeout', 1]]);
  });
});
