/**
 * A worker thread (DESIGN §1: "a connection lives on one worker"): the same per-source pipeline as
 * the single-threaded run (src/pipeline/replay.ts), fed the frames of the flows the dispatcher
 * hashed to this worker, plus the dispatcher's idle-expiry markers. What it makes goes back tagged
 * with where it falls in the single-threaded order (messages.ts OrderKey), after each round.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { CaptureFileSummary } from '../capture/capture-parser.js';
import { configurePricing } from '../cost/call-pricer.js';
import { createCapturePipeline, type CapturePipeline, type PipelineOptions } from '../pipeline/replay.js';
import { PipelineStats } from '../pipeline/stats.js';
import { buildStoredExchangeInput } from '../pipeline/stored-exchange.js';
import type { ConnectionInfo } from '../reassembly/types.js';
import { KeyLog, type KeyLogFollower } from '../tls/index.js';
import { readBatch } from './batch.js';
import { ItemKind, type BatchMessage, type DoneMessage, type Emission, type FinishMessage, type FromWorker, type OrderKey, type ToWorker, type WorkerInit, type WorkerStats } from './messages.js';

/** Frame number of end-of-input emissions: after every frame. */
export const END_FRAME = Number.MAX_SAFE_INTEGER;

const NO_CAPTURE: CaptureFileSummary = { format: 'pcap', packets: 0, bytes: 0, truncatedAt: null, stoppedAt: null, interfaces: [] };

export class WorkerCore {
  private readonly stats = new PipelineStats();
  private readonly keys: KeyLog;
  private readonly pipelines = new Map<number, CapturePipeline>();
  private readonly sourceIds = new Map<number, string>();
  /** Open connections' first frame (their order at expiry and end of input). */
  private readonly firstFrame = new Map<string, number>();
  private connections = 0;
  private emissions: Emission[] = [];
  private key: OrderKey = { f: 0, p: 0, a: 0, b: 0 };
  /** Position of the source being flushed at end of input. */
  private flushPosition = 0;
  private readonly sentAnomalies = new Map<string, number>();
  private readonly base: PipelineOptions;
  private follower: KeyLogFollower | null = null;
  /** Source index of the item being processed. */
  private currentSource = 0;

  constructor(private readonly init: WorkerInit) {
    this.keys = new KeyLog({ anomalies: this.stats.anomalies });
    if (init.keyLog !== null) {
      if (init.keyLog.follow) this.follower = this.keys.followFile(init.keyLog.path);
      else {
        // The main thread read it already (and refused it if unreadable): a failure here is a race.
        try {
          this.keys.addText(readFileSync(init.keyLog.path, 'utf8'));
        } catch {
          this.stats.anomalies.add('worker_keylog_unreadable');
        }
      }
    }
    this.base = {
      source: '',
      fingerprintSalt: init.fingerprintSalt,
      attributes: init.attributes,
      pricer: configurePricing(init.pricing),
      stats: this.stats,
      tlsKeys: this.keys,
      externalExpiry: true,
      onConnectionOpened: (info) => this.opened(info),
      onConnectionClosed: (info) => {
        this.emit({ kind: 'closed', local: info.id }, info.id);
        this.firstFrame.delete(info.id);
      },
      onCall: (record, ex, call) =>
        this.emit(
          {
            kind: 'call',
            record,
            stored: init.storedExchanges ? buildStoredExchangeInput(ex, record) : null,
            agent: { view: call.request_view ?? null, headers: ex.request.headers, requestStart: ex.request.start, responseEnd: ex.response?.end ?? null },
          },
          ex.connection.id,
        ),
      ...(init.otherExchanges
        ? { onOtherExchange: (record, ex) => this.emit({ kind: 'other', record, stored: init.storedExchanges ? buildStoredExchangeInput(ex, record) : null }, ex.connection.id) }
        : {}),
      onTlsUndecrypted: (info, facts) => this.emit({ kind: 'tls', info: { ...info, client: { ...info.client }, server: { ...info.server } }, facts }, info.id),
    };
  }

  /** Ready once a followed key log has been read (its first read is asynchronous). */
  async ready(): Promise<void> {
    await this.follower?.ready;
  }

  handle(msg: ToWorker): DoneMessage {
    return msg.type === 'batch' ? this.batch(msg) : this.finish(msg);
  }

  stop(): void {
    this.follower?.stop();
  }

