/**
 * Test helpers for reassembly: a sink that records everything, and a segment builder. Used by the
 * tests of this directory (and free for the HTTP layer's tests).
 */
import type { Micros } from '../core/time.js';
import { TcpFlag, type TcpSegment } from '../capture/types.js';
import { Dir, type ConnectionInfo, type StreamSink, type StreamSinkFactory } from './types.js';

export type SinkEvent =
  | { kind: 'data'; dir: Dir; data: Uint8Array; ts: Micros }
  | { kind: 'gap'; dir: Dir; bytes: number; ts: Micros }
  | { kind: 'swap'; client: string; server: string }
  | { kind: 'close'; ts: Micros; reason: string };

export interface RecordedConnection {
  info: ConnectionInfo;
  /** Client/server as they were when the sink was made (info is mutable). */
  initialClient: string;
  initialServer: string;
  events: SinkEvent[];
}

export class RecordingSinks {
  readonly conns: RecordedConnection[] = [];

  readonly factory: StreamSinkFactory = (info) => {
    const rec: RecordedConnection = {
      info,
      initialClient: `${info.client.ip}:${info.client.port}`,
      initialServer: `${info.server.ip}:${info.server.port}`,
      events: [],
    };
    this.conns.push(rec);
    const sink: StreamSink = {
      onData(dir, data, ts) {
        // Lent for the call only (StreamSink.onData): keep a copy.
        rec.events.push({ kind: 'data', dir, data: data.slice(), ts });
      },
      onGap(dir, bytes, ts) {
        rec.events.push({ kind: 'gap', dir, bytes, ts });
      },
      onRolesSwapped(i) {
        rec.events.push({ kind: 'swap', client: `${i.client.ip}:${i.client.port}`, server: `${i.server.ip}:${i.server.port}` });
      },
      onClose(ts, reason) {
        rec.events.push({ kind: 'close', ts, reason });
      },
    };
    return sink;
  };

  get(i: number): RecordedConnection {
    const c = this.conns[i];
    if (c === undefined) throw new Error(`no connection #${i}`);
    return c;
  }
}

/** Bytes delivered in `dir`, gaps shown as `gapFill` bytes (default: none inserted). */
export function delivered(rec: RecordedConnection, dir: Dir, gapFill?: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of rec.events) {
    if (e.kind === 'data' && e.dir === dir) parts.push(e.data);
    else if (e.kind === 'gap' && e.dir === dir && gapFill !== undefined) parts.push(new Uint8Array(e.bytes).fill(gapFill));
  }
  return concat(parts);
}

export function closes(rec: RecordedConnection): { ts: Micros; reason: string }[] {
  const out: { ts: Micros; reason: string }[] = [];
  for (const e of rec.events) if (e.kind === 'close') out.push({ ts: e.ts, reason: e.reason });
  return out;
}

export function gaps(rec: RecordedConnection, dir?: Dir): { bytes: number; ts: Micros }[] {
  const out: { bytes: number; ts: Micros }[] = [];
  for (const e of rec.events) if (e.kind === 'gap' && (dir === undefined || e.dir === dir)) out.push({ bytes: e.bytes, ts: e.ts });
  return out;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function text(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

export interface Endpoint4 {
  ip: string;
  port: number;
}

/**
 * Builds segments of one direction of a connection: `from` sends to `to`; sequence numbers are
 * relative to `isn` (the SYN's sequence number; data starts at isn+1).
 */
export class Sender {
  constructor(
    readonly from: Endpoint4,
    readonly to: Endpoint4,
    readonly isn: number,
    /** Ack number put on segments that do not say otherwise (e.g. the peer's ISN+1). */
    readonly defaultAck = 0,
  ) {}

  seg(opts: { off?: number; data?: Uint8Array | string; flags?: number; ack?: number; ts?: Micros; seq?: number }): TcpSegment {
    const data = typeof opts.data === 'string' ? bytes(opts.data) : (opts.data ?? new Uint8Array(0));
    const flags = opts.flags ?? TcpFlag.ACK;
    const seq = opts.seq ?? ((this.isn + 1 + (opts.off ?? 0)) >>> 0);
    return {
      ts: opts.ts ?? 0,
      srcIp: this.from.ip,
      srcPort: this.from.port,
      dstIp: this.to.ip,
      dstPort: this.to.port,
      seq,
      ack: (opts.ack ?? this.defaultAck) >>> 0,
      flags,
      // A view into a larger buffer that is overwritten after the call, like the capture reader's.
      payload: data,
    };
  }

  syn(ts: Micros = 0): TcpSegment {
    return this.seg({ seq: this.isn >>> 0, flags: TcpFlag.SYN, ts });
  }

  synAck(peerIsn: number, ts: Micros = 0): TcpSegment {
    return this.seg({ seq: this.isn >>> 0, flags: TcpFlag.SYN | TcpFlag.ACK, ack: peerIsn + 1, ts });
  }

  data(off: number, data: Uint8Array | string, ts: Micros = 0, flags: number = TcpFlag.ACK | TcpFlag.PSH): TcpSegment {
    return this.seg({ off, data, ts, flags });
  }

  fin(off: number, ts: Micros = 0): TcpSegment {
    return this.seg({ off, flags: TcpFlag.FIN | TcpFlag.ACK, ts });
  }

  /** A pure ACK acknowledging `peerOff` bytes of the peer whose ISN is `peerIsn`. */
  ack(peerIsn: number, peerOff: number, ts: Micros = 0): TcpSegment {
    return this.seg({ off: 0, flags: TcpFlag.ACK, ack: (peerIsn + 1 + peerOff) >>> 0, ts });
  }

  rst(off: number, ts: Micros = 0): TcpSegment {
    return this.seg({ off, flags: TcpFlag.RST, ts });
  }
}

/** The one segment object feedReused hands out, as the IP decoder does (TcpSegment). */
const reusedSegment: TcpSegment = { ts: 0, srcIp: '', dstIp: '', srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, payload: new Uint8Array(0) };

/**
 * Feed a segment the way the capture layer does: always the same segment object, refilled, with a
 * payload in a scratch buffer; both are scribbled over right after the call. Catches a flow table
 * that keeps views instead of copies, or keeps the segment object or any field read through it later.
 */
export function feedReused(table: { onSegment(seg: TcpSegment): void }, seg: TcpSegment, scratch: Uint8Array): void {
  scratch.set(seg.payload, 0);
  const view = scratch.subarray(0, seg.payload.length);
  Object.assign(reusedSegment, seg, { payload: view });
  table.onSegment(reusedSegment);
  view.fill(0xee);
  Object.assign(reusedSegment, { ts: -1, srcIp: 'scribbled', dstIp: 'scribbled', srcPort: -1, dstPort: -1, seq: -1, ack: -1, flags: 0xff });
}

export { Dir };
