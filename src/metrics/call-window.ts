/**
 * Sliding windows on capture time (DESIGN §4 "live aggregates over sliding windows"; §1 "windows
 * run on capture time"). A window is a ring of time buckets, each holding sums and its own
 * mergeable sketches; reading merges the buckets still inside the window. Memory is bounded by
 * span / bucket buckets (default 60) whatever the traffic.
 *
 * Which buckets are "inside": with bucket width b and n = span / b buckets, the window at capture
 * time `now` holds the buckets with index floor(t / b) in (floor(now / b) − n, floor(now / b)],
 * i.e. the aligned interval [(floor(now/b) − n + 1)·b, now]. Its true length lies between
 * span − b and span (the oldest bucket is only partly inside); rates still divide by the span,
 * as DESIGN §4 asks, so a rate can read up to 1/n (1.7 % at 60 buckets) low. That is the price of
 * bounded memory; exact figures come from the store.
 *
 * The clock only moves forward: `add` and `advance` both move `now` to the latest time seen (a
 * record at time t proves capture time reached t). A sample older than the window is not added
 * and is counted in `late`.
 */
import type { LlmCallRecord } from '../core/record.js';
import type { Micros } from '../core/time.js';
import { completionMicros } from './record-time.js';
import { isSample, mergedQuantiles, newSketch, type Quantiles, type Sketch } from './quantile-sketch.js';

export type { Quantiles } from './quantile-sketch.js';

export interface WindowStats {
  calls: number;
  errors: number;
  throttled: number;
  server_errors: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  /** Sum over priced calls; unpriced calls (cost_usd null) add nothing and are not $0 calls. */
  cost_usd: number;
  /** The window's length, for rates. */
  span_seconds: number;
  /** Calls per second. */
  call_rate: number;
  /** errors / calls, 0–1; null when the window holds no call. */
  error_rate: number | null;
  throttle_rate: number | null;
  server_error_rate: number | null;
  /** (input + output tokens) per second. */
  token_rate: number;
  /** cache_read_tokens / input_tokens; null when no input token was counted. */
  cache_hit_ratio: number | null;
  /** USD per second. */
  cost_rate: number;
  ttft_ms: Quantiles | null;
  tpot_ms: Quantiles | null;
  e2e_ms: Quantiles | null;
}

export interface WindowOptions {
  /** Bucket width (default span / 60, at least 1 ms). */
  bucketMs?: number;
}

/**
 * Buckets per window when none is given: 60 (1 s buckets for 1 m, 5 s for 5 m, 1 min for 1 h),
 * the resolution of a Grafana panel over the same span; an error of ≤ 1/60 on rates.
 */
export const DEFAULT_BUCKETS = 60;
/** Cap on buckets per window (a 1 h window with 1 ms buckets would be 3.6M): memory is per bucket. */
export const MAX_BUCKETS = 3600;

/** Shared ring mechanics: which slot a time falls in and which slots are still in the window. */
class BucketRing<B extends object> {
  readonly spanMs: number;
  readonly bucketUs: number;
  readonly size: number;
  private readonly slots: (B | null)[];
  private readonly slotIdx: number[];
  /** Latest capture time seen (µs), null before the first. */
  now: Micros | null = null;
  late = 0;

  constructor(spanMs: number, opts: WindowOptions | undefined, private readonly make: () => B) {
    if (!(Number.isFinite(spanMs) && spanMs > 0)) throw new RangeError(`window span must be > 0 ms, got ${spanMs}`);
    const bucketMs = opts?.bucketMs ?? Math.max(1, spanMs / DEFAULT_BUCKETS);
    if (!(Number.isFinite(bucketMs) && bucketMs > 0)) throw new RangeError(`bucket must be > 0 ms, got ${bucketMs}`);
    this.spanMs = spanMs;
    this.size = Math.min(MAX_BUCKETS, Math.max(1, Math.ceil(spanMs / bucketMs)));
    // A span that is not a whole number of buckets (or needs more than the cap) widens buckets.
    this.bucketUs = Math.ceil((spanMs * 1000) / this.size);
    this.slots = new Array<B | null>(this.size).fill(null);
    this.slotIdx = new Array<number>(this.size).fill(-Infinity);
  }

  advance(t: Micros): void {
    if (!Number.isFinite(t)) return;
    if (this.now === null || t > this.now) this.now = t;
  }

