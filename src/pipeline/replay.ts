/**
 * The capture pipeline (DESIGN §1), single-threaded: capture bytes (a file, or a live capture
 * process's pipe) → link/IP decode → TCP reassembly → TLS / HTTP/1.1 / HTTP/2 → wire-API
 * decoders → records. `createCapturePipeline` holds the stages for one source whatever feeds it;
 * `replayFile` and `replayStream` feed it. Parallel workers (issue 6, src/workers/) run this same
 * pipeline in each worker thread; `workers` > 1 hands the input to them instead.
 */
import type { HttpExchangeRecord, LlmCallRecord } from '../core/record.js';
import type { Micros } from '../core/time.js';
import { readCaptureFrames, type CaptureFileSummary, type CaptureInterface } from '../capture/file-reader.js';
import { readCaptureStream } from '../capture/stream-reader.js';
import { isSupportedLinkType, PacketDecoder } from '../capture/link.js';
import { CaptureError } from '../capture/capture-error.js';
import type { CapturedFrame, TcpSegment } from '../capture/types.js';
import { decodeExchange } from '../decoders/registry.js';
import type { DecodedCall } from '../decoders/types.js';
import { createHttp1Sink } from '../http/h1/connection.js';
import { createHttp2Sink } from '../http/h2/connection.js';
import { createSniffingSink, sinkForAlpn } from '../http/sniff.js';
import { createTlsSink, KeyLog, secretsFromDsb, type UndecryptedFacts } from '../tls/index.js';
import type { HttpExchange } from '../http/types.js';
import { FlowTable } from '../reassembly/flow-table.js';
import type { ConnectionInfo, StreamSink } from '../reassembly/types.js';
import { buildCallRecord, buildExchangeRecord, type RecordOptions } from './call-record.js';
import type { Pacer } from './pacing.js';
import { PipelineStats } from './stats.js';

export interface PipelineOptions extends RecordOptions {
  /** Each LLM call, with the exchange it came from (for stores that keep the raw bytes) and what
   * its decoder found (the request view the turn tracker reads). */
  onCall(record: LlmCallRecord, ex: HttpExchange, call: DecodedCall): void;
  /** Every exchange that is not an LLM call (`--exchanges`, the store). */
  onOtherExchange?(record: HttpExchangeRecord, ex: HttpExchange): void;
  /** Counters to fill while running (read live by the health endpoint); a fresh one if absent. */
  stats?: PipelineStats;
  /** TLS secrets (`--tls-keylog`); the capture's own Decryption Secrets Blocks are added to it.
   * Without it TLS connections are still recognised, counted and named (SNI), not decrypted. */
  tlsKeys?: KeyLog;
  /** Each TLS connection that cannot be decrypted, once, with what its handshake showed (SNI):
   * `llmtap doctor` finds LLM providers' ports by it. Counted in `stats` either way. */
  onTlsUndecrypted?(info: ConnectionInfo, facts: UndecryptedFacts): void;
  /** Worker threads (src/workers): idle-flow expiry runs only when the dispatcher, which sees
   * every frame, says so (`expireIdle`), at the frames where a single pipeline would run it. */
  externalExpiry?: boolean;
  /** A captured TCP connection was opened (before its sink exists: the id may be renamed here) /
   * closed (after its sink's onClose). Workers tag and number connections with these. */
  onConnectionOpened?(info: ConnectionInfo): void;
  onConnectionClosed?(info: ConnectionInfo): void;
}

export interface ReplayOptions extends PipelineOptions {
  onProgress?(bytesRead: number, totalBytes: number): void;
  /** Awaited between reads of the input: backpressure from a slower sink. */
  afterChunk?(): Promise<void> | void;
  /** `--pace`: packets reach the pipeline at their capture times (scaled); absent, as fast as
   * possible (the reader's hot path is then exactly the unpaced one). */
  pacer?: Pacer;
}

