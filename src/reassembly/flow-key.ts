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

/** A key already built, with the addresses it was built from (ports are the table's key). */
interface KnownKey {
  lowIp: string;
  highIp: string;
  key: string;
}

/**
 * Keys already built, by port pair. 4,096 port pairs: more than the connections a capture keeps
 * open at once in practice (the benchmark mix holds ~50); when full it is emptied and refilled,
 * which only costs rebuilding keys.
 */
const MAX_KNOWN = 4096;

/**
 * Key strings are reused rather than rebuilt per packet: building one (and hashing it in the flow
 * Map) costs more than the rest of a segment's bookkeeping. The last 4-tuple is checked first
 * (bulk transfers bring runs of one flow, both directions); other flows are found by port pair,
 * comparing addresses (the capture layer hands the same string for the same address, so the
 * comparison is usually a pointer check).
 */
export class FlowKeyCache {
  private lowIp = '';
  private lowPort = -1;
  private highIp = '';
  private highPort = -1;
  private key = '';
  private readonly known = new Map<number, KnownKey[]>();
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
    this.key = this.knownKey(seg, srcLow);
    return this.key;
  }

  private knownKey(seg: TcpSegment, srcLow: boolean): string {
    const ports = this.lowPort * 65536 + this.highPort;
    let list = this.known.get(ports);
    if (list !== undefined) {
      for (const k of list) if (k.lowIp === this.lowIp && k.highIp === this.highIp) return k.key;
    } else {
      if (this.known.size >= MAX_KNOWN) this.known.clear();
      list = [];
      this.known.set(ports, list);
    }
    const key = flowKey(seg, srcLow);
    // A port pair shared by many address pairs (a scan) keeps only its latest few.
    if (list.length >= 8) list.shift();
    list.push({ lowIp: this.lowIp, highIp: this.highIp, key });
    return key;
  }
}
