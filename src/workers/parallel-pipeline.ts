/**
 * The main thread's side of parallel workers (issue 6 item 2): the dispatcher and the merge.
 *
 * Dispatcher: frames are numbered in reading order; each goes to the worker its symmetric 5-tuple
 * hashes to (flow-hash.ts), packed into that worker's batch; frames the fast path does not read
 * are decoded here (IP fragments reassembled) and their TCP segment goes to its flow's worker.
 * Idle-flow expiry is decided here, where every frame is seen, by the single pipeline's rule
 * (replay.ts ADVANCE_EVERY_US), and sent to every worker as a marker after that frame: each
 * worker's flow table then expires its flows at the same frames as one table would.
 *
 * Rounds: the batches go out together when they hold ROUND_BYTES, after each read and at the end.
 * At most MAX_IN_FLIGHT rounds are in flight: a file waits for room (backpressure); a live
 * source does not wait: the round's packets are dropped and counted (`pipeline_queue_full`).
 *
 * Merge: workers' emissions come back tagged with their place in the single-threaded order
 * (messages.ts OrderKey) and are released in that order (merge.ts), so calls reach the turn
 * tracker, JSONL and the store as one pipeline would hand them over. Connections are numbered
 * here ("c1", … per source, in opening order) as one flow table numbers them.
 */
import type { AgentCallInput } from '../agents/profiles.js';
import type { CaptureFileSummary, CaptureInterface } from '../capture/capture-parser.js';
import { CaptureError } from '../capture/capture-error.js';
import { isSupportedLinkType, PacketDecoder } from '../capture/link.js';
import type { CapturedFrame, TcpSegment } from '../capture/types.js';
import type { HttpExchangeRecord, LlmCallRecord } from '../core/record.js';
import type { Micros } from '../core/time.js';
import { ADVANCE_EVERY_US } from '../pipeline/replay.js';
import { PipelineStats } from '../pipeline/stats.js';
import type { ConnectionInfo } from '../reassembly/types.js';
import type { StoredExchangeInput } from '../store/types.js';
import { secretsFromDsb, type UndecryptedFacts } from '../tls/index.js';
import { BatchWriter, BufferRecycler } from './batch.js';
import { OrderedMerge } from './merge.js';
import { ItemKind, type DoneMessage, type Emission, type WorkerInit, type WorkerStats } from './messages.js';
import { WorkerPool } from './pool.js';
import { frameFlowHash, NOT_ROUTED, segmentFlowHash } from './flow-hash.js';

/**
 * A round goes out when its batches hold this many bytes: 1 MiB is a quarter of a file read
 * (file-reader.ts READ_CHUNK), ~700 full-size frames, so a message costs far less than the
 * frames in it, and a worker starts on a read before the reader has finished parsing it.
 */
export const ROUND_BYTES = 1024 * 1024;
/**
 * Rounds' worth of packet bytes in flight (posted, not answered by every worker): the queue is
 * full at MAX_IN_FLIGHT × ROUND_BYTES (8 MiB), which bounds the bytes queued for workers (plus
 * one read's rounds, posted before the reader waits) and the records held for the merge to what
 * those bytes make. 8 keeps every worker busy while the main thread writes what came back.
 */
export const MAX_IN_FLIGHT = 8;
/**
 * A live source posts small rounds (a pipe read may hold one packet): the queue is also full at
 * this many rounds, whatever their bytes, which bounds the messages queued (a worker starting
 * up, ~0.3 s of module loading, must not make a live capture drop).
 */
export const MAX_IN_FLIGHT_ROUNDS = 1024;
/** A paced replay or a live source posts what it has at least this often (a live source also
 * when the capture goes idle, advanceTo): calls show within about this of their last packet. */
const POST_EVERY_MS = 20;

export interface WorkerOutputs {
  /** An LLM call: its record, the store's form of its exchange (when `storedExchanges`), and
   * what the turn tracker reads of its request. */
  onCall(record: LlmCallRecord, stored: StoredExchangeInput | null, input: AgentCallInput): void;
  onOtherExchange?(record: HttpExchangeRecord, stored: StoredExchangeInput | null): void;
  onTlsUndecrypted?(info: ConnectionInfo, facts: UndecryptedFacts): void;
}

