/**
 * Alert rules (issue 5 item 6): each rule keeps a sliding window on capture time (RuleCallWindow for
 * call metrics, ValueWindow for annotation scores), fed with what matches its filters, and is
 * evaluated whenever what it sees can change:
 *
 * - when a matching call (or score) is added: at the window's capture time after the add;
 * - when a non-empty bucket leaves the window: at the exact capture time it leaves, even if the
 *   source only reports a later time (a quiet minute, then one packet), so a clear does not wait
 *   for traffic and its time does not depend on how often the source calls `onTime`;
 * - when a cooldown ends: a condition still true then fires at that instant.
 *
 * Between these moments the window's content, hence every metric, is constant (rates divide by
 * the fixed span), so no other evaluation could change the outcome.
 *
 * A rule fires when the window holds at least `min_calls` calls (scores) and the comparison
 * holds; it resolves the same incident when either stops being true (too few calls is "no longer
 * known to be bad", which is how Prometheus resolves an alert whose series vanished). After a
 * resolution the rule stays quiet for `cooldown_ms` of capture time. An incident still firing at
 * end of input stays firing: the capture ended, the condition did not.
 *
 * Clocks: a watermark per source (DESIGN §1). A rule on calls watches each source on its own:
 * one runner (window, incident, cooldown) per rule and source, fed with that source's calls and
 * moved by that source's clock, so each source raises the alerts it raises alone, at times on its
 * own clock. Why not one window over all sources: when their clocks differ (last week's capture
 * beside a live interface, a probe host an hour off), "the last 5 minutes" has no common
 * meaning; on the newest clock a source behind had its calls dropped as too old, and its
 * incidents opened and cleared on the other source's clock. (A rule over the sum of several
 * sources whose clocks agree, e.g. a fleet of probes, is the thing this gives up: each probe is
 * judged alone.) At most DEFAULT_MAX_SOURCES clocks, then sources share one clock that follows
 * the newest (`alert_sources_capped`). Rules on scores keep the newest clock of all: a score has
 * no source (it is posted through the API) and never moves a clock.
 *
 * Cost: per call, rules × one window add + one read (O(buckets), see rule-window.ts); each
 * bucket leaves once, so departures add at most one more read per filled bucket.
 */
import type { AlertRuleConfig } from '../config/types.js';
import type { AlertRecord, AnnotationRecord, LlmCallRecord } from '../core/record.js';
import { isoMicros, type Micros } from '../core/time.js';
import { DEFAULT_BUCKETS, ValueWindow } from '../metrics/call-window.js';
import { matchesFilters } from '../metrics/dimensions.js';
import { completionMicros, isoToMicros } from '../metrics/record-time.js';
import type { RecordObserver } from '../pipeline/observers.js';
import { DEFAULT_MAX_SOURCES, SourceClockMap, type Watermarked } from '../agents/source-clocks.js';
import { alertId } from './alert-id.js';
import { duration, filtersText, num } from './alert-text.js';
import { compare, parseRuleMetric, scoreMetricValue, type RuleMetric } from './rule-metric.js';
import { bucketGeometry, RuleCallWindow } from './rule-window.js';

export type EmitAlert = (alert: AlertRecord, rule: AlertRuleConfig) => void;

export interface RuleEngineStats {
  rules: number;
  /** Rules whose metric or window could not be used (the loader refuses these; a hand-built
   * configuration may not). */
  invalid_rules: string[];
  evaluations: number;
  fired: number;
  resolved: number;
  /** Evaluations where the condition held but a cooldown kept the rule quiet. */
  cooldown_suppressed: number;
  /** Calls or scores whose time had already left their rule's window (not counted). */
  late_samples: number;
  /** Annotations whose `ts` could not be read (not counted). */
  bad_annotation_times: number;
}

interface Incident {
  id: string;
  firedAt: Micros;
  value: number | null;
}

class RuleRunner {
  private readonly calls: RuleCallWindow | null;
  private readonly scores: ValueWindow | null;
  private readonly bucketUs: number;
  private readonly size: number;
  /** Indexes of the buckets holding samples, ascending, distinct (at most `size`). */
  private readonly filled: number[] = [];
  private now: Micros | null = null;
  private incident: Incident | null = null;
  private quietUntil: Micros | null = null;
  /** True once calls or the source's clock moved time: from then on only they do. */
  private captureClock = false;

