/**
 * The flow table (DESIGN §1–2 "TCP"): TCP segments in, per-connection in-order byte streams out.
 *
 * - Both directions of a 4-tuple map to one connection; ids are "c1", "c2", … in creation order.
 * - Roles: the sender of a SYN without ACK is the client, the sender of a SYN+ACK the server. A
 *   connection joined mid-stream gets guessed roles (`rolesGuessed`): the endpoint on a well-known
 *   LLM/HTTP port, else on a port below 1024, else the destination of the first packet is the
 *   server. The HTTP layer, which sees whether a request or a status line came first, corrects a
 *   wrong guess with `swapRoles(id)`.
 * - Only a SYN or a segment with payload creates a connection: bare ACKs, FINs and RSTs of unknown
 *   flows cost a Map lookup and nothing else.
 * - A closed connection lingers (closedLingerUs) so late retransmits of its last packets are
 *   swallowed; a SYN or SYN+ACK on its 4-tuple starts a new connection (port reuse).
 * - Timeouts run on capture time: `advance(now)` expires idle flows, `flush(now)` ends the input.
 */
import type { AnomalySink } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';
import { TcpFlag, type TcpSegment } from '../capture/types.js';
import { ExpiryWheel, type WheelEntry } from './expiry-wheel.js';
import { FlowKeyCache } from './flow-key.js';
import { COMMON_SERVER_PORTS, DEFAULT_LIMITS, type ReassemblyLimits } from './limits.js';
import { newStats, TcpStream, type ReassemblyStats, type StreamContext } from './tcp-stream.js';
import { Dir, type ConnectionInfo, type StreamSink, type StreamSinkFactory } from './types.js';

export type { ReassemblyLimits } from './limits.js';
export type { ReassemblyStats } from './tcp-stream.js';

type CloseReason = 'fin' | 'rst' | 'idle' | 'eof' | 'evicted';

class Connection implements WheelEntry {
  wheelSlot = -1;
  /** Which side (0 = lower endpoint of the key, 1 = higher) is the client. */
  clientSide: 0 | 1;
  lastSeen: Micros;
  closed = false;
  /** No longer in the table (expired, evicted, replaced or flushed). */
  removed = false;
  /** Streams indexed by the side that sends them. */
  readonly sides: [TcpStream, TcpStream];

  constructor(
    readonly key: string,
    readonly info: ConnectionInfo,
    readonly sink: StreamSink,
    clientSide: 0 | 1,
    ts: Micros,
    ctx: StreamContext,
  ) {
    this.clientSide = clientSide;
    this.lastSeen = ts;
    this.sides = [
      new TcpStream(sink, clientSide === 0 ? Dir.ClientToServer : Dir.ServerToClient, ctx),
      new TcpStream(sink, clientSide === 1 ? Dir.ClientToServer : Dir.ServerToClient, ctx),
    ];
  }
}

const SYN_ACK = TcpFlag.SYN | TcpFlag.ACK;

export class FlowTable {
  readonly stats: ReassemblyStats = newStats();
  private readonly limits: ReassemblyLimits;
  private readonly ctx: StreamContext;
  private readonly flows = new Map<string, Connection>();
  private readonly keys = new FlowKeyCache();
  private readonly byId = new Map<string, Connection>();
  private readonly wheel: ExpiryWheel<Connection>;
  private nextId = 1;
  private active = 0;
  private nextSweepAt = -Infinity;
  /** The connection of the last segment, by its key: runs of one flow (~45% of the benchmark
   * mix's segments follow one of the same flow and direction) skip the Map lookup. */
  private lastKey = '';
  private lastConn: Connection | undefined = undefined;
  private sweepNow: Micros = 0;

  constructor(
    private readonly makeSink: StreamSinkFactory,
    private readonly anomalies: AnomalySink,
    limits?: Partial<ReassemblyLimits>,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.ctx = { anomalies, limits: this.limits, stats: this.stats };
    this.wheel = new ExpiryWheel<Connection>(Math.max(1, this.limits.sweepIntervalUs));
  }

  /** Open connections (closed ones lingering for late retransmits are not counted). */
  get activeConnections(): number {
    return this.active;
  }

