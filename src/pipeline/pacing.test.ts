import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import type { CapturedFrame } from '../capture/types.js';
import { Pacer, parsePace, type PaceClock } from './pacing.js';

/** A wall clock that moves only when the pacer sleeps: delivery times are exact, not measured. */
function fakeClock(): PaceClock & { t: number; sleeps: number[] } {
  const c = {
    t: 1000,
    sleeps: [] as number[],
    now: () => c.t,
    sleep: (ms: number) => {
      c.sleeps.push(ms);
      c.t += ms;
      return Promise.resolve();
    },
  };
  return c;
}

const T0 = 1_768_471_200_000_000; // 2026-01-15T10:00:00Z in µs

/** Feeds frames the way CaptureParser does: one reused frame object and one reused buffer, whose
 * bytes are overwritten for the next packet. */
function feeder(onFrame: (f: CapturedFrame) => void): (ts: number, byte: number) => void {
  const buf = new Uint8Array(64);
  const f: CapturedFrame = { ts: 0, linkType: 1, iface: 0, buf, start: 0, end: 0, origLen: 0 };
  let at = 0;
  return (ts, byte) => {
    at = (at + 7) % 32;
    buf.fill(byte, at, at + 3);
    Object.assign(f, { ts, start: at, end: at + 3, origLen: 3 });
    onFrame(f);
    buf.fill(0xee, at, at + 3); // the parser reuses its buffer
  };
}

interface Seen {
  ts: number;
  wall: number;
  bytes: number[];
}

function setup(factor: number) {
  const clock = fakeClock();
  const pacer = new Pacer(factor, clock);
  const seen: Seen[] = [];
  const anomalies = new AnomalyCounter();
  const push = feeder(
    pacer.wrap((f) => seen.push({ ts: f.ts, wall: clock.now(), bytes: [...f.buf.subarray(f.start, f.end)] }), anomalies),
  );
  return { clock, pacer, seen, push, anomalies };
}

describe('Pacer', () => {
  it.each([
    ['capture pace', 1],
    ['ten times faster', 10],
    ['half speed', 0.5],
  ])('hands each packet over when wall time × factor reaches its capture offset (%s)', async (_name, factor) => {
    const { clock, pacer, seen, push } = setup(factor);
    const start = clock.now();
    // One chunk holding 23 s of capture: the pacer must wait in the middle of it.
    const offsetsUs = [0, 250_000, 250_000, 3_000_000, 3_000_001, 23_000_000];
    offsetsUs.forEach((o, i) => push(T0 + o, i + 1));
    expect(seen).toHaveLength(1); // only the first packet is due while the chunk is parsed
    await pacer.drain();
    expect(seen.map((s) => s.ts)).toEqual(offsetsUs.map((o) => T0 + o));
    for (const [i, s] of seen.entries()) expect(s.wall - start).toBeCloseTo(offsetsUs[i]! / 1000 / factor, 6);
    expect(pacer.queued).toBe(0);
  });

  it('keeps the bytes of frames it holds back (the parser reuses its buffer)', async () => {
    const { pacer, seen, push } = setup(1);
    push(T0, 1);
    push(T0 + 1000, 2);
    push(T0 + 2000, 3);
    await pacer.drain();
    expect(seen.map((s) => s.bytes)).toEqual([
      [1, 1, 1],
      [2, 2, 2],
      [3, 3, 3],
    ]);
  });

  it('passes a frame already due straight through, the parser’s own object', () => {
    const clock = fakeClock();
    const pacer = new Pacer(1, clock);
    const got: CapturedFrame[] = [];
    const onFrame = pacer.wrap((f) => got.push(f));
    const f: CapturedFrame = { ts: T0, linkType: 1, iface: 0, buf: new Uint8Array(4), start: 0, end: 4, origLen: 4 };
    onFrame(f);
    clock.t += 5; // 5 ms later a packet 2 ms into the capture is overdue
    const g = { ...f, ts: T0 + 2000 };
    onFrame(g);
    expect(got[0]).toBe(f);
    expect(got[1]).toBe(g);
    expect(pacer.queued).toBe(0);
  });

  it('keeps file order: a packet stamped slightly earlier waits behind the one before it', async () => {
    const { pacer, seen, push, anomalies } = setup(1);
    push(T0, 1);
    push(T0 + 500_000, 2);
    push(T0 + 400_000, 3); // 100 ms back (reordering between interfaces)
    await pacer.drain();
    expect(seen.map((s) => s.bytes[0])).toEqual([1, 2, 3]);
    expect(seen[2]!.wall).toBe(seen[1]!.wall);
    expect(anomalies.entries()).toEqual([]);
  });

  it('starts over instead of waiting a day or running the rest unpaced on a time jump', async () => {
    const { clock, pacer, seen, push, anomalies } = setup(1);
    push(T0, 1);
    push(T0 + 1_000_000, 2);
    push(T0 + 50 * 3600 * 1_000_000, 3); // a corrupt timestamp 50 h on: delivered at once
    push(T0 + 50 * 3600 * 1_000_000 + 2_000_000, 4); // paced from the new origin
    push(T0 + 10_000_000, 5); // back 50 h (a merged capture): a new origin again
    push(T0 + 13_000_000, 6);
    await pacer.drain();
    const walls = seen.map((s) => s.wall - seen[0]!.wall);
    expect(walls).toEqual([0, 1000, 1000, 3000, 3000, 6000]);
    expect(anomalies.get('replay_pace_time_jump')).toBe(2);
    expect(clock.sleeps.every((ms) => ms <= 250)).toBe(true);
  });

  it('says how far the capture has got by the wall clock, never past a packet not yet handed over', async () => {
    const { clock, pacer, push } = setup(2);
    expect(pacer.captureNow()).toBeNull();
    push(T0, 1);
    push(T0 + 10_000_000, 2);
    clock.t += 1000; // 1 s at factor 2: 2 s of capture reached
    expect(pacer.captureNow()).toBe(T0 + 2_000_000);
    clock.t += 60_000; // far past the waiting packet: held at its time
    expect(pacer.captureNow()).toBe(T0 + 10_000_000);
    await pacer.drain();
    clock.t += 60_000; // nothing waits: held at the latest packet (the next read may start there)
    expect(pacer.captureNow()).toBe(T0 + 10_000_000);
  });

  it('stops a drain when the run fails', async () => {
    const { pacer, seen, push } = setup(1);
    push(T0, 1);
    push(T0 + 3600 * 1_000_000, 2);
    const drained = pacer.drain();
    pacer.abort(new Error('disk full'));
    await expect(drained).rejects.toThrow('disk full');
    expect(seen).toHaveLength(1);
  });

  it('refuses a factor that is not a positive number', () => {
    for (const f of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => new Pacer(f)).toThrow(RangeError);
  });
});

describe('parsePace', () => {
  it('reads "capture" and speed factors', () => {
    expect(parsePace('capture')).toBe(1);
    expect(parsePace(' Capture ')).toBe(1);
    expect(parsePace('10')).toBe(10);
    expect(parsePace('0.5')).toBe(0.5);
    expect(parsePace('.25')).toBe(0.25);
    expect(parsePace('1e3')).toBe(1000);
  });

  it('refuses anything else', () => {
    for (const v of ['', ' ', '0', '0.0', '-2', 'fast', '0x10', 'Infinity', 'NaN', '10x', '1,5', '1e999']) expect(parsePace(v), v).toBeNull();
  });
});
