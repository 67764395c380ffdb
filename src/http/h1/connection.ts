/**
 * HTTP/1.1 over one TCP connection (RFC 9112): a StreamSink that parses both directions, pairs
 * responses with requests in order (keep-alive, pipelining), and emits one HttpExchange per
 * request once its response is complete, or when the connection closes or a gap breaks it.
 *
 * Directions and roles. Each physical byte stream gets one MessageParser with a role (request
 * or response). `byDir[d]` is the parser fed with reassembly's direction `d`. Two things can
 * change the mapping:
 *  - reassembly swaps its roles (`onRolesSwapped`): the physical streams keep their parsers,
 *    only the labels flip, so `byDir` is swapped;
 *  - we see the roles were guessed wrong (`info.rolesGuessed`, the "client" sends `HTTP/1.x NNN`
 *    or the "server" sends a request line, before any message was parsed): both parsers swap
 *    roles. `info` is never mutated (reassembly owns it); exchanges get a copy with client and
 *    server exchanged, see `connectionInfo()`.
 *
 * Anomalies named here: http_not_http (once per connection), http_response_without_request,
 * http_too_many_pending, http_upgrade, http_tunnel, http_h2c_prior_knowledge,
 * http_data_after_close, plus the framing ones from framing.ts and the parser's. A `tcp_gap` is
 * counted by reassembly; here it is only added to the affected exchange's list.
 */
import type { AnomalySink } from '../../core/anomalies.js';
import type { Micros } from '../../core/time.js';
import type { ConnectionInfo, Dir, StreamSink } from '../../reassembly/types.js';
import type { ExchangeHandler, HeaderList, HttpExchange, HttpGauges, HttpRequest, HttpResponse } from '../types.js';
import { BodyBuilder } from './body.js';
import { isPersistent, joined, NO_BODY, requestFraming, responseFraming, type Framing } from './framing.js';
import type { MessageHead, RequestHead, ResponseHead } from './head.js';
import { resolveLimits, type HttpLimits } from './limits.js';
import { MessageParser, type ParserListener } from './message-parser.js';

export type { HttpLimits } from './limits.js';

/** One request and, once it starts, its response. */
interface Pending {
  seq: number;
  request: HttpRequest;
  reqBody: BodyBuilder;
  reqDone: boolean;
  response: HttpResponse | null;
  resBody: BodyBuilder | null;
  resDone: boolean;
  anomalies: string[];
  sink: AnomalySink;
  /** The response started before its request head was complete (the directions are delivered
   * independently, so a capture can show the response first); `request` is filled in later. */
  awaitingRequest: boolean;
}

/** What the response parser is currently reading. */
type ResponseTarget = { kind: 'exchange'; ex: Pending } | { kind: 'discard' } | null;

export function createHttp1Sink(
  info: ConnectionInfo,
  onExchange: ExchangeHandler,
  anomalies: AnomalySink,
  limits?: Partial<HttpLimits>,
  gauges?: HttpGauges,
): StreamSink {
  return new Http1Connection(info, onExchange, anomalies, resolveLimits(limits), gauges ?? { inFlight: 0 });
}

/** TLS record header: content type 20..23, version major 3 (RFC 8446 §5.1). */
function looksLikeTls(data: Uint8Array): boolean {
  return data.length >= 2 && data[0]! >= 0x14 && data[0]! <= 0x17 && data[1] === 0x03;
}

class Http1Connection implements StreamSink, ParserListener {
  private readonly byDir: [MessageParser, MessageParser];
  private readonly queue: Pending[] = [];
  private seq = 0;
  private curReq: Pending | null = null;
  private curRes: ResponseTarget = null;
  private closed = false;
  private dead = false;
  private everParsed = false;
  private initialScan = 0;
  private swappedInfo: ConnectionInfo | null = null;
  private afterCloseCounted = false;

  constructor(
    private info: ConnectionInfo,
    private readonly onExchange: ExchangeHandler,
    private readonly anomalies: AnomalySink,
    private readonly limits: HttpLimits,
    private readonly gauges: HttpGauges,
  ) {
    const c2s = new MessageParser('request', this, limits);
    const s2c = new MessageParser('response', this, limits);
    c2s.acceptEitherRole = s2c.acceptEitherRole = info.rolesGuessed;
    this.byDir = [c2s, s2c];
  }

  // ---- StreamSink ----