  private batch(msg: BatchMessage): DoneMessage {
    for (const [index, id] of msg.sources) this.sourceIds.set(index, id);
    for (const text of msg.secrets) this.keys.addText(text);
    readBatch(msg.meta, msg.bytes, msg.segments, {
      frame: (frameNo, source, f) => {
        this.at(frameNo, 0);
        this.pipeline(source).onFrame(f);
      },
      segment: (frameNo, source, seg) => {
        this.at(frameNo, 0);
        this.pipeline(source).onSegment(seg);
      },
      marker: (kind, frameNo, source, ts) => {
        this.at(frameNo, 1);
        const p = this.pipeline(source);
        if (kind === ItemKind.Expire) p.expireIdle(ts);
        else p.advanceTo(ts);
      },
    });
    return this.reply(msg.round, msg.through, [msg.meta.buffer as ArrayBuffer, msg.bytes.buffer as ArrayBuffer]);
  }

  private finish(msg: FinishMessage): DoneMessage {
    msg.sources.forEach(({ index, clock }, position) => {
      this.key = { f: END_FRAME, p: 2, a: 0, b: 0 };
      this.flushPosition = position;
      this.pipeline(index).finish(NO_CAPTURE, 0, clock);
    });
    this.stop();
    return this.reply(-1, Infinity);
  }

  private pipeline(source: number): CapturePipeline {
    this.currentSource = source;
    let p = this.pipelines.get(source);
    if (p === undefined) {
      p = createCapturePipeline({ ...this.base, source: this.sourceIds.get(source) ?? String(source) });
      this.pipelines.set(source, p);
    }
    return p;
  }

  private at(frameNo: number, phase: number): void {
    const k = this.key;
    k.f = frameNo;
    k.p = phase;
  }

  private opened(info: ConnectionInfo): void {
    // Renamed so that the main thread can number connections as one flow table would ("c1", …):
    // unique across workers, and it names the connection's first frame.
    let local = `f${this.key.f}`;
    for (let n = 2; this.firstFrame.has(local); n++) local = `f${this.key.f}.${n}`;
    info.id = local;
    this.firstFrame.set(local, this.key.f);
    this.connections++;
    this.emit({ kind: 'conn', local, source: this.currentSource }, null);
  }

  private emit(body: DistributiveOmit<Emission, keyof OrderKey>, connection: string | null): void {
    const k = this.key;
    const first = connection === null ? 0 : (this.firstFrame.get(connection) ?? 0);
    const order: OrderKey = k.p === 0 ? { f: k.f, p: 0, a: 0, b: 0 } : k.p === 1 ? { f: k.f, p: 1, a: first, b: 0 } : { f: k.f, p: 2, a: this.flushPosition, b: first };
    this.emissions.push({ ...order, ...body } as Emission);
  }

  /** `buffers`: the round's packet buffers. Nothing keeps a view of them past the round: stream
   * sinks copy what they keep (reassembly/types.ts StreamSink.onData). */
  private reply(round: number, through: number, buffers: ArrayBuffer[] = []): DoneMessage {
    let emissions = this.emissions;
    this.emissions = [];
    // Expiry and end of input visit connections in the flow table's order; the merge needs each
    // worker's emissions in key order (stable: a connection's own emissions keep their order).
    if (emissions.some((e) => e.p !== 0)) emissions = [...emissions].sort((x, y) => x.f - y.f || x.p - y.p || x.a - y.a || x.b - y.b);
    return { type: 'done', round, through, emissions, stats: this.snapshot(), buffers };
  }

  private snapshot(): WorkerStats {
    const s = this.stats;
    const anomalies: [string, number][] = [];
    for (const [name, n] of s.anomalies.entries()) {
      const sent = this.sentAnomalies.get(name) ?? 0;
      if (n > sent) {
        anomalies.push([name, n - sent]);
        this.sentAnomalies.set(name, n);
      }
    }
    return { tcpSegments: s.tcpSegments, exchanges: s.exchanges, calls: s.calls, otherExchanges: s.otherExchanges, connections: this.connections, inFlight: s.http.inFlight, anomalies };
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

// The thread's entry: messages are handled one at a time, in order.
if (parentPort !== null && workerData !== null && typeof workerData === 'object' && 'fingerprintSalt' in (workerData as object)) {
  const port = parentPort;
  const core = new WorkerCore(workerData as WorkerInit);
  let chain = core.ready();
  const post = (m: FromWorker): void => port.postMessage(m);
  port.on('message', (msg: ToWorker) => {
    chain = chain
      .then(() => {
        const done = core.handle(msg);
        port.postMessage(done satisfies FromWorker, done.buffers);
        if (msg.type === 'finish') port.close();
      })
      .catch((err: unknown) => {
        post({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
        core.stop();
        port.close();
      });
  });
}
