/**
 * `llmtap proxy` (issue 8 item 2): for hosts where nothing can be captured, clients point their
 * base URL at llmtap, which forwards each request to its upstream and records it through the same
 * pipeline as captured traffic (DESIGN §1: proxy sources enter the HTTP layer as a connection's
 * two byte streams), into the same outputs (`openPipelineRun`: JSONL, store, API, console,
 * metrics, alerts). docs/proxy.md has the design.
 *
 * `--listen` is the proxy's address here (the issue's `llmtap proxy --listen 127.0.0.1:8080`);
 * the API and console take `--api-listen`: the proxy port is the one clients (maybe other hosts)
 * reach, while the API keeps its loopback default and token rules (DESIGN §7).
 */
import { readFileSync } from 'node:fs';
import { isLoopbackAddress } from '../api/security.js';
import type { SourceHealth } from '../api/types.js';
import type { CaptureFileSummary } from '../capture/capture-parser.js';
import type { Micros } from '../core/time.js';
import { createCapturePipeline, type ReplaySummary } from '../pipeline/replay.js';
import { proxyNow } from '../proxy/clock.js';
import { admitsAnyHost, decideAllowList } from '../proxy/allow-hosts.js';
import { DEFAULT_PROXY_LIMITS } from '../proxy/limits.js';
import type { ProxyCounters, ProxyRoute } from '../proxy/server.js';
import { createThreadedProxyServer, ForwarderListenError } from '../proxy/threaded-server.js';
import { parseUpstreamUrl } from '../proxy/target.js';
import type { StreamSink } from '../reassembly/types.js';
import { intFlag, UserError } from './errors.js';
import { parseListen } from './listen-address.js';
import { formatRunSummary, openPipelineRun, type OutputCommandOptions, type PipelineRun } from './run-pipeline.js';

export interface ProxyCommandOptions extends Omit<OutputCommandOptions, 'exitAfterDrain' | 'tlsKeylog'> {
  /** The proxy's address, [HOST:]PORT. */
  listen?: string;
  /** The API and console's address (what `--listen` is in the other commands). */
  apiListen?: string;
  upstream?: string;
  upstreamCa?: string;
  maxConnections?: string;
  /** `--allow-host` patterns (repeatable): the upstreams `/proxy/` URLs may name. */
  allowHost?: string[];
}

/** The proxy's default address: LLMTrace's default port, on loopback (DESIGN §7). */
const DEFAULT_PROXY_LISTEN = '127.0.0.1:8080';
/** The wall-clock tick, as for live capture (capture-command.ts): the store is flushed and the
 * clock moves on, so turns close and windows slide with no traffic. */
const TICK_MS = 200;
/** On Ctrl-C, exchanges in flight get this long to finish before their sockets are closed (and
 * their records marked interrupted). 5 s: a user who pressed Ctrl-C wants out, but a stream
 * about to end should still make a whole record. */
const STOP_GRACE_MS = 5_000;

