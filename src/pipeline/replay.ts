/**
 * The replay pipeline (DESIGN §1), single-threaded: capture file → link/IP decode → TCP
 * reassembly → HTTP/1.1 → wire-API decoders → records. Parallel workers come with issue 6; the
 * stages are the same objects, so they will move into workers unchanged.
 */
import { AnomalyCounter } from '../core/anomalies.js';
import type { HttpExchangeRecord, LlmCallRecord } from '../core/record.js';
import type { Micros } from '../core/time.js';
import { readCaptureFile, type CaptureFileSummary } from '../capture/file-reader.js';
import { isSupportedLinkType, PacketDecoder } from '../capture/link.js';
import { CaptureError } from '../capture/capture-error.js';
import type { TcpSegment } from '../capture/types.js';
import { decodeExchange } from '../decoders/registry.js';
import { createHttp1Sink } from '../http/h1/connection.js';
import type { HttpExchange } from '../http/types.js';
import { FlowTable } from '../reassembly/flow-table.js';
import { buildCallRecord, buildExchangeRecord, type RecordOptions } from './call-record.js';

export interface ReplayOptions extends RecordOptions {
  onCall(record: LlmCallRecord): void;
  /** Every exchange that is not an LLM call (`--exchanges`). */
  onOtherExchange?(record: HttpExchangeRecord): void;
  onProgress?(bytesRead: number, totalBytes: number): void;
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
  const anomalies = new AnomalyCounter();
  let exchanges = 0;
  let calls = 0;
  let otherExchanges = 0;
  let tcpSegments = 0;

  const onExchange = (ex: HttpExchange): void => {
    exchanges++;
    const result = decodeExchange(ex);
    if ('call' in result) {
      calls++;
      for (const a of result.call.anomalies) anomalies.add(a);
      opts.onCall(buildCallRecord(ex, result.call, opts));
    } else {
      otherExchanges++;
      opts.onOtherExchange?.(buildExchangeRecord(ex, result.notLlm, opts));
    }
  };

  const flows = new FlowTable((info) => createHttp1Sink(info, onExchange, anomalies), anomalies);
  const decoder = new PacketDecoder(anomalies);
  let firstTs: Micros | null = null;
  let lastTs: Micros | null = null;
  let nextAdvance = 0;
  const unsupported: number[] = [];
  const onSegment = (seg: TcpSegment): void => {
    tcpSegments++;
    flows.onSegment(seg);
  };

  const capture = await readCaptureFile(
    path,
    (pkt) => {
      if (firstTs === null) firstTs = pkt.ts;
      // Capture time only moves forward for the pipeline, even if a file's packets do not.
      if (lastTs === null || pkt.ts > lastTs) lastTs = pkt.ts;
      decoder.decode(pkt, onSegment);
      if (lastTs >= nextAdvance) {
        flows.advance(lastTs);
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
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    },
  );
  decoder.flush();
  if (capture.interfaces.length > 0 && unsupported.length === capture.interfaces.length) {
    throw unsupportedError(unsupported[0]!);
  }
  // End of input flushes everything (DESIGN §5): open connections close as 'eof'.
  flows.flush(lastTs ?? 0);

  return {
    capture,
    packets: capture.packets,
    captureBytes: capture.bytes,
    tcpSegments,
    connections: flows.stats.connections,
    exchanges,
    calls,
    otherExchanges,
    anomalies: anomalies.entries(),
    elapsedMs: performance.now() - started,
    firstPacketTs: firstTs,
    lastPacketTs: lastTs,
  };
}
