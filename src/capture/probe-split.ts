/**
 * A probe batch's data length is a u16, so an Ethernet frame over 65,535 bytes cannot travel
 * whole. Such frames are common where a probe runs: Linux `lo` has a 65,536-byte MTU, and GRO/TSO
 * hand the capture 64 KiB "super-packets" on offloading NICs, each an IP packet of up to 65,535
 * bytes (the IPv4 total length is a u16) plus the 14-byte Ethernet header. Cutting them would
 * leave a TCP hole in nearly every large request. So the probe re-segments an oversize TCP
 * packet into pieces that fit, as TSO would have on the wire (RFC 9293 §3.7.3: any segmentation
 * of the byte stream is valid): each piece repeats the headers, its IP length and TCP sequence
 * number are set, and FIN/PSH go on the last piece only. Checksums are left as captured: llmtap
 * does not verify them (captures on the sending host carry offloaded checksums, design notes).
 *
 * Handled: Ethernet II (no VLAN tag) carrying unfragmented IPv4 or IPv6 without extension
 * headers, with TCP. Anything else oversize is cut to 65,535 bytes by the encoder and counted.
 */
import { u16be, u32be } from './bytes.js';

const ETH = 14;
const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const TCP = 6;
const FIN_PSH = 0x01 | 0x08;

/** The frame as pieces of at most `max` bytes, or null when it cannot be re-segmented. */
export function splitTcpFrame(f: Uint8Array, max: number): Uint8Array[] | null {
  if (f.length <= max || f.length < ETH + 20) return null;
  const type = u16be(f, 12);
  let ipLen: number; // IP header bytes
  let ipEnd: number; // end of the IP packet (its length field, not the capture)
  if (type === ETH_IPV4) {
    if (f[ETH]! >> 4 !== 4) return null;
    ipLen = (f[ETH]! & 0x0f) * 4;
    const frag = u16be(f, ETH + 6);
    if (ipLen < 20 || f[ETH + 9] !== TCP || (frag & 0x3fff) !== 0) return null;
    ipEnd = ETH + u16be(f, ETH + 2);
  } else if (type === ETH_IPV6) {
    if (f[ETH]! >> 4 !== 6 || f.length < ETH + 40 || f[ETH + 6] !== TCP) return null;
    ipLen = 40;
    ipEnd = ETH + 40 + u16be(f, ETH + 4);
  } else {
    return null;
  }
  const tcp = ETH + ipLen;
  if (tcp + 20 > f.length) return null;
  const headers = tcp + (f[tcp + 12]! >> 4) * 4;
  // A snapped capture (the packet was longer than what was kept) cannot be re-segmented honestly.
  if (headers < tcp + 20 || ipEnd !== f.length || headers >= f.length) return null;
  const room = max - headers;
  if (room <= 0) return null;
  const seq = u32be(f, tcp + 4);
  const flags = f[tcp + 13]!;
  const pieces: Uint8Array[] = [];
  for (let at = headers; at < f.length; at += room) {
    const n = Math.min(room, f.length - at);
    const p = new Uint8Array(headers + n);
    p.set(f.subarray(0, headers), 0);
    p.set(f.subarray(at, at + n), headers);
    const ipTotal = headers - ETH + n;
    if (type === ETH_IPV4) writeU16(p, ETH + 2, ipTotal);
    else writeU16(p, ETH + 4, ipTotal - 40);
    writeU32(p, tcp + 4, (seq + (at - headers)) >>> 0);
    if (at + n < f.length) p[tcp + 13] = flags & ~FIN_PSH;
    pieces.push(p);
  }
  return pieces;
}

function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v & 0xff;
}

function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
