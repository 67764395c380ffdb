/**
 * Live aggregates (DESIGN §4, issue 5 item 1): for each configured window (default 1 m, 5 m,
 * 1 h) and each label set of the configured dimensions, a sliding CallWindow; read back merged
 * by any subset of the dimensions. A RecordObserver: the pipeline feeds it every finished call
 * and moves its clock (capture time).
 *
 * Clocks: a watermark per source (DESIGN §1). Each source's calls go into that source's own
 * windows, which slide on that source's capture clock; a read merges every source's windows, each
 * read at its own source's now. So a window over several sources whose clocks differ (last
 * week's capture beside a live interface, probe hosts whose clocks drift) is "the last minute of
 * each source": a source behind the others keeps its calls (one shared clock, the newest, called
 * them older than the window and dropped them), and each source's part is what it gives alone.
 * Merging on one clock instead would need the newest source to wait for the slowest (a
 * watermark as the minimum of all, as stream processors do), holding an hour of calls when one
 * source is an hour behind. At most DEFAULT_MAX_SOURCES clocks (src/agents/source-clocks.ts),
 * then calls share one clock that follows the newest (`metrics_sources_capped`); `max_series`
 * caps the series of all sources together (a series is one label set of one source).
 *
 * Not here: "active calls" (DESIGN §4). An observer only ever sees a call once it has finished,
 * so a count of calls in flight cannot be made honestly from records; it needs the HTTP layer's
 * count of requests sent and not yet answered (a gauge on PipelineStats).
 */
import type { LlmCallRecord } from '../core/record.js';
import { isoMicros, type Micros } from '../core/time.js';
import type { MetricsConfig } from '../config/types.js';
import type { RecordObserver } from '../pipeline/observers.js';
import { DEFAULT_MAX_SOURCES, SourceClockMap, type Watermarked } from '../agents/source-clocks.js';
import { CallWindow, type WindowStats } from './call-window.js';
import { callLabels, labelKey, SeriesCap, type Labels } from './series-keys.js';
import { compareNames } from '../core/name-order.js';

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
  /** Its key under the series cap (source and labels). */
  capKey: string;
  labels: Labels;
  /** One window per configured span, in `windowsMs` order. */
  windows: CallWindow[];
}

/** One source's clock and the series of its calls. */
interface WindowClock extends Watermarked {
  /** By label key. */
  readonly series: Map<string, Series>;
  /** Next capture time on this clock at which its empty series are swept out. */
  nextSweep: Micros;
  /** False until the clock first moves (a clock made before any time has none to read at). */
  moved: boolean;
}

class WindowClocks extends SourceClockMap<WindowClock> {
  protected make(source: string | null, watermark: Micros): WindowClock {
    const moved = source === null ? this.newest !== null : this.floor !== null;
    return { source, watermark, series: new Map(), nextSweep: this.floorNextSweep, moved };
  }
}

export interface LiveAggregatesOptions {
  /** A call of a source past the clock cap (it shares the newest clock). */
  onSourceCapped?: () => void;
  maxSources?: number;
}

export class LiveAggregates implements RecordObserver {
  readonly dimensions: readonly string[];
  readonly windowsMs: readonly number[];
  private readonly clocks: WindowClocks;
  private readonly cap: SeriesCap;
  private readonly sweepEveryUs: number;
  private seriesCount = 0;

  constructor(cfg: Pick<MetricsConfig, 'dimensions' | 'windows_ms' | 'max_series'>, o: LiveAggregatesOptions = {}) {
    this.dimensions = [...cfg.dimensions];
    this.windowsMs = [...new Set(cfg.windows_ms)].sort((a, b) => a - b);
    if (this.windowsMs.length === 0) throw new RangeError('live aggregates need at least one window');
    this.cap = new SeriesCap(this.dimensions, cfg.max_series);
    this.sweepEveryUs = (this.windowsMs[this.windowsMs.length - 1]! * 1000) / 60;
    this.clocks = new WindowClocks(o.maxSources ?? DEFAULT_MAX_SOURCES, o.onSourceCapped ?? (() => undefined), this.sweepEveryUs);
  }

  onCall(call: LlmCallRecord): void {
    const clock = this.clocks.forCall(call.source);
    const s = this.seriesOf(clock, callLabels(call, this.dimensions));
    for (const w of s.windows) w.add(call);
    // After every window took the call: a sweep now sees this series as not empty.
    const t = s.windows[0]!.now;
    if (t !== null) this.tick(clock, t);
  }

  /** Capture time reached `now` on `source` (without one: on every source, and sources seen
   * later start there). */
  onTime(now: Micros, source?: string): void {
    if (!Number.isFinite(now)) return;
    if (source !== undefined) return this.tick(this.clocks.clockOf(source), now);
    const before = [...this.clocks.all()].map((c) => [c, c.watermark, c.moved] as const);
    this.clocks.moveAll(now);
    for (const [c, was, moved] of before) this.moved(c, was, moved);
  }