export interface ReplaySummary {
  capture: CaptureFileSummary;
  packets: number;
  captureBytes: number;
  tcpSegments: number;
  connections: number;
  exchanges: number;
  calls: number;
  otherExchanges: number;
  anomalies: [string, number][];
  elapsedMs: number;
  firstPacketTs: Micros | null;
  lastPacketTs: Micros | null;
}

/** Counters of shared stats at an input's start: the summary speaks of that input only. */
export interface StatsBaseline {
  tcpSegments: number;
  exchanges: number;
  calls: number;
  other: number;
}

export function statsBaseline(s: PipelineStats): StatsBaseline {
  return { tcpSegments: s.tcpSegments, exchanges: s.exchanges, calls: s.calls, other: s.otherExchanges };
}

const NO_BASELINE: StatsBaseline = { tcpSegments: 0, exchanges: 0, calls: 0, other: 0 };

/**
 * The summary of an input read into `stats` (counters since `at`; none for a run's own stats).
 * Packets and bytes are the capture's, unless `read` says otherwise (collect counts the frames it
 * decoded, not the packets its probes announced).
 */
export function summaryOf(
  capture: CaptureFileSummary,
  stats: PipelineStats,
  started: number,
  lastTs: Micros | null,
  at: StatsBaseline = NO_BASELINE,
  read: { packets: number; bytes: number } = capture,
): ReplaySummary {
  return {
    capture,
    packets: read.packets,
    captureBytes: read.bytes,
    tcpSegments: stats.tcpSegments - at.tcpSegments,
    connections: stats.connections,
    exchanges: stats.exchanges - at.exchanges,
    calls: stats.calls - at.calls,
    otherExchanges: stats.otherExchanges - at.other,
    anomalies: stats.anomalies.entries(),
    elapsedMs: performance.now() - started,
    firstPacketTs: stats.firstTs,
    lastPacketTs: lastTs,
  };
}

/** Idle-flow expiry is checked at most once per second of capture time: cheap on the hot path.
 * The workers' dispatcher (src/workers) makes the same check, so both run it at the same frames. */
export const ADVANCE_EVERY_US = 1_000_000;

function unsupportedError(linkType: number): CaptureError {
  return new CaptureError(`unsupported link type ${linkType} (llmtap reads Ethernet, Linux SLL/SLL2, loopback and raw IP)`);
}

/** The stages of one source, fed frame by frame. */
export interface CapturePipeline {
  readonly stats: PipelineStats;
  /** Per frame (the capture parser's onFrame). */
  onFrame(pkt: CapturedFrame): void;
  /** Per declared interface (the capture parser's onInterface): refuses a pcap of a link type
   * llmtap cannot read before reading it all. */
  onInterface(iface: CaptureInterface, index: number, format: 'pcap' | 'pcapng'): void;
  /** pcapng Decryption Secrets Blocks come before the packets they decrypt (pcapng §4.7). */
  onSecrets(type: number, data: Uint8Array): void;
  /** The capture clock moved on without a packet (an idle live source, DESIGN §1: it advances by
   * the wall clock): idle connections expire as if a packet of that time had come. */
  advanceTo(now: Micros): void;
  /** The capture clock: the latest packet time or advanceTo time, null before either. */
  readonly clock: Micros | null;
  /**
   * A connection whose two byte streams come from elsewhere than TCP reassembly (DESIGN §1: eBPF
   * and proxy sources skip it): its bytes go through the same protocol sniffing, TLS, HTTP and
   * decoders as a captured connection's. The caller drives the sink (onData per direction in
   * order, onClose once) and moves the clock with advanceTo.
   */
  openConnection(info: ConnectionInfo): StreamSink;
  /** A TCP segment decoded elsewhere (a worker's dispatcher reassembled its IP fragments). */
  onSegment(seg: TcpSegment): void;
  /** Idle-flow expiry at `now` (with `externalExpiry`: the dispatcher's decision). */
  expireIdle(now: Micros): void;
  /** End of input: open connections close (DESIGN §5 "end of input flushes everything").
   * `endClock`: the capture clock of the whole input (a worker sees only part of it). */
  finish(capture: CaptureFileSummary, started: number, endClock?: Micros | null): ReplaySummary;
}

