/**
 * HTTP/2 over one TCP (or decrypted TLS) connection (RFC 9113): a StreamSink that reads the
 * frames of both directions and emits one HttpExchange per stream, shaped as the HTTP/1 layer
 * shapes them so the wire-API decoders need not know the version: `method`, `target` from
 * `:path`, a `host` header from `:authority`, `status` from `:status`, body chunks stamped with
 * the capture time of the packet that carried each part of each DATA frame.
 *
 * Timing per stream: request start = its first HEADERS frame, request end = the frame carrying
 * its END_STREAM; response start = the final (non-1xx) response HEADERS, end = its END_STREAM.
 * A stream ends when both sides sent END_STREAM, or is emitted with what it has on RST_STREAM,
 * GOAWAY (streams the peer never processed), the cap on open streams, or connection close.
 *
 * One HPACK decoder per direction, with the table sizes each side allowed in SETTINGS. Joined
 * mid-way (no preface seen), the frame reader looks for a frame boundary and the HPACK decoder
 * starts without its table: what cannot be resolved is left out and the exchange is marked
 * `h2_headers_unknown`; DATA is decoded anyway.
 *
 * Anomalies named here: h2_headers_unknown, h2_stream_reset, h2_goaway_unprocessed,
 * h2_stream_unfinished, h2_too_many_streams, h2_header_block_too_large, h2_continuation_expected,
 * h2_bad_padding, h2_bad_frame, h2_data_on_closed_stream, h2_resync, plus the frame reader's
 * (h2_bad_preface, h2_frame_too_large, h2_resync_failed) and the HPACK decoder's (h2_hpack_*,
 * h2_header_list_too_large). A `tcp_gap` is counted by reassembly and listed on the streams it
 * touched.
 */
import type { AnomalySink } from '../../core/anomalies.js';
import type { Micros } from '../../core/time.js';
import type { ConnectionInfo, Dir, StreamSink } from '../../reassembly/types.js';
import { BodyBuilder } from '../h1/body.js';
import type { ExchangeHandler, HeaderList, HttpExchange, HttpGauges, HttpRequest, HttpResponse } from '../types.js';
import { CLIENT_PREFACE, DEFAULT_MAX_FRAME_SIZE, Flag, FrameReader, FrameType, LARGEST_FRAME_SIZE, startsWithFrames, type FrameHeader, type FrameListener } from './frames.js';
import { HpackDecoder, type HpackResult } from './hpack.js';
import { resolveHttp2Limits, type Http2Limits } from './limits.js';

export type { Http2Limits } from './limits.js';

export function createHttp2Sink(
  info: ConnectionInfo,
  onExchange: ExchangeHandler,
  anomalies: AnomalySink,
  limits?: Partial<Http2Limits>,
  gauges?: HttpGauges,
): StreamSink {
  return new Http2Connection(info, onExchange, anomalies, resolveHttp2Limits(limits), gauges ?? { inFlight: 0 });
}

type Role = 'client' | 'server';

/** RFC 9113 §6.5.2 setting identifiers we act on. */
const SETTINGS_HEADER_TABLE_SIZE = 0x1;
const SETTINGS_MAX_FRAME_SIZE = 0x5;

/** A header block being gathered from HEADERS / PUSH_PROMISE and CONTINUATION frames. */
interface PendingBlock {
  kind: 'headers' | 'push';
  streamId: number;
  promisedId: number;
  endStream: boolean;
  startTs: Micros;
  parts: Uint8Array[];
  size: number;
  wireBytes: number;
  tooLarge: boolean;
}

interface H2Stream {
  id: number;
  seq: number;
  request: HttpRequest;
  reqBody: BodyBuilder;
  /** The request's header block was read (later ones are trailers). */
  reqHead: boolean;
  reqDone: boolean;
  response: HttpResponse | null;
  resBody: BodyBuilder | null;
  /** A final response head was read (later blocks are trailers). */
  resHead: boolean;
  resDone: boolean;
  anomalies: string[];
  sink: AnomalySink;
}

/** One direction: its frames, the HPACK decoder for the blocks its sender encodes. */
interface Side {
  role: Role;
  reader: FrameReader | null;
  /** SETTINGS_MAX_FRAME_SIZE the other side allowed for this side's frames. */
  maxFrameSize: number;
  hpack: HpackDecoder;
  block: PendingBlock | null;
}

