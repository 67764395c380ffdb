/**
 * The sending end of `llmtap probe`: a ZeroMQ PUSH socket connected to a collector's PULL
 * socket. The queue is ZeroMQ's own, bounded by the send high-water mark (ZMQ_SNDHWM, counted in
 * messages); a batch that does not fit (the collector is slow, down, or not yet reachable) is
 * dropped at once and counted, never waited for: the capture must not stall behind the network
 * (a stalled probe would lose packets in the kernel ring instead, uncounted by us).
 */
import { Push } from 'zeromq';

/**
 * Batches ZeroMQ may hold for the collector: with 1 MiB batches (PROBE_BATCH_TARGET_BYTES) at
 * most 64 MiB of memory, and ~6 s of a 100 Mbit/s capture to ride out a collector restart.
 */
export const PROBE_SEND_HWM = 64;
/** Batches handed over while ZeroMQ is still taking the previous one (send() is one at a time). */
const LOCAL_QUEUE = 4;
/** At stop, how long queued batches may take to reach the collector before they are dropped. */
export const PROBE_LINGER_MS = 2_000;

export interface ProbeSenderCounters {
  batchesSent: number;
  packetsSent: number;
  bytesSent: number;
  batchesDropped: number;
  packetsDropped: number;
}

export class ProbeSender {
  private readonly socket: Push;
  private readonly queue: { batch: Uint8Array; packets: number }[] = [];
  private sending = false;
  private closed = false;
  readonly counters: ProbeSenderCounters = { batchesSent: 0, packetsSent: 0, bytesSent: 0, batchesDropped: 0, packetsDropped: 0 };

  /** `endpoint`: tcp://HOST:PORT of the collector. Throws (a ZeroMQ error) on a bad endpoint. */
  constructor(endpoint: string, o: { hwm?: number } = {}) {
    this.socket = new Push({ sendHighWaterMark: o.hwm ?? PROBE_SEND_HWM, sendTimeout: 0, linger: PROBE_LINGER_MS });
    this.socket.connect(endpoint);
  }

  /** Queues one batch of `packets` packets; drops and counts it when the queue is full. */
  send(batch: Uint8Array, packets: number): void {
    if (this.closed || this.queue.length >= LOCAL_QUEUE) {
      this.drop(packets);
      return;
    }
    this.queue.push({ batch, packets });
    if (!this.sending) void this.pump();
  }

  private async pump(): Promise<void> {
    this.sending = true;
    while (this.queue.length > 0) {
      const next = this.queue.shift()!;
      try {
        await this.socket.send(next.batch);
        this.counters.batchesSent++;
        this.counters.packetsSent += next.packets;
        this.counters.bytesSent += next.batch.length;
      } catch {
        // EAGAIN: the high-water mark is reached (sendTimeout 0 never waits).
        this.drop(next.packets);
      }
    }
    this.sending = false;
  }

  private drop(packets: number): void {
    this.counters.batchesDropped++;
    this.counters.packetsDropped += packets;
  }

  /** Sends what is queued (up to PROBE_LINGER_MS for ZeroMQ to deliver it) and closes. */
  async close(): Promise<void> {
    while (this.sending) await new Promise((r) => setTimeout(r, 5));
    this.closed = true;
    this.socket.close();
    // linger: the context keeps delivering queued messages up to PROBE_LINGER_MS after close.
  }
}
