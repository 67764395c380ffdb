/**
 * The dispatcher's flow key (DESIGN §1: "the dispatcher hashes the symmetric 5-tuple … so all
 * per-connection state is local"): a 32-bit hash of (address, port) of both endpoints that is the
 * same for both directions, read straight from the frame's bytes.
 *
 * Only the common shapes are read here (Ethernet with VLAN tags, Linux SLL/SLL2, BSD loopback,
 * raw IP; an unfragmented IPv4 or IPv6 packet whose next header is TCP, lengths consistent). For
 * anything else `frameFlowHash` says NOT_ROUTED and the dispatcher decodes the frame in full on the
 * main thread (src/capture/link.ts, the same decoder the workers run): MPLS, PPPoE, IPv6 extension
 * headers, truncated or inconsistent headers, non-TCP traffic, and IP fragments, which are
 * reassembled there so that every segment of a flow reaches its flow's worker (a non-first fragment
 * carries no ports). What the main decoder yields is hashed with `segmentFlowHash`, which gives
 * the same value as `frameFlowHash` for the same endpoints.
 */
import { u16be, u32be, u32le } from '../capture/bytes.js';
import { LinkType, type TcpSegment } from '../capture/types.js';

/** The frame is not one the fast path reads: decode it in full on the main thread. */
export const NOT_ROUTED = -1;

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
/** 802.1Q, 802.1ad and pre-standard QinQ tags, as link.ts follows them. */
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_QINQ_OLD = 0x9100;
/** link.ts's bound on stacked VLAN tags; beyond it the frame goes the slow way (and is counted there). */
const MAX_VLAN_TAGS = 8;
/** ARPHRD_NETLINK (Linux if_arp.h): SLL frames that carry no IP. */
const ARPHRD_NETLINK = 824;
const AF_INET = 2;
const AF_INET6_BSD = 24;
const AF_INET6_FREEBSD = 28;
const AF_INET6_DARWIN = 30;
const PROTO_TCP = 6;
/** RFC 9293 §3.1: a TCP header is at least 20 bytes. */
const TCP_MIN = 20;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over an endpoint: address bytes b[o..o+n) then the port's two bytes. */
function endpointHash(b: Uint8Array, o: number, n: number, port: number): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ b[o + i]!, FNV_PRIME);
  h = Math.imul(h ^ (port >>> 8), FNV_PRIME);
  h = Math.imul(h ^ (port & 0xff), FNV_PRIME);
  return h >>> 0;
}

/** Order-independent combination of two endpoint hashes, then murmur3's fmix32 so that the low
 * bits (the worker index is hash % N) depend on every input bit. */