export function createCapturePipeline(opts: PipelineOptions): CapturePipeline {
  const stats = opts.stats ?? new PipelineStats();
  const anomalies = stats.anomalies;
  // Shared stats add up across files (a pipeline's health); the summary speaks of this input only.
  const at = statsBaseline(stats);

  const onExchange = (ex: HttpExchange): void => {
    stats.exchanges++;
    const result = decodeExchange(ex);
    if ('call' in result) {
      stats.calls++;
      const record = buildCallRecord(ex, result.call, opts);
      // The decoder's anomalies and those found while pricing (the exchange's own were counted
      // by the HTTP layer when they happened).
      for (const a of result.call.anomalies) anomalies.add(a);
      for (const a of record.anomalies) if (a.startsWith('cost_')) anomalies.add(a);
      opts.onCall(record, ex, result.call);
    } else {
      stats.otherExchanges++;
      opts.onOtherExchange?.(buildExchangeRecord(ex, result.notLlm, opts), ex);
    }
  };

  // Each connection's first bytes tell its protocol: TLS, the HTTP/2 preface, else HTTP/1.1.
  const h1 = (info: ConnectionInfo): StreamSink => createHttp1Sink(info, onExchange, anomalies, undefined, stats.http);
  const h2 = (info: ConnectionInfo): StreamSink => createHttp2Sink(info, onExchange, anomalies, undefined, stats.http);
  const keys = opts.tlsKeys ?? new KeyLog({ anomalies });
  const tls = (info: ConnectionInfo): StreamSink =>
    createTlsSink(info, {
      keys,
      anomalies,
      inner: (i, alpn) => sinkForAlpn(alpn, i, { h1, h2, anomalies }),
      onUndecrypted: (i, facts) => {
        stats.noteUndecryptedTls(facts.sni ?? `${i.server.ip}:${i.server.port}`, facts.reason);
        opts.onTlsUndecrypted?.(i, facts);
      },
    });
  const sniffing = (info: ConnectionInfo): StreamSink => createSniffingSink(info, { h1, h2, tls, anomalies });
  const opened = opts.onConnectionOpened;
  const closed = opts.onConnectionClosed;
  const tracked = (info: ConnectionInfo): StreamSink => {
    opened?.(info);
    const sink = sniffing(info);
    if (closed === undefined) return sink;
    const close = sink.onClose.bind(sink);
    sink.onClose = (ts, reason) => {
      close(ts, reason);
      closed(info);
    };
    return sink;
  };
  const flows = new FlowTable(opened || closed ? tracked : sniffing, anomalies);
  const perFrameExpiry = opts.externalExpiry !== true;
  const decoder = new PacketDecoder(anomalies);
  /** Connections opened by byte-stream sources (openConnection), beside the flow table's. */
  let streamConnections = 0;
  let lastTs: Micros | null = null;
  let clock: Micros | null = null;
  let nextAdvance = 0;
  const unsupported: number[] = [];
  const onSegment = (seg: TcpSegment): void => {
    stats.tcpSegments++;
    flows.onSegment(seg);
  };

  return {
    stats,
    get clock() {
      return clock;
    },
    onFrame: (pkt) => {
      stats.packets++;
      stats.captureBytes += pkt.end - pkt.start;
      stats.firstTs ??= pkt.ts;
      // Capture time only moves forward for the pipeline, even if a file's packets do not.
      if (lastTs === null || pkt.ts > lastTs) stats.lastTs = lastTs = pkt.ts;
      if (clock === null || lastTs > clock) clock = lastTs;
      decoder.decodeFrame(pkt, onSegment);
      if (perFrameExpiry && lastTs >= nextAdvance) {
        flows.advance(lastTs);
        stats.connections = flows.stats.connections + streamConnections;
        nextAdvance = lastTs + ADVANCE_EVERY_US;
      }
    },
    onSegment: (seg) => {
      stats.packets++;
      stats.firstTs ??= seg.ts;
      if (lastTs === null || seg.ts > lastTs) stats.lastTs = lastTs = seg.ts;
      if (clock === null || lastTs > clock) clock = lastTs;
      onSegment(seg);
    },
    expireIdle: (now) => {
      flows.advance(now);
      stats.connections = flows.stats.connections + streamConnections;
    },
    openConnection: (info) => {
      streamConnections++;
      stats.connections = flows.stats.connections + streamConnections;
      return sniffing(info);
    },
    onInterface: (iface, _index, format) => {
      if (isSupportedLinkType(iface.linkType)) return;
      unsupported.push(iface.linkType);
      // A pcap file has one interface: nothing in it can be read, so say so before reading it all.
      // A pcapng file may mix link types: skip that interface's packets and read the others.
      if (format === 'pcap') throw unsupportedError(iface.linkType);
    },
    onSecrets: (type, data) => {
      const text = secretsFromDsb(type, data);
      if (text !== null) keys.addText(text);
    },
    advanceTo: (now) => {
      if (clock !== null && now <= clock) return;
      clock = now;
      flows.advance(now);
      stats.connections = flows.stats.connections + streamConnections;
    },
    finish: (capture, started, endClock) => {
      if (endClock !== undefined && endClock !== null) clock = endClock;
      decoder.flush();
      if (capture.interfaces.length > 0 && unsupported.length === capture.interfaces.length) {
        throw unsupportedError(unsupported[0]!);
      }
      // End of input flushes everything (DESIGN §5): open connections close as 'eof'.
      flows.flush(clock ?? 0);
      stats.connections = flows.stats.connections + streamConnections;
      return summaryOf(capture, stats, started, lastTs, at);
    },
  };
}

