/**
 * Symmetric flow keys (DESIGN §1): both directions of a connection map to one key, built with the
 * lower endpoint first. A string key in a Map is cheap enough for the per-packet path and works for
 * IPv4 and IPv6 alike.
 */
import type { TcpSegment } from '../capture/types.js';

/** True when the segment's source is the "lower" endpoint (side 0 of the connection). */
export function sourceIsLow(seg: TcpSegment): boolean {
  if (seg.srcIp !== seg.dstIp) return seg.srcIp < seg.dstIp;
  return seg.srcPort <= seg.dstPort;
}

/** Key of the connection a segment belongs to; `srcLow` is `sourceIsLow(seg)`. */
export function flowKey(seg: TcpSegment, srcLow: boolean): string {
  return srcLow
    ? `${seg.srcIp}|${seg.srcPort}|${seg.dstIp}|${seg.dstPort}`
    : `${seg.dstIp}|${seg.dstPort}|${seg.srcIp}|${seg.srcPort}`;
}
