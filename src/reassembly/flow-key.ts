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

/**
 * Remembers the key of the last 4-tuple seen: bulk transfers bring runs of segments of one flow
 * (both directions), and reusing the key string saves building and hashing a new one per packet.
 */
export class FlowKeyCache {
  private lowIp = '';
  private lowPort = -1;
  private highIp = '';
  private highPort = -1;
  private key = '';
  /** Side of the last segment's source: 0 when it is the lower endpoint. */
  side: 0 | 1 = 0;

  /** Key of the segment's connection; sets `side`. */
  keyOf(seg: TcpSegment): string {
    if (seg.srcPort === this.lowPort && seg.dstPort === this.highPort && seg.srcIp === this.lowIp && seg.dstIp === this.highIp) {
      this.side = 0;
      return this.key;
    }
    if (seg.srcPort === this.highPort && seg.dstPort === this.lowPort && seg.srcIp === this.highIp && seg.dstIp === this.lowIp) {
      this.side = 1;
      return this.key;
    }
    const srcLow = sourceIsLow(seg);
    this.side = srcLow ? 0 : 1;
    if (srcLow) {
      this.lowIp = seg.srcIp;
      this.lowPort = seg.srcPort;
      this.highIp = seg.dstIp;
      this.highPort = seg.dstPort;
    } else {
      this.lowIp = seg.dstIp;
      this.lowPort = seg.dstPort;
      this.highIp = seg.srcIp;
      this.highPort = seg.srcPort;
    }
    this.key = flowKey(seg, srcLow);
    return this.key;
  }
}
