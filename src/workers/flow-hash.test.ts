import { describe, expect, it } from 'vitest';
import { formatIpv6 } from '../capture/ip-address.js';
import { PacketDecoder } from '../capture/link.js';
import { AnomalyCounter } from '../core/anomalies.js';
import { LinkType, type TcpSegment } from '../capture/types.js';
import { ethernet, fragHeader, ipv4, ipv6, nullHeader, sll, sll2, splitFragments, tcp, text, v6addr } from '../capture/test-builders.test-support.js';
import { addressBytes, frameFlowHash, NOT_ROUTED, segmentFlowHash } from './flow-hash.js';

const A = [10, 0, 0, 1];
const B = [192, 168, 7, 20];
const A6 = v6addr('2001:db8::1');
const B6 = v6addr('fe80::1:2:3:4');
const payload = text('POST /v1/messages HTTP/1.1\r\n');

function v4(sport: number, dport: number, src = A, dst = B): Uint8Array {
  return ipv4({ src, dst }, tcp({ sport, dport, seq: 1, flags: 0x18, payload }));
}
function v6(sport: number, dport: number, src = A6, dst = B6): Uint8Array {
  return ipv6({ src, dst }, tcp({ sport, dport, seq: 1, flags: 0x18, payload }));
}
function hash(frame: Uint8Array, linkType: number): number {
  return frameFlowHash(frame, 0, frame.length, linkType);
}
/** What the full decoder makes of the frame, hashed as the dispatcher hashes a decoded segment. */
function decodedHash(frame: Uint8Array, linkType: number): number[] {
  const out: number[] = [];
  new PacketDecoder(new AnomalyCounter()).decode({ ts: 0, linkType, iface: 0, data: frame, origLen: frame.length }, (s: TcpSegment) => out.push(segmentFlowHash(s)));
  return out;
}

describe('frameFlowHash', () => {
  it('gives both directions of a connection the same value, IPv4 and IPv6, on every link type', () => {
    const cases: [Uint8Array, Uint8Array, number][] = [
      [ethernet(0x0800, v4(50123, 443)), ethernet(0x0800, v4(443, 50123, B, A)), LinkType.ETHERNET],
      [ethernet(0x86dd, v6(50123, 443)), ethernet(0x86dd, v6(443, 50123, B6, A6)), LinkType.ETHERNET],
      [ethernet(0x0800, v4(50123, 443), { tags: [[0x8100, 7], [0x8100, 9]] }), ethernet(0x0800, v4(443, 50123, B, A)), LinkType.ETHERNET],
      [sll(0x0800, v4(50123, 443)), sll(0x0800, v4(443, 50123, B, A)), LinkType.LINUX_SLL],
      [sll2(0x86dd, v6(50123, 443)), sll2(0x86dd, v6(443, 50123, B6, A6)), LinkType.LINUX_SLL2],
      [nullHeader(2, true, v4(50123, 443)), nullHeader(2, false, v4(443, 50123, B, A)), LinkType.NULL],
      [v4(50123, 443), v4(443, 50123, B, A), LinkType.RAW],
      [v6(50123, 443), v6(443, 50123, B6, A6), LinkType.IPV6],
    ];
    for (const [there, back, lt] of cases) {
      const h = hash(there, lt);
      expect(h).not.toBe(NOT_ROUTED);
      // Only the 5-tuple counts: the reverse direction may even come on another link type.
      expect(hash(back, lt === LinkType.ETHERNET ? LinkType.ETHERNET : lt)).toBe(h);
      // The main thread's full decode of the same frame lands on the same value.
      expect(decodedHash(there, lt)).toEqual([h]);
    }
  });

  it('tells connections apart by every member of the 5-tuple', () => {
    const base = hash(v4(50123, 443), LinkType.RAW);
    expect(hash(v4(50124, 443), LinkType.RAW)).not.toBe(base);
    expect(hash(v4(50123, 8443), LinkType.RAW)).not.toBe(base);
    expect(hash(v4(50123, 443, [10, 0, 0, 2]), LinkType.RAW)).not.toBe(base);
    expect(hash(v4(50123, 443, A, [192, 168, 7, 21]), LinkType.RAW)).not.toBe(base);
  });

  it('spreads one client’s connections to one server evenly over the workers', () => {
    for (const workers of [2, 3, 4, 8]) {
      const counts = new Array<number>(workers).fill(0);
      const n = 4000;
      for (let port = 40000; port < 40000 + n; port++) counts[hash(v4(port, 443), LinkType.RAW) % workers]!++;
      // Binomial spread: each share within 15% of n/workers (≈ 5 standard deviations at n = 4000).
      for (const c of counts) expect(Math.abs(c - n / workers)).toBeLessThan(0.15 * (n / workers));
    }
  });

  it('leaves to the full decoder what it does not read: fragments, non-TCP, extension headers, truncation', () => {
    const seg = tcp({ sport: 1, dport: 2, seq: 1, flags: 0x18, payload: new Uint8Array(64) });
    const [first] = splitFragments(seg, 32);
    expect(hash(ipv4({ src: A, dst: B, mf: true, id: 9 }, first!.data), LinkType.RAW)).toBe(NOT_ROUTED);
    expect(hash(ipv4({ src: A, dst: B, fragOffset: 32, id: 9 }, seg.subarray(32)), LinkType.RAW)).toBe(NOT_ROUTED);
    expect(hash(ipv4({ src: A, dst: B, proto: 17 }, new Uint8Array(28)), LinkType.RAW)).toBe(NOT_ROUTED);
    expect(hash(ipv6({ src: A6, dst: B6, next: 44 }, new Uint8Array([...fragHeader(6, 0, true, 1), ...seg])), LinkType.RAW)).toBe(NOT_ROUTED);
    const whole = v4(1, 2);
    expect(hash(whole.subarray(0, whole.length - 5), LinkType.RAW)).toBe(NOT_ROUTED); // snapped
    expect(hash(ethernet(0x0806, new Uint8Array(28)), LinkType.ETHERNET)).toBe(NOT_ROUTED); // ARP
    expect(hash(new Uint8Array(3), LinkType.ETHERNET)).toBe(NOT_ROUTED);
    expect(hash(whole, 147)).toBe(NOT_ROUTED); // a link type llmtap does not read
  });
});