  /** The bucket for time t (moving the clock to t), or null when t is already out of the window. */
  bucketAt(t: Micros): B | null {
    this.advance(t);
    const idx = Math.floor(t / this.bucketUs);
    if (idx <= this.nowIdx() - this.size) {
      this.late++;
      return null;
    }
    const slot = mod(idx, this.size);
    let b = this.slots[slot] ?? null;
    if (b === null || this.slotIdx[slot] !== idx) {
      b = this.make();
      this.slots[slot] = b;
      this.slotIdx[slot] = idx;
    }
    return b;
  }

  /** Buckets inside the window; buckets that left it are released on the way. */
  *live(): Generator<B> {
    if (this.now === null) return;
    const oldest = this.nowIdx() - this.size;
    for (let i = 0; i < this.size; i++) {
      const b = this.slots[i] ?? null;
      if (b === null) continue;
      if (this.slotIdx[i]! <= oldest) {
        this.slots[i] = null;
        continue;
      }
      yield b;
    }
  }

  /** True when no bucket inside the window holds anything (the series may be dropped). */
  get empty(): boolean {
    return this.live().next().done === true;
  }

  private nowIdx(): number {
    return Math.floor((this.now ?? 0) / this.bucketUs);
  }
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

interface CallBucket {
  calls: number;
  errors: number;
  throttled: number;
  serverErrors: number;
  input: number;
  output: number;
  cacheRead: number;
  cost: number;
  ttft: Sketch | null;
  tpot: Sketch | null;
  e2e: Sketch | null;
}

function newCallBucket(): CallBucket {
  return { calls: 0, errors: 0, throttled: 0, serverErrors: 0, input: 0, output: 0, cacheRead: 0, cost: 0, ttft: null, tpot: null, e2e: null };
}

/** DESIGN §4: an error is HTTP status ≥ 400 or an error event (in-stream errors come with 200). */
export function isErrorCall(call: LlmCallRecord): boolean {
  return (call.status_code !== null && call.status_code >= 400) || call.error !== null;
}

/** A usable count: finite and not negative (the pricer calls others `cost_usage_invalid`). */
function count(n: number | null): number {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : 0;
}

export class CallWindow {
  private readonly ring: BucketRing<CallBucket>;

  constructor(spanMs: number, opts?: WindowOptions) {
    this.ring = new BucketRing(spanMs, opts, newCallBucket);
  }

  /** Latest capture time seen, µs (null before any). */
  get now(): Micros | null {
    return this.ring.now;
  }

  /** Calls that arrived after their time had left the window (not counted). */
  get late(): number {
    return this.ring.late;
  }

  get empty(): boolean {
    return this.ring.empty;
  }

  /** Counts the call at its completion time (see `completionMicros` for why); a call with no
   * readable time is placed at the window's current time. */
  add(call: LlmCallRecord): void {
    const t = completionMicros(call) ?? this.ring.now;
    if (t === null) return;
    const b = this.ring.bucketAt(t);
    if (b === null) return;
    b.calls++;
    if (isErrorCall(call)) b.errors++;
    const status = call.status_code;
    if (status === 429) b.throttled++;
    if (status !== null && status >= 500 && status <= 599) b.serverErrors++;
    b.input += count(call.usage.input_tokens);
    b.output += count(call.usage.output_tokens);
    b.cacheRead += count(call.usage.cache_read_tokens);
    if (call.cost_usd !== null && Number.isFinite(call.cost_usd) && call.cost_usd >= 0) b.cost += call.cost_usd;
    if (isSample(call.ttft_ms)) (b.ttft ??= newSketch()).accept(call.ttft_ms);
    if (isSample(call.tpot_ms)) (b.tpot ??= newSketch()).accept(call.tpot_ms);
    if (isSample(call.e2e_ms)) (b.e2e ??= newSketch()).accept(call.e2e_ms);
  }

  advance(nowMicros: Micros): void {
    this.ring.advance(nowMicros);
  }

  stats(): WindowStats {
    return callStats([...this.ring.live()], this.ring.spanMs);
  }

  /**
   * Stats of several windows of the same span and buckets taken as one (series merged into a
   * group, or all series into a total): sums add, sketches merge. Each window is first moved to
   * the latest clock among them, so a series that saw no call lately does not count stale buckets.
   */
  static mergedStats(windows: readonly CallWindow[], spanMs: number): WindowStats {
    let now: Micros | null = null;
    for (const w of windows) if (w.now !== null && (now === null || w.now > now)) now = w.now;
    const buckets: CallBucket[] = [];
    for (const w of windows) {
      if (w.ring.spanMs !== spanMs) throw new RangeError(`cannot merge a ${w.ring.spanMs} ms window into ${spanMs} ms`);
      if (now !== null) w.advance(now);
      for (const b of w.ring.live()) buckets.push(b);
    }
    return callStats(buckets, spanMs);
  }

