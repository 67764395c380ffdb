/**
 * The call window of one alert rule: the same buckets, placement and definitions as CallWindow
 * (src/metrics/call-window.ts: a call counts at its completion time, errors are status ≥ 400 or
 * an error event, percentiles from DDSketch), read for the one metric the rule watches.
 *
 * Why not CallWindow itself: a rule is evaluated after every matching call, and
 * `CallWindow.stats()` computes every metric, merging 60 buckets' sketches for three latencies
 * each time: ~400 µs a read, 160 s for 100k calls under 5 rules (measured). Here a scalar metric
 * is one pass over ≤ 60 bucket sums, and a percentile keeps the merge of the buckets that can no
 * longer change (older than the current one) and adds only the current bucket per read; the cache
 * is rebuilt when one of its buckets leaves the window (at most once per bucket width); a late
 * call's sample goes into its bucket and the cache alike. rule-window.test.ts checks that both read the same values.
 */
import type { WindowMetric } from '../config/types.js';
import type { LlmCallRecord } from '../core/record.js';
import type { Micros } from '../core/time.js';
import { DEFAULT_BUCKETS, isErrorCall, MAX_BUCKETS } from '../metrics/call-window.js';
import { isSample, newSketch, quantilesOf, type Sketch } from '../metrics/quantile-sketch.js';

interface Bucket {
  calls: number;
  errors: number;
  throttled: number;
  serverErrors: number;
  input: number;
  output: number;
  cacheRead: number;
  cost: number;
  /** Samples of the rule's latency (ttft, tpot or e2e), when the metric is a percentile. */
  latency: Sketch | null;
}

type Latency = 'ttft_ms' | 'tpot_ms' | 'e2e_ms';

function latencyOf(metric: WindowMetric): Latency | null {
  if (metric.startsWith('ttft_')) return 'ttft_ms';
  if (metric.startsWith('tpot_')) return 'tpot_ms';
  if (metric.startsWith('e2e_')) return 'e2e_ms';
  return null;
}

/** A usable count: finite and not negative (as CallWindow counts). */
function count(n: number | null): number {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : 0;
}

/** Bucket width and count for a span, as CallWindow derives them for `bucketMs = span / 60`. */
export function bucketGeometry(spanMs: number): { bucketUs: number; size: number } {
  const bucketMs = Math.max(1, spanMs / DEFAULT_BUCKETS);
  const size = Math.min(MAX_BUCKETS, Math.max(1, Math.ceil(spanMs / bucketMs)));
  return { bucketUs: Math.ceil((spanMs * 1000) / size), size };
}

export class RuleCallWindow {
  readonly bucketUs: number;
  readonly size: number;
  private readonly spanSeconds: number;
  private readonly latency: Latency | null;
  private readonly slots: (Bucket | null)[];
  private readonly slotIdx: number[];
  private now: Micros | null = null;
  /** Merge of the live buckets with index < cacheTo; null: to rebuild. */
  private cache: Sketch | null = null;
  private cacheTo = 0;
  /** Smallest bucket index that contributed samples to the cache. */
  private cacheOldest = Infinity;

  constructor(
    spanMs: number,
    private readonly metric: WindowMetric,
  ) {
    const g = bucketGeometry(spanMs);
    this.bucketUs = g.bucketUs;
    this.size = g.size;
    this.spanSeconds = spanMs / 1000;
    this.latency = latencyOf(metric);
    this.slots = new Array<Bucket | null>(this.size).fill(null);
    this.slotIdx = new Array<number>(this.size).fill(-Infinity);
  }

  /** Adds the call at `t` (its completion time); false when `t` already left the window. */
  add(call: LlmCallRecord, t: Micros): boolean {
    this.advance(t);
    const idx = Math.floor(t / this.bucketUs);
    const nowIdx = this.nowIdx();
    if (idx <= nowIdx - this.size) return false;
    const slot = ((idx % this.size) + this.size) % this.size;
    let b = this.slots[slot] ?? null;
    if (b === null || this.slotIdx[slot] !== idx) {
      b = { calls: 0, errors: 0, throttled: 0, serverErrors: 0, input: 0, output: 0, cacheRead: 0, cost: 0, latency: null };
      this.slots[slot] = b;
      this.slotIdx[slot] = idx;
    }
    b.calls++;
    if (isErrorCall(call)) b.errors++;
    const status = call.status_code;
    if (status === 429) b.throttled++;
    if (status !== null && status >= 500 && status <= 599) b.serverErrors++;
    b.input += count(call.usage.input_tokens);
    b.output += count(call.usage.output_tokens);
    b.cacheRead += count(call.usage.cache_read_tokens);
    if (call.cost_usd !== null && Number.isFinite(call.cost_usd) && call.cost_usd >= 0) b.cost += call.cost_usd;
    if (this.latency !== null) {
      const v = call[this.latency];
      if (isSample(v)) {
        (b.latency ??= newSketch()).accept(v);
        // A late call in a bucket the cache already holds: the cache takes the sample too, and
        // stays the merge of its buckets (a DDSketch merge adds bin counts).
        if (idx < this.cacheTo && this.cache !== null) {
          this.cache.accept(v);
          if (idx < this.cacheOldest) this.cacheOldest = idx;
        }
      }
    }
    return true;
  }