class Http2Connection implements StreamSink {
  /** Indexed by reassembly's direction. */
  private sides: [Side, Side];
  private readonly streams = new Map<number, H2Stream>();
  private readonly closedIds = new Set<number>();
  private seq = 0;
  /** Highest stream id opened by each role (for connections seen from their start). */
  private readonly highest: Record<Role, number> = { client: 0, server: 0 };
  /** Which side is the client is settled (SYN seen, preface seen, or a header block told). */
  private rolesKnown: boolean;
  /** Both directions were read from their first byte. */
  private fromStart = true;
  private closed = false;
  private swappedInfo: ConnectionInfo | null = null;

  constructor(
    private info: ConnectionInfo,
    private readonly onExchange: ExchangeHandler,
    private readonly anomalies: AnomalySink,
    private readonly limits: Http2Limits,
    private readonly gauges: HttpGauges,
  ) {
    this.rolesKnown = !info.rolesGuessed;
    const hpackLimits = { maxTableSize: limits.maxTableSize, maxHeaderListSize: limits.maxHeaderBytes };
    this.sides = [
      { role: 'client', reader: null, maxFrameSize: DEFAULT_MAX_FRAME_SIZE, hpack: new HpackDecoder({ complete: true, limits: hpackLimits }), block: null },
      { role: 'server', reader: null, maxFrameSize: DEFAULT_MAX_FRAME_SIZE, hpack: new HpackDecoder({ complete: true, limits: hpackLimits }), block: null },
    ];
  }

  // ---- StreamSink ----

  onData(dir: Dir, data: Uint8Array, ts: Micros): void {
    if (this.closed || data.length === 0) return;
    const side = this.sides[dir];
    if (side.reader === null) {
      side.reader = this.startReader(side, data);
      side.reader.maxFrameSize = side.maxFrameSize;
    }
    side.reader.push(data, ts);
  }

  onGap(dir: Dir, bytes: number, _ts: Micros): void {
    if (this.closed) return;
    const side = this.sides[dir];
    if (side.reader === null) {
      // Nothing read yet on this side: it starts mid-way.
      this.fromStart = false;
      side.hpack.forget();
      side.reader = new FrameReader(this.frameListener(side), this.readerOptions(false, false));
      return;
    }
    const current = side.reader.currentData;
    if (side.reader.gap(bytes)) {
      // Lost inside a DATA frame's data: a hole in that body, frames go on.
      const s = current !== null ? this.streams.get(current.streamId) : undefined;
      if (s) {
        note(s, 'tcp_gap');
        this.bodyOf(s, side.role)?.hole();
      }
      return;
    }
    // Frame boundaries are lost, and with them whatever header blocks the hole held.
    this.fromStart = false;
    side.hpack.forget();
    side.block = null;
    for (const s of this.streams.values()) {
      if (side.role === 'client' ? !s.reqDone : !s.resDone) {
        note(s, 'tcp_gap');
        this.bodyOf(s, side.role)?.hole();
      }
    }
  }

  onRolesSwapped(info: ConnectionInfo): void {
    this.info = info;
    this.swappedInfo = null;
    this.sides.reverse();
  }

  onClose(ts: Micros): void {
    if (this.closed) return;
    this.closed = true;
    for (const side of this.sides) side.reader?.stop();
    for (const s of [...this.streams.values()]) {
      if (!s.reqDone || !s.resDone) s.sink.add('h2_stream_unfinished');
      this.end(s, ts);
    }
  }

  // ---- reading frames ----

  /** The first bytes of a direction decide how to read it. */
  private startReader(side: Side, first: Uint8Array): FrameReader {
    const n = Math.min(first.length, CLIENT_PREFACE.length);
    const preface = Buffer.from(first.buffer, first.byteOffset, n).equals(CLIENT_PREFACE.subarray(0, n));
    if (preface && side.role === 'server' && !this.rolesKnown && this.streams.size === 0) this.swapRoles();
    if (preface) this.rolesKnown = true;
    if (side.role === 'client') {
      // With the SYN seen the client's first bytes are the preface; else a preface shows we
      // have the start anyway.
      const synced = preface || !this.info.rolesGuessed;
      if (!synced) this.joinedMidway(side);
      return new FrameReader(this.frameListener(side), this.readerOptions(synced, synced));
    }
    // The server's first frame is its SETTINGS (§3.4): seeing one first means we have its start.
    const synced = !this.info.rolesGuessed || (startsWithFrames(first) && first[3] === FrameType.SETTINGS);
    if (!synced) this.joinedMidway(side);
    return new FrameReader(this.frameListener(side), this.readerOptions(synced, false));
  }

