/**
 * Turns HTTP exchanges on one TCP connection into captured packets: three-way handshake, data cut
 * at the MSS, ACKs, FIN or RST; optional impairments (reorder, duplicate, drop-then-retransmit,
 * lose for good) from a seeded PRNG. Many connections are interleaved by time with `interleave`.
 *
 * Timing model: the capture point sits next to the client (a laptop or an agent host), so a client
 * segment is seen when sent and the server's ACK one RTT later; server data is seen when it
 * arrives (at the piece's `at`), the client's ACK right after.
 */
import type { Micros } from '../../src/core/time.js';
import { LINKTYPE_FOR, type LinkSpec, mssOption, tcpFrame } from './frames.js';
import { Rng } from './rng.js';

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;

/** Bytes that leave one side at `at` (e.g. one SSE event, or a request). */
export interface TimedPiece {
  at: Micros;
  data: Uint8Array;
}

export interface ExchangeWire {
  request: TimedPiece[];
  response: TimedPiece[];
}

export interface Impairments {
  /** Seed of the impairment PRNG (defaults to the connection seed). */
  seed?: number;
  /** Probability that a data segment arrives after the next one of its direction. */
  reorder?: number;
  /** Probability that a data segment is captured twice (exact retransmit). */
  duplicate?: number;
  /** Probability that a data segment is missing at first and retransmitted one RTO later. */
  retransmit?: number;
  /** Probability that a data segment is never captured (a permanent hole). */
  lose?: number;
  /** Directions impaired; both by default. */
  dirs?: Direction[];
}

export type Direction = 'c2s' | 's2c';

export interface ConnectionSpec {
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  /** Time of the SYN (or of the first data when handshake is false). */
  start: Micros;
  exchanges: ExchangeWire[];
  /** Round-trip time in µs; default 20 ms (a client talking to a cloud API region). */
  rttUs?: number;
  /** Default 1448: a 1500-byte Ethernet MTU minus IPv4/TCP headers and the 12-byte timestamp
   * option Linux negotiates (RFC 7323), the segment size seen in most real captures. */
  mss?: number;
  /** Link rate for spacing back-to-back segments; default 1000 Mbit/s. */
  linkMbps?: number;
  /** false: the capture joins mid-connection (no SYN). */
  handshake?: boolean;
  /** How the connection ends; default client-fin one `closeDelayUs` after the last byte. */
  close?: 'client-fin' | 'server-fin' | 'client-rst' | 'server-rst' | 'none';
  closeDelayUs?: number;
  impair?: Impairments;
  seed?: number;
  link?: LinkSpec;
}

export interface GenPacket {
  ts: Micros;
  data: Uint8Array;
}

export interface ExchangeTimes {
  /** Capture time of the first request segment. */
  requestStart: Micros;
  /** When the last request byte was delivered in order. */
  requestEnd: Micros;
  responseStart: Micros | null;
  responseEnd: Micros | null;
  /** Per response piece: capture time of the packet that made it complete in order (what the
   * pipeline stamps on the bytes), or null if a byte of it was lost for good. */
  responsePieceDone: (Micros | null)[];
}

export interface LostRange {
  dir: Direction;
  /** Offset in that direction's byte stream (0 = first payload byte). */
  offset: number;
  length: number;
}

export interface ConnectionResult {
  start: Micros;
  linkType: number;
  packets: GenPacket[];
  exchanges: ExchangeTimes[];
  lost: LostRange[];
  counts: { dataSegments: number; reordered: number; duplicated: number; retransmitted: number; lost: number };
  /** Stream bytes per direction (payload only). */
  bytes: { c2s: number; s2c: number };
}

/** A data segment before impairments, in stream-offset terms. */
interface Seg {
  dir: Direction;
  off: number;
  data: Uint8Array;
  ts: Micros;
  psh: boolean;
  /** Peer's next sequence offset at the time (for the ACK field). */
  peerAck: number;
}

interface Side {
  isn: number;
  next: number; // stream offset of the next byte
  freeAt: Micros; // when the link is free to send again
}