  constructor(
    /** The rule's place in the configuration (firing() lists incidents in that order). */
    readonly index: number,
    readonly rule: AlertRuleConfig,
    private readonly metric: RuleMetric,
    private readonly stats: RuleEngineStats,
    private readonly emit: EmitAlert,
    /** The id of an incident this runner opens at `t` (rule-engine's `incidentId`). */
    private readonly idAt: (t: Micros, runner: RuleRunner) => string,
    /** The source whose clock it runs on (null: the shared clock, or a rule on scores). */
    readonly source: string | null = null,
  ) {
    // Both windows cut the span into the same buckets (window / 60, src/metrics/call-window.ts).
    const g = bucketGeometry(rule.window_ms);
    this.bucketUs = g.bucketUs;
    this.size = g.size;
    this.calls = metric.source === 'calls' ? new RuleCallWindow(rule.window_ms, metric.metric) : null;
    this.scores = metric.source === 'scores' ? new ValueWindow(rule.window_ms, { bucketMs: Math.max(1, rule.window_ms / DEFAULT_BUCKETS) }) : null;
  }

  get open(): Incident | null {
    return this.incident;
  }

  /** `end`: the call's completion time (read once for all rules), null when it has none. */
  onCall(call: LlmCallRecord, end: Micros | null): void {
    const t = end ?? this.now;
    if (t === null) return;
    this.captureClock = true;
    this.advanceTo(t);
    if (this.calls === null || !matchesFilters(call, this.rule.filters)) return;
    if (!this.place(t)) return;
    this.calls.add(call, t);
    this.evaluate(this.now!);
  }

  onAnnotation(a: AnnotationRecord): void {
    const m = this.metric;
    if (this.scores === null || m.source !== 'scores' || a.name !== m.name) return;
    if (!Object.entries(this.rule.filters).every(([dim, want]) => a.dimensions[dim] === want)) return;
    if (!Number.isFinite(a.value)) return;
    const ts = isoToMicros(a.ts);
    if (ts === null) {
      this.stats.bad_annotation_times++;
      return;
    }
    // A score belongs to its target's time, behind the capture clock: it is placed there but
    // does not move the clock (a score posted through the API is not capture time; one for a
    // call from a clock-skewed capture must not push every rule's window into the future). With
    // no capture clock (`serve` without calls or onTime), its own time is the only clock there is.
    if (!this.captureClock) this.advanceTo(ts);
    const at = Math.min(ts, this.now!);
    if (!this.place(at)) return;
    this.scores.add(at, a.value);
    this.evaluate(this.now!);
  }

  /** The source's clock (capture time, or wall time for an idle live source). */
  tick(t: Micros): void {
    if (!Number.isFinite(t)) return;
    this.captureClock = true;
    this.advanceTo(t);
  }

  /** Capture time reached `t`: run every evaluation due on the way, at its own time. */
  advanceTo(t: Micros): void {
    if (!Number.isFinite(t)) return;
    if (this.now !== null && t <= this.now) return;
    for (;;) {
      const next = this.nextDue();
      if (next === null || next > t) break;
      this.moveClock(next);
      this.evaluate(next);
    }
    this.moveClock(t);
  }