  private joinedMidway(side: Side): void {
    this.fromStart = false;
    side.hpack.forget();
  }

  private readerOptions(synced: boolean, expectPreface: boolean) {
    return {
      synced,
      expectPreface,
      maxBufferedPayload: this.limits.maxHeaderBytes,
      maxResyncBytes: this.limits.maxInitialResyncBytes,
    };
  }

  private frameListener(side: Side): FrameListener {
    return {
      onData: (h, data, ts) => this.data(side, h, data, ts),
      onFrame: (h, payload, ts) => this.frame(side, h, payload, ts),
      onAnomaly: (name) => this.anomalies.add(name),
      onResync: () => {
        // What came before the boundary (stream openings among it) is unknown.
        this.fromStart = false;
        this.anomalies.add('h2_resync');
        side.hpack.forget();
        side.block = null;
      },
    };
  }

  private frame(side: Side, h: FrameHeader, payload: Uint8Array | null, ts: Micros): void {
    if (side.block !== null && h.type !== FrameType.CONTINUATION) {
      // §6.10: nothing may come between a block's frames. Its state is lost with it.
      this.anomalies.add('h2_continuation_expected');
      this.dropBlock(side);
    }
    switch (h.type) {
      case FrameType.DATA:
        return this.dataEnd(side, h, ts);
      case FrameType.HEADERS:
      case FrameType.PUSH_PROMISE:
        return this.blockStart(side, h, payload, ts);
      case FrameType.CONTINUATION:
        return this.continuation(side, h, payload, ts);
      case FrameType.SETTINGS:
        return this.settings(side, h, payload);
      case FrameType.RST_STREAM:
        return this.reset(h, ts);
      case FrameType.GOAWAY:
        return this.goaway(side, h, payload, ts);
      default:
        // PRIORITY, PING, WINDOW_UPDATE change nothing we report; unknown types are ignored
        // (§4.1, §5.5).
        return;
    }
  }

  private settings(side: Side, h: FrameHeader, payload: Uint8Array | null): void {
    if (payload === null || h.flags & Flag.ACK) return;
    if (payload.length % 6 !== 0) {
      this.anomalies.add('h2_bad_frame');
      return;
    }
    // A side's SETTINGS govern what its peer sends: the peer's encoder and frame sizes.
    const peer = this.sides[this.sides[0] === side ? 1 : 0];
    for (let i = 0; i + 6 <= payload.length; i += 6) {
      const id = (payload[i]! << 8) | payload[i + 1]!;
      const value = u32(payload, i + 2);
      if (id === SETTINGS_HEADER_TABLE_SIZE) peer.hpack.setSettingsLimit(value);
      else if (id === SETTINGS_MAX_FRAME_SIZE) {
        // §6.5.2: values outside 2^14..2^24-1 are errors; clamp, it only tunes frame checks.
        peer.maxFrameSize = Math.min(LARGEST_FRAME_SIZE, Math.max(DEFAULT_MAX_FRAME_SIZE, value));
        if (peer.reader !== null) peer.reader.maxFrameSize = peer.maxFrameSize;
      }
    }
  }

  // ---- header blocks ----

  private blockStart(side: Side, h: FrameHeader, payload: Uint8Array | null, ts: Micros): void {
    const block: PendingBlock = {
      kind: h.type === FrameType.HEADERS ? 'headers' : 'push',
      streamId: h.streamId,
      promisedId: 0,
      endStream: h.type === FrameType.HEADERS && (h.flags & Flag.END_STREAM) !== 0,
      startTs: h.startTs,
      parts: [],
      size: 0,
      wireBytes: 9 + h.length,
      tooLarge: payload === null,
    };
    if (payload !== null) {
      const frag = fragment(h, payload);
      if (frag === null) {
        this.anomalies.add('h2_bad_padding');
        block.tooLarge = true; // the block is unusable; its HPACK effects are lost
      } else {
        block.promisedId = frag.promisedId;
        this.addToBlock(block, frag.data);
      }
    }
    side.block = block;
    if (h.flags & Flag.END_HEADERS) this.blockEnd(side, ts);
  }

