/**
 * Link-layer decoding (LINKTYPE_* from https://www.tcpdump.org/linktypes.html) down to IP, then
 * ip.ts down to TCP. One PacketDecoder per packet source; it never throws on packet bytes.
 */
import type { AnomalySink } from '../core/anomalies.js';
import { CaptureError } from './capture-error.js';
import { u16be, u32be, u32le } from './bytes.js';
import { IpDecoder, newDecodeStats, type DecodeStats, type SegmentCallback } from './ip.js';
import type { Micros } from '../core/time.js';
import { LinkType, type CapturedFrame, type CapturedPacket } from './types.js';

export type { DecodeStats } from './ip.js';

const SUPPORTED = new Set<number>(Object.values(LinkType));

export function isSupportedLinkType(n: number): boolean {
  return SUPPORTED.has(n);
}

/** For the CLI, when a capture declares an interface: a link type we cannot decode is an error
 * the user should see at once, not a silent run with zero results. */
export function assertSupportedLinkType(n: number): void {
  if (!SUPPORTED.has(n)) throw new CaptureError(`unsupported link type ${n}`);
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100; // IEEE 802.1Q
const ETH_QINQ = 0x88a8; // IEEE 802.1ad service tag
const ETH_QINQ_OLD = 0x9100; // pre-standard QinQ, still common
const ETH_MPLS = 0x8847;
const ETH_MPLS_MC = 0x8848;
const ETH_PPPOE_SESSION = 0x8864; // RFC 2516

/** VLAN tags followed per frame: QinQ is two; beyond 8 the frame is malformed (bounds the loop). */
const MAX_VLAN_TAGS = 8;
/** MPLS labels followed: real stacks are 1–4 deep (RFC 3032 §2.1 sets no limit); 16 bounds the loop. */
const MAX_MPLS_LABELS = 16;

/** BSD address families in DLT_NULL / LOOP headers (tcpdump print-null.c). */
const AF_INET = 2;
const AF_INET6_BSD = 24; // NetBSD, OpenBSD
const AF_INET6_FREEBSD = 28;
const AF_INET6_DARWIN = 30;

/** ARPHRD_NETLINK (Linux if_arp.h): SLL frames of netlink monitoring carry no IP. */
const ARPHRD_NETLINK = 824;

export class PacketDecoder {
  readonly stats: DecodeStats = newDecodeStats();
  private readonly ip: IpDecoder;

  constructor(private readonly anomalies: AnomalySink) {
    this.ip = new IpDecoder(anomalies, this.stats);
  }

  decode(p: CapturedPacket, onSegment: SegmentCallback): void {
    this.decodeBytes(p.data, 0, p.data.length, p.ts, p.linkType, onSegment);
  }

  /** The same for a frame: its bytes are f.buf[f.start..f.end), no view made. */
  decodeFrame(f: CapturedFrame, onSegment: SegmentCallback): void {
    this.decodeBytes(f.buf, f.start, f.end, f.ts, f.linkType, onSegment);
  }

  /** The frame in b[s..end), captured at `ts` on a `linkType` interface. */
  private decodeBytes(b: Uint8Array, s: number, end: number, ts: Micros, linkType: number, onSegment: SegmentCallback): void {
    this.stats.packets++;
    this.ip.expire(ts);
    const len = end - s;
    switch (linkType) {
      case LinkType.ETHERNET:
        if (len < 14) return this.anomaly('eth_truncated');
        return this.ethertype(u16be(b, s + 12), b, s + 14, end, ts, onSegment);
      case LinkType.LINUX_SLL:
        // https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html: protocol at 14, 16-byte header.
        if (len < 16) return this.anomaly('sll_truncated');
        if (u16be(b, s + 2) === ARPHRD_NETLINK) return this.notIp();
        return this.ethertype(u16be(b, s + 14), b, s + 16, end, ts, onSegment);
      case LinkType.LINUX_SLL2:
        // https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html: protocol at 0, 20-byte header.
        if (len < 20) return this.anomaly('sll2_truncated');
        if (u16be(b, s + 8) === ARPHRD_NETLINK) return this.notIp();
        return this.ethertype(u16be(b, s), b, s + 20, end, ts, onSegment);
      case LinkType.NULL: {
        if (len < 4) return this.anomaly('null_truncated');
        // The family is in the capturing host's byte order, which the file does not record: a
        // family number is small, so upper bits set means the other order (as libpcap does).
        let af = u32le(b, s);
        if (af > 0xffff) af = u32be(b, s);
        return this.family(af, b, s + 4, end, ts, onSegment);
      }
      case LinkType.LOOP:
        if (len < 4) return this.anomaly('null_truncated');
        return this.family(u32be(b, s), b, s + 4, end, ts, onSegment);
      case LinkType.RAW:
        return this.byVersion(b, s, end, ts, onSegment, 'raw_bad_ip_version');
      case LinkType.IPV4:
        return this.ip.ipv4(b, s, end, ts, onSegment);
      case LinkType.IPV6:
        return this.ip.ipv6(b, s, end, ts, onSegment);
      default:
        return this.anomaly('link_unsupported');
    }
  }

  /** End of input: incomplete fragment reassemblies are counted. */
  flush(): void {
    this.ip.flush();
  }

  private ethertype(type: number, b: Uint8Array, o: number, end: number, ts: Micros, cb: SegmentCallback): void {
    for (let tags = 0; ; tags++) {
      switch (type) {
        case ETH_IPV4:
          return this.ip.ipv4(b, o, end, ts, cb);
        case ETH_IPV6:
          return this.ip.ipv6(b, o, end, ts, cb);
        case ETH_VLAN:
        case ETH_QINQ:
        case ETH_QINQ_OLD:
          // 802.1Q tag: 2 bytes TCI, then the inner EtherType.
          if (tags >= MAX_VLAN_TAGS) return this.anomaly('eth_too_many_vlan_tags');
          if (o + 4 > end) return this.anomaly('eth_truncated');
          type = u16be(b, o + 2);
          o += 4;
          continue;
        case ETH_MPLS:
        case ETH_MPLS_MC:
          return this.mpls(b, o, end, ts, cb);
        case ETH_PPPOE_SESSION: {
          // RFC 2516 §4: 6-byte PPPoE header, then the 2-byte PPP protocol (RFC 1661).
          if (o + 8 > end) return this.anomaly('pppoe_truncated');
          const proto = u16be(b, o + 6);
          if (proto === 0x0021) return this.ip.ipv4(b, o + 8, end, ts, cb);
          if (proto === 0x0057) return this.ip.ipv6(b, o + 8, end, ts, cb);
          return this.notIp();
        }
        default:
          // ARP, LLDP, 802.3 length fields (< 0x0600) with LLC, …
          return this.notIp();
      }
    }
  }

  /** RFC 3032 §2.1: 4-byte label stack entries until the bottom-of-stack bit; the payload type is
   * not signalled, so it is guessed from the IP version nibble (as routers and Wireshark do). */
  private mpls(b: Uint8Array, o: number, end: number, ts: Micros, cb: SegmentCallback): void {
    for (let n = 0; n < MAX_MPLS_LABELS; n++) {
      if (o + 4 > end) return this.anomaly('mpls_truncated');
      const bottom = (b[o + 2]! & 0x01) !== 0;
      o += 4;
      if (bottom) return this.byVersion(b, o, end, ts, cb, null);
    }
    this.anomaly('mpls_too_many_labels');
  }

  private family(af: number, b: Uint8Array, o: number, end: number, ts: Micros, cb: SegmentCallback): void {
    if (af === AF_INET) return this.ip.ipv4(b, o, end, ts, cb);
    if (af === AF_INET6_BSD || af === AF_INET6_FREEBSD || af === AF_INET6_DARWIN) return this.ip.ipv6(b, o, end, ts, cb);
    this.notIp();
  }

  private byVersion(b: Uint8Array, o: number, end: number, ts: Micros, cb: SegmentCallback, bad: string | null): void {
    if (o >= end) return this.anomaly('ip_truncated');
    const v = b[o]! >> 4;
    if (v === 4) return this.ip.ipv4(b, o, end, ts, cb);
    if (v === 6) return this.ip.ipv6(b, o, end, ts, cb);
    if (bad) return this.anomaly(bad);
    this.notIp(); // e.g. an MPLS pseudowire carrying Ethernet
  }

  private notIp(): void {
    this.stats.notIp++;
  }

  private anomaly(name: string): void {
    this.anomalies.add(name);
  }
}