  /** Latest capture time of all sources (µs). */
  get clock(): Micros | null {
    return this.clocks.newest ?? this.clocks.floor;
  }

  /** The configured window closest to `windowMs` is not guessed: only a configured one is read. */
  hasWindow(windowMs: number): boolean {
    return this.windowsMs.includes(windowMs);
  }

  /**
   * The window's stats in total and grouped by `groupBy` (a subset of the configured dimensions;
   * others are refused with a RangeError, which the API turns into a 400). Each source's windows
   * are read at that source's now.
   */
  snapshot(windowMs: number, groupBy: readonly string[] = []): LiveSnapshot {
    const wi = this.windowsMs.indexOf(windowMs);
    if (wi < 0) throw new RangeError(`no ${windowMs} ms window (configured: ${this.windowsMs.join(', ')} ms)`);
    for (const d of groupBy) {
      if (!this.dimensions.includes(d)) throw new RangeError(`cannot group by ${JSON.stringify(d)}: not a metrics dimension (${this.dimensions.join(', ')})`);
    }
    const windows: CallWindow[] = [];
    const groups = new Map<string, { labels: Labels; windows: CallWindow[] }>();
    this.clocks.followNewest();
    for (const clock of this.clocks.all()) {
      for (const s of clock.series.values()) {
        const w = s.windows[wi]!;
        if (clock.moved) w.advance(clock.watermark);
        windows.push(w);
        if (groupBy.length === 0) continue;
        const labels: Labels = Object.fromEntries(groupBy.map((d) => [d, s.labels[d] ?? '']));
        const key = labelKey(labels, groupBy);
        const g = groups.get(key) ?? { labels, windows: [] };
        g.windows.push(w);
        groups.set(key, g);
      }
    }
    const series: LiveSeries[] = [...groups.values()]
      .map((g) => ({ labels: g.labels, stats: CallWindow.statsAsRead(g.windows, windowMs) }))
      .filter((g) => g.stats.calls > 0)
      .sort((a, b) => b.stats.calls - a.stats.calls || compareNames(labelKey(a.labels, groupBy), labelKey(b.labels, groupBy)));
    const now = this.clock;
    return {
      window_ms: windowMs,
      now: now === null ? null : isoMicros(now),
      group_by: [...groupBy],
      total: CallWindow.statsAsRead(windows, windowMs),
      series,
      cardinality: { series: this.seriesCount, max_series: this.cap.maxSeries, folded_calls: this.cap.folded },
    };
  }

  /** The series of `labels` on `clock`: its own while the cap has room, else the clock's
   * "__other__" series (counted). The cap counts series of all sources together. */
  private seriesOf(clock: WindowClock, labels: Labels): Series {
    const key = labelKey(labels, this.dimensions);
    const found = clock.series.get(key);
    if (found !== undefined) return found;
    const capKey = clock.source === null ? `*${key}` : `${JSON.stringify(clock.source)}${key}`;
    const admitted = this.cap.admitKey(capKey);
    const k = admitted ? key : this.cap.otherKey;
    let s = clock.series.get(k);
    if (s === undefined) {
      s = { capKey: admitted ? capKey : '', labels: admitted ? labels : this.cap.other, windows: this.windowsMs.map((ms) => new CallWindow(ms)) };
      clock.series.set(k, s);
      this.seriesCount++;
    }
    return s;
  }

  private tick(clock: WindowClock, t: Micros): void {
    if (!Number.isFinite(t)) return;
    const was = clock.watermark;
    const moved = clock.moved;
    this.clocks.move(clock, t);
    this.moved(clock, was, moved);
    // The shared clock of sources past the cap follows the newest clock.
    const shared = this.clocks.peekShared();
    if (shared === null || shared === clock) return;
    const sharedWas = shared.watermark;
    const sharedMoved = shared.moved;
    this.clocks.followNewest();
    this.moved(shared, sharedWas, sharedMoved);
  }

  /** A clock may have moved past `was`: its series are swept once per sweep interval. */
  private moved(clock: WindowClock, was: Micros, wasMoved: boolean): void {
    const t = clock.watermark;
    if (wasMoved && t <= was) return;
    clock.moved = true;
    if (t >= clock.nextSweep) {
      clock.nextSweep = t + this.sweepEveryUs;
      this.sweep(clock, t);
    }
  }

  /** Drops series with no call left in even the longest window, freeing their place under the cap. */
  private sweep(clock: WindowClock, now: Micros): void {
    for (const [key, s] of clock.series) {
      const longest = s.windows[s.windows.length - 1]!;
      longest.advance(now);
      if (longest.empty) {
        clock.series.delete(key);
        this.seriesCount--;
        if (s.capKey !== '') this.cap.release(s.capKey);
      }
    }
  }
}
