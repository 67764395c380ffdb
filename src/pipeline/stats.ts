/**
 * Live counters of one pipeline run, readable while it runs (the health endpoint, the progress
 * bar) and summarised at its end. Plain fields: the hot path only increments numbers.
 */
import { AnomalyCounter } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';
import type { HttpGauges } from '../http/gauges.js';

export interface LiveCaptureCounters {
  /** Packets the kernel dropped for this capture (pcap_stats ps_drop); null before the first report. */
  kernel: number | null;
  /** Packets the interface dropped (ps_ifdrop); null when unknown. */
  interface: number | null;
  /** Times the pipeline stopped reading the capture while the store caught up. */
  stalls: number;
  /** Packets dropped because the worker threads' queue was full (PipelineStats.pipelineDrops). */
  pipeline?: number;
}

/** Server names kept for the undecrypted-TLS summary: a summary line and a health panel, not a log. */
const MAX_TLS_SERVERS = 100;

export class PipelineStats {
  readonly anomalies = new AnomalyCounter();
  packets = 0;
  /** Captured bytes of the packets read. */
  captureBytes = 0;
  tcpSegments = 0;
  exchanges = 0;
  calls = 0;
  otherExchanges = 0;
  firstTs: Micros | null = null;
  lastTs: Micros | null = null;
  /** File progress (bytes read of the file's size). */
  bytesRead = 0;
  totalBytes = 0;
  /** Set by the flow table's owner so that readers see connections without reaching into it. */
  connections = 0;
  /** Packets a live source dropped because the worker threads were behind (src/workers: a full
   * queue drops instead of holding the capture back without bound); also the anomaly
   * `pipeline_queue_full`. Always 0 for a file and for an in-thread run. */
  pipelineDrops = 0;
  /** A live source's capture counters (libpcap's drops, read from the capture process; times the
   * pipeline held the capture back); null for a file. Read by the self-metrics at each scrape. */
  liveCounters: (() => LiveCaptureCounters) | null = null;
  /** Requests in flight (begun, not yet answered in full), kept by the HTTP layers. */
  readonly http: HttpGauges = { inFlight: 0 };
  /** TLS connections that could not be decrypted, by server name (SNI, else address) and why:
   * never silently dropped (issue 7). At most MAX_TLS_SERVERS names; the rest count under "(other)". */
  readonly undecryptedTls = new Map<string, { connections: number; reasons: Record<string, number> }>();

  noteUndecryptedTls(server: string, reason: string): void {
    const name = this.undecryptedTls.has(server) || this.undecryptedTls.size < MAX_TLS_SERVERS ? server : '(other)';
    let e = this.undecryptedTls.get(name);
    if (e === undefined) this.undecryptedTls.set(name, (e = { connections: 0, reasons: {} }));
    e.connections++;
    e.reasons[reason] = (e.reasons[reason] ?? 0) + 1;
  }
}
