import type { OutputStats } from '../metrics/instruments.js';
import type { StoreStats } from '../store/types.js';

/**
 * Types the API shares with whoever runs it (the CLI wires the pipeline's health and the live feed
 * in). The store's types live in src/store/types.ts; the API only reads through that interface.
 */

/** One ingress source (DESIGN §1): a capture file, a live interface, a probe, eBPF, the proxy. */
export interface SourceHealth {
  /** Source id, the same string every record of this source carries in `source`. */
  id: string;
  kind: 'file' | 'interface' | 'probe' | 'ebpf' | 'proxy';
  state: 'starting' | 'running' | 'drained' | 'stopped' | 'error';
  packets: number;
  /** Captured bytes (what the capture holds, not the file size). */
  bytes: number;
  /** How far a finite source has got (file bytes read / file size); null for live sources. */
  progress: { done: number; total: number } | null;
  /**
   * Packets lost before llmtap saw them. `kernel` and `interface` are what libpcap's
   * pcap_stats reports (ps_drop, ps_ifdrop), null when the source cannot know (a file);
   * `pipeline` counts packets llmtap itself dropped (a full queue).
   */
  drops: { kernel: number | null; interface: number | null; pipeline: number };
  /** Capture time of the first and last packet (ISO 8601, µs), null before any. */
  first_packet: string | null;
  last_packet: string | null;
  /** Why the source stopped, when state is 'error'. */
  error: string | null;
  /** The configured pipeline it belongs to (`llmtap run`), absent for a one-source command. */
  pipeline?: string | null;
  /** Calls found in this source so far (`llmtap run`, per source); absent where only the run's
   * total is known. */
  calls?: number;
}

/** Totals across sources, from the pipeline's counters. */
export interface PipelineCounts {
  packets: number;
  bytes: number;
  tcp_segments: number;
  connections: number;
  exchanges: number;
  calls: number;
  other_exchanges: number;
}

/** The store writer's side (batches committed, what is waiting); the store's own view of its
 * tables comes from `Store.stats()` and is added by the API. */
export interface WriterHealth {
  /** Records committed since start. */
  written: number;
  batches: number;
  /** Records accepted but not yet committed. */
  pending: number;
  /** Last write error, if writes are failing. */
  last_error: string | null;
}

/** What the pipeline reports about itself for `GET /api/v1/health` (DESIGN §4 self-metrics, §6). */
export interface HealthInfo {
  status: 'ok' | 'degraded' | 'error';
  version: string;
  /** Wall-clock start of this process (ISO 8601). */
  started_at: string;
  sources: SourceHealth[];
  /** Anomaly counts by name (`<layer>_<condition>`, DESIGN §1). */
  anomalies: Record<string, number>;
  counts: PipelineCounts;
  /** null when nothing writes (`llmtap serve`). */
  writer: WriterHealth | null;
  /** OTLP export, alert delivery and record observer failures (issue 5); absent or null when the
   * command runs none of them (`llmtap serve`). The same counters as the llmtap_otlp_*,
   * llmtap_alert* and llmtap_observer_* metrics on /metrics. */
  outputs?: OutputsHealth | null;
  /** TLS servers whose connections could not be decrypted (issue 7): absent when the command
   * reads no capture (`llmtap serve`). */
  tls_undecrypted?: TlsUndecryptedHealth[];
}

/** One server (SNI, else `ip:port`) with TLS connections llmtap saw but could not read. At most
 * 100 servers (PipelineStats' cap); the rest are counted under the name "(other)". */
export interface TlsUndecryptedHealth {
  server: string;
  connections: number;
  /** Connections by reason: `no_keys` (the key log does not name them: add one with
   * --tls-keylog), `mid_stream` (handshake not captured), `unsupported_cipher`, `decrypt_failed`
   * (the secrets do not fit). */
  reasons: Record<string, number>;
}

export type OutputsHealth = OutputStats;

/** The health endpoint's body: the pipeline's view plus the store's and the live feed's. */
export interface HealthResponse extends HealthInfo {
  outputs: OutputsHealth | null;
  /** Most connections first; empty when every TLS connection was decrypted (or there was none). */
  tls_undecrypted: TlsUndecryptedHealth[];
  db: StoreStats | null;
  /** Set when `Store.stats()` failed: the page should say the database is unreadable. */
  db_error: string | null;
  /** `published` counts calls, `turns_published` turn snapshots; `delivered` counts frames of both. */
  live: { clients: number; published: number; delivered: number; dropped: number; turns_published: number };
}
