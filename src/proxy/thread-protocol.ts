/**
 * Messages between the forwarding thread (forwarder-worker.ts) and the main thread, where the
 * pipeline, the store and the API run (threaded-server.ts). Each event-loop turn of the
 * forwarder sends at most one batch: the exchanges opened, their bytes (copied end to end into
 * one transferred ArrayBuffer, referenced by offset and length), closes, anomaly counts since the
 * last batch and the counters.
 */
import type { ConnectionInfo, Endpoint } from '../reassembly/types.js';
import type { ProxyLimits } from './limits.js';
import type { ProxyCounters, ProxyRoute } from './server.js';

export interface ForwarderConfig {
  route: ProxyRoute;
  limits: Partial<ProxyLimits>;
  extraCa?: string[];
  host: string;
  port: number;
}

export type WireOp =
  | { k: 'open'; id: string; info: ConnectionInfo; env: string | null }
  /** `server`: the upstream endpoint as now known (sent with the first response bytes). */
  | { k: 'data'; id: string; dir: 0 | 1; offset: number; length: number; ts: number; server?: Endpoint }
  | { k: 'close'; id: string; ts: number; reason: 'fin' | 'rst' | 'idle' | 'eof' | 'evicted' };

export type FromForwarder =
  | { t: 'ready'; host: string; port: number }
  | { t: 'listen-error'; code: string | null; message: string }
  | { t: 'batch'; ops: WireOp[]; bytes: ArrayBuffer; anomalies: [string, number][]; counters: ProxyCounters }
  | { t: 'stopped' };

export type ToForwarder = { t: 'stop'; graceMs: number };
