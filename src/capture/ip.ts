/**
 * IPv4 (RFC 791), IPv6 (RFC 8200) and the TCP header (RFC 9293 §3.1) down to a TcpSegment.
 *
 * - The IP length fields bound the payload, never the captured length: Ethernet pads short frames
 *   to 60 bytes, and the padding must not become TCP payload.
 * - Checksums are not verified: captures taken on the sending host carry checksums the NIC fills
 *   in later (offload), so they are wrong in the file yet fine on the wire (Wireshark also skips
 *   the check by default).
 * - Fragments are reassembled (ipv4-defrag.ts); fragments of non-TCP datagrams are not kept.
 */
import type { AnomalySink } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';
import { u16be, u32be } from './bytes.js';
import { AddressFormatter } from './ip-address.js';
import { FragmentReassembler } from './ipv4-defrag.js';
import type { TcpSegment } from './types.js';

/** Cheap counters of what went by (not anomalies: ARP or UDP in a capture is normal). */
export interface DecodeStats {
  packets: number;
  ipv4: number;
  ipv6: number;
  tcp: number;
  /** Frames that carry no IP (ARP, LLDP, …). */
  notIp: number;
  /** IP packets that carry no TCP (UDP, ICMP, ESP, …). */
  notTcp: number;
  fragments: number;
  reassembled: number;
}

export function newDecodeStats(): DecodeStats {
  return { packets: 0, ipv4: 0, ipv6: 0, tcp: 0, notIp: 0, notTcp: 0, fragments: 0, reassembled: 0 };
}

const PROTO_TCP = 6;

const NO_PAYLOAD = new Uint8Array(0);

/** IPv6 extension headers we walk (RFC 8200 §4, IANA "IPv6 Extension Header Types"). */
const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const ESP = 50;
const AH = 51;
const NO_NEXT = 59;
const DEST_OPTS = 60;

/** Extension headers walked per packet: RFC 8200 §4.1 allows each type once (Destination
 * Options twice), so more than 8 is malformed; 16 leaves slack and bounds the loop. */
const MAX_EXT_HEADERS = 16;

/** Called per TCP segment with one reused object (TcpSegment: valid only during the call). */
export type SegmentCallback = (s: TcpSegment) => void;

export class IpDecoder {
  private readonly addr = new AddressFormatter();
  private readonly v4frag: FragmentReassembler;
  private readonly v6frag: FragmentReassembler;
  /** The one segment object handed out, refilled per segment: no allocation per packet. */
  private readonly seg: TcpSegment = { ts: 0, srcIp: '', dstIp: '', srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, payload: NO_PAYLOAD };
  /**
   * The array the last payload view was made of, with its `buffer` and `byteOffset`: in the
   * optimized per-packet code those two getters compile to generic property loads (~190
   * instructions each, callgrind on the 200 MB bench: 420k calls), while the array is the same
   * capture read buffer for thousands of packets. Holds the capture chunk (or a reassembled
   * datagram) until the next payload comes from another one.
   */
  private payloadOf: Uint8Array = NO_PAYLOAD;
  private payloadBuffer: ArrayBufferLike = NO_PAYLOAD.buffer;
  private payloadBase = 0;

  constructor(
    private readonly anomalies: AnomalySink,
    readonly stats: DecodeStats = newDecodeStats(),
  ) {
    this.v4frag = new FragmentReassembler('ipv4', anomalies);
    this.v6frag = new FragmentReassembler('ipv6', anomalies);
  }

  /** Drops fragment reassemblies that timed out by capture time `now`. */
  expire(now: Micros): void {
    if (this.v4frag.size > 0) this.v4frag.expire(now);
    if (this.v6frag.size > 0) this.v6frag.expire(now);
  }

  /** End of input. */
  flush(): void {
    this.v4frag.flush();
    this.v6frag.flush();
  }

  /** b[o..end) holds an IPv4 packet (end = end of the captured frame). */
  ipv4(b: Uint8Array, o: number, end: number, ts: Micros, cb: SegmentCallback): void {
    const avail = end - o;
    if (avail < 20) return this.anomaly('ipv4_truncated');
    const vihl = b[o]!;
    if (vihl >> 4 !== 4) return this.anomaly('ipv4_bad_version');
    const ihl = (vihl & 0x0f) * 4;
    if (ihl < 20) return this.anomaly('ipv4_bad_header_length');
    if (ihl > avail) return this.anomaly('ipv4_truncated');
    let total = u16be(b, o + 2);
    if (total === 0) {
      // TCP segmentation offload: captured on the sender before the NIC filled the length in
      // (Wireshark treats it the same way). The frame's length is all we have.
      this.anomalies.add('ipv4_zero_total_length');
      total = avail;
    }
    if (total < ihl) return this.anomaly('ipv4_bad_total_length');
    let stop = o + total;
    let snapped = false;
    if (total > avail) {
      // Cut by the capture's snap length: hand on what we have, TCP will see the hole.
      this.anomalies.add('ipv4_truncated');
      stop = end;
      snapped = true;
    }
    this.stats.ipv4++;
    if (b[o + 9] !== PROTO_TCP) {
      this.stats.notTcp++;
      return;
    }
    const src = this.addr.ipv4(b, o + 12);
    const dst = this.addr.ipv4(b, o + 16);
    const frag = u16be(b, o + 6);
    const more = (frag & 0x2000) !== 0;
    const offset = (frag & 0x1fff) * 8;
    if (!more && offset === 0) return this.tcp(b, o + ihl, stop, src, dst, ts, cb);

    this.stats.fragments++;
    if (snapped) return this.anomaly('ipv4_fragment_truncated');
    // RFC 791 §3.2: a datagram is identified by source, destination, protocol and identification.
    const key = `${src}>${dst}#${u16be(b, o + 4)}`;
    const whole = this.v4frag.add(key, ts, offset, more, b.subarray(o + ihl, stop));
    if (!whole) return;
    this.stats.reassembled++;
    this.tcp(whole, 0, whole.length, src, dst, ts, cb);
  }

