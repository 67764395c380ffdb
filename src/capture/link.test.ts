import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import { tcpFrame } from '../../test/gen/frames.js';
import { CaptureError } from './capture-error.js';
import { assertSupportedLinkType, isSupportedLinkType, PacketDecoder } from './link.js';
import { ethernet, ipv4, ipv6, mplsStack, nullHeader, sll, sll2, tcp, text, v6addr, Bytes } from './test-builders.test-support.js';
import { LinkType, TcpFlag, type TcpSegment } from './types.js';

const payload = text('POST /v1/messages HTTP/1.1\r\n');
const seg4 = tcp({ sport: 50000, dport: 443, seq: 0xfffffff0, ack: 7, flags: TcpFlag.PSH | TcpFlag.ACK, payload });
const ip4 = ipv4({ src: [10, 0, 0, 1], dst: [192, 168, 1, 20] }, seg4);
const ip6 = ipv6({ src: v6addr('2001:db8::1'), dst: v6addr('fe80::a:0:0:1') }, seg4);

interface Out {
  segs: { ts: number; srcIp: string; dstIp: string; srcPort: number; dstPort: number; seq: number; ack: number; flags: number; payload: string }[];
  anomalies: [string, number][];
  decoder: PacketDecoder;
}

function decode(linkType: number, data: Uint8Array, ts = 42): Out {
  const anomalies = new AnomalyCounter();
  const decoder = new PacketDecoder(anomalies);
  const segs: Out['segs'] = [];
  decoder.decode({ ts, linkType, iface: 0, data, origLen: data.length }, (s: TcpSegment) =>
    segs.push({ ...s, payload: Buffer.from(s.payload).toString('latin1') }),
  );
  // The frame path (replay's) must agree, reading only buf[start..end): the frame sits inside a
  // larger buffer whose bytes around it would parse as more header or payload if read.
  const frameAnomalies = new AnomalyCounter();
  const frameSegs: Out['segs'] = [];
  const buf = new Uint8Array(data.length + 16).fill(0x45);
  buf.set(data, 7);
  new PacketDecoder(frameAnomalies).decodeFrame({ ts, linkType, iface: 0, buf, start: 7, end: 7 + data.length, origLen: data.length }, (s) =>
    frameSegs.push({ ...s, payload: Buffer.from(s.payload).toString('latin1') }),
  );
  expect(frameSegs).toEqual(segs);
  expect(frameAnomalies.entries()).toEqual(anomalies.entries());
  return { segs, anomalies: anomalies.entries(), decoder };
}

const want4 = { ts: 42, srcIp: '10.0.0.1', dstIp: '192.168.1.20', srcPort: 50000, dstPort: 443, seq: 0xfffffff0, ack: 7, flags: 0x18, payload: 'POST /v1/messages HTTP/1.1\r\n' };
const want6 = { ...want4, srcIp: '2001:db8::1', dstIp: 'fe80::a:0:0:1' };

