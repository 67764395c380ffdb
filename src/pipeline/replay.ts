/**
 * The replay pipeline (DESIGN §1), single-threaded: capture file → link/IP decode → TCP
 * reassembly → HTTP/1.1 → wire-API decoders → records. Parallel workers come with issue 6; the
 * stages are the same objects, so they will move into workers unchanged.
 */
import type { HttpExchangeRecord, LlmCallRecord } from '../core/record.js';
import type { Micros } from '../core/time.js';
import { readCaptureFrames, type CaptureFileSummary } from '../capture/file-reader.js';
import { isSupportedLinkType, PacketDecoder } from '../capture/link.js';
import { CaptureError } from '../capture/capture-error.js';
import type { TcpSegment } from '../capture/types.js';
import { decodeExchange } from '../decoders/registry.js';
import type { DecodedCall } from '../decoders/types.js';
import { createHttp1Sink } from '../http/h1/connection.js';
import { createHttp2Sink } from '../http/h2/connection.js';
import { createSniffingSink, sinkForAlpn } from '../http/sniff.js';
import { createTlsSink, KeyLog, secretsFromDsb } from '../tls/index.js';
import type { HttpExchange } from '../http/types.js';
import { FlowTable } from '../reassembly/flow-table.js';
import type { ConnectionInfo, StreamSink } from '../reassembly/types.js';
import { buildCallRecord, buildExchangeRecord, type RecordOptions } from './call-record.js';
import { PipelineStats } from './stats.js';

export interface ReplayOptions extends RecordOptions {
  /** Each LLM call, with the exchange it came from (for stores that keep the raw bytes) and what
   * its decoder found (the request view the turn tracker reads). */
  onCall(record: LlmCallRecord, ex: HttpExchange, call: DecodedCall): void;
  /** Every exchange that is not an LLM call (`--exchanges`, the store). */
  onOtherExchange?(record: HttpExchangeRecord, ex: HttpExchange): void;
  onProgress?(bytesRead: number, totalBytes: number): void;
  /** Awaited between reads of the file: backpressure from a slower sink. */
  afterChunk?(): Promise<void> | void;
  /** Counters to fill while running (read live by the health endpoint); a fresh one if absent. */
  stats?: PipelineStats;
  /** TLS secrets (`--tls-keylog`); the capture's own Decryption Secrets Blocks are added to it.
   * Without it TLS connections are still recognised, counted and named (SNI), not decrypted. */
  tlsKeys?: KeyLog;
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

/** Idle-flow expiry is checked at most once per second of capture time: cheap on the hot path. */
const ADVANCE_EVERY_US = 1_000_000;

function unsupportedError(linkType: number): CaptureError {
  return new CaptureError(`unsupported link type ${linkType} (llmtap reads Ethernet, Linux SLL/SLL2, loopback and raw IP)`);
}

export async function replayFile(path: string, opts: ReplayOptions): Promise<ReplaySummary> {
  const started = performance.now();
  const stats = opts.stats ?? new PipelineStats();
  const anomalies = stats.anomalies;
  // Shared stats add up across files (a pipeline's health); the summary speaks of this file only.
  const at = { tcpSegments: stats.tcpSegments, exchanges: stats.exchanges, calls: stats.calls, other: stats.otherExchanges };

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
      onUndecrypted: (i, facts) => stats.noteUndecryptedTls(facts.sni ?? `${i.server.ip}:${i.server.port}`, facts.reason),
    });
  const flows = new FlowTable((info) => createSniffingSink(info, { h1, h2, tls, anomalies }), anomalies);
  const decoder = new PacketDecoder(anomalies);
  let lastTs: Micros | null = null;
  let nextAdvance = 0;
  const unsupported: number[] = [];
  const onSegment = (seg: TcpSegment): void => {
    stats.tcpSegments++;
    flows.onSegment(seg);
  };

  const capture = await readCaptureFrames(
    path,
    (pkt) => {
      stats.packets++;
      stats.captureBytes += pkt.end - pkt.start;
      stats.firstTs ??= pkt.ts;
      // Capture time only moves forward for the pipeline, even if a file's packets do not.
      if (lastTs === null || pkt.ts > lastTs) stats.lastTs = lastTs = pkt.ts;
      decoder.decodeFrame(pkt, onSegment);
      if (lastTs >= nextAdvance) {
        flows.advance(lastTs);
        stats.connections = flows.stats.connections;
        nextAdvance = lastTs + ADVANCE_EVERY_US;
      }
    },
    {
      anomalies,
      onInterface: (iface, _index, format) => {
        if (isSupportedLinkType(iface.linkType)) return;
        unsupported.push(iface.linkType);
        // A pcap file has one interface: nothing in it can be read, so say so before reading it all.
        // A pcapng file may mix link types: skip that interface's packets and read the others.
        if (format === 'pcap') throw unsupportedError(iface.linkType);
      },
      onProgress: (done, total) => {
        stats.bytesRead = done;
        stats.totalBytes = total;
        opts.onProgress?.(done, total);
      },
      ...(opts.afterChunk ? { afterChunk: opts.afterChunk } : {}),
      // pcapng Decryption Secrets Blocks come before the packets they decrypt (pcapng §4.7).
      onSecrets: (type, data) => {
        const text = secretsFromDsb(type, data);
        if (text !== null) keys.addText(text);
      },
    },
  );
  decoder.flush();
  if (capture.interfaces.length > 0 && unsupported.length === capture.interfaces.length) {
    throw unsupportedError(unsupported[0]!);
  }
  // End of input flushes everything (DESIGN §5): open connections close as 'eof'.
  flows.flush(lastTs ?? 0);
  stats.connections = flows.stats.connections;

  return {
    capture,
    packets: capture.packets,
    captureBytes: capture.bytes,
    tcpSegments: stats.tcpSegments - at.tcpSegments,
    connections: flows.stats.connections,
    exchanges: stats.exchanges - at.exchanges,
    calls: stats.calls - at.calls,
    otherExchanges: stats.otherExchanges - at.other,
    anomalies: anomalies.entries(),
    elapsedMs: performance.now() - started,
    firstPacketTs: stats.firstTs,
    lastPacketTs: lastTs,
  };
}
