/**
 * Builds link + IP + TCP frames with correct checksums: Ethernet II (optionally one 802.1Q tag)
 * or raw IP, IPv4 (RFC 791, header checksum §3.1) or IPv6 (RFC 8200), TCP (RFC 9293 §3.1; checksum
 * over the pseudo-header, RFC 9293 §3.1 / RFC 8200 §8.1 for IPv6).
 */

export interface TcpFrameSpec {
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window?: number;
  /** TCP options, already padded to a multiple of 4. */
  options?: Uint8Array;
  payload: Uint8Array;
  ipId?: number;
  ttl?: number;
}

export interface LinkSpec {
  /** 'ethernet' (LINKTYPE_ETHERNET 1) or 'raw' (LINKTYPE_RAW 101). */
  link: 'ethernet' | 'raw';
  srcMac?: Uint8Array;
  dstMac?: Uint8Array;
  /** 802.1Q VLAN id: adds one tag. */
  vlan?: number;
}

export const LINKTYPE_FOR: Record<LinkSpec['link'], number> = { ethernet: 1, raw: 101 };

const DEFAULT_SRC_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 1);
const DEFAULT_DST_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 2);

const addrCache = new Map<string, Uint8Array>();

/** Parses a dotted IPv4 or an IPv6 address (with `::`); throws on a malformed address, since the
 * generator's own input is trusted. */
export function ipBytes(ip: string): Uint8Array {
  const hit = addrCache.get(ip);
  if (hit) return hit;
  let out: Uint8Array;
  if (!ip.includes(':')) {
    const parts = ip.split('.').map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`bad IPv4 ${ip}`);
    out = Uint8Array.from(parts);
  } else {
    const [head, tail] = ip.split('::') as [string, string | undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const fill = tail === undefined ? 0 : 8 - h.length - t.length;
    const groups = [...h, ...Array<string>(fill).fill('0'), ...t];
    if (groups.length !== 8) throw new Error(`bad IPv6 ${ip}`);
    out = new Uint8Array(16);
    groups.forEach((g, i) => {
      const n = parseInt(g, 16);
      out[i * 2] = n >> 8;
      out[i * 2 + 1] = n & 0xff;
    });
  }
  if (addrCache.size < 4096) addrCache.set(ip, out);
  return out;
}

/** One's-complement sum of 16-bit big-endian words (RFC 1071), not yet folded/inverted. */
function sum16(b: Uint8Array, start: number, end: number, acc: number): number {
  let s = acc;
  let i = start;
  const last = end - 1;
  for (; i < last; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (i < end) s += b[i]! << 8;
  return s;
}

function fold(s: number): number {
  let x = s;
  while (x > 0xffff) x = (x & 0xffff) + Math.floor(x / 65536);
  return ~x & 0xffff;
}

/** Serialises one TCP segment in its link frame. */
export function tcpFrame(spec: TcpFrameSpec, link: LinkSpec = { link: 'ethernet' }): Uint8Array {
  const src = ipBytes(spec.srcIp);
  const dst = ipBytes(spec.dstIp);
  const v6 = src.length === 16;
  const opts = spec.options ?? new Uint8Array(0);
  const tcpLen = 20 + opts.length + spec.payload.length;
  const ipHdr = v6 ? 40 : 20;
  const l2 = link.link === 'ethernet' ? 14 + (link.vlan !== undefined ? 4 : 0) : 0;
  const f = new Uint8Array(l2 + ipHdr + tcpLen);
  let o = 0;
  if (link.link === 'ethernet') {
    f.set(link.dstMac ?? DEFAULT_DST_MAC, 0);
    f.set(link.srcMac ?? DEFAULT_SRC_MAC, 6);
    o = 12;
    if (link.vlan !== undefined) {
      f[o] = 0x81;
      f[o + 1] = 0x00;
      f[o + 2] = (link.vlan >> 8) & 0x0f;
      f[o + 3] = link.vlan & 0xff;
      o += 4;
    }
    f[o] = v6 ? 0x86 : 0x08;
    f[o + 1] = v6 ? 0xdd : 0x00;
    o += 2;
  }
  const ipStart = o;
  if (v6) {
    f[o] = 0x60;
    f[o + 4] = tcpLen >> 8;
    f[o + 5] = tcpLen & 0xff;
    f[o + 6] = 6; // next header TCP
    f[o + 7] = spec.ttl ?? 64;
    f.set(src, o + 8);
    f.set(dst, o + 24);
  } else {
    const total = 20 + tcpLen;
    f[o] = 0x45;
    f[o + 2] = total >> 8;
    f[o + 3] = total & 0xff;
    const id = spec.ipId ?? 0;
    f[o + 4] = (id >> 8) & 0xff;
    f[o + 5] = id & 0xff;
    f[o + 6] = 0x40; // DF
    f[o + 8] = spec.ttl ?? 64;
    f[o + 9] = 6;
    f.set(src, o + 12);
    f.set(dst, o + 16);
    const c = fold(sum16(f, o, o + 20, 0));
    f[o + 10] = c >> 8;
    f[o + 11] = c & 0xff;
  }
  o = ipStart + ipHdr;
  const t = o;
  f[t] = spec.srcPort >> 8;
  f[t + 1] = spec.srcPort & 0xff;
  f[t + 2] = spec.dstPort >> 8;
  f[t + 3] = spec.dstPort & 0xff;
  writeU32(f, t + 4, spec.seq);
  writeU32(f, t + 8, spec.ack);
  f[t + 12] = ((20 + opts.length) / 4) << 4;
  f[t + 13] = spec.flags & 0xff;
  const win = spec.window ?? 65535;
  f[t + 14] = win >> 8;
  f[t + 15] = win & 0xff;
  f.set(opts, t + 20);
  f.set(spec.payload, t + 20 + opts.length);
  // Pseudo-header: addresses, protocol, TCP length (RFC 9293 §3.1; RFC 8200 §8.1).
  let s = sum16(src, 0, src.length, 0);
  s = sum16(dst, 0, dst.length, s);
  s += 6 + tcpLen;
  s = sum16(f, t, t + tcpLen, s);
  const c = fold(s);
  f[t + 16] = c >> 8;
  f[t + 17] = c & 0xff;
  return f;
}

function writeU32(b: Uint8Array, off: number, v: number): void {
  const x = v >>> 0;
  b[off] = x >>> 24;
  b[off + 1] = (x >>> 16) & 0xff;
  b[off + 2] = (x >>> 8) & 0xff;
  b[off + 3] = x & 0xff;
}

/** MSS option (kind 2, RFC 9293 §3.2) + NOP padding, for SYNs. */
export function mssOption(mss: number): Uint8Array {
  return Uint8Array.of(2, 4, mss >> 8, mss & 0xff);
}