describe('link types', () => {
  const cases: [string, number, Uint8Array, object][] = [
    ['Ethernet IPv4', LinkType.ETHERNET, ethernet(0x0800, ip4), want4],
    ['Ethernet IPv6', LinkType.ETHERNET, ethernet(0x86dd, ip6), want6],
    ['Ethernet 802.1Q VLAN', LinkType.ETHERNET, ethernet(0x0800, ip4, { tags: [[0x8100, 12]] }), want4],
    ['Ethernet QinQ 802.1ad + 802.1Q', LinkType.ETHERNET, ethernet(0x86dd, ip6, { tags: [[0x88a8, 100], [0x8100, 12]] }), want6],
    ['Ethernet QinQ 0x9100 stacked three deep', LinkType.ETHERNET, ethernet(0x0800, ip4, { tags: [[0x9100, 1], [0x9100, 2], [0x8100, 3]] }), want4],
    ['Ethernet MPLS one label, IPv4', LinkType.ETHERNET, ethernet(0x8847, mplsStack([16], ip4)), want4],
    ['Ethernet MPLS three labels, IPv6', LinkType.ETHERNET, ethernet(0x8847, mplsStack([16, 17, 18], ip6)), want6],
    ['Ethernet VLAN then multicast MPLS', LinkType.ETHERNET, ethernet(0x8848, mplsStack([99, 100], ip4), { tags: [[0x8100, 5]] }), want4],
    ['Ethernet PPPoE session', LinkType.ETHERNET, ethernet(0x8864, new Bytes(false).u8(0x11, 0).u16(1).u16(ip4.length + 2).u16(0x0021).raw(ip4).done()), want4],
    ['Linux SLL IPv4', LinkType.LINUX_SLL, sll(0x0800, ip4), want4],
    ['Linux SLL IPv6', LinkType.LINUX_SLL, sll(0x86dd, ip6), want6],
    ['Linux SLL2 IPv4', LinkType.LINUX_SLL2, sll2(0x0800, ip4), want4],
    ['Linux SLL2 IPv6 with a VLAN tag left in', LinkType.LINUX_SLL2, sll2(0x8100, new Bytes(false).u16(7).u16(0x86dd).raw(ip6).done()), want6],
    ['NULL AF_INET little-endian host', LinkType.NULL, nullHeader(2, true, ip4), want4],
    ['NULL AF_INET big-endian host', LinkType.NULL, nullHeader(2, false, ip4), want4],
    ['NULL AF_INET6 24 (NetBSD/OpenBSD)', LinkType.NULL, nullHeader(24, true, ip6), want6],
    ['NULL AF_INET6 28 (FreeBSD), big-endian', LinkType.NULL, nullHeader(28, false, ip6), want6],
    ['NULL AF_INET6 30 (macOS)', LinkType.NULL, nullHeader(30, true, ip6), want6],
    ['LOOP AF_INET (network order)', LinkType.LOOP, nullHeader(2, false, ip4), want4],
    ['LOOP AF_INET6 24', LinkType.LOOP, nullHeader(24, false, ip6), want6],
    ['RAW IPv4', LinkType.RAW, ip4, want4],
    ['RAW IPv6', LinkType.RAW, ip6, want6],
    ['IPV4', LinkType.IPV4, ip4, want4],
    ['IPV6', LinkType.IPV6, ip6, want6],
  ];
  for (const [name, lt, frame, want] of cases) {
    it(name, () => {
      const out = decode(lt, frame);
      expect(out.segs).toEqual([want]);
      expect(out.anomalies).toEqual([]);
      expect(out.decoder.stats.tcp).toBe(1);
    });
  }

  it('frames from the shared generator (checksummed) decode to what was written', () => {
    const spec = { srcIp: '2001:db8::5', dstIp: '2001:db8::6', srcPort: 1234, dstPort: 80, seq: 1, ack: 2, flags: TcpFlag.ACK, payload: text('hi') };
    const out = decode(LinkType.ETHERNET, tcpFrame(spec, { link: 'ethernet', vlan: 9 }));
    expect(out.segs.map((s) => [s.srcIp, s.dstIp, s.srcPort, s.dstPort, s.payload])).toEqual([['2001:db8::5', '2001:db8::6', 1234, 80, 'hi']]);
  });

  it('Ethernet padding after a short IP packet is not TCP payload', () => {
    const bare = ipv4({ src: [1, 2, 3, 4], dst: [5, 6, 7, 8] }, tcp({ sport: 1, dport: 2, seq: 3, flags: TcpFlag.ACK, payload: new Uint8Array(0) }));
    const out = decode(LinkType.ETHERNET, ethernet(0x0800, bare, { pad: 6 }));
    expect(out.segs).toHaveLength(1);
    expect(out.segs[0]!.payload).toBe('');
  });

  it('frames without IP are counted, not anomalies', () => {
    const arp = decode(LinkType.ETHERNET, ethernet(0x0806, new Uint8Array(28)));
    const llc = decode(LinkType.ETHERNET, ethernet(0x0026, new Uint8Array(38)));
    const netlink = decode(LinkType.LINUX_SLL, sll(0x0000, new Uint8Array(20), 824));
    const pw = decode(LinkType.ETHERNET, ethernet(0x8847, mplsStack([16], new Uint8Array(30))));
    const af = decode(LinkType.NULL, nullHeader(7, true, ip4));
    for (const o of [arp, llc, netlink, pw, af]) {
      expect(o.segs).toEqual([]);
      expect(o.anomalies).toEqual([]);
      expect(o.decoder.stats.notIp).toBe(1);
    }
  });

  it('an unsupported link type is counted by the decoder, an error for the CLI check', () => {
    expect(decode(127, ip4).anomalies).toEqual([['link_unsupported', 1]]);
    expect(() => assertSupportedLinkType(127)).toThrow(new CaptureError('unsupported link type 127'));
    for (const lt of Object.values(LinkType)) {
      expect(isSupportedLinkType(lt)).toBe(true);
      expect(() => assertSupportedLinkType(lt)).not.toThrow();
    }
  });

  it('truncated link headers are anomalies', () => {
    expect(decode(LinkType.ETHERNET, new Uint8Array(10)).anomalies).toEqual([['eth_truncated', 1]]);
    expect(decode(LinkType.LINUX_SLL, new Uint8Array(15)).anomalies).toEqual([['sll_truncated', 1]]);
    expect(decode(LinkType.LINUX_SLL2, new Uint8Array(19)).anomalies).toEqual([['sll2_truncated', 1]]);
    expect(decode(LinkType.NULL, new Uint8Array(3)).anomalies).toEqual([['null_truncated', 1]]);
    expect(decode(LinkType.ETHERNET, ethernet(0x8100, Uint8Array.of(0))).anomalies).toEqual([['eth_truncated', 1]]);
    expect(decode(LinkType.ETHERNET, ethernet(0x8847, Uint8Array.of(0, 1))).anomalies).toEqual([['mpls_truncated', 1]]);
    expect(decode(LinkType.RAW, Uint8Array.of(0x50)).anomalies).toEqual([['raw_bad_ip_version', 1]]);
  });

  it('a frame of endless VLAN tags or MPLS labels stops at the cap', () => {
    const tags: [number, number][] = Array.from({ length: 20 }, () => [0x8100, 1]);
    expect(decode(LinkType.ETHERNET, ethernet(0x0800, ip4, { tags })).anomalies).toEqual([['eth_too_many_vlan_tags', 1]]);
    const labels = new Bytes(false);
    for (let i = 0; i < 20; i++) labels.u32(16 << 12); // never bottom-of-stack
    expect(decode(LinkType.ETHERNET, ethernet(0x8847, labels.raw(ip4).done())).anomalies).toEqual([['mpls_too_many_labels', 1]]);
  });
});