export interface ParallelOptions {
  workers: number;
  init: Omit<WorkerInit, 'index' | 'otherExchanges'>;
  outputs: WorkerOutputs;
  stats?: PipelineStats;
  /** A live source: a full queue drops packets (counted) instead of holding the reader back. */
  live?: boolean;
  /** Post at least every PACED_POST_MS of wall clock (`--pace`). */
  paced?: boolean;
  /** Tests: another worker script. */
  entry?: URL;
  maxInFlight?: number;
  roundBytes?: number;
  /** The queue's bounds (a configured pipeline's `queue`, docs/live.md "Pipelines"): packet bytes
   * and rounds in flight; default MAX_IN_FLIGHT × roundBytes and MAX_IN_FLIGHT_ROUNDS. */
  queueBytes?: number;
  queueRounds?: number;
}

/** One input of the run (a file, a live interface, one probe): what createCapturePipeline gives
 * a single-threaded run, minus what lives on the workers. */
export interface ParallelSource {
  readonly stats: PipelineStats;
  readonly clock: Micros | null;
  onFrame(f: CapturedFrame): void;
  onInterface(iface: CaptureInterface, index: number, format: 'pcap' | 'pcapng'): void;
  onSecrets(type: number, data: Uint8Array): void;
  advanceTo(now: Micros): void;
}

interface SourceState extends Omit<ParallelSource, 'clock'> {
  clock: Micros | null;
  index: number;
  lastTs: Micros | null;
  unsupported: number[];
  decoder: PacketDecoder | null;
}

function unsupportedError(linkType: number): CaptureError {
  return new CaptureError(`unsupported link type ${linkType} (llmtap reads Ethernet, Linux SLL/SLL2, loopback and raw IP)`);
}

export class ParallelCapture {
  readonly stats: PipelineStats;
  private readonly pool: WorkerPool;
  private readonly writers: BatchWriter[];
  private readonly spare = new BufferRecycler();
  private readonly merge: OrderedMerge;
  private readonly sources: SourceState[] = [];
  private newSources: [number, string][] = [];
  private secrets: string[] = [];
  private frameNo = 0;
  private pendingBytes = 0;
  private pendingItems = false;
  /** Frame number the last round covered. */
  private postedThrough = 0;
  /** What boundaries (chunkEnd) started, awaited by afterChunk: the store's drain. */
  private boundaryWork: Promise<void>[] = [];
  private lastPost = performance.now();
  private readonly last: WorkerStats[];
  /** Worker connection name → "cN"; entries leave when the connection closes. */
  private readonly ids = new Map<string, string>();
  private readonly opened: number[] = [];
  private readonly queueBytes: number;
  private readonly queueRounds: number;
  private readonly roundBytes: number;
  private closed = false;

  constructor(private readonly opts: ParallelOptions) {
    this.stats = opts.stats ?? new PipelineStats();
    this.roundBytes = opts.roundBytes ?? ROUND_BYTES;
    this.queueBytes = opts.queueBytes ?? (opts.maxInFlight ?? MAX_IN_FLIGHT) * this.roundBytes;
    this.queueRounds = opts.queueRounds ?? MAX_IN_FLIGHT_ROUNDS;
    const n = opts.workers;
    this.writers = Array.from({ length: n }, () => new BatchWriter());
    this.last = Array.from({ length: n }, () => ({ tcpSegments: 0, exchanges: 0, calls: 0, otherExchanges: 0, connections: 0, inFlight: 0, anomalies: [] }));
    this.merge = new OrderedMerge(n, (e) => this.release(e));
    this.pool = new WorkerPool(n, { ...opts.init, otherExchanges: opts.outputs.onOtherExchange !== undefined }, { done: (w, m) => this.done(w, m) }, opts.entry);
  }

  /** Emissions waiting for slower workers (tests: the merge's memory stays bounded). */
  get held(): number {
    return this.merge.pending;
  }

  get inFlight(): number {
    return this.pool.inFlight;
  }

