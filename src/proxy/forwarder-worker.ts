/**
 * The forwarding thread of `llmtap proxy` (worker_threads): the proxy server (server.ts) runs
 * here, so the record work on the main thread (HTTP parsing, decoding, the store, metrics) never
 * delays a client's bytes; what crossed is sent to the main thread in batches
 * (thread-protocol.ts), where the pipeline reads it as a connection's two byte streams.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AnomalySink } from '../core/anomalies.js';
import type { ConnectionInfo, Dir, StreamSink } from '../reassembly/types.js';
import { createProxyServer } from './server.js';
import type { ForwarderConfig, FromForwarder, ToForwarder, WireOp } from './thread-protocol.js';

const port = parentPort!;
const config = workerData as ForwarderConfig;

/** Anomalies counted since the last batch. */
const anomalyDeltas = new Map<string, number>();
const anomalies: AnomalySink = { add: (name, n = 1) => void anomalyDeltas.set(name, (anomalyDeltas.get(name) ?? 0) + n) };

let ops: WireOp[] = [];
let pieces: Uint8Array[] = [];
let size = 0;
let scheduled = false;

function post(m: FromForwarder, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

function flush(): void {
  scheduled = false;
  if (ops.length === 0 && anomalyDeltas.size === 0) return;
  // One buffer per batch, transferred: the pieces are views of Node's (pooled) buffers, which a
  // structured clone would copy whole.
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const p of pieces) {
    bytes.set(p, at);
    at += p.length;
  }
  const m: FromForwarder = { t: 'batch', ops, bytes: bytes.buffer, anomalies: [...anomalyDeltas], counters: { ...server.counters } };
  ops = [];
  pieces = [];
  size = 0;
  anomalyDeltas.clear();
  post(m, [bytes.buffer]);
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  // After the taps drained in this turn (exchange-tap.ts runs them in a setImmediate).
  process.nextTick(flush);
}

/** The pipeline connection's stand-in: records what the tap hands over. */
function remoteSink(info: ConnectionInfo): StreamSink {
  let serverSent = false;
  return {
    onData: (dir: Dir, data: Uint8Array, ts: number) => {
      const op: WireOp = { k: 'data', id: info.id, dir: dir === 0 ? 0 : 1, offset: size, length: data.length, ts };
      if (dir === 1 && !serverSent) {
        serverSent = true;
        op.server = { ...info.server };
      }
      ops.push(op);
      // The tap's pieces are lent (StreamSink contract): copied at flush, within this turn.
      pieces.push(data);
      size += data.length;
      schedule();
    },
    onGap: () => undefined,
    onClose: (ts, reason) => {
      ops.push({ k: 'close', id: info.id, ts, reason });
      schedule();
    },
  };
}

const server = createProxyServer({
  route: config.route,
  limits: config.limits,
  ...(config.extraCa ? { extraCa: config.extraCa } : {}),
  anomalies,
  openExchange: (info, env) => {
    ops.push({ k: 'open', id: info.id, info: { ...info, server: { ...info.server }, client: { ...info.client } }, env });
    schedule();
    return remoteSink(info);
  },
});

port.on('message', (m: ToForwarder) => {
  if (m.t !== 'stop') return;
  void server.close(m.graceMs).then(() => {
    flush();
    post({ t: 'stopped' });
    port.close();
  });
});

server.listen(config.host, config.port).then(
  (a) => post({ t: 'ready', host: a.host, port: a.port }),
  (err: NodeJS.ErrnoException) => {
    post({ t: 'listen-error', code: err.code ?? null, message: err.message });
    port.close();
  },
);
