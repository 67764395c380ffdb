/**
 * Budgets (issue 5 item 6): spend per period (UTC day, ISO week, calendar month: periods.ts) per
 * scope value (`dimensionValue(call, scope)`; scope "all" is one total), from each call's
 * `cost_usd`. A notice is sent the first time spend reaches each `notify_at` fraction of the
 * limit, once per period per scope value; a new period starts from zero.
 *
 * - Unpriced calls (cost_usd null: DESIGN §3, never $0) add nothing; they are counted and every
 *   notice says how many there were, since the true spend is then higher than shown.
 * - A call counts in the period of its completion time (the same instant windows use,
 *   src/metrics/record-time.ts): that is when its cost became known.
 * - A call with no value for the scope (no `team` header, no agent) is outside every per-value
 *   budget of that scope: counted as `unscoped_calls`.
 * - Sources' clocks (DESIGN §1, a watermark per source): spend is one total over all sources (a
 *   budget is money; `scope: source` gives one per source), but each source has its own current
 *   period, so a call is late only when its source has moved on to a later period. With one
 *   period for all, last month's capture replayed beside a live interface lost every call as
 *   late. Spend is kept for the periods some source is in; older ones are let go, so a source
 *   seen only later with calls in such a period starts its spend there from zero (notices may
 *   come again). At most DEFAULT_MAX_SOURCES clocks, then sources share one that follows the
 *   newest period (`alert_sources_capped`).
 * - Restart safety: `seed` takes the notices already sent (from the store) and optionally the
 *   spend so far, so a restarted process neither sends a notice twice nor starts from zero.
 */
import { roundUsd } from '../cost/call-pricer.js';
import type { BudgetConfig } from '../config/types.js';
import type { AlertRecord, LlmCallRecord } from '../core/record.js';
import { isoMicros, type Micros } from '../core/time.js';
import { dimensionValue } from '../metrics/dimensions.js';
import { completionMicros, isoToMicros } from '../metrics/record-time.js';
import type { RecordObserver } from '../pipeline/observers.js';
import { DEFAULT_MAX_SOURCES, SourceClockMap, type Watermarked } from '../agents/source-clocks.js';
import { alertId } from './alert-id.js';
import { usd } from './alert-text.js';
import { periodName, periodStart } from './periods.js';

/**
 * Scope values tracked per budget. Scopes are teams, users, projects, agents, key fingerprints:
 * 10,000 is beyond any one organisation's count of those and equals the turn tracker's session
 * cap (docs/design-notes.md); an entry is ~200 bytes, so ≤ 2 MB per budget (the cap counts the
 * entries of every period kept, so sources in different periods share it). Past it, calls of new
 * values are not tracked (counted in `scope_values_capped`) rather than evicting a tracked value,
 * which would forget its spend and the notices it was sent.
 */
export const MAX_SCOPE_VALUES = 10_000;

export type EmitBudgetNotice = (notice: AlertRecord, budget: BudgetConfig) => void;

/** Spend so far in a period, as the lead can sum it from the store at start. */
export interface BudgetSpendSeed {
  budget: string;
  /** ISO 8601 start of the period (as in a notice's `budget.period_start`). */
  period_start: string;
  scope_value: string;
  spent_usd: number;
  unpriced_calls?: number;
}

export interface BudgetStats {
  budgets: number;
  notices: number;
  unpriced_calls: number;
  unscoped_calls: number;
  scope_values_capped: number;
  /** Calls whose period had already ended when they arrived (not counted). */
  late_calls: number;
  /** Calls without any readable capture time (not counted). */
  untimed_calls: number;
  /** Notices read by `seed` (not sent again). */
  seeded_notices: number;
}

/** One scope value's spend in the current period, for a status view. */
export interface BudgetSpend {
  budget: string;
  period: BudgetConfig['period'];
  period_start: string;
  scope: string;
  scope_value: string;
  spent_usd: number;
  limit_usd: number;
  unpriced_calls: number;
  /** Fractions already notified this period. */
  notified: number[];
}

interface ScopeSpend {
  spent: number;
  unpriced: number;
  sent: Set<number>;
}

interface BudgetState {
  cfg: BudgetConfig;
  fractions: number[];
  /** Spend by period start, then by scope value: the periods some source's clock is in. */
  periods: Map<Micros, Map<string, ScopeSpend>>;
  /** Scope values tracked over all kept periods (capped at MAX_SCOPE_VALUES). */
  entries: number;
  /** The period restored by `seed`: sources start there. */
  seeded: Micros | null;
  /** The latest period any source entered (the shared clock of sources past the cap follows it). */
  newest: Micros | null;
}

/** A source's current period of each budget (by the budget's index), null before its first call. */
interface BudgetClock extends Watermarked {
  readonly periods: (Micros | null)[];
}

class BudgetClocks extends SourceClockMap<BudgetClock> {
  constructor(
    max: number,
    onCapped: () => void,
    private readonly starts: (shared: boolean) => (Micros | null)[],
  ) {
    super(max, onCapped);
  }

  protected make(source: string | null, watermark: Micros): BudgetClock {
    return { source, watermark, periods: this.starts(source === null) };
  }
}

