/**
 * SSL calls to connections (DESIGN §1: "eBPF sources skip TCP reassembly and enter the HTTP layer
 * as a connection's two byte streams"). One connection per (pid, SSL*). The probes sit in the
 * process's TLS library, so a write is what the process sent and a read what it received: for a
 * client, client→server and server→client.
 *
 * Roles: a process that *reads* an HTTP request first is the server end of its connection (a
 * local gateway or a test server using OpenSSL). Its connections are not decoded: llmtap's view
 * is the client's (the process attributed is the one that made the call), and when both ends run
 * on this host, decoding both would record every call twice. They are counted
 * (`ebpf_server_side_connection`). A connection is decided by its first request: a write that
 * starts an HTTP/1.x request or the HTTP/2 preface (client), or a read that does (server).
 * Bytes before that (a connection opened before llmtap started, joined mid-stream) are dropped
 * and counted once (`ebpf_joined_mid_stream`); on HTTP/1.1 the next request starts it cleanly.
 *
 * Endpoints: an SSL* does not say which socket it writes to (SSL_get_fd is a call the probe cannot
 * make), so client and server addresses are the unspecified 0.0.0.0:0 and the server is named by
 * the request's Host / :authority (the call record's `server.host`).
 */
import type { AnomalySink } from '../core/anomalies.js';
import type { ProcessInfo } from '../core/record.js';
import type { Micros } from '../core/time.js';
import { Dir, type ConnectionInfo, type StreamSink } from '../reassembly/types.js';
import type { SslCall } from './call-collector.js';
import type { MonoMicros } from './event-parser.js';

/** Open connections; beyond it the least recently active closes ('evicted'). 10,000: the flow
 * table's scale for one host's clients. */
export const MAX_CONNECTIONS = 10_000;
/** A connection silent this long (probe time) closes ('idle'). An LLM stream can pause for
 * minutes (reasoning models send nothing before their first token), so 10 minutes. */
export const IDLE_US = 600_000_000;

const METHODS = ['GET ', 'POST ', 'PUT ', 'PATCH ', 'DELETE ', 'HEAD ', 'OPTIONS '];
const H2_PREFACE = 'PRI * HTTP/2.0\r\n';

/** True when `b` starts an HTTP/1.x request line or the HTTP/2 client preface (RFC 9113 §3.4). */
export function startsRequest(b: Uint8Array): boolean {
  const head = Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, H2_PREFACE.length)).toString('latin1');
  return head === H2_PREFACE || METHODS.some((m) => head.startsWith(m));
}

interface Conn {
  key: string;
  role: 'undecided' | 'client' | 'server';
  sink: StreamSink | null;
  last: MonoMicros;
  joinedLate: boolean;
}

export interface ConnectionTableOptions {
  /** Opens the HTTP side of a connection (CapturePipeline.openConnection). */
  open(info: ConnectionInfo): StreamSink;
  /** The process behind a pid, at the connection's first sight. */
  processOf(pid: number): ProcessInfo;
  /** Probe time (monotonic µs) to capture time (wall-clock µs). */
  toWall(mono: MonoMicros): Micros;
  anomalies: AnomalySink;
}

const UNSPECIFIED = { ip: '0.0.0.0', port: 0 };

export class ConnectionTable {
  /** Insertion order is activity order (re-inserted on each call): the first is the idlest. */
  private readonly conns = new Map<string, Conn>();
  private seq = 0;
  /** Connections decoded (client side). */
  opened = 0;

  constructor(private readonly o: ConnectionTableOptions) {}

  get size(): number {
    return this.conns.size;
  }

  add(c: SslCall): void {
    const key = `${c.pid}:${c.ssl}`;
    let conn = this.conns.get(key);
    if (c.kind === 'free') {
      if (conn !== undefined) this.close(conn, c.mono, 'fin');
      return;
    }
    if (conn === undefined) {
      conn = { key, role: 'undecided', sink: null, last: c.mono, joinedLate: false };
      if (this.conns.size >= MAX_CONNECTIONS) {
        const oldest = this.conns.values().next().value;
        if (oldest !== undefined) this.close(oldest, c.mono, 'evicted');
      }
    } else {
      this.conns.delete(key);
    }
    this.conns.set(key, conn);
    conn.last = c.mono;
    const first = c.pieces.find((p): p is Uint8Array => typeof p !== 'number');
    if (conn.role === 'undecided') {
      if (first !== undefined && c.pieces[0] === first && startsRequest(first)) {
        conn.role = c.dir === 'w' ? 'client' : 'server';
        if (conn.role === 'server') this.o.anomalies.add('ebpf_server_side_connection');
      } else {
        if (!conn.joinedLate) this.o.anomalies.add('ebpf_joined_mid_stream');
        conn.joinedLate = true;
        return;
      }
    }
    if (conn.role === 'server') return;
    if (conn.sink === null) {
      const info: ConnectionInfo = {
        id: `e${++this.seq}`,
        client: UNSPECIFIED,
        server: UNSPECIFIED,
        rolesGuessed: false,
        process: this.o.processOf(c.pid),
      };
      conn.sink = this.o.open(info);
      this.opened++;
    }
    const dir = c.dir === 'w' ? Dir.ClientToServer : Dir.ServerToClient;
    const ts = this.o.toWall(c.mono);
    for (const p of c.pieces) {
      if (typeof p === 'number') conn.sink.onGap(dir, p, ts);
      else conn.sink.onData(dir, p, ts);
    }
  }

  /** Connections silent since before `now − IDLE_US`, and those of processes gone, close. */
  expire(now: MonoMicros, alive: (pid: number) => boolean = () => true): void {
    for (const conn of [...this.conns.values()]) {
      if (now - conn.last >= IDLE_US) this.close(conn, now, 'idle');
      else if (!alive(Number(conn.key.slice(0, conn.key.indexOf(':'))))) this.close(conn, now, 'fin');
    }
  }

  /** End of input: every connection closes ('eof'). */
  closeAll(now: MonoMicros): void {
    for (const conn of [...this.conns.values()]) this.close(conn, now, 'eof');
  }

  private close(conn: Conn, mono: MonoMicros, reason: 'fin' | 'idle' | 'eof' | 'evicted'): void {
    this.conns.delete(conn.key);
    conn.sink?.onClose(this.o.toWall(Math.max(mono, conn.last)), reason);
  }
}