  /** Notes the bucket a sample at `t` goes into; false when it is already out of the window. */
  private place(t: Micros): boolean {
    const idx = Math.floor(t / this.bucketUs);
    if (idx <= Math.floor(this.now! / this.bucketUs) - this.size) {
      this.stats.late_samples++;
      return false;
    }
    const f = this.filled;
    if (f.length === 0 || f[f.length - 1]! < idx) f.push(idx);
    else {
      let lo = 0;
      let hi = f.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (f[mid]! < idx) lo = mid + 1;
        else hi = mid;
      }
      if (f[lo] !== idx) f.splice(lo, 0, idx);
    }
    return true;
  }

  /** The next capture time at which the outcome may change, or null. */
  private nextDue(): Micros | null {
    let next: Micros | null = null;
    const first = this.filled[0];
    // The window at `now` holds buckets (floor(now/b) − size, floor(now/b)]: bucket i leaves at
    // the first instant with floor(now/b) ≥ i + size.
    if (first !== undefined) next = (first + this.size) * this.bucketUs;
    if (this.incident === null && this.quietUntil !== null && (this.now === null || this.quietUntil > this.now)) {
      if (next === null || this.quietUntil < next) next = this.quietUntil;
    }
    return next;
  }

  private moveClock(t: Micros): void {
    this.now = t;
    this.calls?.advance(t);
    this.scores?.advance(t);
    const gone = Math.floor(t / this.bucketUs) - this.size;
    let drop = 0;
    while (drop < this.filled.length && this.filled[drop]! <= gone) drop++;
    if (drop > 0) this.filled.splice(0, drop);
  }

  private evaluate(t: Micros): void {
    this.stats.evaluations++;
    const m = this.metric;
    let count: number;
    let value: number | null;
    if (m.source === 'calls') {
      ({ calls: count, value } = this.calls!.read());
    } else {
      const s = this.scores!.stats();
      count = s.count;
      value = scoreMetricValue(s, m.stat);
    }
    const enough = count >= this.rule.min_calls;
    const holds = enough && compare(value, this.rule.op, this.rule.threshold);
    if (this.incident === null) {
      if (!holds) return;
      if (this.quietUntil !== null && t < this.quietUntil) {
        this.stats.cooldown_suppressed++;
        return;
      }
      this.fire(t, value, count);
    } else if (!holds) {
      this.resolve(t, value, count, enough);
    }
  }

  private fire(t: Micros, value: number | null, count: number): void {
    const r = this.rule;
    this.incident = { id: this.idAt(t, this), firedAt: t, value };
    this.stats.fired++;
    this.emit(this.record('firing', null, `${r.metric} ${num(value)} ${r.op} ${num(r.threshold)} over ${duration(r.window_ms)}${filtersText(r.filters)} (${count} ${this.unit()})`), r);
  }

  private resolve(t: Micros, value: number | null, count: number, enough: boolean): void {
    const r = this.rule;
    const why = enough
      ? `${r.metric} ${num(value)} no longer ${r.op} ${num(r.threshold)} over ${duration(r.window_ms)}${filtersText(r.filters)} (${count} ${this.unit()})`
      : `${r.metric}: ${count} ${this.unit()} over ${duration(r.window_ms)}${filtersText(r.filters)}, fewer than min_calls ${r.min_calls}`;
    const rec = this.record('resolved', t, `${why}; fired at ${isoMicros(this.incident!.firedAt)} at ${num(this.incident!.value)}`);
    this.incident = null;
    this.quietUntil = t + r.cooldown_ms * 1000;
    this.stats.resolved++;
    this.emit(rec, r);
  }

  private unit(): string {
    return this.metric.source === 'calls' ? 'calls' : 'scores';
  }

  private record(state: 'firing' | 'resolved', resolvedAt: Micros | null, message: string): AlertRecord {
    const r = this.rule;
    const inc = this.incident!;
    return {
      kind: 'alert',
      id: inc.id,
      rule: r.name,
      rule_kind: 'rule',
      state,
      severity: r.severity,
      metric: r.metric,
      value: inc.value,
      threshold: r.threshold,
      window_ms: r.window_ms,
      filters: { ...r.filters },
      source: this.source,
      fired_at: isoMicros(inc.firedAt),
      resolved_at: resolvedAt === null ? null : isoMicros(resolvedAt),
      message,
      budget: null,
    };
  }
}

/** One source's clock and its runners of the rules on calls (made when the source is first seen). */
interface RuleClock extends Watermarked {
  /** Its runners of the rules on calls, and the runners of the rules on scores (shared by every
   * clock), in configuration order: what one source's call or tick reaches, in the order one
   * clock for all ran them. */
  readonly runners: RuleRunner[];
}

class RuleClocks extends SourceClockMap<RuleClock> {
  constructor(
    max: number,
    onCapped: () => void,
    private readonly runnersFor: (source: string | null, start: Micros | null) => RuleRunner[],
  ) {
    super(max, onCapped);
  }

  protected make(source: string | null, watermark: Micros): RuleClock {
    // A source seen later starts where every source's clock already is, as one clock would.
    const start = source === null ? this.newest : this.floor;
    return { source, watermark, runners: this.runnersFor(source, start) };
  }
}

/**
 * Incident ids kept to tell which runner had them: 4,096, far more than fire within the same
 * microsecond on different sources (the only collision: ids hash rule and time).
 */
const ISSUED_IDS_KEPT = 4_096;

export interface RuleEngineOptions {
  /** A call of a source past the clock cap (it shares the newest clock). */
  onSourceCapped?: () => void;
  maxSources?: number;
}

export class RuleEngine implements RecordObserver {
  /** Rules on scores: one runner each, on the newest clock of all sources (every call and tick
   * reaches it). */
  private readonly scoreRunners: RuleRunner[] = [];
  /** Rules on calls, with their metric: each source's clock gets a runner of each. */
  private readonly callRules: { index: number; rule: AlertRuleConfig; metric: RuleMetric }[] = [];
  private readonly clocks: RuleClocks;
  private readonly counters: RuleEngineStats;
  /** Recent incident ids and the runner that has each (insertion order: oldest first). */
  private readonly issued = new Map<string, RuleRunner>();

