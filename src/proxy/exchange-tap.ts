/**
 * One proxied exchange fed to the pipeline as a connection's two byte streams (DESIGN §1), each
 * piece with the time it reached the proxy. The proxy calls these in the order things happen;
 * the tap renders HTTP/1.1 (render.ts) and hands the bytes to llmtap's HTTP layer, which pairs
 * the request with its response and emits the exchange once the response is complete (or the
 * connection closes).
 *
 * Deferred: pieces are queued with their arrival times and handed to the pipeline in a
 * setImmediate, after the I/O of the current event-loop turn. Node's HTTP response corks its
 * socket and uncorks it in a nextTick, so work done synchronously after `res.write`/`res.end`
 * (parsing, decoding, building and storing the record: ~1 ms per call) would hold the client's
 * bytes back by that long. Times are taken on arrival, so the records are the same.
 *
 * Never throws into the proxy: a failure in the record path must not break the client's
 * response (counted as `proxy_tap_failed` and the exchange is dropped from the records).
 */
import type { AnomalySink } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';
import { Dir, type StreamSink } from '../reassembly/types.js';
import { chunkHeader, CRLF, lastChunk, renderRequestHead, renderResponseHead } from './render.js';

type Op = { dir: Dir; data: Uint8Array; ts: Micros } | { dir: null; reason: 'fin' | 'rst'; ts: Micros };

/** Taps with queued pieces, drained together once per event-loop turn. */
const pending = new Set<ExchangeTap>();
let scheduled = false;

function drainAll(): void {
  scheduled = false;
  for (const tap of pending) tap.drain();
  pending.clear();
}

/** Hands every queued piece to the pipeline now (the proxy is stopping: the pipeline is about
 * to be finished). */
export function flushTaps(): void {
  drainAll();
}

type Fields = readonly (readonly [string, string])[];

export class ExchangeTap {
  private reqChunked = false;
  private resChunked = false;
  /** No more pieces are accepted (close was called). */
  private closing = false;
  /** The sink was closed (or failed): queued pieces are dropped. */
  private closed = false;
  private ops: Op[] = [];

  constructor(
    private readonly sink: StreamSink,
    private readonly anomalies: AnomalySink,
  ) {}

  private queue(op: Op): void {
    this.ops.push(op);
    pending.add(this);
    if (!scheduled) {
      scheduled = true;
      setImmediate(drainAll);
    }
  }

  private feed(dir: Dir, data: Uint8Array, ts: Micros): void {
    if (!this.closing) this.queue({ dir, data, ts });
  }

  /** Hands the queued pieces to the pipeline (the scheduler calls it; tests may too). */
  drain(): void {
    const ops = this.ops;
    this.ops = [];
    for (const op of ops) {
      if (this.closed) return;
      if (op.dir === null) {
        this.closed = true;
        try {
          this.sink.onClose(op.ts, op.reason);
        } catch {
          this.anomalies.add('proxy_tap_failed');
        }
        return;
      }
      try {
        this.sink.onData(op.dir, op.data, op.ts);
      } catch {
        // The HTTP layer never throws on bad bytes by design; should it anyway, the connection
        // is closed (its in-flight gauge released) and the proxying goes on without a record.
        this.anomalies.add('proxy_tap_failed');
        this.closed = true;
        try {
          this.sink.onClose(op.ts, 'rst');
        } catch {
          // Counted above.
        }
        return;
      }
    }
  }

  requestHead(method: string, target: string, headers: Fields, chunked: boolean, ts: Micros): void {
    this.reqChunked = chunked;
    this.feed(Dir.ClientToServer, renderRequestHead(method, target, headers, chunked), ts);
  }

  requestBody(data: Uint8Array, ts: Micros): void {
    if (data.length === 0) return;
    if (!this.reqChunked) return this.feed(Dir.ClientToServer, data, ts);
    this.feed(Dir.ClientToServer, chunkHeader(data.length), ts);
    this.feed(Dir.ClientToServer, data, ts);
    this.feed(Dir.ClientToServer, CRLF, ts);
  }

  requestEnd(ts: Micros): void {
    if (this.reqChunked) this.feed(Dir.ClientToServer, lastChunk([]), ts);
  }

  /** A 1xx response (100 Continue, 103 Early Hints), before the final one. */
  informational(status: number, reason: string, headers: Fields, ts: Micros): void {
    this.feed(Dir.ServerToClient, renderResponseHead(status, reason, headers, false), ts);
  }

  responseHead(status: number, reason: string, headers: Fields, chunked: boolean, ts: Micros): void {
    this.resChunked = chunked;
    this.feed(Dir.ServerToClient, renderResponseHead(status, reason, headers, chunked), ts);
  }

  responseBody(data: Uint8Array, ts: Micros): void {
    if (data.length === 0) return;
    if (!this.resChunked) return this.feed(Dir.ServerToClient, data, ts);
    this.feed(Dir.ServerToClient, chunkHeader(data.length), ts);
    this.feed(Dir.ServerToClient, data, ts);
    this.feed(Dir.ServerToClient, CRLF, ts);
  }

  responseEnd(trailers: Fields, ts: Micros): void {
    if (this.resChunked) this.feed(Dir.ServerToClient, lastChunk(trailers), ts);
  }

  /**
   * The exchange is over: 'fin' after a whole response (or a close-delimited one), 'rst' when
   * either side broke off (the record then shows an interrupted stream, as for a captured RST).
   * Idempotent.
   */
  close(ts: Micros, reason: 'fin' | 'rst'): void {
    if (this.closing) return;
    this.closing = true;
    this.queue({ dir: null, reason, ts });
  }
}
