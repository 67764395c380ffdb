import type { Micros } from '../core/time.js';

/** Link-layer types we decode (LINKTYPE_* values from tcpdump.org/linktypes.html). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101, // LINKTYPE_RAW: raw IPv4 or IPv6
  LOOP: 108, // OpenBSD loopback: 4-byte AF in network byte order
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** One captured frame as read from a file or a live source. */
export interface CapturedPacket {
  /** Capture time, µs since epoch. */
  ts: Micros;
  linkType: number;
  /** pcapng interface index (0 for pcap). */
  iface: number;
  /** Captured bytes. A view that is valid only during the callback: copy to keep. */
  data: Uint8Array;
  /** Original length on the wire (may exceed data.length when snapped). */
  origLen: number;
}

/**
 * A captured frame as the per-packet path sees it: CapturedPacket without a view made per packet.
 * The bytes are buf[start..end). Both the object and `buf` are reused: valid only during the
 * callback (copy what you keep). A 200 MB capture holds ~375k frames, and a Uint8Array view plus
 * a packet object per frame was a tenth of replay's per-packet cost (profile, session 3).
 */
export interface CapturedFrame {
  ts: Micros;
  linkType: number;
  iface: number;
  buf: Uint8Array;
  start: number;
  end: number;
  origLen: number;
}

/**
 * A TCP segment after link, IP and fragment decoding. The decoder hands the same object for every
 * segment, refilled: it is valid only during the callback (copy the fields you keep).
 */
export interface TcpSegment {
  ts: Micros;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  seq: number; // uint32
  ack: number; // uint32
  /** TCP flag bits: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10. */
  flags: number;
  /** TCP payload. A view valid only during the callback: copy to keep. */
  payload: Uint8Array;
}

export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;