  /** b[o..end) holds an IPv6 packet. */
  ipv6(b: Uint8Array, o: number, end: number, ts: Micros, cb: SegmentCallback): void {
    const avail = end - o;
    if (avail < 40) return this.anomaly('ipv6_truncated');
    if (b[o]! >> 4 !== 6) return this.anomaly('ipv6_bad_version');
    const plen = u16be(b, o + 4);
    let stop = end;
    let snapped = false;
    if (plen !== 0) {
      stop = o + 40 + plen;
      if (stop > end) {
        this.anomalies.add('ipv6_truncated');
        stop = end;
        snapped = true;
      }
    }
    // plen 0: a jumbogram (RFC 2675) or segmentation offload; the frame bounds the payload.
    this.stats.ipv6++;

    const hdr = b;
    const hdrOff = o;
    let src = '';
    let dst = '';
    let next = b[o + 6]!;
    let p = o + 40;
    let reassembled = false;
    for (let n = 0; n <= MAX_EXT_HEADERS; n++) {
      switch (next) {
        case PROTO_TCP:
          if (src === '') {
            src = this.addr.ipv6(hdr, hdrOff + 8);
            dst = this.addr.ipv6(hdr, hdrOff + 24);
          }
          return this.tcp(b, p, stop, src, dst, ts, cb);
        case HOP_BY_HOP:
        case ROUTING:
        case DEST_OPTS:
        case AH: {
          if (p + 8 > stop) return this.anomaly('ipv6_truncated');
          // Hdr Ext Len: 8-octet units not counting the first 8 (§4.3); AH: 4-octet units
          // minus 2 (RFC 4302 §2.2).
          const len = next === AH ? (b[p + 1]! + 2) * 4 : (b[p + 1]! + 1) * 8;
          next = b[p]!;
          p += len;
          if (p > stop) return this.anomaly('ipv6_truncated');
          break;
        }
        case FRAGMENT: {
          if (p + 8 > stop) return this.anomaly('ipv6_truncated');
          const inner = b[p]!;
          const offField = u16be(b, p + 2);
          const offset = offField & 0xfff8;
          const more = (offField & 1) !== 0;
          p += 8;
          next = inner;
          // RFC 6946: an "atomic fragment" (offset 0, M = 0) is a whole packet.
          if (offset === 0 && !more) break;
          this.stats.fragments++;
          if (reassembled) return this.anomaly('ipv6_nested_fragment');
          if (!isTcpOrExtension(inner)) {
            this.stats.notTcp++;
            return;
          }
          if (snapped) return this.anomaly('ipv6_fragment_truncated');
          src = this.addr.ipv6(hdr, hdrOff + 8);
          dst = this.addr.ipv6(hdr, hdrOff + 24);
          // RFC 8200 §4.5: source, destination and Fragment Identification.
          const key = `${src}>${dst}#${u32be(b, p - 4)}`;
          const whole = this.v6frag.add(key, ts, offset, more, b.subarray(p, stop));
          if (!whole) return;
          this.stats.reassembled++;
          reassembled = true;
          b = whole;
          p = 0;
          stop = whole.length;
          break;
        }
        case ESP:
        case NO_NEXT:
        default:
          // ESP is encrypted, No Next Header ends the packet; anything else is another transport.
          this.stats.notTcp++;
          return;
      }
    }
    this.anomalies.add('ipv6_too_many_ext_headers');
  }

  private tcp(b: Uint8Array, o: number, end: number, srcIp: string, dstIp: string, ts: Micros, cb: SegmentCallback): void {
    if (end - o < 20) return this.anomaly('tcp_truncated');
    const dataOffset = (b[o + 12]! >> 4) * 4;
    if (dataOffset < 20) return this.anomaly('tcp_bad_header_length');
    if (o + dataOffset > end) return this.anomaly('tcp_truncated');
    this.stats.tcp++;
    const seg = this.seg;
    seg.ts = ts;
    seg.srcIp = srcIp;
    seg.dstIp = dstIp;
    seg.srcPort = u16be(b, o);
    seg.dstPort = u16be(b, o + 2);
    seg.seq = u32be(b, o + 4);
    seg.ack = u32be(b, o + 8);
    seg.flags = b[o + 13]!;
    // Pure ACKs are ~40% of packets: they share one empty array instead of a view each.
    seg.payload = o + dataOffset === end ? NO_PAYLOAD : this.payloadView(b, o + dataOffset, end);
    cb(seg);
    // Not kept past the call (the contract), and not kept alive here either: the view pins the
    // capture chunk or a reassembled datagram.
    seg.payload = NO_PAYLOAD;
  }

  /** b[start..end) as a view (bytes.ts `view`, with the source's buffer and offset cached). */
  private payloadView(b: Uint8Array, start: number, end: number): Uint8Array {
    if (b !== this.payloadOf) {
      this.payloadOf = b;
      this.payloadBuffer = b.buffer;
      this.payloadBase = b.byteOffset;
    }
    return new Uint8Array(this.payloadBuffer, this.payloadBase + start, end - start);
  }

  private anomaly(name: string): void {
    this.anomalies.add(name);
  }
}

function isTcpOrExtension(next: number): boolean {
  return next === PROTO_TCP || next === HOP_BY_HOP || next === ROUTING || next === DEST_OPTS || next === AH;
}