describe('segmentFlowHash', () => {
  it('sends a reassembled datagram to the worker of its flow’s unfragmented packets', () => {
    const seg = tcp({ sport: 50123, dport: 443, seq: 1, flags: 0x18, payload: new Uint8Array(100).fill(7) });
    const frags = splitFragments(seg, 40);
    const decoder = new PacketDecoder(new AnomalyCounter());
    const got: number[] = [];
    for (const f of frags) {
      const frame = ipv4({ src: A, dst: B, id: 77, mf: f.more, fragOffset: f.offset }, f.data);
      decoder.decode({ ts: 0, linkType: LinkType.RAW, iface: 0, data: frame, origLen: frame.length }, (s) => got.push(segmentFlowHash(s)));
    }
    expect(frags.length).toBeGreaterThan(1);
    expect(got).toEqual([hash(v4(443, 50123, B, A), LinkType.RAW)]);
  });
});

describe('addressBytes', () => {
  it('reads back every address form the decoder writes (RFC 5952, IPv4-mapped)', () => {
    const out = new Uint8Array(16);
    const samples = ['::', '::1', '2001:db8::1', 'fe80::1:2:3:4', '2001:db8:0:0:1::', '1:2:3:4:5:6:7:8', '::ffff:192.0.2.1', '2001:0:0:1::2'];
    for (const s of samples) {
      const bytes = v6addr(s.startsWith('::ffff:') ? '::ffff:c000:201' : s);
      expect(addressBytes(formatIpv6(bytes, 0), out)).toBe(16);
      expect([...out]).toEqual([...bytes]);
    }
    expect(addressBytes('192.0.2.33', out)).toBe(4);
    expect([...out.subarray(0, 4)]).toEqual([192, 0, 2, 33]);
  });

  it('never throws on text the decoder would not write', () => {
    const out = new Uint8Array(16);
    for (const s of ['', 'x', '1:2:3:4:5:6:7:8:9', 'a::b::c', '1.2.3']) expect([4, 16]).toContain(addressBytes(s, out));
  });
});