  onSegment(seg: TcpSegment): void {
    this.stats.segments++;
    const key = this.keys.keyOf(seg);
    const side = this.keys.side;
    const flags = seg.flags;
    const syn = (flags & TcpFlag.SYN) !== 0;
    let conn = key === this.lastKey && this.lastConn?.removed === false ? this.lastConn : this.flows.get(key);

    if (conn === undefined || conn.closed) {
      if (!startsConnection(flags, seg.payload.length, conn !== undefined)) return;
      if (conn !== undefined) this.remove(conn);
      conn = this.create(key, side, seg);
    } else if ((flags & SYN_ACK) === TcpFlag.SYN && !isSynRetransmit(conn.sides[side], seg.seq)) {
      // A fresh SYN on an open 4-tuple: the old connection ended without us seeing it end.
      this.anomalies.add('tcp_port_reuse_unclosed');
      this.closeAfterSkipping(conn, seg.ts, 'eof');
      this.remove(conn);
      conn = this.create(key, side, seg);
    } else if ((flags & SYN_ACK) === SYN_ACK) {
      this.onSynAck(conn, side, seg);
    }
    if (seg.ts > conn.lastSeen) conn.lastSeen = seg.ts;
    this.lastKey = key;
    this.lastConn = conn;

    const own = conn.sides[side];
    const peer = conn.sides[side ^ 1]!;
    if ((flags & TcpFlag.ACK) !== 0 && peer.started) peer.peerAck(seg.ack, seg.ts);
    if ((flags & TcpFlag.RST) !== 0) {
      // RFC 9293 §3.10.7: RST aborts the connection; data carried with it is diagnostic, not stream.
      this.closeAfterSkipping(conn, seg.ts, 'rst');
      return;
    }
    const fin = (flags & TcpFlag.FIN) !== 0;
    if (seg.payload.length > 0 || fin) {
      // The SYN occupies one sequence number before any data it carries (RFC 9293 §3.4).
      own.segment(syn ? (seg.seq + 1) >>> 0 : seg.seq, seg.payload, fin, seg.ts);
    }
    if (own.finDelivered && peer.finDelivered) this.close(conn, seg.ts, 'fin');
  }

  /**
   * Swap client and server of an open connection whose roles were guessed wrong (the HTTP layer
   * saw a status line from the "client", say). Mutates the ConnectionInfo the sink was made with,
   * re-labels the direction of every byte delivered from now on (including bytes buffered out of
   * order), sets `rolesGuessed` to false (the roles are now known) and calls sink.onRolesSwapped.
   * Bytes already delivered keep the direction they were delivered with. Returns false for an
   * unknown or closed connection.
   */
  swapRoles(conn: string | ConnectionInfo): boolean {
    const c = this.byId.get(typeof conn === 'string' ? conn : conn.id);
    if (c === undefined || c.closed) return false;
    this.swap(c);
    return true;
  }

  /** Expire idle flows; cheap to call per packet (real work at most once per sweep interval). */
  advance(now: Micros): void {
    if (now < this.nextSweepAt) return;
    this.nextSweepAt = now + this.limits.sweepIntervalUs;
    this.sweepNow = now;
    this.wheel.sweep(now, this.visitDue);
  }

  /** End of input: give up every hole, deliver what is buffered and close everything with 'eof'. */
  flush(now: Micros): void {
    for (const conn of this.flows.values()) {
      if (!conn.closed) this.closeAfterSkipping(conn, now, 'eof');
      conn.removed = true;
    }
    this.flows.clear();
    this.byId.clear();
    this.wheel.clear();
  }

  private create(key: string, side: 0 | 1, seg: TcpSegment): Connection {
    if (this.flows.size >= this.limits.maxConnections) this.evictOldest();
    const flags = seg.flags;
    let clientSide: 0 | 1;
    let rolesGuessed = false;
    if ((flags & SYN_ACK) === TcpFlag.SYN) clientSide = side;
    else if ((flags & SYN_ACK) === SYN_ACK) clientSide = side === 0 ? 1 : 0;
    else {
      rolesGuessed = true;
      clientSide = guessServerIsSource(seg.srcPort, seg.dstPort) ? (side === 0 ? 1 : 0) : side;
    }
    const srcIsClient = clientSide === side;
    const src = { ip: seg.srcIp, port: seg.srcPort };
    const dst = { ip: seg.dstIp, port: seg.dstPort };
    const info: ConnectionInfo = {
      id: `c${this.nextId++}`,
      client: srcIsClient ? src : dst,
      server: srcIsClient ? dst : src,
      rolesGuessed,
    };
    const sink = this.makeSink(info);
    const conn = new Connection(key, info, sink, clientSide, seg.ts, this.ctx);
    if ((flags & TcpFlag.SYN) !== 0) {
      conn.sides[side].begin(seg.seq + 1);
      // A SYN+ACK acknowledges the client's ISN+1: the client's stream starts there.
      if ((flags & TcpFlag.ACK) !== 0) conn.sides[side ^ 1]!.begin(seg.ack);
    }
    this.flows.set(key, conn);
    this.byId.set(info.id, conn);
    this.active++;
    this.stats.connections++;
    this.wheel.schedule(conn, seg.ts + this.limits.idleTimeoutUs);
    return conn;
  }