  private continuation(side: Side, h: FrameHeader, payload: Uint8Array | null, ts: Micros): void {
    const block = side.block;
    if (block === null || block.streamId !== h.streamId) {
      // A CONTINUATION without its HEADERS (joined mid-block, or out of order).
      this.anomalies.add('h2_continuation_expected');
      if (block !== null) this.dropBlock(side);
      side.hpack.forget();
      return;
    }
    block.wireBytes += 9 + h.length;
    if (payload === null) block.tooLarge = true;
    else this.addToBlock(block, payload);
    if (h.flags & Flag.END_HEADERS) this.blockEnd(side, ts);
  }

  private addToBlock(block: PendingBlock, data: Uint8Array): void {
    if (block.tooLarge) return;
    if (block.size + data.length > this.limits.maxHeaderBytes) {
      block.tooLarge = true;
      block.parts = [];
      return;
    }
    if (data.length > 0) block.parts.push(data.slice());
    block.size += data.length;
  }

  /** A block we cannot decode: HPACK state is lost, the stream's headers unknown. */
  private dropBlock(side: Side): void {
    const block = side.block!;
    side.block = null;
    side.hpack.forget();
    const s = this.streams.get(block.streamId);
    if (s) s.sink.add('h2_headers_unknown');
  }

  private blockEnd(side: Side, ts: Micros): void {
    const block = side.block!;
    side.block = null;
    let result: HpackResult | null = null;
    if (block.tooLarge) {
      this.anomalies.add('h2_header_block_too_large');
      side.hpack.forget();
    } else {
      result = side.hpack.decode(block.parts.length === 1 ? block.parts[0]! : Buffer.concat(block.parts));
      for (const a of result.anomalies) this.anomalies.add(a);
    }
    this.settleRoles(side, result);
    if (block.kind === 'push') this.pushPromise(side, block, result, ts);
    else if (side.role === 'client') this.requestBlock(block, result, ts);
    else this.responseBlock(block, result, ts);
  }

  /** Joined mid-way without a preface: a request head shows who the client is. */
  private settleRoles(side: Side, result: HpackResult | null): void {
    if (this.rolesKnown || result === null) return;
    const has = (name: string): boolean => result.headers.some(([n]) => n === name);
    const isRequest = has(':method');
    const isResponse = has(':status');
    if (!isRequest && !isResponse) return;
    this.rolesKnown = true;
    if ((isRequest && side.role === 'server') || (isResponse && side.role === 'client')) {
      if (this.streams.size === 0) this.swapRoles();
    }
  }

  private requestBlock(block: PendingBlock, result: HpackResult | null, ts: Micros): void {
    const s = this.streamFor(block.streamId, block.startTs, true);
    if (s === null) return;
    if (s.reqHead) {
      // Trailers (§8.1): HttpRequest has no place for them; they end the request.
      s.request.wireBytes += block.wireBytes;
      if (block.endStream) this.finishRequest(s, ts);
      return;
    }
    s.reqHead = true;
    this.applyRequestHead(s, result, block.startTs, block.wireBytes);
    if (block.endStream) this.finishRequest(s, ts);
  }

  private applyRequestHead(s: H2Stream, result: HpackResult | null, startTs: Micros, wireBytes: number): void {
    if (result === null || result.unknownFields > 0 || result.failed) s.sink.add('h2_headers_unknown');
    const head = requestHead(result?.headers ?? []);
    const req = s.request;
    req.method = head.method;
    req.target = head.target;
    req.path = head.path;
    req.query = head.query;
    req.headers = head.headers;
    req.start = startTs;
    req.end = startTs;
    req.wireBytes += wireBytes;
    // The body may have started already (a DATA frame before we could read its headers).
    if (req.body.size === 0 && req.body.wireBytes === 0 && !s.reqDone) {
      s.reqBody = new BodyBuilder(joinedValue(head.headers, 'content-encoding'), this.limits.maxBodyBytes, s.sink, false);
      req.body = s.reqBody.body;
      const len = contentLength(head.headers);
      if (len !== null) s.reqBody.expect(len);
    }
  }

