/**
 * Replay pacing (DESIGN §2: "Replay runs as fast as possible, at capture pace, or at a speed
 * factor"). A packet is handed to the pipeline once the wall time since the first packet, times
 * the factor, reaches its capture time since the first packet: factor 1 is capture pace, 10 is
 * ten times faster, 0.5 half speed.
 *
 * The capture parser is synchronous and reads whole chunks (4 MiB from a file), so a chunk can
 * hold minutes of capture time. The pacer sits between the parser and the pipeline: a frame
 * already due goes straight through (no copy); the first frame not yet due, and every frame after
 * it in the chunk (order is kept), is copied into a queue, and `drain()`, awaited after the chunk,
 * hands them over as they fall due. Unpaced replay does not use this module at all, so it costs
 * nothing there.
 */
import type { AnomalySink } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';
import type { CapturedFrame } from '../capture/types.js';

/** Wall clock and sleep, injectable for tests (no timed assertions). */
export interface PaceClock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemPaceClock: PaceClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * A packet more than this far BEFORE the latest one delivered starts the pacing over from it
 * (counted as `replay_pace_time_jump`): a merged capture or a clock step would otherwise let the
 * rest of the file run unpaced. One second is far beyond the reordering seen between a pcapng's
 * interfaces or a capture's CPU queues (microseconds to milliseconds), and small enough that a
 * step back is noticed.
 */
const MAX_BACKWARD_US = 1_000_000;
/**
 * A packet more than this far AFTER the latest one delivered also starts the pacing over from it:
 * a corrupt timestamp (pcap allows any u32 seconds) would otherwise hold the replay for years.
 * A day: the longest silence a paced replay of one all-day capture should sit through.
 */
const MAX_FORWARD_US = 24 * 3600 * 1_000_000;
/** Longest single sleep, so `abort()` takes effect promptly even during a long idle gap. */
const MAX_SLEEP_MS = 250;

/** `--pace` value: "capture" (factor 1) or a positive speed factor; null when it is neither. */
export function parsePace(value: string): number | null {
  const v = value.trim().toLowerCase();
  if (v === 'capture') return 1;
  // Number('') is 0 and Number('0x10') is 16: accept only plain decimal notation.
  if (!/^(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/.test(v)) return null;
  const f = Number(v);
  return Number.isFinite(f) && f > 0 ? f : null;
}

export class Pacer {
  /** Capture time of the anchor packet, and the wall time it was delivered at. */
  private origin: Micros | null = null;
  private wallStart = 0;
  /** Latest capture time delivered. */
  private latest: Micros = 0;
  /** Frames waiting for their time, in capture-file order, from `head` on. At most one chunk's
   * worth: `drain()` empties it after every chunk (READ_CHUNK = 4 MiB for a file). */
  private queue: CapturedFrame[] = [];
  private head = 0;
  private failure: { reason: unknown } | null = null;
  private deliver: ((f: CapturedFrame) => void) | null = null;
  private anomalies: AnomalySink | null = null;

  constructor(
    readonly factor: number,
    private readonly clock: PaceClock = systemPaceClock,
  ) {
    if (!(factor > 0) || !Number.isFinite(factor)) throw new RangeError(`pace factor must be a positive number (got ${factor})`);
  }

  /** The parser's onFrame: passes `deliver` what is due, queues the rest for `drain()`. */
  wrap(deliver: (f: CapturedFrame) => void, anomalies?: AnomalySink): (f: CapturedFrame) => void {
    this.deliver = deliver;
    this.anomalies = anomalies ?? null;
    return (f) => {
      if (this.head === this.queue.length && this.waitFor(f.ts) <= 0) {
        this.handOver(f);
        return;
      }
      // The parser reuses the frame and its buffer: keep a copy of the bytes.
      this.queue.push({ ts: f.ts, linkType: f.linkType, iface: f.iface, buf: f.buf.slice(f.start, f.end), start: 0, end: f.end - f.start, origLen: f.origLen });
    };
  }

  /** Hands over every queued frame at its time; resolves when the queue is empty. */
  async drain(): Promise<void> {
    while (this.head < this.queue.length) {
      if (this.failure !== null) throw this.failure.reason;
      const next = this.queue[this.head]!;
      const wait = this.waitFor(next.ts);
      if (wait > 0) {
        await this.clock.sleep(Math.min(wait, MAX_SLEEP_MS));
        continue;
      }
      this.head++;
      this.handOver(next);
    }
    this.queue = [];
    this.head = 0;
    if (this.failure !== null) throw this.failure.reason;
  }

  /** Stops a drain in progress (the run failed): it rejects with `reason` at its next wake-up. */
  abort(reason: unknown): void {
    this.failure ??= { reason };
  }

  /** Frames waiting. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /**
   * The capture time the replay has reached by the wall clock (null before the first packet):
   * the progress shown while paced. Never past the next packet waiting, nor past the latest one
   * delivered when none waits (the next chunk is not read yet and may start right there), so it
   * could also move a pipeline's clock through idle gaps (advanceTo) without overtaking a packet.
   */
  captureNow(): Micros | null {
    if (this.origin === null) return null;
    const paced = this.origin + Math.floor((this.clock.now() - this.wallStart) * this.factor * 1000);
    const bound = this.head < this.queue.length ? this.queue[this.head]!.ts : this.latest;
    return Math.min(paced, bound);
  }

  /** Milliseconds until `ts` is due (≤ 0: now); starts the pacing over on the first packet and
   * on a time jump. */
  private waitFor(ts: Micros): number {
    if (this.origin === null || ts < this.latest - MAX_BACKWARD_US || ts > this.latest + MAX_FORWARD_US) {
      if (this.origin !== null) this.anomalies?.add('replay_pace_time_jump');
      this.origin = ts;
      this.wallStart = this.clock.now();
      this.latest = ts;
      return 0;
    }
    return this.wallStart + (ts - this.origin) / 1000 / this.factor - this.clock.now();
  }

  private handOver(f: CapturedFrame): void {
    if (f.ts > this.latest) this.latest = f.ts;
    this.deliver!(f);
  }
}
