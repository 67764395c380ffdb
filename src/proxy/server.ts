/**
 * `llmtap proxy`'s forwarding server (issue 8 item 2): a node:http server that forwards each
 * request to its upstream with node:http/https, streams both bodies through chunk by chunk with
 * backpressure (nothing is buffered beyond a socket write), and tees what crossed each side to the
 * pipeline as an HTTP/1.1 exchange (exchange-tap.ts) with arrival times.
 *
 * Order on the hot path: bytes are written to their destination first, then handed to the tap,
 * so the records' parsing never delays what the client or the upstream receives.
 *
 * One pipeline connection per exchange: its client endpoint is the downstream socket, its server
 * endpoint the upstream socket's address (known once connected); with /proxy/ URLs one client
 * connection may reach several upstreams, so the exchange, not the client connection, is what has
 * one server.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import { rootCertificates } from 'node:tls';
import type { AnomalySink } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';
import type { ConnectionInfo, Endpoint, StreamSink } from '../reassembly/types.js';
import { proxyNow } from './clock.js';
import { hostAllowed, type HostPattern } from './allow-hosts.js';
import { ExchangeTap, flushTaps } from './exchange-tap.js';
import { downstreamResponseHeaders, flatten, isChunked, upstreamRequestHeaders } from './headers.js';
import { DEFAULT_PROXY_LIMITS, type ProxyLimits } from './limits.js';
import { parseProxyPath, reverseTarget, type TargetResult, type Upstream } from './target.js';
import { failureAnswer, timeoutError } from './upstream-error.js';

/** `scheme`: `/proxy/{env}/{scheme}/{host}/…` URLs, to the hosts `allowHosts` admits (absent:
 * any host; allow-hosts.ts). `upstream`: a plain reverse proxy to one origin. */
export type ProxyRoute = { kind: 'scheme'; allowHosts?: readonly HostPattern[] } | { kind: 'upstream'; upstream: Upstream; basePath: string };

export interface ProxyServerOptions {
  route: ProxyRoute;
  /** The pipeline connection of one exchange; `env` is the LLMTrace env segment (null in
   * `--upstream` mode), for the caller to put on the record. */
  openExchange(info: ConnectionInfo, env: string | null): StreamSink;
  anomalies: AnomalySink;
  /** PEM CA certificates trusted for HTTPS upstreams besides Node's bundled Mozilla store
   * (`--upstream-ca`; NODE_EXTRA_CA_CERTS works too, Node reads it itself). */
  extraCa?: string[];
  limits?: Partial<ProxyLimits>;
  /** Injected in tests; the wall clock otherwise. */
  now?: () => Micros;
}

/** What the proxy did, for the summary and health (plain counters: the hot path increments). */
export interface ProxyCounters {
  requests: number;
  /** Requests with an upstream response (any status). */
  answered: number;
  /** Requests answered 502/504 because the upstream failed before responding. */
  upstreamFailures: number;
  /** Responses cut off mid-body by the upstream. */
  upstreamResets: number;
  /** Exchanges the client gave up before the end (the upstream request is aborted too). */
  clientAborts: number;
  /** Requests refused for their target (400/404, and 403 for a host --allow-host does not admit). */
  badTargets: number;
  inFlight: number;
}

export interface ProxyServer {
  readonly counters: ProxyCounters;
  /** Resolves with the bound address (port 0: the one the system chose). */
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  /**
   * Stops accepting; exchanges in flight get `graceMs` to finish, then their sockets are closed
   * (their records show the interruption). Idle upstream sockets are closed.
   */
  close(graceMs: number): Promise<void>;
}

/** `::ffff:127.0.0.1` (a dual-stack socket's IPv4 peer) is written as the IPv4 address a
 * capture shows. */
function endpoint(ip: string | undefined, port: number | undefined): Endpoint {
  const addr = ip ?? '0.0.0.0';
  return { ip: addr.startsWith('::ffff:') && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr, port: port ?? 0 };
}

/** [name, value] pairs from Node's flat raw list. */
function pairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

function sendJson(res: ServerResponse, status: number, body: string): [string, string][] {
  const headers: [string, string][] = [
    ['Content-Type', 'application/json'],
    ['Content-Length', String(Buffer.byteLength(body))],
  ];
  res.writeHead(status, flatten(headers));
  res.end(body);
  return headers;
}

