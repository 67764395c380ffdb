/**
 * Caps and timeouts of TCP reassembly (DESIGN §1 "Bounded memory"). Every number names where it
 * came from; all of them can be overridden per FlowTable (tests use tiny values).
 */
import type { Micros } from '../core/time.js';

export interface ReassemblyLimits {
  /** A connection without packets for this long (capture time) closes with 'idle'. */
  idleTimeoutUs: Micros;
  /** How long a closed connection is remembered, to swallow late retransmits of its last packets. */
  closedLingerUs: Micros;
  /** Out-of-order payload bytes buffered per direction before the first hole is given up. */
  maxOooBytesPerDir: number;
  /** Out-of-order segments buffered per direction (bounds per-segment overhead of tiny segments). */
  maxOooSegmentsPerDir: number;
  /** Out-of-order bytes (plus per-segment overhead) buffered across all connections. */
  maxBufferedBytes: number;
  /** Connections (open or lingering after close) in the table; beyond it the oldest idle is evicted. */
  maxConnections: number;
  /** Idle expiry granularity: `advance` does real work at most once per this much capture time. */
  sweepIntervalUs: Micros;
}

export const DEFAULT_LIMITS: Readonly<ReassemblyLimits> = {
  // Zeek's `tcp_inactivity_timeout` default (5 min). Long enough for keep-alive connections that
  // sit between agent turns, short enough that dead flows do not pile up.
  idleTimeoutUs: 5 * 60 * 1_000_000,
  // Linux TCP_TIMEWAIT_LEN (60 s, include/net/tcp.h): after that a real stack would accept the
  // 4-tuple again, so late segments for the old connection no longer make sense.
  closedLingerUs: 60 * 1_000_000,
  // A sender cannot have more than the receiver's window in flight (RFC 9293 §3.8.6). Linux's
  // default maximum receive buffer is 6 MiB (net.ipv4.tcp_rmem = 4096 131072 6291456), so a hole
  // with more than 8 MiB after it cannot be filled by a well-behaved sender: it was lost by the capture.
  maxOooBytesPerDir: 8 * 1024 * 1024,
  // 8 MiB / 1448-byte MSS (Ethernet MTU 1500 with timestamps) ≈ 5800 segments; 16384 leaves room
  // for smaller segments while bounding the bookkeeping of a flood of 1-byte segments.
  maxOooSegmentsPerDir: 16_384,
  // Whole-process budget for reordering: 256 MiB (design figure) ≈ 32 directions each at the
  // per-direction cap, far more than real captures need at once.
  maxBufferedBytes: 256 * 1024 * 1024,
  // Design figure: at ~1 KiB of state per idle connection (ours plus the HTTP parser's) the table
  // stays around 1 GiB in the worst case, and no real capture point has a million live LLM flows.
  maxConnections: 1_000_000,
  // Idle timeouts are minutes; checking once per captured second is precise enough and cheap.
  sweepIntervalUs: 1_000_000,
};

/**
 * Accounting charge for one buffered out-of-order segment on top of its payload: a V8 object with
 * five fields plus a Uint8Array and its ArrayBuffer is ~150 bytes (estimated, not measured exactly).
 */
export const CHUNK_OVERHEAD_BYTES = 160;

/**
 * Well-known ports of LLM servers and gateways, used to guess the server when a connection is
 * joined mid-stream: HTTP 80/443/8080/8443; vLLM and many FastAPI servers 8000; Ollama 11434;
 * LiteLLM proxy 4000; CLIProxyAPI 8317; LM Studio 1234; SGLang 30000; text-generation-inference 3000.
 */
export const COMMON_SERVER_PORTS: ReadonlySet<number> = new Set([
  80, 443, 8080, 8443, 8000, 11434, 4000, 8317, 1234, 30000, 3000,
]);