  /** A new input; `id` is its records' `source`. */
  source(id: string): ParallelSource {
    const index = this.sources.length;
    const stats = this.stats;
    const n = this.writers.length;
    let segmentFrame = 0;
    const onSegment = (seg: TcpSegment): void => {
      this.writers[segmentFlowHash(seg) % n]!.addSegment(segmentFrame, index, seg);
      this.pendingItems = true;
    };
    let nextAdvance = 0;
    const s: SourceState = {
      index,
      stats,
      lastTs: null,
      clock: null,
      unsupported: [],
      decoder: null,
      onFrame: (f) => {
        stats.packets++;
        const len = f.end - f.start;
        stats.captureBytes += len;
        stats.firstTs ??= f.ts;
        if (s.lastTs === null || f.ts > s.lastTs) stats.lastTs = s.lastTs = f.ts;
        if (s.clock === null || s.lastTs > s.clock) s.clock = s.lastTs;
        const no = ++this.frameNo;
        const h = frameFlowHash(f.buf, f.start, f.end, f.linkType);
        if (h !== NOT_ROUTED) {
          this.writers[h % n]!.addFrame(no, index, f);
          this.pendingItems = true;
        } else {
          // The full decoder, as a worker would run it: its anomalies count here, and a segment
          // it yields (a reassembled datagram, an unusual header) goes to its flow's worker.
          segmentFrame = no;
          (s.decoder ??= new PacketDecoder(stats.anomalies)).decodeFrame(f, onSegment);
        }
        const lastTs = s.lastTs;
        if (lastTs >= nextAdvance) {
          for (const w of this.writers) w.addMarker(ItemKind.Expire, no, index, lastTs);
          this.pendingItems = true;
          nextAdvance = lastTs + ADVANCE_EVERY_US;
        }
        this.pendingBytes += len;
        if (this.pendingBytes >= this.roundBytes || (this.opts.paced === true && performance.now() - this.lastPost >= POST_EVERY_MS)) this.post();
      },
      onInterface: (iface, _i, format) => {
        if (isSupportedLinkType(iface.linkType)) return;
        s.unsupported.push(iface.linkType);
        if (format === 'pcap') throw unsupportedError(iface.linkType);
      },
      onSecrets: (type, data) => {
        const text = secretsFromDsb(type, data);
        if (text !== null) this.secrets.push(text);
      },
      advanceTo: (now) => {
        if (s.clock !== null && now <= s.clock) return;
        s.clock = now;
        for (const w of this.writers) w.addMarker(ItemKind.AdvanceTo, this.frameNo, index, now);
        this.pendingItems = true;
        this.post();
      },
    };
    this.sources.push(s);
    this.opened.push(0);
    this.newSources.push([index, id]);
    return s;
  }

  /**
   * The end of a read, at the current frame: `atEnd` runs once every record of the frames read so
   * far has been released, before any later one (a single pipeline runs what follows a read right
   * after the read's records); what it returns is awaited by a later afterChunk or the finish.
   */
  chunkEnd(atEnd: () => Promise<void> | void): void {
    this.merge.addBoundary(this.frameNo, () => {
      const p = atEnd();
      if (p !== undefined) {
        // Awaited (and its failure thrown) by afterChunk or finish; not an unhandled rejection meanwhile.
        p.catch(() => undefined);
        this.boundaryWork.push(p);
      }
    });
  }

  /** After a read: send what waits (a live source: at most every POST_EVERY_MS); a file then
   * waits for room (backpressure). */
  async afterChunk(): Promise<void> {
    if (this.opts.live !== true) {
      this.post();
      await this.pool.room(this.full);
    } else {
      if (this.pool.failed !== null) throw this.pool.failed;
      if (performance.now() - this.lastPost >= POST_EVERY_MS) this.post();
    }
    await this.settleBoundaries();
  }

  /** The workers' queue is full (see MAX_IN_FLIGHT). */
  private readonly full = (): boolean => this.pool.inFlightBytes >= this.queueBytes || this.pool.inFlight >= this.queueRounds;

  private async settleBoundaries(): Promise<void> {
    while (this.boundaryWork.length > 0) {
      const work = this.boundaryWork;
      this.boundaryWork = [];
      await Promise.all(work);
    }
  }

  /** Sends what waits now (a paced replay's tick). */
  flushPending(): void {
    this.post();
  }