export function createProxyServer(o: ProxyServerOptions): ProxyServer {
  const limits: ProxyLimits = { ...DEFAULT_PROXY_LIMITS, ...o.limits };
  const now = o.now ?? proxyNow;
  const anomalies = o.anomalies;
  const counters: ProxyCounters = { requests: 0, answered: 0, upstreamFailures: 0, upstreamResets: 0, clientAborts: 0, badTargets: 0, inFlight: 0 };
  const agentOptions = { keepAlive: true, maxFreeSockets: limits.maxFreeSockets, noDelay: true };
  const agents = {
    http: new http.Agent(agentOptions),
    https: new https.Agent({ ...agentOptions, ...(o.extraCa && o.extraCa.length > 0 ? { ca: [...rootCertificates, ...o.extraCa] } : {}) }),
  };
  let seq = 0;
  const idle: (() => void)[] = [];

  const route = o.route;
  const resolve = (url: string): TargetResult => {
    if (route.kind === 'upstream') return reverseTarget(url, route);
    const r = parseProxyPath(url);
    if (!r.ok || route.allowHosts === undefined || hostAllowed(route.allowHosts, r.value.upstream)) return r;
    // The origin is a validated host and port (target.ts), never the path or query.
    return { ok: false, error: { status: 403, anomaly: 'proxy_host_not_allowed', message: `${r.value.upstream.origin} is not an allowed upstream (--allow-host)` } };
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const t0 = now();
    counters.requests++;
    const resolved = resolve(req.url ?? '');
    if (!resolved.ok) {
      counters.badTargets++;
      anomalies.add(resolved.error.anomaly);
      const type = resolved.error.status === 403 ? 'proxy_host_not_allowed' : 'proxy_bad_target';
      sendJson(res, resolved.error.status, JSON.stringify({ type: 'error', error: { type, message: `llmtap proxy: ${resolved.error.message}` } }));
      return;
    }
    const { upstream, target, env } = resolved.value;
    const method = req.method ?? 'GET';
    const reqHeaders = upstreamRequestHeaders(req.rawHeaders, upstream.hostHeader);
    const info: ConnectionInfo = {
      id: `proxy-${++seq}`,
      client: endpoint(req.socket.remoteAddress, req.socket.remotePort),
      // The upstream's address once its socket is connected; an IP literal is known already.
      server: { ip: isIP(upstream.hostname) !== 0 ? upstream.hostname : '0.0.0.0', port: upstream.port },
      rolesGuessed: false,
    };
    const tap = new ExchangeTap(o.openExchange(info, env), anomalies);
    tap.requestHead(method, target, reqHeaders, isChunked(req.rawHeaders), t0);
    counters.inFlight++;
    let finished = false;
    const finish = (reason: 'fin' | 'rst'): void => {
      if (finished) return;
      finished = true;
      counters.inFlight--;
      tap.close(now(), reason);
      if (counters.inFlight === 0) for (const f of idle.splice(0)) f();
    };

    const secure = upstream.scheme === 'https';
    let upReq: http.ClientRequest;
    try {
      upReq = openUpstream();
    } catch {
      // Node refused to send what its own parser accepted (a character it will not write):
      // answered as a bad request, never a crash.
      counters.badTargets++;
      anomalies.add('proxy_bad_request');
      const t = now();
      const body = JSON.stringify({ type: 'error', error: { type: 'proxy_bad_request', message: 'llmtap proxy: the request cannot be forwarded as sent' } });
      const headers = sendJson(res, 400, body);
      tap.responseHead(400, 'Bad Request', headers, false, t);
      tap.responseBody(Buffer.from(body), t);
      req.resume();
      finish('fin');
      return;
    }
    function openUpstream(): http.ClientRequest {
      return (secure ? https : http).request({
      host: upstream.hostname,
      port: upstream.port,
      method,
      path: target,
      headers: flatten(reqHeaders),
      agent: secure ? agents.https : agents.http,
      maxHeaderSize: limits.maxHeaderBytes,
      // SNI names the host (RFC 6066 §3: never an IP literal).
      ...(secure && isIP(upstream.hostname) === 0 ? { servername: upstream.hostname } : {}),
      });
    }
    upReq.setTimeout(limits.upstreamIdleTimeoutMs, () => upReq.destroy(timeoutError()));
    upReq.on('socket', (s: Socket) => {
      s.setNoDelay(true);
      const connected = (): void => {
        info.server = endpoint(s.remoteAddress, s.remotePort);
      };
      if (!s.connecting) return connected();
      const timer = setTimeout(() => upReq.destroy(timeoutError()), limits.connectTimeoutMs);
      s.once(secure ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        connected();
      });
      s.once('close', () => clearTimeout(timer));
    });

    // The request body, streamed with backpressure both ways.
    req.on('data', (chunk: Buffer) => {
      if (!upReq.write(chunk)) req.pause();
      tap.requestBody(chunk, now());
    });
    upReq.on('drain', () => req.resume());
    req.on('end', () => {
      upReq.end();
      tap.requestEnd(now());
    });

    // The client went away before its response was complete: stop the upstream call too (it
    // would go on generating, and billing, for nobody).
    res.on('close', () => {
      if (res.writableFinished) return;
      if (!finished) {
        counters.clientAborts++;
        anomalies.add('proxy_client_aborted');
      }
      upReq.destroy();
      finish('rst');
    });

    upReq.on('information', (i) => tap.informational(i.statusCode, i.statusMessage, pairs(i.rawHeaders), now()));

    upReq.on('response', (upRes: IncomingMessage) => {
      const t = now();
      counters.answered++;
      const status = upRes.statusCode ?? 502;
      const headers = downstreamResponseHeaders(upRes.rawHeaders);
      const chunked = isChunked(upRes.rawHeaders);
      if (res.destroyed) {
        upRes.destroy();
        return;
      }
      try {
        res.writeHead(status, upRes.statusMessage, flatten(headers));
      } catch {
        // A field or reason phrase Node will not write (its client parser is more lenient than
        // its writer): the upstream's answer cannot be relayed as is.
        upRes.destroy();
        upReq.destroy(Object.assign(new Error('unwritable response head'), { code: 'HPE_INVALID_HEADER_TOKEN' }));
        return;
      }
      tap.responseHead(status, upRes.statusMessage ?? '', headers, chunked, t);
      // The head goes out with the first body bytes when they came in the same read (one write,
      // as the upstream sent it); otherwise (an SSE stream whose first event comes later) now,
      // so the client's time to first byte is the upstream's.
      let wrote = false;
      setImmediate(() => {
        if (!wrote && !res.headersSent && !res.destroyed) res.flushHeaders();
      });
      upRes.on('data', (chunk: Buffer) => {
        wrote = true;
        if (!res.write(chunk)) upRes.pause();
        tap.responseBody(chunk, now());
      });
      res.on('drain', () => upRes.resume());
      upRes.on('end', () => {
        const trailers = pairs(upRes.rawTrailers);
        if (trailers.length > 0 && chunked) {
          try {
            res.addTrailers(trailers);
          } catch {
            anomalies.add('proxy_trailers_dropped');
          }
        }
        res.end();
        const te = now();
        tap.responseEnd(trailers, te);
        finish('fin');
      });
      // Reset mid-body: the client's response ends broken (destroyed, as the upstream's did), and
      // the record shows an interrupted stream.
      upRes.on('error', () => undefined);
      upRes.on('close', () => {
        if (upRes.complete || finished) return;
        counters.upstreamResets++;
        anomalies.add('proxy_upstream_reset');
        res.destroy();
        finish('rst');
      });
    });

    upReq.on('error', (err) => {
      if (finished) return;
      // After the response began, its 'close' handler reports the reset.
      if (res.headersSent || res.writableEnded) {
        res.destroy();
        return;
      }
      const answer = failureAnswer(err, upstream.origin);
      counters.upstreamFailures++;
      anomalies.add(answer.anomaly);
      const t = now();
      const headers = sendJson(res, answer.status, answer.body);
      const reason = answer.status === 504 ? 'Gateway Timeout' : 'Bad Gateway';
      tap.responseHead(answer.status, reason, headers, false, t);
      tap.responseBody(Buffer.from(answer.body), t);
      // The rest of a request body the upstream will never get is not waited for.
      finish(req.complete ? 'fin' : 'rst');
    });
  };

  const server = http.createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      noDelay: true,
    },
    onRequest,
  );
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => anomalies.add('proxy_too_many_connections'));
  // A client that speaks no HTTP: answered 400 by Node; never a crash.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    anomalies.add('proxy_client_error');
    if (socket.writable && err.code !== 'ECONNRESET') socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  // CONNECT (a forward proxy's TLS tunnel) cannot be observed: refused.
  const refuse = (_req: IncomingMessage, socket: import('node:stream').Duplex): void => {
    anomalies.add('proxy_unsupported_method');
    socket.end('HTTP/1.1 501 Not Implemented\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  };
  // Without an 'upgrade' listener Node hands Upgrade requests over as plain requests, and the
  // Upgrade field is not forwarded (hop-by-hop): the exchange stays HTTP/1.1 (curl's h2c offer).
  server.on('connect', refuse);

  return {
    counters,
    listen: (host, port) =>
      new Promise((resolveListen, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const a = server.address();
          resolveListen(typeof a === 'object' && a !== null ? { host: a.address, port: a.port } : { host, port });
        });
      }),
    close: async (graceMs) => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      if (counters.inFlight > 0) {
        await new Promise<void>((r) => {
          const timer = setTimeout(r, graceMs);
          idle.push(() => {
            clearTimeout(timer);
            r();
          });
        });
      }
      server.closeAllConnections();
      await closed;
      agents.http.destroy();
      agents.https.destroy();
      // The closed sockets' 'close' events (which end their exchanges) come in the next turns.
      await new Promise((r) => setImmediate(r));
      flushTaps();
    },
  };
}
