import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import { IpDecoder } from './ip.js';
import { ahHeader, concat, extHeader, fragHeader, ipv4, ipv6, tcp, text, v6addr } from './test-builders.test-support.js';
import { TcpFlag } from './types.js';

const body = text('{"model":"x"}');
const segment = tcp({ sport: 443, dport: 60000, seq: 1000, ack: 2000, flags: TcpFlag.ACK | TcpFlag.PSH, payload: body });
const S6 = v6addr('2001:db8:0:0:1::1');
const D6 = v6addr('2001:db8::2');

function run(version: 4 | 6, packet: Uint8Array, end = packet.length) {
  const anomalies = new AnomalyCounter();
  const ip = new IpDecoder(anomalies);
  const segs: { src: string; dst: string; payload: string; flags: number }[] = [];
  const cb = (s: { srcIp: string; dstIp: string; payload: Uint8Array; flags: number }): void => {
    segs.push({ src: s.srcIp, dst: s.dstIp, payload: Buffer.from(s.payload).toString(), flags: s.flags });
  };
  if (version === 4) ip.ipv4(packet, 0, end, 7, cb);
  else ip.ipv6(packet, 0, end, 7, cb);
  return { segs, anomalies: anomalies.entries(), stats: ip.stats };
}

describe('IPv4', () => {
  it('skips header options (IHL > 5)', () => {
    const opts = Uint8Array.of(0x94, 4, 0, 0, 1, 1, 1, 0); // router alert, NOP NOP NOP, EOL
    const out = run(4, ipv4({ src: [1, 1, 1, 1], dst: [2, 2, 2, 2], options: opts }, segment));
    expect(out.segs).toEqual([{ src: '1.1.1.1', dst: '2.2.2.2', payload: '{"model":"x"}', flags: 0x18 }]);
  });

  it('TCP options are skipped by the data offset', () => {
    const withOpts = tcp({ sport: 1, dport: 2, seq: 3, flags: TcpFlag.ACK, options: Uint8Array.of(1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2), payload: body });
    expect(run(4, ipv4({ src: [1, 1, 1, 1], dst: [2, 2, 2, 2] }, withOpts)).segs[0]!.payload).toBe('{"model":"x"}');
  });

  it('a zero total length (segmentation offload on the sender) takes the frame length', () => {
    const out = run(4, ipv4({ src: [1, 1, 1, 1], dst: [2, 2, 2, 2], totalLength: 0 }, segment));
    expect(out.segs[0]!.payload).toBe('{"model":"x"}');
    expect(out.anomalies).toEqual([['ipv4_zero_total_length', 1]]);
  });

  it('a packet cut by the snap length hands on the bytes it has', () => {
    const p = ipv4({ src: [1, 1, 1, 1], dst: [2, 2, 2, 2] }, segment);
    const out = run(4, p, p.length - 5);
    expect(out.segs[0]!.payload).toBe('{"model"');
    expect(out.anomalies).toEqual([['ipv4_truncated', 1]]);
  });

  it('payload views follow the array and offset they come from, reused array or not', () => {
    // Frames packed into shared arrays at odd offsets, as a capture read buffer holds them;
    // one array is rewritten in place between calls (the reader reuses its buffer).
    const a = ipv4({ src: [1, 1, 1, 1], dst: [2, 2, 2, 2] }, tcp({ sport: 1, dport: 2, seq: 1, flags: TcpFlag.ACK, payload: text('first') }));
    const b = ipv4({ src: [1, 1, 1, 1], dst: [2, 2, 2, 2] }, tcp({ sport: 1, dport: 2, seq: 6, flags: TcpFlag.ACK, payload: text('second!') }));
    const shared = new Uint8Array(4 + a.length + 3 + b.length);
    shared.set(a, 4);
    shared.set(b, 4 + a.length + 3);
    const other = new Uint8Array(200).subarray(9);
    other.set(b, 11);
    const ip = new IpDecoder(new AnomalyCounter());
    const seen: string[] = [];
    const cb = (s: { payload: Uint8Array }): void => void seen.push(Buffer.from(s.payload).toString());
    ip.ipv4(shared, 4, 4 + a.length, 1, cb);
    ip.ipv4(shared, 4 + a.length + 3, shared.length, 2, cb);
    ip.ipv4(other, 11, 11 + b.length, 3, cb);
    ip.ipv4(shared, 4, 4 + a.length, 4, cb);
    shared.set(b, 4);
    ip.ipv4(shared, 4, 4 + b.length, 5, cb);
    expect(seen).toEqual(['first', 'second!', 'second!', 'first', 'second!']);
  });

  it('UDP and ICMP are counted, not decoded', () => {
    const out = run(4, ipv4({ src: [1, 1, 1, 1], dst: [2, 2, 2, 2], proto: 17 }, new Uint8Array(8)));
    expect(out.segs).toEqual([]);
    expect(out.anomalies).toEqual([]);
    expect(out.stats.notTcp).toBe(1);
  });

  it('malformed headers are anomalies', () => {
    const good = ipv4({ src: [1, 1, 1, 1], dst: [2, 2, 2, 2] }, segment);
    const badIhl = good.slice();
    badIhl[0] = 0x44;
    const badLen = good.slice();
    badLen[2] = 0;
    badLen[3] = 10;
    const badTcp = good.slice();
    badTcp[20 + 12] = 0x40; // data offset 16 bytes
    const shortTcp = ipv4({ src: [1, 1, 1, 1], dst: [2, 2, 2, 2] }, new Uint8Array(12));
    expect(run(4, badIhl).anomalies).toEqual([['ipv4_bad_header_length', 1]]);
    expect(run(4, badLen).anomalies).toEqual([['ipv4_bad_total_length', 1]]);
    expect(run(4, badTcp).anomalies).toEqual([['tcp_bad_header_length', 1]]);
    expect(run(4, shortTcp).anomalies).toEqual([['tcp_truncated', 1]]);
    expect(run(4, good.subarray(0, 19)).anomalies).toEqual([['ipv4_truncated', 1]]);
    expect(run(4, Uint8Array.of(0x65, ...new Uint8Array(30))).anomalies).toEqual([['ipv4_bad_version', 1]]);
  });
});