  /**
   * End of input: every source flushed (in the order given, or creation order) at its final
   * clock, everything released, the workers stopped. Throws on an unreadable capture (no
   * interface of a link type llmtap reads) as the single pipeline does.
   */
  async finish(captures: Map<ParallelSource, CaptureFileSummary> = new Map()): Promise<void> {
    try {
      for (const s of this.sources) {
        s.decoder?.flush();
        const capture = captures.get(s);
        if (capture !== undefined && capture.interfaces.length > 0 && s.unsupported.length === capture.interfaces.length) throw unsupportedError(s.unsupported[0]!);
      }
      this.post(true);
      await this.pool.finish({ type: 'finish', sources: this.sources.map((s) => ({ index: s.index, clock: s.clock })) });
      await this.settleBoundaries();
    } finally {
      await this.close();
    }
  }

  /** Stops the workers (after a failure: what was released stays released). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.close();
  }

  private post(force = false): void {
    // A round with nothing for the workers still moves their watermarks (boundaries wait on them).
    if (!this.pendingItems && this.newSources.length === 0 && this.secrets.length === 0 && this.frameNo === this.postedThrough) return;
    if (this.opts.live === true && !force && this.full()) {
      // The workers are behind a live source: drop these packets rather than queue without
      // bound (the capture would otherwise drop in the kernel, unseen); markers still go out.
      let dropped = 0;
      for (const w of this.writers) dropped += w.dropPackets();
      if (dropped > 0) {
        this.stats.pipelineDrops += dropped;
        this.stats.anomalies.add('pipeline_queue_full', dropped);
      }
      this.pendingBytes = 0;
      return;
    }
    const through = this.frameNo;
    const sources = this.newSources;
    const secrets = this.secrets;
    this.pool.postRound((i, round) => {
      const { meta, bytes, segments } = this.writers[i]!.take(this.spare);
      return {
        msg: { type: 'batch', round, through, meta, bytes, segments, sources, secrets },
        transfer: [meta.buffer as ArrayBuffer, bytes.buffer as ArrayBuffer],
        bytes: bytes.length,
      };
    });
    this.newSources = [];
    this.secrets = [];
    this.pendingBytes = 0;
    this.pendingItems = false;
    this.postedThrough = through;
    this.lastPost = performance.now();
  }

  private done(worker: number, m: DoneMessage): void {
    const s = this.stats;
    const was = this.last[worker]!;
    const now = m.stats;
    s.tcpSegments += now.tcpSegments - was.tcpSegments;
    s.exchanges += now.exchanges - was.exchanges;
    s.calls += now.calls - was.calls;
    s.otherExchanges += now.otherExchanges - was.otherExchanges;
    s.connections += now.connections - was.connections;
    s.http.inFlight += now.inFlight - was.inFlight;
    for (const [name, count] of now.anomalies) s.anomalies.add(name, count);
    this.last[worker] = now;
    for (const b of m.buffers) this.spare.put(b);
    this.merge.add(worker, m.emissions, m.through);
  }

  private connectionId(local: string): string {
    return this.ids.get(local) ?? local;
  }

  private release(e: Emission): void {
    const out = this.opts.outputs;
    switch (e.kind) {
      case 'conn': {
        const n = (this.opened[e.source] ?? 0) + 1;
        this.opened[e.source] = n;
        this.ids.set(e.local, `c${n}`);
        return;
      }
      case 'closed':
        this.ids.delete(e.local);
        return;
      case 'call':
        if (e.stored) e.stored.connection_id = this.connectionId(e.stored.connection_id);
        out.onCall(e.record, e.stored, { record: e.record, ...e.agent });
        return;
      case 'other':
        e.record.connection_id = this.connectionId(e.record.connection_id);
        if (e.stored) e.stored.connection_id = e.record.connection_id;
        out.onOtherExchange?.(e.record, e.stored);
        return;
      case 'tls':
        e.info.id = this.connectionId(e.info.id);
        this.stats.noteUndecryptedTls(e.facts.sni ?? `${e.info.server.ip}:${e.info.server.port}`, e.facts.reason);
        out.onTlsUndecrypted?.(e.info, e.facts);
        return;
    }
  }
}