  constructor(rules: readonly AlertRuleConfig[], emit: EmitAlert, o: RuleEngineOptions = {}) {
    this.counters = {
      rules: 0,
      invalid_rules: [],
      evaluations: 0,
      fired: 0,
      resolved: 0,
      cooldown_suppressed: 0,
      late_samples: 0,
      bad_annotation_times: 0,
    };
    rules.forEach((rule, index) => {
      const metric = parseRuleMetric(rule.metric);
      if (metric === null || !(Number.isFinite(rule.window_ms) && rule.window_ms > 0)) {
        this.counters.invalid_rules.push(rule.name);
        return;
      }
      if (metric.source === 'scores') this.scoreRunners.push(new RuleRunner(index, rule, metric, this.counters, emit, this.idAt));
      else this.callRules.push({ index, rule, metric });
    });
    this.counters.rules = this.scoreRunners.length + this.callRules.length;
    this.clocks = new RuleClocks(o.maxSources ?? DEFAULT_MAX_SOURCES, o.onSourceCapped ?? (() => undefined), (source, start) =>
      [
        ...this.scoreRunners,
        ...this.callRules.map((r) => {
          const runner = new RuleRunner(r.index, r.rule, r.metric, this.counters, emit, this.idAt, source);
          if (start !== null) runner.tick(start);
          return runner;
        }),
      ].sort((a, b) => a.index - b.index),
    );
  }

  onCall(call: LlmCallRecord): void {
    if (this.counters.rules === 0) return;
    const end = completionMicros(call);
    if (this.callRules.length === 0) {
      for (const r of this.scoreRunners) r.onCall(call, end);
      return;
    }
    const clock = this.clocks.forCall(call.source);
    for (const r of clock.runners) r.onCall(call, end);
    if (end !== null) this.moved(clock, end);
  }

  onAnnotation(a: AnnotationRecord): void {
    for (const r of this.scoreRunners) r.onAnnotation(a);
  }

  /** Capture time reached `now` on `source` (without one: on every source, and sources seen
   * later start there). */
  onTime(now: Micros, source?: string): void {
    if (!Number.isFinite(now)) return;
    if (this.callRules.length === 0) {
      for (const r of this.scoreRunners) r.tick(now);
      return;
    }
    if (source === undefined) {
      this.clocks.moveAll(now);
      let any = false;
      // A runner on scores is in every clock's list: a second tick to the same time does nothing.
      for (const c of this.clocks.all()) {
        any = true;
        for (const r of c.runners) r.tick(now);
      }
      if (!any) for (const r of this.scoreRunners) r.tick(now);
      return;
    }
    const clock = this.clocks.clockOf(source);
    for (const r of clock.runners) r.tick(now);
    this.moved(clock, now);
  }

  /** Names and firing times of the incidents open now (for a status view), in rule order. */
  firing(): { rule: string; id: string; fired_at: string }[] {
    const runners = new Set(this.scoreRunners);
    for (const c of this.clocks.all()) for (const r of c.runners) runners.add(r);
    return [...runners]
      .flatMap((r) => {
        const inc = r.open;
        return inc === null ? [] : [{ index: r.index, rule: r.rule.name, id: inc.id, fired_at: isoMicros(inc.firedAt) }];
      })
      .sort((a, b) => a.index - b.index)
      .map(({ rule, id, fired_at }) => ({ rule, id, fired_at }));
  }

  stats(): RuleEngineStats {
    return { ...this.counters, invalid_rules: [...this.counters.invalid_rules] };
  }

  /**
   * An incident's id: the hash of its rule and time (a replay gives the same ids), and of its
   * source too when another source's runner of the rule fired at the same microsecond (sources
   * whose clocks agree, a bucket leaving both windows at one boundary): the store keeps one
   * record per id, and one source's incident must not replace another's.
   */
  private readonly idAt = (t: Micros, runner: RuleRunner): string => {
    const name = runner.rule.name;
    const plain = alertId(t, 'rule', name, t);
    const owner = this.issued.get(plain);
    const id = owner === undefined || owner === runner ? plain : alertId(t, 'rule', name, t, runner.source ?? '');
    this.issued.delete(id);
    this.issued.set(id, runner);
    if (this.issued.size > ISSUED_IDS_KEPT) this.issued.delete(this.issued.keys().next().value!);
    return id;
  };

  /** `clock` reached `t`; the shared clock of sources past the cap follows the newest clock. */
  private moved(clock: RuleClock, t: Micros): void {
    this.clocks.move(clock, t);
    const shared = this.clocks.followNewest();
    if (shared === null || shared === clock) return;
    for (const r of shared.runners) r.tick(shared.watermark);
  }
}
