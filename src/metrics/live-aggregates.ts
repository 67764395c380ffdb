/**
 * Live aggregates (DESIGN §4, issue 5 item 1): for each configured window (default 1 m, 5 m,
 * 1 h) and each label set of the configured dimensions, a sliding CallWindow; read back merged
 * by any subset of the dimensions. A RecordObserver: the pipeline feeds it every finished call
 * and moves its clock (capture time).
 *
 * Not here: "active calls" (DESIGN §4). An observer only ever sees a call once it has finished,
 * so a count of calls in flight cannot be made honestly from records; it needs the HTTP layer's
 * count of requests sent and not yet answered (a gauge on PipelineStats).
 */
import type { LlmCallRecord } from '../core/record.js';
import { isoMicros, type Micros } from '../core/time.js';
import type { MetricsConfig } from '../config/types.js';
import type { RecordObserver } from '../pipeline/observers.js';
import { CallWindow, type WindowStats } from './call-window.js';
import { callLabels, labelKey, SeriesCap, type Labels } from './series-keys.js';

export interface LiveSeries {
  /** Values of the group-by dimensions ("" when the calls have none, "__other__" past the cap). */
  labels: Labels;
  stats: WindowStats;
}

export interface LiveSnapshot {
  window_ms: number;
  /** Capture time the window ends at (ISO 8601, µs); null before the first call. */
  now: string | null;
  group_by: string[];
  /** All calls of the window. */
  total: WindowStats;
  /** One entry per group, most calls first (empty when not grouped). */
  series: LiveSeries[];
  /** Label sets kept, the cap, and calls folded into "__other__" since the start. */
  cardinality: { series: number; max_series: number; folded_calls: number };
}

interface Series {
  labels: Labels;
  /** One window per configured span, in `windowsMs` order. */
  windows: CallWindow[];
}

export class LiveAggregates implements RecordObserver {
  readonly dimensions: readonly string[];
  readonly windowsMs: readonly number[];
  private readonly series = new Map<string, Series>();
  private readonly cap: SeriesCap;
  private now: Micros | null = null;
  /** Next capture time at which empty series are swept out (every bucket of the longest window). */
  private nextSweep: Micros = -Infinity;
  private readonly sweepEveryUs: number;

  constructor(cfg: Pick<MetricsConfig, 'dimensions' | 'windows_ms' | 'max_series'>) {
    this.dimensions = [...cfg.dimensions];
    this.windowsMs = [...new Set(cfg.windows_ms)].sort((a, b) => a - b);
    if (this.windowsMs.length === 0) throw new RangeError('live aggregates need at least one window');
    this.cap = new SeriesCap(this.dimensions, cfg.max_series);
    this.sweepEveryUs = (this.windowsMs[this.windowsMs.length - 1]! * 1000) / 60;
  }

  onCall(call: LlmCallRecord): void {
    const { key, labels } = this.cap.admit(callLabels(call, this.dimensions));
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels, windows: this.windowsMs.map((ms) => new CallWindow(ms)) };
      this.series.set(key, s);
    }
    for (const w of s.windows) w.add(call);
    // After every window took the call: a sweep now sees this series as not empty.
    const t = s.windows[0]!.now;
    if (t !== null) this.tick(t);
  }

  onTime(now: Micros): void {
    this.tick(now);
  }

  /** Latest capture time seen (µs). */
  get clock(): Micros | null {
    return this.now;
  }

  /** The configured window closest to `windowMs` is not guessed: only a configured one is read. */
  hasWindow(windowMs: number): boolean {
    return this.windowsMs.includes(windowMs);
  }

  /**
   * The window's stats in total and grouped by `groupBy` (a subset of the configured dimensions;
   * others are refused with a RangeError, which the API turns into a 400).
   */
  snapshot(windowMs: number, groupBy: readonly string[] = []): LiveSnapshot {
    const wi = this.windowsMs.indexOf(windowMs);
    if (wi < 0) throw new RangeError(`no ${windowMs} ms window (configured: ${this.windowsMs.join(', ')} ms)`);
    for (const d of groupBy) {
      if (!this.dimensions.includes(d)) throw new RangeError(`cannot group by ${JSON.stringify(d)}: not a metrics dimension (${this.dimensions.join(', ')})`);
    }
    const windows: CallWindow[] = [];
    const groups = new Map<string, { labels: Labels; windows: CallWindow[] }>();
    for (const s of this.series.values()) {
      const w = s.windows[wi]!;
      if (this.now !== null) w.advance(this.now);
      windows.push(w);
      if (groupBy.length === 0) continue;
      const labels: Labels = Object.fromEntries(groupBy.map((d) => [d, s.labels[d] ?? '']));
      const key = labelKey(labels, groupBy);
      const g = groups.get(key) ?? { labels, windows: [] };
      g.windows.push(w);
      groups.set(key, g);
    }
    const series: LiveSeries[] = [...groups.values()]
      .map((g) => ({ labels: g.labels, stats: CallWindow.mergedStats(g.windows, windowMs) }))
      .filter((g) => g.stats.calls > 0)
      .sort((a, b) => b.stats.calls - a.stats.calls || labelKey(a.labels, groupBy).localeCompare(labelKey(b.labels, groupBy)));
    return {
      window_ms: windowMs,
      now: this.now === null ? null : isoMicros(this.now),
      group_by: [...groupBy],
      total: CallWindow.mergedStats(windows, windowMs),
      series,
      cardinality: { series: this.series.size, max_series: this.cap.maxSeries, folded_calls: this.cap.folded },
    };
  }

  private tick(t: Micros): void {
    if (!Number.isFinite(t)) return;
    if (this.now !== null && t <= this.now) return;
    this.now = t;
    if (t >= this.nextSweep) {
      this.nextSweep = t + this.sweepEveryUs;
      this.sweep(t);
    }
  }

  /** Drops series with no call left in even the longest window, freeing their place under the cap. */
  private sweep(now: Micros): void {
    for (const [key, s] of this.series) {
      const longest = s.windows[s.windows.length - 1]!;
      longest.advance(now);
      if (longest.empty) {
        this.series.delete(key);
        this.cap.release(key);
      }
    }
  }
}
