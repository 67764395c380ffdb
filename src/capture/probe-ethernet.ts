/**
 * A probe batch carries Ethernet frames only, so `llmtap probe` rewrites the link header of any
 * other capture into a synthesised 14-byte Ethernet II header (IEEE 802.3 §3.2.6: destination
 * MAC, source MAC, EtherType) followed by the frame's network-layer bytes, unchanged:
 *
 * - Linux SLL (`-i any` on older libpcap) and SLL2 (`-i any` on libpcap ≥ 1.10): the protocol
 *   field is an EtherType already; the link-layer address (the sender's MAC, when 6 bytes) becomes
 *   the source MAC, the destination is zero (SLL does not record it).
 *   https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html, …/LINKTYPE_LINUX_SLL2.html
 * - BSD NULL / LOOP: the address family becomes 0x0800 or 0x86DD.
 * - Raw IP (RAW, IPV4, IPV6): the version nibble decides the EtherType.
 * - Linux `lo` is Ethernet already (zero MACs) and passes through as it is.
 *
 * What cannot become Ethernet (netlink monitoring over SLL, an unknown family or link type) is
 * skipped and counted by the caller: the collector could not decode it either.
 */
import { u16be, u32be, u32le } from './bytes.js';
import { LinkType } from './types.js';

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
/** ARPHRD_NETLINK (Linux if_arp.h): netlink monitoring, no IP inside. */
const ARPHRD_NETLINK = 824;
/** BSD address families (tcpdump print-null.c). */
const AF_INET = 2;
const AF_INET6 = new Set([24, 28, 30]);

/** Where the network-layer bytes start and the header to put before them (null: the frame is
 * Ethernet already and goes as it is). */
export interface EthernetView {
  head: Uint8Array | null;
  start: number;
}

/**
 * Converts one frame, b[start..end) of `linkType`. Returns null when it cannot be carried (and
 * `why`, the anomaly name the caller counts). `head` is a scratch buffer reused per call: valid
 * until the next call.
 */
export class EthernetRewriter {
  private readonly head = new Uint8Array(14);
  why = '';

  toEthernet(linkType: number, b: Uint8Array, start: number, end: number): EthernetView | null {
    const len = end - start;
    switch (linkType) {
      case LinkType.ETHERNET:
        return { head: null, start };
      case LinkType.LINUX_SLL: {
        if (len < 16) return this.fail('probe_sll_truncated');
        if (u16be(b, start + 2) === ARPHRD_NETLINK) return this.fail('probe_not_ip');
        const addrLen = u16be(b, start + 4);
        return this.synth(u16be(b, start + 14), b, addrLen === 6 ? start + 6 : -1, start + 16);
      }
      case LinkType.LINUX_SLL2: {
        if (len < 20) return this.fail('probe_sll_truncated');
        if (u16be(b, start + 8) === ARPHRD_NETLINK) return this.fail('probe_not_ip');
        const addrLen = b[start + 11]!;
        return this.synth(u16be(b, start), b, addrLen === 6 ? start + 12 : -1, start + 20);
      }
      case LinkType.NULL:
      case LinkType.LOOP: {
        if (len < 4) return this.fail('probe_null_truncated');
        // NULL is in the capturing host's byte order; LOOP is network order (link.ts does the same).
        let af = linkType === LinkType.LOOP ? u32be(b, start) : u32le(b, start);
        if (af > 0xffff) af = u32be(b, start);
        const type = af === AF_INET ? ETH_IPV4 : AF_INET6.has(af) ? ETH_IPV6 : 0;
        if (type === 0) return this.fail('probe_not_ip');
        return this.synth(type, b, -1, start + 4);
      }
      case LinkType.RAW:
      case LinkType.IPV4:
      case LinkType.IPV6: {
        if (len < 1) return this.fail('probe_not_ip');
        const v = b[start]! >> 4;
        if (v !== 4 && v !== 6) return this.fail('probe_not_ip');
        return this.synth(v === 4 ? ETH_IPV4 : ETH_IPV6, b, -1, start);
      }
      default:
        return this.fail('probe_link_unsupported');
    }
  }

  private synth(etherType: number, b: Uint8Array, srcMacAt: number, start: number): EthernetView {
    const h = this.head;
    h.fill(0, 0, 12);
    if (srcMacAt >= 0) h.set(b.subarray(srcMacAt, srcMacAt + 6), 6);
    h[12] = etherType >>> 8;
    h[13] = etherType & 0xff;
    return { head: h, start };
  }

  private fail(why: string): null {
    this.why = why;
    return null;
  }
}