  advance(t: Micros): void {
    if (Number.isFinite(t) && (this.now === null || t > this.now)) this.now = t;
  }

  /** Calls in the window and the rule's metric over them (null: nothing to say). */
  read(): { calls: number; value: number | null } {
    const live = this.live();
    let calls = 0;
    for (const b of live) calls += b.calls;
    return { calls, value: this.value(live, calls) };
  }

  private value(live: Bucket[], calls: number): number | null {
    const sum = (f: (b: Bucket) => number): number => {
      let s = 0;
      for (const b of live) s += f(b);
      return s;
    };
    const ratio = (n: number): number | null => (calls === 0 ? null : n / calls);
    switch (this.metric) {
      case 'calls':
        return calls;
      case 'call_rate':
        return calls / this.spanSeconds;
      case 'error_rate':
        return ratio(sum((b) => b.errors));
      case 'throttle_rate':
        return ratio(sum((b) => b.throttled));
      case 'server_error_rate':
        return ratio(sum((b) => b.serverErrors));
      case 'input_tokens':
        return sum((b) => b.input);
      case 'output_tokens':
        return sum((b) => b.output);
      case 'token_rate':
        return sum((b) => b.input + b.output) / this.spanSeconds;
      case 'cache_hit_ratio': {
        const input = sum((b) => b.input);
        return input === 0 ? null : sum((b) => b.cacheRead) / input;
      }
      case 'cost_usd':
        return sum((b) => b.cost);
      case 'cost_rate':
        return sum((b) => b.cost) / this.spanSeconds;
      default: {
        const q = this.quantiles();
        if (q === null) return null;
        return this.metric.endsWith('p50') ? q.p50 : this.metric.endsWith('p95') ? q.p95 : q.p99;
      }
    }
  }

  private quantiles(): ReturnType<typeof quantilesOf> {
    const nowIdx = this.nowIdx();
    const oldest = nowIdx - this.size + 1;
    if (this.cache === null || this.cacheOldest < oldest || this.cacheTo > nowIdx) this.rebuild(nowIdx);
    // Buckets completed since the cache was built join it; the current one is merged per read.
    for (let idx = Math.max(this.cacheTo, oldest); idx < nowIdx; idx++) this.absorb(idx);
    this.cacheTo = Math.max(this.cacheTo, nowIdx);
    const current = this.bucket(nowIdx)?.latency ?? null;
    const cache = this.cache!;
    if (current === null || current.count === 0) return quantilesOf(cache);
    const merged = newSketch();
    if (cache.count > 0) merged.merge(cache);
    merged.merge(current);
    return quantilesOf(merged);
  }

  private rebuild(nowIdx: number): void {
    this.cache = newSketch();
    this.cacheOldest = Infinity;
    this.cacheTo = nowIdx - this.size + 1;
  }

  private absorb(idx: number): void {
    const sketch = this.bucket(idx)?.latency ?? null;
    if (sketch === null || sketch.count === 0) return;
    this.cache!.merge(sketch);
    if (idx < this.cacheOldest) this.cacheOldest = idx;
  }

  /** The live bucket with index `idx`, or null. */
  private bucket(idx: number): Bucket | null {
    const slot = ((idx % this.size) + this.size) % this.size;
    return this.slotIdx[slot] === idx ? (this.slots[slot] ?? null) : null;
  }

  private live(): Bucket[] {
    const out: Bucket[] = [];
    if (this.now === null) return out;
    const gone = this.nowIdx() - this.size;
    for (let i = 0; i < this.size; i++) {
      const b = this.slots[i] ?? null;
      if (b === null) continue;
      if (this.slotIdx[i]! <= gone) {
        this.slots[i] = null;
        continue;
      }
      out.push(b);
    }
    return out;
  }

  private nowIdx(): number {
    return Math.floor((this.now ?? 0) / this.bucketUs);
  }
}