  private onSynAck(conn: Connection, side: 0 | 1, seg: TcpSegment): void {
    // The SYN+ACK sender is the server (RFC 9293 §3.5): correct a guess that said otherwise.
    if (conn.info.rolesGuessed && conn.clientSide === side) this.swap(conn);
    const own = conn.sides[side];
    const peer = conn.sides[side ^ 1]!;
    if (!own.started) own.begin(seg.seq + 1);
    if (!peer.started) peer.begin(seg.ack);
  }

  private swap(c: Connection): void {
    c.clientSide = c.clientSide === 0 ? 1 : 0;
    const info = c.info;
    const client = info.client;
    info.client = info.server;
    info.server = client;
    info.rolesGuessed = false;
    c.sides[0].dir = c.clientSide === 0 ? Dir.ClientToServer : Dir.ServerToClient;
    c.sides[1].dir = c.clientSide === 1 ? Dir.ClientToServer : Dir.ServerToClient;
    c.sink.onRolesSwapped?.(info);
  }

  private closeAfterSkipping(conn: Connection, ts: Micros, reason: CloseReason): void {
    conn.sides[0].skipAll(ts);
    conn.sides[1].skipAll(ts);
    this.close(conn, ts, reason);
  }

  /** onClose exactly once per connection; the entry lingers to swallow late retransmits. */
  private close(conn: Connection, ts: Micros, reason: CloseReason): void {
    if (conn.closed) return;
    conn.closed = true;
    this.active--;
    conn.sides[0].release();
    conn.sides[1].release();
    const s = this.stats;
    if (reason === 'fin') s.closedFin++;
    else if (reason === 'rst') s.closedRst++;
    else if (reason === 'idle') s.closedIdle++;
    else if (reason === 'eof') s.closedEof++;
    else s.closedEvicted++;
    if (!conn.removed) this.wheel.schedule(conn, conn.lastSeen + this.limits.closedLingerUs);
    conn.sink.onClose(ts, reason);
  }

  private remove(conn: Connection): void {
    conn.removed = true;
    conn.wheelSlot = -1;
    if (this.flows.get(conn.key) === conn) this.flows.delete(conn.key);
    if (this.byId.get(conn.info.id) === conn) this.byId.delete(conn.info.id);
  }

  private deadlineOf = (conn: Connection): Micros =>
    conn.lastSeen + (conn.closed ? this.limits.closedLingerUs : this.limits.idleTimeoutUs);

  /** Wheel visitor: expire a connection whose deadline passed, re-file it otherwise. */
  private visitDue = (conn: Connection): void => {
    if (conn.removed) return;
    const deadline = this.deadlineOf(conn);
    if (deadline > this.sweepNow) {
      this.wheel.schedule(conn, deadline);
      return;
    }
    // Stamped with the last packet seen: the last thing that happened on the connection.
    if (!conn.closed) this.closeAfterSkipping(conn, conn.lastSeen, 'idle');
    this.remove(conn);
  };

  /** Table full: drop the entry with the earliest deadline (a lingering closed one, or the most idle). */
  private evictOldest(): void {
    const victim = this.wheel.takeOldest(this.deadlineOf);
    if (victim === undefined) return;
    if (!victim.closed) {
      this.anomalies.add('tcp_flow_table_full');
      this.closeAfterSkipping(victim, victim.lastSeen, 'evicted');
    }
    this.remove(victim);
  }
}

/** Which segments may open a table entry: see the file comment. */
function startsConnection(flags: number, payloadLength: number, closedEntry: boolean): boolean {
  if ((flags & TcpFlag.RST) !== 0) return false;
  // A closed entry only yields to a new handshake (a SYN, or a SYN+ACK if the SYN was missed);
  // data for it is taken for late retransmits or in-flight segments of the old connection.
  if (closedEntry) return (flags & TcpFlag.SYN) !== 0;
  return (flags & TcpFlag.SYN) !== 0 || payloadLength > 0;
}

function isSynRetransmit(own: TcpStream, seq: number): boolean {
  return own.started && own.baseSeq === ((seq + 1) >>> 0);
}

function serverScore(port: number): number {
  if (COMMON_SERVER_PORTS.has(port)) return 2;
  // Ports below 1024 are the IANA system ports (RFC 6335 §6): servers, never ephemeral clients.
  return port < 1024 ? 1 : 0;
}

/** Mid-stream join: is the source of the first packet the server? Ties go to the destination. */
function guessServerIsSource(srcPort: number, dstPort: number): boolean {
  return serverScore(srcPort) > serverScore(dstPort);
}
