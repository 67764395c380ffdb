/**
 * The receiving end of remote probes (DESIGN §1 "remote probe (ZMQ)"): a ZeroMQ PULL socket bound
 * where probes connect, one packet batch per message (probe-batch.ts). ZeroMQ fair-queues
 * messages from every connected probe; each message is delivered whole.
 *
 * Bounds: ZMQ_MAXMSGSIZE refuses a message over PROBE_MAX_BATCH_BYTES before it is buffered
 * (ZeroMQ disconnects the peer that sent it: zmq_setsockopt(3)); ZMQ_RCVHWM bounds the messages
 * queued per probe while the pipeline is busy, after which the probes' own queues fill and they
 * drop and count (probe-sender.ts): the collector never grows with a probe's rate.
 *
 * Security: anyone who can reach the endpoint can send packets, under any probe uuid. Bind to
 * loopback or a private network, or put the collector behind a firewall rule that admits only
 * the probes' addresses (docs/probes.md). ZeroMQ CURVE is not wired yet.
 */
import { Pull } from 'zeromq';
import { PROBE_MAX_BATCH_BYTES } from './probe-batch.js';

/** Batches queued per connected probe while the pipeline is busy: 16 × ≤ 2 MiB = 32 MiB. */
export const PROBE_RECEIVE_HWM = 16;

export class ProbeListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProbeListenError';
  }
}

export interface ProbeListener {
  /** The bound endpoint (port 0 or `*` resolved to the real port). */
  readonly endpoint: string;
  /** Each message as its parts (a batch is one part). Ends after close(). */
  readonly messages: AsyncIterable<Uint8Array[]>;
  close(): void;
}

/** tcp://HOST:PORT with a literal host or `*`, as the collector binds it. */
const ENDPOINT_RE = /^tcp:\/\/(\*|\[[0-9a-fA-F:.]+\]|[0-9.]+|[A-Za-z0-9.-]+):(\d+|\*)$/;

export function checkProbeEndpoint(endpoint: string): { host: string; port: string } | null {
  const m = ENDPOINT_RE.exec(endpoint);
  if (m === null) return null;
  if (m[2] !== '*' && Number(m[2]) > 65535) return null;
  return { host: m[1]!, port: m[2]! };
}

/** A host ZeroMQ binds to that only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '[::1]';
}

export async function listenForProbes(endpoint: string): Promise<ProbeListener> {
  if (checkProbeEndpoint(endpoint) === null) {
    throw new ProbeListenError(`--listen-probes ${endpoint}: expected tcp://HOST:PORT, e.g. tcp://0.0.0.0:5556`);
  }
  // ZeroMQ wants `*` for an ephemeral port; port 0 is accepted as its synonym here.
  const bindTo = endpoint.replace(/:0$/, ':*');
  const socket = new Pull({ maxMessageSize: PROBE_MAX_BATCH_BYTES, receiveHighWaterMark: PROBE_RECEIVE_HWM, linger: 0 });
  try {
    await socket.bind(bindTo);
  } catch (err) {
    socket.close();
    const code = (err as { code?: string }).code;
    const why = code === 'EADDRINUSE' ? 'the address is in use' : code === 'EADDRNOTAVAIL' ? 'no such local address' : (err as Error).message;
    throw new ProbeListenError(`cannot listen for probes on ${endpoint}: ${why}`);
  }
  return {
    endpoint: socket.lastEndpoint ?? endpoint,
    messages: {
      [Symbol.asyncIterator]: async function* () {
        // The socket's iterator returns once the socket is closed.
        for await (const parts of socket) yield parts;
      },
    },
    close: () => {
      if (!socket.closed) socket.close();
    },
  };
}