describe('random bytes (property)', () => {
  const linkTypes = [...Object.values(LinkType), 127];
  it('the decoder never throws and every segment lies inside the frame', () => {
    fc.assert(
      fc.property(fc.constantFrom(...linkTypes), fc.uint8Array({ maxLength: 200 }), (lt, data) => {
        const decoder = new PacketDecoder(new AnomalyCounter());
        decoder.decode({ ts: 1, linkType: lt, iface: 0, data, origLen: data.length }, (s) => {
          expect(s.payload.length).toBeLessThanOrEqual(data.length);
          expect(s.srcPort).toBeLessThan(65536);
        });
      }),
      { numRuns: 5000 },
    );
  });

  it('a frame inside a larger buffer decodes as the same bytes on their own (decodeFrame reads only its range)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...linkTypes), fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (lt, data, before, after) => {
        const seen = (): { out: string[]; anomalies: AnomalyCounter; onSeg: (s: TcpSegment) => void } => {
          const out: string[] = [];
          return { out, anomalies: new AnomalyCounter(), onSeg: (s) => out.push(JSON.stringify({ ...s, payload: Buffer.from(s.payload).toString('hex') })) };
        };
        const alone = seen();
        new PacketDecoder(alone.anomalies).decode({ ts: 1, linkType: lt, iface: 0, data, origLen: data.length }, alone.onSeg);
        const inside = seen();
        const buf = new Uint8Array([...before, ...data, ...after]);
        new PacketDecoder(inside.anomalies).decodeFrame(
          { ts: 1, linkType: lt, iface: 0, buf, start: before.length, end: before.length + data.length, origLen: data.length },
          inside.onSeg,
        );
        expect(inside.out).toEqual(alone.out);
        expect(inside.anomalies.entries()).toEqual(alone.anomalies.entries());
      }),
      { numRuns: 3000 },
    );
  });

  it('hands one segment object, refilled per segment, and lets go of the payload after the call', () => {
    const decoder = new PacketDecoder(new AnomalyCounter());
    const objects = new Set<TcpSegment>();
    let last: TcpSegment | undefined;
    const ports: number[] = [];
    for (const sport of [1111, 2222]) {
      const frame = ethernet(0x0800, ipv4({ src: [10, 0, 0, 1], dst: [10, 0, 0, 2] }, tcp({ sport, dport: 443, seq: 1, flags: TcpFlag.ACK, payload })));
      decoder.decode({ ts: 1, linkType: LinkType.ETHERNET, iface: 0, data: frame, origLen: frame.length }, (s) => {
        objects.add(s);
        last = s;
        ports.push(s.srcPort);
        expect(s.payload.length).toBe(payload.length);
      });
    }
    expect(ports).toEqual([1111, 2222]);
    expect(objects.size).toBe(1);
    expect(last!.payload.length).toBe(0);
  });

  it('valid headers followed by random bytes never throw either', () => {
    const prefixes = [ethernet(0x0800, new Uint8Array(0)), ethernet(0x86dd, new Uint8Array(0)), sll2(0x8847, new Uint8Array(0)), Uint8Array.of(0x45), Uint8Array.of(0x60)];
    fc.assert(
      fc.property(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 200 }), (prefix, rest) => {
        const data = new Uint8Array(prefix.length + rest.length);
        data.set(prefix);
        data.set(rest, prefix.length);
        const lt = prefix.length === 1 ? LinkType.RAW : prefix.length === 20 ? LinkType.LINUX_SLL2 : LinkType.ETHERNET;
        new PacketDecoder(new AnomalyCounter()).decode({ ts: 1, linkType: lt, iface: 0, data, origLen: data.length }, () => undefined);
      }),
      { numRuns: 5000 },
    );
  });
});