describe('IPv6 extension headers', () => {
  const want = [{ src: '2001:db8::1:0:0:1', dst: '2001:db8::2', payload: '{"model":"x"}', flags: 0x18 }];

  it('hop-by-hop, routing, destination options, AH, then TCP', () => {
    const chain = concat(extHeader(43, new Uint8Array(6)), extHeader(60, new Uint8Array(14)), extHeader(51, new Uint8Array(4)), ahHeader(6), segment);
    const out = run(6, ipv6({ src: S6, dst: D6, next: 0 }, chain));
    expect(out.segs).toEqual(want);
    expect(out.anomalies).toEqual([]);
  });

  it('an atomic fragment (offset 0, M = 0) is a whole packet (RFC 6946)', () => {
    const out = run(6, ipv6({ src: S6, dst: D6, next: 44 }, concat(fragHeader(6, 0, false, 99), segment)));
    expect(out.segs).toEqual(want);
  });

  it('stops at ESP and at No Next Header', () => {
    for (const next of [50, 59]) {
      const out = run(6, ipv6({ src: S6, dst: D6, next }, new Uint8Array(40)));
      expect(out.segs).toEqual([]);
      expect(out.anomalies).toEqual([]);
      expect(out.stats.notTcp).toBe(1);
    }
  });

  it('an endless chain of extension headers stops at the cap', () => {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) parts.push(extHeader(60, new Uint8Array(6)));
    const out = run(6, ipv6({ src: S6, dst: D6, next: 60 }, concat(...parts)));
    expect(out.anomalies).toEqual([['ipv6_too_many_ext_headers', 1]]);
  });

  it('an extension header running past the packet is an anomaly', () => {
    const hdr = extHeader(6, new Uint8Array(6));
    hdr[1] = 10; // claims 88 bytes
    expect(run(6, ipv6({ src: S6, dst: D6, next: 0 }, concat(hdr, segment))).anomalies).toEqual([['ipv6_truncated', 1]]);
  });

  it('the payload length bounds the payload; a zero length (jumbo/offload) takes the frame', () => {
    const p = ipv6({ src: S6, dst: D6 }, segment);
    const padded = concat(p, new Uint8Array(10));
    expect(run(6, padded).segs[0]!.payload).toBe('{"model":"x"}');
    const zero = p.slice();
    zero[4] = 0;
    zero[5] = 0;
    expect(run(6, zero).segs[0]!.payload).toBe('{"model":"x"}');
  });
});
