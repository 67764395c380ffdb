/**
 * Live counters of one pipeline run, readable while it runs (the health endpoint, the progress
 * bar) and summarised at its end. Plain fields: the hot path only increments numbers.
 */
import { AnomalyCounter } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';

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
}