  onData(dir: Dir, data: Uint8Array, ts: Micros): void {
    if (this.dead || data.length === 0) return;
    const p = this.byDir[dir];
    if (p.stopped) {
      this.dataAfterStop(p);
      return;
    }
    p.push(data, ts);
  }

  onGap(dir: Dir, bytes: number, ts: Micros): void {
    if (this.dead) return;
    const p = this.byDir[dir];
    const ex = this.currentExchange(p);
    if (ex) note(ex, 'tcp_gap');
    p.gap(bytes, ts);
  }

  onRolesSwapped(info: ConnectionInfo): void {
    this.info = info;
    this.swappedInfo = null;
    this.byDir.reverse();
  }

  onClose(ts: Micros): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.dead) {
      // Request side first: a response read to close can then pair with a finished request.
      for (const p of this.requestFirst()) p.close(ts);
    }
    this.dead = true;
    while (this.queue.length > 0) this.emit(this.queue.shift()!, ts);
  }

  // ---- ParserListener ----

  onHead(p: MessageParser, head: MessageHead, startTs: Micros, headBytes: number, ts: Micros): Framing | null {
    if (head.kind === 'h2-preface') {
      // RFC 9113 §3.3: HTTP/2 with prior knowledge. The HTTP/2 layer is another module.
      this.count('http_h2c_prior_knowledge');
      this.stopAll();
      return { kind: 'tunnel' };
    }
    if (head.kind !== p.role) {
      if (!this.canSwapRoles()) {
        this.anomaly(p, 'http_bad_start_line');
        return null;
      }
      this.swapRoles();
    }
    this.everParsed = true;
    for (const q of this.byDir) q.acceptEitherRole = false;
    return head.kind === 'request' ? this.requestHead(head, startTs, headBytes, ts) : this.responseHead(p, head, startTs, headBytes, ts);
  }

  onBody(p: MessageParser, data: Uint8Array, ts: Micros): void {
    if (p.role === 'request') this.curReq?.reqBody.data(data, ts);
    else if (this.curRes?.kind === 'exchange') this.curRes.ex.resBody!.data(data, ts);
  }

  onBodyHole(p: MessageParser): void {
    if (p.role === 'request') this.curReq?.reqBody.hole();
    else if (this.curRes?.kind === 'exchange') this.curRes.ex.resBody!.hole();
  }

  onEnd(p: MessageParser, ts: Micros, bodyWireBytes: number, trailers: HeaderList): void {
    this.finishMessage(p, ts, bodyWireBytes, trailers, false);
  }

  onAbort(p: MessageParser, ts: Micros, bodyWireBytes: number): void {
    this.finishMessage(p, ts, bodyWireBytes, [], true);
  }

  onGarbage(_p: MessageParser, data: Uint8Array): 'resync' | 'stop' {
    if (this.everParsed) return 'resync';
    // No message yet: with a SYN seen the first bytes must be a message start (RFC 9112 §2.2),
    // and a TLS record never is. Otherwise we joined mid-stream: look for the next message.
    if (!this.info.rolesGuessed || looksLikeTls(data)) {
      this.notHttp();
      return 'stop';
    }
    return 'resync';
  }

  onScanned(_p: MessageParser, bytes: number): boolean {
    if (this.everParsed) return true;
    this.initialScan += bytes;
    if (this.initialScan > this.limits.maxInitialResyncBytes) {
      this.notHttp();
      return false;
    }
    return true;
  }

  onAnomaly(p: MessageParser, name: string): void {
    this.anomaly(p, name);
  }

  // ---- requests ----

  private newPending(): Pending {
    const exAnomalies: string[] = [];
    const sink = this.exchangeSink(exAnomalies);
    const reqBody = new BodyBuilder(null, this.limits.maxBodyBytes, sink, false);
    return {
      seq: this.seq++,
      request: {
        method: '',
        target: '',
        path: '',
        query: '',
        version: '',
        headers: [],
        body: reqBody.body,
        start: 0,
        end: 0,
        wireBytes: 0,
      },
      reqBody,
      reqDone: false,
      response: null,
      resBody: null,
      resDone: false,
      anomalies: exAnomalies,
      sink,
      awaitingRequest: true,
    };
  }

  private requestHead(head: RequestHead, startTs: Micros, headBytes: number, ts: Micros): Framing {
    const early = this.queue.find((e) => e.awaitingRequest);
    const ex = early ?? this.newPending();
    if (!early) this.queue.push(ex);
    ex.awaitingRequest = false;
    this.gauges.inFlight++;
    const sink = ex.sink;
    const reqBody = new BodyBuilder(joined(head.headers, 'content-encoding'), this.limits.maxBodyBytes, sink, false);
    ex.reqBody = reqBody;
    ex.request = {
      method: head.method,
      target: head.target,
      path: head.path,
      query: head.query,
      version: head.version,
      headers: head.headers,
      body: reqBody.body,
      start: startTs,
      end: ts,
      wireBytes: headBytes,
    };
    this.curReq = ex;
    const { framing, anomalies } = requestFraming(head);
    for (const a of anomalies) sink.add(a);
    if (framing.kind === 'length') reqBody.expect(framing.length);
    this.capPending(ts);
    return framing;
  }

  /** Bounded queue of requests waiting for a response (limits.maxPendingRequests). */
  private capPending(ts: Micros): void {
    let waiting = 0;
    for (const ex of this.queue) if (ex.response === null) waiting++;
    while (waiting > this.limits.maxPendingRequests) {
      const oldest = this.queue[0]!;
      if (oldest.response !== null || oldest === this.curReq) break;
      oldest.sink.add('http_too_many_pending');
      this.queue.shift();
      this.emit(oldest, ts);
      waiting--;
    }
  }

  // ---- responses ----

  private responseHead(p: MessageParser, head: ResponseHead, startTs: Micros, headBytes: number, ts: Micros): Framing {
    const target = this.queue.find((e) => e.response === null) ?? null;
    if (head.status >= 100 && head.status < 200 && head.status !== 101) {
      // Interim response (100 Continue, 103 Early Hints, RFC 9110 §15.2): not paired; the final
      // response that follows is.
      this.curRes = { kind: 'discard' };
      return NO_BODY;
    }
    if (!target && this.requestParser().inHead) {
      // Its request is still arriving: pair with it once its head is complete.
      const early = this.newPending();
      this.queue.push(early);
      return this.pairResponse(early, head, null, startTs, headBytes, ts);
    }
    if (!target) {
      this.anomaly(p, 'http_response_without_request');
      if (head.status === 101) {
        this.count('http_upgrade');
        this.stopAll();
        return { kind: 'tunnel' };
      }
      this.curRes = { kind: 'discard' };
      return responseFraming(head, null).framing;
    }
    return this.pairResponse(target, head, target.request.method, startTs, headBytes, ts);
  }

  private pairResponse(
    target: Pending,
    head: ResponseHead,
    method: string | null,
    startTs: Micros,
    headBytes: number,
    ts: Micros,
  ): Framing {
    const { framing, anomalies } = responseFraming(head, method);
    for (const a of anomalies) target.sink.add(a);
    const resBody = new BodyBuilder(joined(head.headers, 'content-encoding'), this.limits.maxBodyBytes, target.sink);
    if (framing.kind === 'length') resBody.expect(framing.length);
    target.resBody = resBody;
    target.response = {
      status: head.status,
      reason: head.reason,
      version: head.version,
      headers: head.headers,
      trailers: [],
      body: resBody.body,
      start: startTs,
      end: ts,
      wireBytes: headBytes,
    };
    this.curRes = { kind: 'exchange', ex: target };
    if (head.status === 101 || framing.kind === 'tunnel') {
      // RFC 9110 §15.2.2 / §9.3.6: the bytes that follow are another protocol. (h2c upgrade is
      // handled by the HTTP/2 layer, not here.)
      target.sink.add(head.status === 101 ? 'http_upgrade' : 'http_tunnel');
      resBody.finish(ts, 0, false);
      target.resDone = true;
      if (!target.reqDone && this.curReq === target) {
        target.reqBody.finish(ts, 0, false);
        target.reqDone = true;
        this.curReq = null;
      }
      this.curRes = null;
      this.flush();
      this.stopAll();
      return { kind: 'tunnel' };
    }
    return framing;
  }

  // ---- message ends ----

  private finishMessage(p: MessageParser, ts: Micros, bodyWire: number, trailers: HeaderList, cut: boolean): void {
    if (p.role === 'request') {
      const ex = this.curReq;
      this.curReq = null;
      if (!ex) return;
      ex.reqBody.finish(ts, bodyWire, cut);
      ex.request.end = ts;
      ex.request.wireBytes += bodyWire;
      ex.reqDone = true;
    } else {
      const t = this.curRes;
      this.curRes = null;
      if (t?.kind !== 'exchange') return;
      const ex = t.ex;
      const res = ex.response!;
      ex.resBody!.finish(ts, bodyWire, cut);
      res.end = ts;
      res.wireBytes += bodyWire;
      res.trailers = trailers;
      ex.resDone = true;
      // RFC 9112 §9.6: after a response that closes the connection nothing else follows.
      if (!cut && !isPersistent(res.version, res.headers)) p.stop();
    }
    this.flush();
  }

  /** Emits finished exchanges from the front, in order. */
  private flush(): void {
    while (this.queue.length > 0) {
      const ex = this.queue[0]!;
      if (!ex.reqDone || !ex.resDone) return;
      this.queue.shift();
      this.emit(ex, ex.response?.end ?? ex.request.end);
    }
  }

  /** Emits `ex` as it stands: unfinished parts are marked incomplete. */
  private emit(ex: Pending, ts: Micros): void {
    if (ex.awaitingRequest) {
      // The request head never completed: a response alone is not an exchange.
      this.count('http_response_without_request');
      return;
    }
    this.gauges.inFlight--;
    if (!ex.reqDone) {
      ex.reqBody.finish(ts, ex.request.body.wireBytes, true);
      ex.reqDone = true;
      if (this.curReq === ex) this.curReq = null;
    }
    if (ex.response && !ex.resDone) {
      ex.resBody!.finish(ts, ex.response.body.wireBytes, true);
      ex.resDone = true;
      if (this.curRes?.kind === 'exchange' && this.curRes.ex === ex) this.curRes = null;
    }
    const exchange: HttpExchange = {
      connection: this.connectionInfo(),
      seq: ex.seq,
      request: ex.request,
      response: ex.response,
      anomalies: ex.anomalies,
    };
    this.onExchange(exchange);
  }

  // ---- roles, anomalies, helpers ----

  /** The client is whoever sends on the direction whose parser reads requests. */
  private connectionInfo(): ConnectionInfo {
    if (this.byDir[0].role === 'request') return this.info;
    this.swappedInfo ??= { ...this.info, client: this.info.server, server: this.info.client };
    return this.swappedInfo;
  }

  private canSwapRoles(): boolean {
    return this.info.rolesGuessed && !this.everParsed && this.queue.length === 0;
  }

  private swapRoles(): void {
    for (const p of this.byDir) p.role = p.role === 'request' ? 'response' : 'request';
  }

  private requestParser(): MessageParser {
    return this.byDir[0].role === 'request' ? this.byDir[0] : this.byDir[1];
  }

  private requestFirst(): MessageParser[] {
    return this.byDir[0].role === 'request' ? [this.byDir[0], this.byDir[1]] : [this.byDir[1], this.byDir[0]];
  }

  private currentExchange(p: MessageParser): Pending | null {
    if (p.role === 'request') return this.curReq;
    return this.curRes?.kind === 'exchange' ? this.curRes.ex : null;
  }

  private anomaly(p: MessageParser, name: string): void {
    const ex = this.currentExchange(p);
    if (ex) ex.sink.add(name);
    else this.count(name);
  }

  private count(name: string): void {
    this.anomalies.add(name);
  }

  /** Counts globally and lists the name on the exchange (once). */
  private exchangeSink(list: string[]): AnomalySink {
    const global = this.anomalies;
    return {
      add(name: string, n?: number): void {
        global.add(name, n);
        if (!list.includes(name)) list.push(name);
      },
    };
  }

  private notHttp(): void {
    if (!this.dead) this.count('http_not_http');
    this.dead = true;
    this.stopAll();
  }

  private stopAll(): void {
    for (const p of this.byDir) p.stop();
  }

  private dataAfterStop(p: MessageParser): void {
    // After a tunnel/upgrade the bytes are another protocol: expected. After a response that
    // said Connection: close, more response bytes are out of protocol.
    if (p.role === 'response' && !this.afterCloseCounted && !this.tunnelled) {
      this.afterCloseCounted = true;
      this.count('http_data_after_close');
    }
  }

  private get tunnelled(): boolean {
    return this.byDir[0].stopped && this.byDir[1].stopped;
  }
}

function note(ex: Pending, name: string): void {
  if (!ex.anomalies.includes(name)) ex.anomalies.push(name);
}