  /**
   * Stats of several windows of the same span taken as one, each read at its own clock (windows
   * of sources whose clocks differ, each moved to its source's now by the caller: the last
   * minute of each source, not the last minute of the newest source's clock).
   */
  static statsAsRead(windows: readonly CallWindow[], spanMs: number): WindowStats {
    const buckets: CallBucket[] = [];
    for (const w of windows) {
      if (w.ring.spanMs !== spanMs) throw new RangeError(`cannot merge a ${w.ring.spanMs} ms window into ${spanMs} ms`);
      for (const b of w.ring.live()) buckets.push(b);
    }
    return callStats(buckets, spanMs);
  }
}

function callStats(buckets: readonly CallBucket[], spanMs: number): WindowStats {
  const sum = (f: (b: CallBucket) => number): number => buckets.reduce((acc, b) => acc + f(b), 0);
  const calls = sum((b) => b.calls);
  const errors = sum((b) => b.errors);
  const throttled = sum((b) => b.throttled);
  const serverErrors = sum((b) => b.serverErrors);
  const input = sum((b) => b.input);
  const output = sum((b) => b.output);
  const cacheRead = sum((b) => b.cacheRead);
  const cost = sum((b) => b.cost);
  const span = spanMs / 1000;
  const ratio = (n: number): number | null => (calls === 0 ? null : n / calls);
  return {
    calls,
    errors,
    throttled,
    server_errors: serverErrors,
    input_tokens: input,
    output_tokens: output,
    cache_read_tokens: cacheRead,
    cost_usd: cost,
    span_seconds: span,
    call_rate: calls / span,
    error_rate: ratio(errors),
    throttle_rate: ratio(throttled),
    server_error_rate: ratio(serverErrors),
    token_rate: (input + output) / span,
    cache_hit_ratio: input === 0 ? null : cacheRead / input,
    cost_rate: cost / span,
    ttft_ms: mergedQuantiles(buckets.map((b) => b.ttft)),
    tpot_ms: mergedQuantiles(buckets.map((b) => b.tpot)),
    e2e_ms: mergedQuantiles(buckets.map((b) => b.e2e)),
  };
}

interface ValueBucket {
  count: number;
  sum: number;
  min: number;
  max: number;
  sketch: Sketch;
}

export interface ValueStats {
  count: number;
  sum: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  /** Of the samples ≥ 0 (DDSketch's relative accuracy is defined for positive values; scores are
   * 0–1 or 1–5 in practice). Null when there is none. */
  quantiles: Quantiles | null;
}

/** Numeric samples (annotation scores) on the same clock: placed at their own time (`ts`). */
export class ValueWindow {
  private readonly ring: BucketRing<ValueBucket>;

  constructor(spanMs: number, opts?: WindowOptions) {
    this.ring = new BucketRing(spanMs, opts, () => ({ count: 0, sum: 0, min: Infinity, max: -Infinity, sketch: newSketch() }));
  }

  get now(): Micros | null {
    return this.ring.now;
  }

  get late(): number {
    return this.ring.late;
  }

  get empty(): boolean {
    return this.ring.empty;
  }

  add(tsMicros: Micros, value: number): void {
    if (!Number.isFinite(tsMicros) || !Number.isFinite(value)) return;
    const b = this.ring.bucketAt(tsMicros);
    if (b === null) return;
    b.count++;
    b.sum += value;
    if (value < b.min) b.min = value;
    if (value > b.max) b.max = value;
    if (isSample(value)) b.sketch.accept(value);
  }

  advance(nowMicros: Micros): void {
    this.ring.advance(nowMicros);
  }

  stats(): ValueStats {
    const buckets = [...this.ring.live()];
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const b of buckets) {
      count += b.count;
      sum += b.sum;
      min = Math.min(min, b.min);
      max = Math.max(max, b.max);
    }
    return {
      count,
      sum,
      mean: count === 0 ? null : sum / count,
      min: count === 0 ? null : min,
      max: count === 0 ? null : max,
      quantiles: mergedQuantiles(buckets.map((b) => b.sketch)),
    };
  }
}