  private responseBlock(block: PendingBlock, result: HpackResult | null, ts: Micros): void {
    const s = this.streamFor(block.streamId, block.startTs, true);
    if (s === null) return;
    if (s.resHead) {
      // Trailers (§8.1).
      const res = s.response!;
      res.wireBytes += block.wireBytes;
      if (result !== null) res.trailers = result.headers.filter(([n]) => !n.startsWith(':'));
      if (result === null || result.unknownFields > 0) s.sink.add('h2_headers_unknown');
      if (block.endStream) this.finishResponse(s, ts);
      return;
    }
    const status = result === null ? null : statusOf(result.headers);
    if (status !== null && status >= 100 && status < 200) {
      // Interim responses (RFC 9110 §15.2) are not paired; the final one that follows is.
      return;
    }
    if (result === null || result.unknownFields > 0 || result.failed || status === null) s.sink.add('h2_headers_unknown');
    s.resHead = true;
    const headers = (result?.headers ?? []).filter(([n]) => !n.startsWith(':'));
    const res = this.ensureResponse(s, block.startTs);
    res.status = status ?? 0;
    res.headers = headers;
    res.start = block.startTs;
    res.end = ts;
    res.wireBytes += block.wireBytes;
    if (res.body.size === 0 && res.body.wireBytes === 0 && !s.resDone) {
      s.resBody = new BodyBuilder(joinedValue(headers, 'content-encoding'), this.limits.maxBodyBytes, s.sink);
      res.body = s.resBody.body;
      // RFC 9110 §8.6: a HEAD response's Content-Length describes a body that is not sent.
      const len = s.request.method === 'HEAD' ? null : contentLength(headers);
      if (len !== null) s.resBody.expect(len);
    }
    if (block.endStream) this.finishResponse(s, ts);
  }

  /** §6.6 / §8.4: a pushed stream's request comes in the promise; its response on that stream. */
  private pushPromise(side: Side, block: PendingBlock, result: HpackResult | null, ts: Micros): void {
    if (side.role !== 'server' || block.promisedId === 0) {
      this.anomalies.add('h2_bad_frame');
      return;
    }
    const s = this.streamFor(block.promisedId, block.startTs, true);
    if (s === null || s.reqHead) return;
    s.reqHead = true;
    this.applyRequestHead(s, result, block.startTs, block.wireBytes);
    this.finishRequest(s, ts);
  }

  // ---- DATA ----

  private data(side: Side, h: FrameHeader, data: Uint8Array, ts: Micros): void {
    const s = this.streamFor(h.streamId, h.startTs, false);
    if (s === null) return;
    if (side.role === 'client') {
      if (s.reqDone) return;
      s.request.body.wireBytes += data.length;
      s.reqBody.data(data, ts);
    } else {
      const res = this.ensureResponse(s, h.startTs);
      if (s.resDone) return;
      res.body.wireBytes += data.length;
      s.resBody!.data(data, ts);
    }
  }

  private dataEnd(side: Side, h: FrameHeader, ts: Micros): void {
    const s = this.streamFor(h.streamId, h.startTs, false);
    if (s === null) return;
    if (side.role === 'client') {
      if (s.reqDone) return;
      s.request.wireBytes += 9 + h.length;
      if (h.flags & Flag.END_STREAM) this.finishRequest(s, ts);
    } else {
      if (s.resDone) return;
      const res = this.ensureResponse(s, h.startTs);
      res.wireBytes += 9 + h.length;
      if (h.flags & Flag.END_STREAM) this.finishResponse(s, ts);
    }
  }

  // ---- stream ends ----

  private reset(h: FrameHeader, ts: Micros): void {
    const s = this.streams.get(h.streamId);
    if (!s) return;
    s.sink.add('h2_stream_reset');
    this.end(s, ts);
  }

  private goaway(side: Side, h: FrameHeader, payload: Uint8Array | null, ts: Micros): void {
    if (payload === null || payload.length < 8) {
      this.anomalies.add('h2_bad_frame');
      return;
    }
    // §6.8: streams the sender's peer opened above last-stream-id were never processed.
    const last = u32(payload, 0) & 0x7fffffff;
    const peerRole: Role = side.role === 'server' ? 'client' : 'server';
    for (const s of [...this.streams.values()]) {
      if (s.id > last && initiator(s.id) === peerRole) {
        s.sink.add('h2_goaway_unprocessed');
        this.end(s, ts);
      }
    }
  }

  private finishRequest(s: H2Stream, ts: Micros): void {
    if (s.reqDone) return;
    s.reqDone = true;
    s.request.end = ts;
    s.reqBody.finish(ts, s.request.body.wireBytes, false);
    if (s.resDone) this.end(s, ts);
  }