export function combineEndpoints(a: number, b: number): number {
  const lo = a < b ? a : b;
  const hi = a < b ? b : a;
  let h = (lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The flow hash of the frame in b[s..end) on a `linkType` interface, or NOT_ROUTED. */
export function frameFlowHash(b: Uint8Array, s: number, end: number, linkType: number): number {
  const len = end - s;
  switch (linkType) {
    case LinkType.ETHERNET:
      return len < 14 ? NOT_ROUTED : ethertype(u16be(b, s + 12), b, s + 14, end);
    case LinkType.LINUX_SLL:
      if (len < 16 || u16be(b, s + 2) === ARPHRD_NETLINK) return NOT_ROUTED;
      return ethertype(u16be(b, s + 14), b, s + 16, end);
    case LinkType.LINUX_SLL2:
      if (len < 20 || u16be(b, s + 8) === ARPHRD_NETLINK) return NOT_ROUTED;
      return ethertype(u16be(b, s), b, s + 20, end);
    case LinkType.NULL: {
      if (len < 4) return NOT_ROUTED;
      // Host byte order, not recorded in the file: a small number is right (as link.ts reads it).
      let af = u32le(b, s);
      if (af > 0xffff) af = u32be(b, s);
      return family(af, b, s + 4, end);
    }
    case LinkType.LOOP:
      return len < 4 ? NOT_ROUTED : family(u32be(b, s), b, s + 4, end);
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6: {
      if (len < 1) return NOT_ROUTED;
      const v = b[s]! >> 4;
      if (linkType !== LinkType.IPV6 && v === 4) return ipv4(b, s, end);
      if (linkType !== LinkType.IPV4 && v === 6) return ipv6(b, s, end);
      return NOT_ROUTED;
    }
    default:
      return NOT_ROUTED;
  }
}

function ethertype(type: number, b: Uint8Array, o: number, end: number): number {
  for (let tags = 0; tags <= MAX_VLAN_TAGS; tags++) {
    if (type === ETH_IPV4) return ipv4(b, o, end);
    if (type === ETH_IPV6) return ipv6(b, o, end);
    if (type !== ETH_VLAN && type !== ETH_QINQ && type !== ETH_QINQ_OLD) return NOT_ROUTED;
    if (tags === MAX_VLAN_TAGS || o + 4 > end) return NOT_ROUTED;
    type = u16be(b, o + 2);
    o += 4;
  }
  return NOT_ROUTED;
}

function family(af: number, b: Uint8Array, o: number, end: number): number {
  if (af === AF_INET) return ipv4(b, o, end);
  if (af === AF_INET6_BSD || af === AF_INET6_FREEBSD || af === AF_INET6_DARWIN) return ipv6(b, o, end);
  return NOT_ROUTED;
}

/** RFC 791: an unfragmented TCP datagram whose lengths agree with the frame. */
function ipv4(b: Uint8Array, o: number, end: number): number {
  const avail = end - o;
  if (avail < 20) return NOT_ROUTED;
  const vihl = b[o]!;
  const ihl = (vihl & 0x0f) * 4;
  if (vihl >> 4 !== 4 || ihl < 20 || ihl > avail) return NOT_ROUTED;
  const total = u16be(b, o + 2);
  // Zero (segmentation offload) and snapped lengths take the full decoder's path (anomalies).
  if (total < ihl || total > avail || b[o + 9] !== PROTO_TCP) return NOT_ROUTED;
  // More Fragments set or a fragment offset: reassembled on the main thread.
  if ((u16be(b, o + 6) & 0x3fff) !== 0) return NOT_ROUTED;
  const t = o + ihl;
  if (o + total - t < TCP_MIN) return NOT_ROUTED;
  return combineEndpoints(endpointHash(b, o + 12, 4, u16be(b, t)), endpointHash(b, o + 16, 4, u16be(b, t + 2)));
}

/** RFC 8200: a packet whose first next header is TCP (extension headers take the full path). */
function ipv6(b: Uint8Array, o: number, end: number): number {
  if (end - o < 40 || b[o]! >> 4 !== 6 || b[o + 6] !== PROTO_TCP) return NOT_ROUTED;
  const plen = u16be(b, o + 4);
  const stop = o + 40 + plen;
  if (plen === 0 || stop > end || plen < TCP_MIN) return NOT_ROUTED;
  const t = o + 40;
  return combineEndpoints(endpointHash(b, o + 8, 16, u16be(b, t)), endpointHash(b, o + 24, 16, u16be(b, t + 2)));
}

const scratch = new Uint8Array(16);

/** The flow hash of a decoded segment (its addresses as src/capture/ip-address.ts writes them):
 * equal to frameFlowHash of a frame between the same endpoints. */
export function segmentFlowHash(seg: Pick<TcpSegment, 'srcIp' | 'dstIp' | 'srcPort' | 'dstPort'>): number {
  const a = addressHash(seg.srcIp, seg.srcPort);
  const b = addressHash(seg.dstIp, seg.dstPort);
  return combineEndpoints(a, b);
}

function addressHash(ip: string, port: number): number {
  const n = addressBytes(ip, scratch);
  return endpointHash(scratch, 0, n, port);
}

/**
 * Dotted IPv4 or RFC 5952 IPv6 text (with "::" and a trailing dotted quad) into `out`; returns 4
 * or 16. Text that is neither (never produced by the decoder) hashes as its UTF-16 code units'
 * low bytes, which keeps the function total.
 */
export function addressBytes(ip: string, out: Uint8Array): number {
  if (!ip.includes(':')) {
    const parts = ip.split('.');
    if (parts.length === 4) {
      for (let i = 0; i < 4; i++) out[i] = Number(parts[i]) & 0xff;
      return 4;
    }
    return fallback(ip, out);
  }
  const groups: number[] = [];
  const halves = ip.split('::');
  if (halves.length > 2) return fallback(ip, out);
  const parse = (text: string): number[] => {
    if (text === '') return [];
    const g: number[] = [];
    for (const piece of text.split(':')) {
      if (piece.includes('.')) {
        const q = piece.split('.').map((x) => Number(x) & 0xff);
        g.push(((q[0] ?? 0) << 8) | (q[1] ?? 0), ((q[2] ?? 0) << 8) | (q[3] ?? 0));
      } else g.push(parseInt(piece, 16) & 0xffff);
    }
    return g;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (head.length + tail.length > 8) return fallback(ip, out);
  groups.push(...head);
  for (let i = head.length + tail.length; i < 8; i++) groups.push(0);
  groups.push(...tail);
  for (let i = 0; i < 8; i++) {
    const g = groups[i] ?? 0;
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  }
  return 16;
}

function fallback(ip: string, out: Uint8Array): number {
  out.fill(0);
  for (let i = 0; i < ip.length; i++) out[i % 16] = (out[i % 16]! ^ ip.charCodeAt(i)) & 0xff;
  return 16;
}
