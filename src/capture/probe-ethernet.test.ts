import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import { PacketDecoder } from './link.js';
import { EthernetRewriter } from './probe-ethernet.js';
import { ethernet, ipv4, ipv6, nullHeader, sll, sll2, tcp, text, v6addr } from './test-builders.test-support.js';
import { LinkType, TcpFlag } from './types.js';

const seg = tcp({ sport: 51000, dport: 11434, seq: 5, ack: 9, flags: TcpFlag.PSH | TcpFlag.ACK, payload: text('POST /api/chat HTTP/1.1\r\n') });
const ip4 = ipv4({ src: [10, 1, 2, 3], dst: [10, 4, 5, 6] }, seg);
const ip6 = ipv6({ src: v6addr('2001:db8::1'), dst: v6addr('2001:db8::2') }, seg);

/** What the collector's decoder makes of a frame: its TCP segments and anomalies. */
function decode(linkType: number, data: Uint8Array): string[] {
  const anomalies = new AnomalyCounter();
  const out: string[] = [];
  new PacketDecoder(anomalies).decode({ ts: 1, linkType, iface: 0, data, origLen: data.length }, (s) =>
    out.push(`${s.srcIp}:${s.srcPort}>${s.dstIp}:${s.dstPort} ${s.seq} ${Buffer.from(s.payload).toString('latin1')}`),
  );
  return [...out, ...anomalies.entries().map(([k]) => k)];
}

/** The frame as the probe ships it: synthesised header + the bytes after `start`. */
function rewrite(linkType: number, data: Uint8Array): Uint8Array | string {
  const r = new EthernetRewriter();
  // Inside a larger buffer: the rewriter must read only [start, end).
  const buf = new Uint8Array(data.length + 8).fill(0xaa);
  buf.set(data, 4);
  const v = r.toEthernet(linkType, buf, 4, 4 + data.length);
  if (v === null) return r.why;
  const body = buf.subarray(v.start, 4 + data.length);
  return v.head === null ? body.slice() : Uint8Array.from([...v.head, ...body]);
}

describe('probe Ethernet rewriting', () => {
  it.each([
    ['Linux SLL2 (-i any), IPv4', LinkType.LINUX_SLL2, sll2(0x0800, ip4)],
    ['Linux SLL2, IPv6', LinkType.LINUX_SLL2, sll2(0x86dd, ip6)],
    ['Linux SLL', LinkType.LINUX_SLL, sll(0x0800, ip4)],
    ['BSD loopback, little-endian family', LinkType.NULL, nullHeader(2, true, ip4)],
    ['OpenBSD LOOP, IPv6', LinkType.LOOP, nullHeader(24, false, ip6)],
    ['raw IPv4', LinkType.RAW, ip4],
    ['raw IPv6', LinkType.IPV6, ip6],
  ])('%s becomes an Ethernet frame the collector decodes to the same segment', (_name, linkType, frame) => {
    const eth = rewrite(linkType, frame);
    expect(eth).toBeInstanceOf(Uint8Array);
    const original = decode(linkType, frame);
    expect(original).toHaveLength(1);
    expect(decode(LinkType.ETHERNET, eth as Uint8Array)).toEqual(original);
  });

  it('keeps the SLL sender address as the source MAC', () => {
    const eth = rewrite(LinkType.LINUX_SLL2, sll2(0x0800, ip4)) as Uint8Array;
    expect([...eth.subarray(0, 14)]).toEqual([0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
  });

  it('passes Ethernet (Linux lo) through untouched', () => {
    const frame = ethernet(0x0800, ip4);
    expect(rewrite(LinkType.ETHERNET, frame)).toEqual(frame);
  });

  it.each([
    ['netlink monitoring over SLL2', LinkType.LINUX_SLL2, sll2(0x0800, ip4, 824), 'probe_not_ip'],
    ['a cut SLL2 header', LinkType.LINUX_SLL2, sll2(0x0800, ip4).subarray(0, 19), 'probe_sll_truncated'],
    ['an unknown BSD family', LinkType.NULL, nullHeader(99, true, ip4), 'probe_not_ip'],
    ['raw bytes that are not IP', LinkType.RAW, Uint8Array.from([0x20, 0]), 'probe_not_ip'],
    ['an unsupported link type', 147, ip4, 'probe_link_unsupported'],
  ])('skips %s and says why', (_name, linkType, frame, why) => {
    expect(rewrite(linkType, frame)).toBe(why);
  });
});
