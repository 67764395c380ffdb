import type { ProcessInfo } from '../core/record.js';
import type { Micros } from '../core/time.js';

export interface Endpoint {
  ip: string;
  port: number;
}

/** Direction of bytes on a connection. */
export const enum Dir {
  ClientToServer = 0,
  ServerToClient = 1,
}

export interface ConnectionInfo {
  /** Unique per process run, e.g. "c17". */
  id: string;
  client: Endpoint;
  server: Endpoint;
  /** True when the roles were guessed (no SYN seen). */
  rolesGuessed: boolean;
  /** The process on the client side, for sources that know it (eBPF); copied onto its calls. */
  process?: ProcessInfo;
}

/**
 * What reassembly delivers per connection: in-order bytes per direction with the capture time of
 * the packet that carried them. One sink per connection, made by a StreamSinkFactory.
 */
export interface StreamSink {
  /**
   * In-order bytes. `data` is lent for the duration of the call: it may be a view of the capture
   * source's reused buffer, so a sink copies what it keeps. (Bytes arrive once, in order, on the
   * common path; copying them where they are kept, e.g. into a body buffer, is the only copy.)
   */
  onData(dir: Dir, data: Uint8Array, ts: Micros): void;
  /** A hole of `bytes` that never filled in `dir`; later data resumes after it. */
  onGap(dir: Dir, bytes: number, ts: Micros): void;
  /** The connection's client and server roles were swapped after a guess proved wrong. */
  onRolesSwapped?(info: ConnectionInfo): void;
  /** FIN/RST in both directions, idle expiry, or end of input. */
  onClose(ts: Micros, reason: 'fin' | 'rst' | 'idle' | 'eof' | 'evicted'): void;
}

export type StreamSinkFactory = (info: ConnectionInfo) => StreamSink;