  private finishResponse(s: H2Stream, ts: Micros): void {
    if (s.resDone) return;
    s.resDone = true;
    const res = this.ensureResponse(s, ts);
    res.end = ts;
    s.resBody!.finish(ts, res.body.wireBytes, false);
    if (s.reqDone) this.end(s, ts);
    else if (!s.reqHead && !this.fromStart) {
      // Joined mid-way: the request ended before we came; its end will not be seen.
      this.end(s, ts);
    }
  }

  /** Emits `s` as it stands (unfinished parts marked incomplete) and forgets it. */
  private end(s: H2Stream, ts: Micros): void {
    if (!this.streams.delete(s.id)) return;
    this.gauges.inFlight--;
    this.rememberClosed(s.id);
    // A stream whose request head we never saw (it came before we joined, or was lost).
    if (!s.reqHead) s.sink.add('h2_headers_unknown');
    if (!s.reqDone) {
      s.reqDone = true;
      // Joined after the request ended: its end is unknown, not cut short.
      s.reqBody.finish(ts, s.request.body.wireBytes, s.reqHead);
      if (s.reqHead) s.request.end = ts;
    }
    if (s.response !== null && !s.resDone) {
      s.resDone = true;
      s.resBody!.finish(ts, s.response.body.wireBytes, true);
      s.response.end = ts;
    }
    const exchange: HttpExchange = {
      connection: this.connectionInfo(),
      seq: s.seq,
      request: s.request,
      response: s.response,
      anomalies: s.anomalies,
    };
    this.onExchange(exchange);
  }

  // ---- streams ----

  /**
   * The stream `id`, opened if new. `byHeaders`: a header block opens it (else a DATA frame,
   * which opens a stream only on a connection joined mid-way: its headers came before us).
   * Null for frames of ended streams.
   */
  private streamFor(id: number, ts: Micros, byHeaders: boolean): H2Stream | null {
    if (id === 0) {
      this.anomalies.add('h2_bad_frame');
      return null;
    }
    const open = this.streams.get(id);
    if (open) return open;
    const role = initiator(id);
    const ended = this.closedIds.has(id) || (this.fromStart && id <= this.highest[role]);
    if (ended) {
      if (!byHeaders) this.anomalies.add('h2_data_on_closed_stream');
      return null;
    }
    if (!byHeaders && this.fromStart) {
      // A stream we saw from the start opens with a header block (the response's, when the
      // directions were delivered out of order), never with DATA.
      this.anomalies.add('h2_data_on_closed_stream');
      return null;
    }
    return this.open(id, role, ts);
  }

  private open(id: number, role: Role, ts: Micros): H2Stream {
    if (id > this.highest[role]) this.highest[role] = id;
    const anomalies: string[] = [];
    const sink = exchangeSink(this.anomalies, anomalies);
    const reqBody = new BodyBuilder(null, this.limits.maxBodyBytes, sink, false);
    const s: H2Stream = {
      id,
      seq: this.seq++,
      request: {
        method: '',
        target: '',
        path: '',
        query: '',
        version: 'HTTP/2',
        headers: [],
        body: reqBody.body,
        start: ts,
        end: ts,
        wireBytes: 0,
      },
      reqBody,
      reqHead: false,
      reqDone: false,
      response: null,
      resBody: null,
      resHead: false,
      resDone: false,
      anomalies,
      sink,
    };
    this.streams.set(id, s);
    this.gauges.inFlight++;
    if (this.streams.size > this.limits.maxOpenStreams) {
      const oldest = this.streams.values().next().value!;
      oldest.sink.add('h2_too_many_streams');
      this.end(oldest, ts);
    }
    return s;
  }

  private ensureResponse(s: H2Stream, ts: Micros): HttpResponse {
    if (s.response !== null) return s.response;
    const resBody = new BodyBuilder(null, this.limits.maxBodyBytes, s.sink);
    s.resBody = resBody;
    s.response = {
      status: 0,
      reason: '',
      version: 'HTTP/2',
      headers: [],
      trailers: [],
      body: resBody.body,
      start: ts,
      end: ts,
      wireBytes: 0,
    };
    return s.response;
  }