export function buildConnection(spec: ConnectionSpec): ConnectionResult {
  const rng = new Rng(spec.seed ?? spec.client.port * 65536 + spec.server.port);
  const rtt = spec.rttUs ?? 20_000;
  const mss = spec.mss ?? 1448;
  const usPerByte = 8 / (spec.linkMbps ?? 1000);
  const link = spec.link ?? { link: 'ethernet' as const };
  const c: Side = { isn: rng.u32(), next: 0, freeAt: spec.start };
  const s: Side = { isn: rng.u32(), next: 0, freeAt: spec.start };
  const handshake = spec.handshake ?? true;
  // SYN/FIN consume one sequence number each (RFC 9293 §3.4): data starts at isn + 1.
  const ctrl: { ts: Micros; dir: Direction; flags: number; seqOff: number; ackOff: number | null; opts?: Uint8Array }[] = [];
  const segs: Seg[] = [];
  const acks: { ts: Micros; dir: Direction; seqOff: number; ackOff: number }[] = [];
  let t = spec.start;
  if (handshake) {
    ctrl.push({ ts: t, dir: 'c2s', flags: SYN, seqOff: -1, ackOff: null, opts: mssOption(mss) });
    ctrl.push({ ts: t + rtt, dir: 's2c', flags: SYN | ACK, seqOff: -1, ackOff: 0, opts: mssOption(mss) });
    ctrl.push({ ts: t + rtt + 30, dir: 'c2s', flags: ACK, seqOff: 0, ackOff: 0 });
    t += rtt + 30;
  }
  c.freeAt = s.freeAt = t;

  const times: ExchangeTimes[] = [];
  const pieceSegs: { dir: Direction; first: number; last: number }[][] = []; // per exchange, response pieces
  const reqSegRange: { first: number; last: number }[] = [];

  const send = (side: Side, peer: Side, dir: Direction, piece: TimedPiece, ackFromPeerUs: number): { first: number; last: number } => {
    const first = segs.length;
    let ts = Math.max(piece.at, side.freeAt);
    for (let o = 0; o < piece.data.length; o += mss) {
      const data = piece.data.subarray(o, Math.min(o + mss, piece.data.length));
      const last = o + mss >= piece.data.length;
      segs.push({ dir, off: side.next, data, ts, psh: last, peerAck: peer.next });
      side.next += data.length;
      const n = segs.length - first;
      // Delayed ACK: the receiver acks every second full segment and the end of a burst
      // (RFC 9293 §3.8.6.3 / RFC 1122 §4.2.3.2).
      // The acker's own send position: exchanges are built in time order, so `peer.next` is what
      // it had sent by then.
      if (n % 2 === 0 || last) acks.push({ ts: ts + ackFromPeerUs, dir: dir === 'c2s' ? 's2c' : 'c2s', seqOff: peer.next, ackOff: side.next });
      ts += Math.max(1, Math.round((data.length + 66) * usPerByte));
    }
    side.freeAt = ts;
    return { first, last: segs.length - 1 };
  };

  for (const ex of spec.exchanges) {
    const req = ex.request.map((p) => send(c, s, 'c2s', p, rtt));
    const firstReq = req[0];
    const lastReq = req[req.length - 1];
    reqSegRange.push({ first: firstReq ? firstReq.first : segs.length, last: lastReq ? lastReq.last : segs.length - 1 });
    // A response cannot start before the request's last byte reached the server (half an RTT).
    const reqDoneAt = segs[segs.length - 1]?.ts ?? t;
    s.freeAt = Math.max(s.freeAt, reqDoneAt + rtt / 2);
    const res = ex.response.map((p) => send(s, c, 's2c', p, 40));
    pieceSegs.push(res.map((r) => ({ dir: 's2c' as const, ...r })));
    c.freeAt = Math.max(c.freeAt, s.freeAt);
  }

  // Impairments: decide per data segment what the capture sees.
  const imp = spec.impair;
  const irng = new Rng(imp?.seed ?? rng.u32());
  const dirs = imp?.dirs ?? ['c2s', 's2c'];
  const copies: { seg: number; ts: Micros }[] = [];
  const lostSeg = new Uint8Array(segs.length);
  const counts = { dataSegments: segs.length, reordered: 0, duplicated: 0, retransmitted: 0, lost: 0 };
  const lost: LostRange[] = [];
  const arrival = new Array<Micros>(segs.length);
  for (let i = 0; i < segs.length; i++) arrival[i] = segs[i]!.ts;
  if (imp) {
    const rto = Math.max(rtt, 200_000); // RFC 6298 §2.4: RTO at least 1 s; Linux uses 200 ms min.
    for (let i = 0; i < segs.length; i++) {
      const g = segs[i]!;
      if (!dirs.includes(g.dir)) continue;
      if (irng.chance(imp.lose ?? 0)) {
        lostSeg[i] = 1;
        counts.lost++;
        lost.push({ dir: g.dir, offset: g.off, length: g.data.length });
        continue;
      }
      if (irng.chance(imp.retransmit ?? 0)) {
        arrival[i] = g.ts + rto;
        counts.retransmitted++;
      } else if (irng.chance(imp.reorder ?? 0)) {
        const j = nextInDir(segs, i);
        if (j >= 0 && !lostSeg[j]) {
          // Arrive just after the next segment of this direction.
          arrival[i] = Math.max(arrival[i]!, segs[j]!.ts + 1);
          counts.reordered++;
        }
      }
      if (irng.chance(imp.duplicate ?? 0)) {
        copies.push({ seg: i, ts: arrival[i]! + Math.max(1, Math.round(rtt / 4)) });
        counts.duplicated++;
      }
    }
  }

  // In-order delivery time of each segment: the latest arrival among it and everything before it
  // in its direction (a hole delays everything after it until it fills).
  const delivered = new Array<Micros | null>(segs.length);
  const high: Record<Direction, Micros> = { c2s: 0, s2c: 0 };
  for (let i = 0; i < segs.length; i++) {
    const d = segs[i]!.dir;
    if (lostSeg[i]) {
      delivered[i] = null;
      continue;
    }
    high[d] = Math.max(high[d], arrival[i]!);
    delivered[i] = high[d];
  }

  for (let e = 0; e < spec.exchanges.length; e++) {
    const r = reqSegRange[e]!;
    const pieces = pieceSegs[e]!;
    const pieceDone = pieces.map((p) => {
      for (let i = p.first; i <= p.last; i++) if (lostSeg[i]) return null;
      return p.last >= p.first ? (delivered[p.last] ?? null) : null;
    });
    const firstRes = pieces[0];
    const lastRes = pieces[pieces.length - 1];
    times.push({
      requestStart: segs[r.first]?.ts ?? spec.start,
      requestEnd: delivered[r.last] ?? segs[r.last]?.ts ?? spec.start,
      // The status line is stamped with the packet that delivered it in order.
      responseStart: firstRes && firstRes.last >= firstRes.first ? (delivered[firstRes.first] ?? arrival[firstRes.first]!) : null,
      responseEnd: lastRes && lastRes.last >= lastRes.first ? (delivered[lastRes.last] ?? arrival[lastRes.last]!) : null,
      responsePieceDone: pieceDone,
    });
  }

  // Close.
  let lastData = t;
  for (let i = 0; i < segs.length; i++) lastData = Math.max(lastData, lostSeg[i] ? segs[i]!.ts : arrival[i]!);
  for (const a of acks) lastData = Math.max(lastData, a.ts);
  const closeAt = lastData + (spec.closeDelayUs ?? 1_000);
  switch (spec.close ?? 'client-fin') {
    case 'client-fin':
      ctrl.push({ ts: closeAt, dir: 'c2s', flags: FIN | ACK, seqOff: c.next, ackOff: s.next });
      ctrl.push({ ts: closeAt + rtt, dir: 's2c', flags: FIN | ACK, seqOff: s.next, ackOff: c.next + 1 });
      ctrl.push({ ts: closeAt + rtt + 30, dir: 'c2s', flags: ACK, seqOff: c.next + 1, ackOff: s.next + 1 });
      break;
    case 'server-fin':
      ctrl.push({ ts: closeAt, dir: 's2c', flags: FIN | ACK, seqOff: s.next, ackOff: c.next });
      ctrl.push({ ts: closeAt + 40, dir: 'c2s', flags: FIN | ACK, seqOff: c.next, ackOff: s.next + 1 });
      ctrl.push({ ts: closeAt + 40 + rtt, dir: 's2c', flags: ACK, seqOff: s.next + 1, ackOff: c.next + 1 });
      break;
    case 'client-rst':
      ctrl.push({ ts: closeAt, dir: 'c2s', flags: RST | ACK, seqOff: c.next, ackOff: s.next });
      break;
    case 'server-rst':
      ctrl.push({ ts: closeAt, dir: 's2c', flags: RST | ACK, seqOff: s.next, ackOff: c.next });
      break;
    case 'none':
      break;
  }

  // Serialise everything, then order by capture time (stable: equal times keep creation order).
  const ep = (dir: Direction) =>
    dir === 'c2s'
      ? { srcIp: spec.client.ip, dstIp: spec.server.ip, srcPort: spec.client.port, dstPort: spec.server.port, me: c, peer: s }
      : { srcIp: spec.server.ip, dstIp: spec.client.ip, srcPort: spec.server.port, dstPort: spec.client.port, me: s, peer: c };
  let ipId = rng.int(0, 0xffff);
  const out: { ts: Micros; order: number; data: Uint8Array }[] = [];
  let order = 0;
  const frame = (ts: Micros, dir: Direction, flags: number, seqOff: number, ackOff: number | null, payload: Uint8Array, opts?: Uint8Array) => {
    const e = ep(dir);
    ipId = (ipId + 1) & 0xffff;
    const data = tcpFrame(
      {
        srcIp: e.srcIp,
        dstIp: e.dstIp,
        srcPort: e.srcPort,
        dstPort: e.dstPort,
        seq: (e.me.isn + 1 + seqOff) >>> 0,
        ack: ackOff === null ? 0 : (e.peer.isn + 1 + ackOff) >>> 0,
        flags,
        payload,
        ipId,
        ...(opts ? { options: opts } : {}),
      },
      link,
    );
    out.push({ ts: Math.round(ts), order: order++, data });
  };
  for (const k of ctrl) frame(k.ts, k.dir, k.flags, k.seqOff, k.ackOff, new Uint8Array(0), k.opts);
  for (let i = 0; i < segs.length; i++) {
    if (lostSeg[i]) continue;
    const g = segs[i]!;
    frame(arrival[i]!, g.dir, ACK | (g.psh ? PSH : 0), g.off, g.peerAck, g.data);
  }
  for (const cp of copies) {
    const g = segs[cp.seg]!;
    frame(cp.ts, g.dir, ACK | (g.psh ? PSH : 0), g.off, g.peerAck, g.data);
  }
  for (const a of acks) frame(a.ts, a.dir, ACK, a.seqOff, a.ackOff, new Uint8Array(0));
  out.sort((a, b) => a.ts - b.ts || a.order - b.order);
  return {
    start: spec.start,
    linkType: LINKTYPE_FOR[link.link],
    packets: out.map((p) => ({ ts: p.ts, data: p.data })),
    exchanges: times,
    lost,
    counts,
    bytes: { c2s: c.next, s2c: s.next },
  };
}

