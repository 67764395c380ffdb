/**
 * The proxy server run in its own thread (forwarder-worker.ts), seen from the main thread with
 * the same interface as the in-thread one (server.ts): `openExchange` is called for each
 * exchange and its sink gets the bytes, times and close the forwarder saw, a turn of its event
 * loop at a time. Forwarding and recording then use a core each: a client's latency does not
 * include the record work of the calls before it.
 */
import { Worker } from 'node:worker_threads';
import type { ConnectionInfo, Dir, StreamSink } from '../reassembly/types.js';
import type { ProxyCounters, ProxyServer, ProxyServerOptions } from './server.js';
import type { ForwarderConfig, FromForwarder, ToForwarder } from './thread-protocol.js';

/** Thrown by listen() when the forwarder cannot bind; `code` is Node's (EADDRINUSE…). */
export class ForwarderListenError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
  }
}

export interface ThreadedProxyOptions extends Omit<ProxyServerOptions, 'now'> {
  /** The forwarding thread failed after it started (the proxy port is gone). */
  onFailed?(message: string): void;
}

export function createThreadedProxyServer(o: ThreadedProxyOptions): ProxyServer {
  let counters: ProxyCounters = { requests: 0, answered: 0, upstreamFailures: 0, upstreamResets: 0, clientAborts: 0, badTargets: 0, inFlight: 0 };
  /** Open exchanges: at most the forwarder's open connections (its maxConnections cap). */
  const open = new Map<string, { info: ConnectionInfo; sink: StreamSink }>();
  let worker: Worker | null = null;
  let stopped: Promise<void> = Promise.resolve();

  const onBatch = (m: Extract<FromForwarder, { t: 'batch' }>): void => {
    counters = m.counters;
    for (const [name, n] of m.anomalies) o.anomalies.add(name, n);
    for (const op of m.ops) {
      if (op.k === 'open') {
        open.set(op.id, { info: op.info, sink: o.openExchange(op.info, op.env) });
        continue;
      }
      const e = open.get(op.id);
      if (e === undefined) continue;
      if (op.k === 'data') {
        // The record's server endpoint is read from this object when its exchange is emitted.
        if (op.server) e.info.server = op.server;
        e.sink.onData(op.dir as Dir, new Uint8Array(m.bytes, op.offset, op.length), op.ts);
      } else {
        open.delete(op.id);
        e.sink.onClose(op.ts, op.reason);
      }
    }
  };

  return {
    get counters() {
      return counters;
    },
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        const config: ForwarderConfig = { route: o.route, limits: o.limits ?? {}, ...(o.extraCa ? { extraCa: o.extraCa } : {}), host, port };
        const w = new Worker(new URL('./forwarder-worker.js', import.meta.url), { workerData: config });
        worker = w;
        let ready = false;
        stopped = new Promise((resolveStopped) => {
          w.on('message', (m: FromForwarder) => {
            if (m.t === 'batch') onBatch(m);
            else if (m.t === 'ready') {
              ready = true;
              resolve({ host: m.host, port: m.port });
            } else if (m.t === 'listen-error') reject(new ForwarderListenError(m.message, m.code));
            else resolveStopped();
          });
          w.once('exit', () => {
            // Whatever was still open ends here (a forwarder that died takes its exchanges along).
            for (const [id, e] of open) {
              open.delete(id);
              e.sink.onClose(Date.now() * 1000, 'rst');
            }
            resolveStopped();
          });
        });
        w.once('error', (err) => {
          if (!ready) return reject(err);
          o.anomalies.add('proxy_forwarder_failed');
          o.onFailed?.(err.message);
        });
      }),
    close: async (graceMs) => {
      const w = worker;
      if (w === null) return;
      w.postMessage({ t: 'stop', graceMs } satisfies ToForwarder);
      await stopped;
    },
  };
}