export interface BudgetTrackerOptions {
  /** A call of a source past the clock cap (it shares the newest period). */
  onSourceCapped?: () => void;
  maxSources?: number;
}

function severityOf(fraction: number): AlertRecord['severity'] {
  return fraction >= 1 ? 'critical' : fraction >= 0.8 ? 'warning' : 'info';
}

export class BudgetTracker implements RecordObserver {
  private readonly states: BudgetState[];
  private readonly counters: BudgetStats;
  private readonly clocks: BudgetClocks;

  constructor(
    budgets: readonly BudgetConfig[],
    private readonly emit: EmitBudgetNotice,
    o: BudgetTrackerOptions = {},
  ) {
    this.states = budgets
      .filter((b) => Number.isFinite(b.limit_usd) && b.limit_usd > 0)
      .map((cfg) => ({
        cfg,
        fractions: [...new Set(cfg.notify_at.filter((f) => Number.isFinite(f) && f > 0))].sort((a, b) => a - b),
        periods: new Map(),
        entries: 0,
        seeded: null,
        newest: null,
      }));
    // A source starts at the seeded period, as one clock for all did; the shared clock at the newest.
    this.clocks = new BudgetClocks(o.maxSources ?? DEFAULT_MAX_SOURCES, o.onSourceCapped ?? (() => undefined), (shared) =>
      this.states.map((s) => (shared ? s.newest : s.seeded)),
    );
    this.counters = {
      budgets: this.states.length,
      notices: 0,
      unpriced_calls: 0,
      unscoped_calls: 0,
      scope_values_capped: 0,
      late_calls: 0,
      untimed_calls: 0,
      seeded_notices: 0,
    };
  }

  onCall(call: LlmCallRecord): void {
    if (this.states.length === 0) return;
    const t = completionMicros(call);
    if (t === null) {
      this.counters.untimed_calls++;
      return;
    }
    // Calls not billed by tokens (MCP) neither spend nor count as unpriced.
    if (call.cost_status === 'not_applicable') return;
    const cost = call.cost_usd;
    const priced = cost !== null && Number.isFinite(cost) && cost >= 0;
    if (!priced) this.counters.unpriced_calls++;
    const clock = this.clocks.forCall(call.source);
    for (const [i, s] of this.states.entries()) {
      const key = s.cfg.scope === 'all' ? 'all' : dimensionValue(call, s.cfg.scope);
      if (key === null) {
        this.counters.unscoped_calls++;
        continue;
      }
      if (s.cfg.value !== null && key !== s.cfg.value) continue;
      const ps = periodStart(t, s.cfg.period);
      if (!this.enterPeriod(clock, i, ps)) {
        this.counters.late_calls++;
        continue;
      }
      const entry = this.entry(s, ps, key);
      if (entry === null) continue;
      if (!priced) {
        entry.unpriced++;
        continue;
      }
      // Rounded as every other sum of costs (roundUsd): no binary-float tails in notices.
      entry.spent = roundUsd(entry.spent + cost);
      for (const f of s.fractions) {
        if (entry.sent.has(f) || entry.spent < f * s.cfg.limit_usd) continue;
        entry.sent.add(f);
        this.counters.notices++;
        this.emit(this.notice(s, ps, key, entry, f, t), s.cfg);
      }
    }
  }

  /**
   * Restart safety: the notices already sent (any period: only each budget's latest period is
   * kept) and, optionally, the spend so far in that period. Spend given twice keeps the larger.
   * Call before the first record.
   */
  seed(notices: readonly AlertRecord[], spend: readonly BudgetSpendSeed[] = []): void {
    for (const s of this.states) {
      const mine = notices.filter((n) => n.rule_kind === 'budget' && n.rule === s.cfg.name && n.budget !== null && n.budget.period === s.cfg.period);
      const spends = spend.filter((x) => x.budget === s.cfg.name);
      const starts = [...mine.map((n) => isoToMicros(n.budget!.period_start)), ...spends.map((x) => isoToMicros(x.period_start))].filter(
        (x): x is Micros => x !== null,
      );
      if (starts.length === 0) continue;
      const latest = Math.max(...starts);
      if (s.seeded !== null && latest < s.seeded) continue;
      if (s.seeded !== latest) this.forget(s, (p) => p !== latest);
      s.seeded = latest;
      if (s.newest === null || latest > s.newest) s.newest = latest;
      for (const n of mine) {
        const b = n.budget!;
        if (isoToMicros(b.period_start) !== latest) continue;
        const entry = this.entry(s, latest, b.scope_value);
        if (entry === null) continue;
        entry.sent.add(b.fraction);
        if (Number.isFinite(b.spent_usd)) entry.spent = Math.max(entry.spent, b.spent_usd);
        this.counters.seeded_notices++;
      }
      for (const x of spends) {
        if (isoToMicros(x.period_start) !== latest) continue;
        const entry = this.entry(s, latest, x.scope_value);
        if (entry === null) continue;
        if (Number.isFinite(x.spent_usd)) entry.spent = Math.max(entry.spent, x.spent_usd);
        if (x.unpriced_calls !== undefined && Number.isFinite(x.unpriced_calls)) entry.unpriced = Math.max(entry.unpriced, x.unpriced_calls);
      }
    }
  }