export async function replayFile(path: string, opts: ReplayOptions): Promise<ReplaySummary> {
  const started = performance.now();
  const p = createCapturePipeline(opts);
  const pacer = opts.pacer;
  // Paced: the frames not yet due wait in the pacer, handed over after each read (mid-chunk).
  const afterChunk = pacer ? async () => {
    await pacer.drain();
    await opts.afterChunk?.();
  } : opts.afterChunk;
  const capture = await readCaptureFrames(path, pacer ? pacer.wrap(p.onFrame, p.stats.anomalies) : p.onFrame, {
    anomalies: p.stats.anomalies,
    onInterface: p.onInterface,
    onProgress: (done, total) => {
      p.stats.bytesRead = done;
      p.stats.totalBytes = total;
      opts.onProgress?.(done, total);
    },
    ...(afterChunk ? { afterChunk } : {}),
    onSecrets: p.onSecrets,
  });
  return p.finish(capture, started);
}

export interface StreamReplayOptions extends PipelineOptions {
  /** Name for error messages ("tcpdump -i lo"). */
  name: string;
  /** Awaited after each chunk: backpressure from a slower sink (the pipe then fills). */
  afterChunk?(): Promise<void> | void;
  /** The pipeline made for this stream, before the first chunk is read: a live source's
   * wall-clock timer calls its advanceTo while the stream is idle. */
  onPipeline?(p: CapturePipeline): void;
}

/** A pcap/pcapng byte stream (a live capture process's stdout) to its end. */
export async function replayStream(chunks: AsyncIterable<Uint8Array>, opts: StreamReplayOptions): Promise<ReplaySummary> {
  const started = performance.now();
  const p = createCapturePipeline(opts);
  opts.onPipeline?.(p);
  const capture = await readCaptureStream(chunks, p.onFrame, {
    name: opts.name,
    anomalies: p.stats.anomalies,
    onInterface: p.onInterface,
    onBytes: (done) => {
      p.stats.bytesRead = done;
    },
    ...(opts.afterChunk ? { afterChunk: opts.afterChunk } : {}),
    onSecrets: p.onSecrets,
  });
  return p.finish(capture, started);
}
