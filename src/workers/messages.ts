/**
 * What the main thread and the worker threads say to each other (DESIGN §8: src/workers is "pool
 * and messages"). Everything here goes through structured clone; packet bytes travel in
 * transferred ArrayBuffers (DESIGN §1: "byte buffers are transferred, not copied").
 */
import type { AgentCallInput } from '../agents/profiles.js';
import type { AttributeRule, PricingConfig } from '../config/types.js';
import type { HttpExchangeRecord, LlmCallRecord } from '../core/record.js';
import type { Micros } from '../core/time.js';
import type { ConnectionInfo } from '../reassembly/types.js';
import type { StoredExchangeInput } from '../store/types.js';
import type { UndecryptedFacts } from '../tls/index.js';

/** Set once per worker (workerData). */
export interface WorkerInit {
  index: number;
  fingerprintSalt: string;
  attributes: AttributeRule[];
  pricing: PricingConfig;
  /** Build the store's form of each exchange (only when a store keeps it: it costs a second parse
   * of streamed bodies, see stored-exchange.ts). */
  storedExchanges: boolean;
  /** Report exchanges that are not LLM calls (`--exchanges`, the store). */
  otherExchanges: boolean;
  /** `--tls-keylog`: read by each worker, and followed as it grows for a live source. */
  keyLog: { path: string; follow: boolean } | null;
}

/** Rows of `Batch.meta`, META_COLUMNS numbers each. */
export const ItemKind = {
  /** A captured frame: its bytes are the next `len` bytes of `Batch.bytes`. */
  Frame: 0,
  /** A TCP segment decoded on the main thread (reassembled IP fragments): fields in `segments`. */
  Segment: 1,
  /** Idle-flow expiry at `ts` (the single pipeline's per-second check, decided by the dispatcher). */
  Expire: 2,
  /** The capture clock moved without a packet (an idle live source, CapturePipeline.advanceTo). */
  AdvanceTo: 3,
} as const;

/** kind, frame number, source index, ts, linkType (frame) | segment index, iface, origLen, byte length. */
export const META_COLUMNS = 8;

export interface SegmentFields {
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
}

/** One round's work for one worker: every item of frames numbered up to `through`. */
export interface BatchMessage {
  type: 'batch';
  round: number;
  through: number;
  meta: Float64Array;
  bytes: Uint8Array;
  segments: SegmentFields[];
  /** Sources first seen in this round, index → source id (collect: one per probe). */
  sources: [number, string][];
  /** Key log text from pcapng Decryption Secrets Blocks read since the last round (pcapng §4.7:
   * they precede the packets they decrypt). */
  secrets: string[];
}

/** End of input: flush each source (in this order) at the input's final capture clock. */
export interface FinishMessage {
  type: 'finish';
  sources: { index: number; clock: Micros | null }[];
}

export type ToWorker = BatchMessage | FinishMessage;

/**
 * Where an emission falls in the single-threaded order: frame `f` (what was being processed),
 * phase `p` (0 the frame itself, 1 the idle expiry after it, 2 end of input), then `a`, `b`
 * (phase 1: connection's first frame; phase 2: source's flush position, connection's first frame).
 */
export interface OrderKey {
  f: number;
  p: number;
  a: number;
  b: number;
}

export type Emission = OrderKey &
  (
    | { kind: 'conn'; local: string; source: number }
    | { kind: 'closed'; local: string }
    | { kind: 'call'; record: LlmCallRecord; stored: StoredExchangeInput | null; agent: Omit<AgentCallInput, 'record'> }
    | { kind: 'other'; record: HttpExchangeRecord; stored: StoredExchangeInput | null }
    | { kind: 'tls'; info: ConnectionInfo; facts: UndecryptedFacts }
  );

/** A worker's counters, whole (not deltas), except anomalies: counts added since the last report. */
export interface WorkerStats {
  tcpSegments: number;
  exchanges: number;
  calls: number;
  otherExchanges: number;
  connections: number;
  inFlight: number;
  anomalies: [string, number][];
}

export interface DoneMessage {
  type: 'done';
  round: number;
  /** Every emission of frames numbered up to this is in this message or an earlier one;
   * Infinity after the finish. */
  through: number;
  emissions: Emission[];
  stats: WorkerStats;
  /** The round's packet buffers, handed back for reuse (transferred). */
  buffers: ArrayBuffer[];
}

export interface FailedMessage {
  type: 'failed';
  message: string;
}

export type FromWorker = DoneMessage | FailedMessage;