  /** Spend of every tracked scope value in each budget's current periods (one per source's
   * clock; one in all when the sources' clocks agree). */
  spend(): BudgetSpend[] {
    return this.states.flatMap((s, i) => {
      const current = new Set<Micros>();
      for (const c of this.clocks.all()) if (c.periods[i] !== null && c.periods[i] !== undefined) current.add(c.periods[i]!);
      if (current.size === 0 && s.seeded !== null) current.add(s.seeded);
      return [...s.periods].filter(([ps]) => current.has(ps)).flatMap(([ps, values]) => this.spendOf(s, ps, values));
    });
  }

  private spendOf(s: BudgetState, ps: Micros, values: Map<string, ScopeSpend>): BudgetSpend[] {
    return [...values].map(([value, e]) => ({
      budget: s.cfg.name,
      period: s.cfg.period,
      period_start: isoMicros(ps),
      scope: s.cfg.scope,
      scope_value: value,
      spent_usd: e.spent,
      limit_usd: s.cfg.limit_usd,
      unpriced_calls: e.unpriced,
      notified: [...e.sent].sort((a, b) => a - b),
    }));
  }

  stats(): BudgetStats {
    return { ...this.counters };
  }

  /**
   * Moves the clock's period of budget `i` to `ps`; false when its source is past `ps` already.
   * Periods no source is in any more are let go (with one source: a new period forgets the last).
   */
  private enterPeriod(clock: BudgetClock, i: number, ps: Micros): boolean {
    const s = this.states[i]!;
    // The clock of sources past the cap follows the newest period.
    if (clock.source === null && s.newest !== null && (clock.periods[i] === null || s.newest > clock.periods[i]!)) clock.periods[i] = s.newest;
    const cur = clock.periods[i] ?? null;
    if (cur !== null && ps < cur) return false;
    if (cur === null || ps > cur) {
      clock.periods[i] = ps;
      if (s.newest === null || ps > s.newest) s.newest = ps;
      const oldest = this.oldestCurrent(i);
      if (oldest !== null) this.forget(s, (p) => p < oldest);
    }
    return true;
  }

  /** The oldest period of budget `i` that a source's clock is in (null: none yet). */
  private oldestCurrent(i: number): Micros | null {
    let oldest: Micros | null = null;
    for (const c of this.clocks.all()) {
      const p = c.periods[i] ?? null;
      if (p !== null && (oldest === null || p < oldest)) oldest = p;
    }
    return oldest;
  }

  /** Lets go of the spend of the periods `gone` picks. */
  private forget(s: BudgetState, gone: (ps: Micros) => boolean): void {
    for (const [ps, values] of s.periods) {
      if (!gone(ps)) continue;
      s.entries -= values.size;
      s.periods.delete(ps);
    }
  }

  private entry(s: BudgetState, ps: Micros, key: string): ScopeSpend | null {
    let values = s.periods.get(ps);
    let e = values?.get(key);
    if (e === undefined) {
      if (s.entries >= MAX_SCOPE_VALUES) {
        this.counters.scope_values_capped++;
        return null;
      }
      if (values === undefined) {
        values = new Map();
        s.periods.set(ps, values);
      }
      e = { spent: 0, unpriced: 0, sent: new Set() };
      values.set(key, e);
      s.entries++;
    }
    return e;
  }

  private notice(s: BudgetState, ps: Micros, key: string, e: ScopeSpend, fraction: number, t: Micros): AlertRecord {
    const cfg = s.cfg;
    const who = cfg.scope === 'all' ? 'total spend' : `${cfg.scope}=${key}`;
    const pct = (x: number): string => `${Number((x * 100).toFixed(1))} %`;
    const unpriced = e.unpriced === 0 ? '' : `; ${e.unpriced} unpriced call${e.unpriced === 1 ? '' : 's'} not counted`;
    return {
      kind: 'alert',
      id: alertId(t, 'budget', cfg.name, ps, key, fraction),
      rule: cfg.name,
      rule_kind: 'budget',
      state: 'notice',
      severity: severityOf(fraction),
      metric: 'cost_usd',
      value: e.spent,
      threshold: fraction * cfg.limit_usd,
      window_ms: null,
      filters: cfg.scope === 'all' ? {} : { [cfg.scope]: key },
      // Spend is one total per period over every source (money adds up across hosts).
      source: null,
      fired_at: isoMicros(t),
      resolved_at: null,
      message: `${who}: ${usd(e.spent)} of ${usd(cfg.limit_usd)} (${pct(e.spent / cfg.limit_usd)}) in ${periodName(ps, cfg.period)}, past ${pct(fraction)}${unpriced}`,
      budget: {
        period: cfg.period,
        period_start: isoMicros(ps),
        scope: cfg.scope,
        scope_value: key,
        spent_usd: e.spent,
        limit_usd: cfg.limit_usd,
        fraction,
      },
    };
  }
}