function nextInDir(segs: Seg[], i: number): number {
  const d = segs[i]!.dir;
  for (let j = i + 1; j < segs.length; j++) if (segs[j]!.dir === d) return j;
  return -1;
}

/** A source of packets in time order that `interleave` can merge lazily. */
export interface PacketSource {
  start: Micros;
  packets: GenPacket[];
}

/**
 * Merges connections by capture time, pulling each next connection from `conns` only once the
 * merge has reached its start: `conns` must yield in start order, so a capture of any size is
 * produced with only the connections alive at one moment in memory.
 */
export function* interleave(conns: Iterable<PacketSource>): Generator<GenPacket> {
  const it = conns[Symbol.iterator]();
  let pending = it.next();
  const heap = new MinHeap();
  while (true) {
    while (!pending.done && (heap.size === 0 || pending.value.start <= heap.peekTs())) {
      if (pending.value.packets.length > 0) heap.push({ src: pending.value.packets, i: 0 });
      pending = it.next();
    }
    if (heap.size === 0) return;
    const top = heap.peek();
    yield top.src[top.i]!;
    top.i++;
    if (top.i < top.src.length) heap.fixTop();
    else heap.pop();
  }
}

interface Cursor {
  src: GenPacket[];
  i: number;
}

class MinHeap {
  private readonly a: Cursor[] = [];

  get size(): number {
    return this.a.length;
  }

  peek(): Cursor {
    return this.a[0]!;
  }

  peekTs(): Micros {
    const c = this.a[0]!;
    return c.src[c.i]!.ts;
  }

  push(c: Cursor): void {
    this.a.push(c);
    let i = this.a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (key(this.a[p]!) <= key(this.a[i]!)) break;
      [this.a[p], this.a[i]] = [this.a[i]!, this.a[p]!];
      i = p;
    }
  }

  pop(): void {
    const last = this.a.pop()!;
    if (this.a.length > 0) {
      this.a[0] = last;
      this.fixTop();
    }
  }

  fixTop(): void {
    const a = this.a;
    let i = 0;
    while (true) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && key(a[l]!) < key(a[m]!)) m = l;
      if (r < a.length && key(a[r]!) < key(a[m]!)) m = r;
      if (m === i) return;
      [a[m], a[i]] = [a[i]!, a[m]!];
      i = m;
    }
  }
}

function key(c: Cursor): Micros {
  return c.src[c.i]!.ts;
}

/** Merges fully built connections (small captures). */
export function mergeConnections(conns: ConnectionResult[]): GenPacket[] {
  return [...interleave([...conns].sort((a, b) => a.start - b.start))];
}