export async function runProxy(o: ProxyCommandOptions): Promise<void> {
  const at = parseListen(o.listen ?? DEFAULT_PROXY_LISTEN, 8080);
  const route = routeOf(o.upstream, o.allowHost ?? [], at.host);
  const maxConnections = intFlag(o.maxConnections, '--max-connections', DEFAULT_PROXY_LIMITS.maxConnections, 1, 1_000_000);
  const extraCa = o.upstreamCa === undefined ? undefined : [readCa(o.upstreamCa)];

  const { apiListen, listen: _proxyListen, allowHost: _allowHost, ...rest } = o;
  const run = await openPipelineRun({ ...rest, ...(apiListen !== undefined ? { listen: apiListen } : {}) }, {
    sourceId: o.source ?? 'proxy',
    describeSource: describeProxy,
  });
  const stats = run.stats;
  // The env segment of each open exchange, until its connection closes (bounded by the
  // connections open at once).
  const envs = new Map<string, string>();
  const pipeline = createCapturePipeline({
    ...run.pipeline,
    onCall: (r, ex, call) => {
      const env = envs.get(ex.connection.id);
      run.pipeline.onCall(env === undefined ? r : { ...r, attributes: { ...r.attributes, env } }, ex, call);
    },
  });
  let failure: unknown = null;
  let stopRequested: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  const stop = (): void => stopRequested();
  // Forwarding runs in its own thread (src/proxy/threaded-server.ts): the record work here never
  // delays a client's bytes.
  const server = createThreadedProxyServer({
    onFailed: (message) => {
      failure ??= new UserError(`the proxy's forwarding thread failed: ${message}`);
      stop();
    },
    route,
    anomalies: stats.anomalies,
    limits: { maxConnections },
    ...(extraCa ? { extraCa } : {}),
    openExchange: (info, env) => {
      const sink = pipeline.openConnection(info);
      if (env !== null) envs.set(info.id, env);
      return countingSink(sink, run, () => envs.delete(info.id));
    },
  });

  let bound: { host: string; port: number };
  try {
    bound = await server.listen(at.host, at.port);
  } catch (err) {
    await server.close(0).catch(() => undefined);
    if (!(err instanceof ForwarderListenError)) return run.fail(err);
    const why = err.code === 'EADDRINUSE' ? 'the address is in use (choose another with --listen)' : err.code === 'EACCES' ? 'permission denied' : err.message;
    return run.fail(new UserError(`cannot listen on ${at.host}:${at.port}: ${why}`));
  }
  const base = `http://${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}`;
  // Ctrl-C is handled before the "proxying" line is printed: whoever reads that line (a user, a
  // script, a test) may interrupt at once, and must get the summary, not a killed process.
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (!o.quiet) {
    const how = route.kind === 'upstream' ? `${base} → ${route.upstream.origin}${route.basePath}` : `${base}/proxy/{env}/{scheme}/{host}/{path}`;
    process.stderr.write(`llmtap: proxying ${how}; Ctrl-C to stop\n`);
    if (!isLoopbackAddress(bound.host)) {
      const allowed = route.kind === 'scheme' ? (route.allowHosts ?? []) : [];
      process.stderr.write(
        route.kind === 'upstream'
          ? `llmtap: WARNING: ${base} is reachable from other hosts; anyone who can reach it can call ${route.upstream.origin} through it\n`
          : admitsAnyHost(allowed)
            ? `llmtap: WARNING: ${base} forwards to any host named in the URL (--allow-host '*') for anyone who can reach it; firewall it (docs/proxy.md)\n`
            : `llmtap: ${base} is reachable from other hosts; it forwards only to ${allowed.map((p) => p.text).join(', ')} (--allow-host)\n`,
      );
    }
  }

  const started = performance.now();
  const timer = setInterval(() => {
    if (failure !== null) return;
    const now = proxyNow();
    pipeline.advanceTo(now);
    run.tick(now, { flush: true }).catch((err: unknown) => {
      // The store failed (disk full): stop proxying; what was committed stays.
      failure ??= err;
      stop();
    });
  }, TICK_MS);

  await stopped;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  let summary: ReplaySummary;
  try {
    await server.close(STOP_GRACE_MS);
    clearInterval(timer);
    if (failure !== null) throw failure;
    summary = pipeline.finish(captureSummary(stats.captureBytes), started);
    await run.endOfInput(pipeline.clock);
  } catch (err) {
    clearInterval(timer);
    return run.fail(err);
  }
  run.source.state = 'stopped';
  if (!o.quiet) {
    // A proxy has no capture format and no packets: bytes proxied, exchanges per second.
    process.stderr.write(formatRunSummary(`llmtap proxy ${base}`, summary, run.sink, run.agents(), null, counterLines(server.counters), { label: 'proxy', bytesWord: 'proxied' }));
  }
  await run.close({ serveAfter: false });
}

function routeOf(upstream: string | undefined, allowHost: readonly string[], listenHost: string): ProxyRoute {
  if (upstream === undefined) {
    const d = decideAllowList(allowHost, listenHost);
    if (!d.ok) throw new UserError(d.error, 2);
    return d.allowHosts === null ? { kind: 'scheme' } : { kind: 'scheme', allowHosts: d.allowHosts };
  }
  // --upstream names the only host there is: an allow-list would mean nothing.
  if (allowHost.length > 0) throw new UserError('--allow-host applies to /proxy/ URLs; with --upstream every request goes to that origin', 2);
  const parsed = parseUpstreamUrl(upstream);
  // Only the origin is quoted back: a URL pasted with a key in it must not be echoed.
  if (typeof parsed === 'string') throw new UserError(`--upstream: ${parsed}`, 2);
  return { kind: 'upstream', ...parsed };
}

function readCa(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read --upstream-ca ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new UserError(`--upstream-ca ${path}: expected PEM certificates (-----BEGIN CERTIFICATE-----)`, 2);
  return pem;
}

/**
 * The pipeline connection, counting the bytes that crossed (the health API's `bytes`) and the
 * first and last times (its `first_packet` / `last_packet`); `closed` runs after it closed.
 */
function countingSink(sink: StreamSink, run: PipelineRun, closed: () => void): StreamSink {
  const stats = run.stats;
  return {
    onData: (dir, data, ts: Micros) => {
      stats.captureBytes += data.length;
      stats.firstTs ??= ts;
      if (stats.lastTs === null || ts > stats.lastTs) stats.lastTs = ts;
      sink.onData(dir, data, ts);
    },
    onGap: (dir, bytes, ts) => sink.onGap(dir, bytes, ts),
    onClose: (ts, reason) => {
      try {
        sink.onClose(ts, reason);
      } finally {
        closed();
      }
    },
  };
}

function captureSummary(bytes: number): CaptureFileSummary {
  return { format: 'pcap', packets: 0, bytes, truncatedAt: null, stoppedAt: null, interfaces: [] };
}

function counterLines(c: ProxyCounters): string[] {
  const n = (x: number): string => x.toLocaleString('en-US');
  return [
    `  ${n(c.requests)} requests: ${n(c.answered)} answered by the upstream, ${n(c.upstreamFailures)} upstream failures (502/504), ${n(c.upstreamResets)} upstream resets mid-response, ${n(c.clientAborts)} client aborts, ${n(c.badTargets)} refused`,
  ];
}

/** The health API's source entry for the proxy. */
export function describeProxy(s: SourceHealth): SourceHealth {
  return { ...s, kind: 'proxy', progress: null, drops: { kernel: null, interface: null, pipeline: 0 } };
}