  private rememberClosed(id: number): void {
    this.closedIds.add(id);
    if (this.closedIds.size > this.limits.closedStreamMemory) {
      this.closedIds.delete(this.closedIds.values().next().value!);
    }
  }

  private bodyOf(s: H2Stream, role: Role): BodyBuilder | null {
    return role === 'client' ? (s.reqDone ? null : s.reqBody) : s.resDone ? null : s.resBody;
  }

  // ---- roles ----

  private swapRoles(): void {
    for (const side of this.sides) side.role = side.role === 'client' ? 'server' : 'client';
    this.rolesKnown = true;
  }

  /** The client is whoever sends on the side with the client role. */
  private connectionInfo(): ConnectionInfo {
    if (this.sides[0].role === 'client') return this.info;
    this.swappedInfo ??= { ...this.info, client: this.info.server, server: this.info.client };
    return this.swappedInfo;
  }
}

// ---- helpers ----

function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) >>> 0) + ((b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!);
}

/** Client-initiated streams are odd, server-initiated (push) even (§5.1.1). */
function initiator(id: number): Role {
  return id % 2 === 1 ? 'client' : 'server';
}

/**
 * The header block fragment of a HEADERS (§6.2) or PUSH_PROMISE (§6.6) payload, without padding,
 * priority fields and the promised stream id; null when the padding is longer than the payload.
 */
function fragment(h: FrameHeader, p: Uint8Array): { data: Uint8Array; promisedId: number } | null {
  let start = 0;
  let pad = 0;
  if (h.flags & Flag.PADDED) {
    if (p.length < 1) return null;
    pad = p[0]!;
    start = 1;
  }
  let promisedId = 0;
  if (h.type === FrameType.HEADERS && h.flags & Flag.PRIORITY) start += 5;
  if (h.type === FrameType.PUSH_PROMISE) {
    if (p.length < start + 4) return null;
    promisedId = u32(p, start) & 0x7fffffff;
    start += 4;
  }
  if (start + pad > p.length) return null;
  return { data: p.subarray(start, p.length - pad), promisedId };
}

interface RequestHead {
  method: string;
  target: string;
  path: string;
  query: string;
  headers: HeaderList;
}

/**
 * Pseudo-headers to the HTTP/1 shape (RFC 9113 §8.3.1): `:authority` becomes the `host` header
 * (first, replacing any `host` field, §8.3.1 says they must agree), `:path` the target; split
 * `cookie` fields are joined with "; " (§8.2.3), as HTTP/1 sends them.
 */
function requestHead(fields: HeaderList): RequestHead {
  let method = '';
  let target = '';
  let authority: string | null = null;
  const headers: HeaderList = [];
  const cookies: string[] = [];
  for (const [n, v] of fields) {
    if (n.startsWith(':')) {
      if (n === ':method') method = v;
      else if (n === ':path') target = v;
      else if (n === ':authority') authority = v;
      continue;
    }
    if (n === 'cookie') cookies.push(v);
    else headers.push([n, v]);
  }
  if (cookies.length > 0) headers.push(['cookie', cookies.join('; ')]);
  if (authority !== null) {
    const rest = headers.filter(([n]) => n !== 'host');
    headers.length = 0;
    headers.push(['host', authority], ...rest);
  }
  const q = target.indexOf('?');
  return {
    method,
    target,
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? '' : target.slice(q + 1),
    headers,
  };
}

function statusOf(fields: HeaderList): number | null {
  for (const [n, v] of fields) {
    if (n === ':status') {
      return /^\d{3}$/.test(v) ? Number(v) : null;
    }
  }
  return null;
}

/** All values of `name` joined with ", " (RFC 9110 §5.3), or null. */
function joinedValue(headers: HeaderList, name: string): string | null {
  const vs = headers.filter(([n]) => n === name).map(([, v]) => v);
  return vs.length === 0 ? null : vs.join(', ');
}

function contentLength(headers: HeaderList): number | null {
  const v = joinedValue(headers, 'content-length');
  return v !== null && /^\d{1,15}$/.test(v) ? Number(v) : null;
}

function exchangeSink(global: AnomalySink, list: string[]): AnomalySink {
  return {
    add(name: string, n?: number): void {
      global.add(name, n);
      if (!list.includes(name)) list.push(name);
    },
  };
}

function note(s: H2Stream, name: string): void {
  if (!s.anomalies.includes(name)) s.anomalies.push(name);
}
