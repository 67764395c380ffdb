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
import { alertId } from './alert-id.js';
import { usd } from './alert-text.js';
import { periodName, periodStart } from './periods.js';

/**
 * Scope values tracked per budget. Scopes are teams, users, projects, agents, key fingerprints:
 * 10,000 is beyond any one organisation's count of those and equals the turn tracker's session
 * cap (docs/design-notes.md); an entry is ~200 bytes, so ≤ 2 MB per budget. Past it, calls of new
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
  periodStart: Micros | null;
  values: Map<string, ScopeSpend>;
}

function severityOf(fraction: number): AlertRecord['severity'] {
  return fraction >= 1 ? 'critical' : fraction >= 0.8 ? 'warning' : 'info';
}

export class BudgetTracker implements RecordObserver {
  private readonly states: BudgetState[];
  private readonly counters: BudgetStats;

  constructor(budgets: readonly BudgetConfig[], private readonly emit: EmitBudgetNotice) {
    this.states = budgets
      .filter((b) => Number.isFinite(b.limit_usd) && b.limit_usd > 0)
      .map((cfg) => ({
        cfg,
        fractions: [...new Set(cfg.notify_at.filter((f) => Number.isFinite(f) && f > 0))].sort((a, b) => a - b),
        periodStart: null,
        values: new Map(),
      }));
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
    for (const s of this.states) {
      const key = s.cfg.scope === 'all' ? 'all' : dimensionValue(call, s.cfg.scope);
      if (key === null) {
        this.counters.unscoped_calls++;
        continue;
      }
      if (s.cfg.value !== null && key !== s.cfg.value) continue;
      const ps = periodStart(t, s.cfg.period);
      if (!this.enterPeriod(s, ps)) {
        this.counters.late_calls++;
        continue;
      }
      const entry = this.entry(s, key);
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
        this.emit(this.notice(s, key, entry, f, t), s.cfg);
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
      if (!this.enterPeriod(s, latest) || s.periodStart !== latest) continue;
      for (const n of mine) {
        const b = n.budget!;
        if (isoToMicros(b.period_start) !== latest) continue;
        const entry = this.entry(s, b.scope_value);
        if (entry === null) continue;
        entry.sent.add(b.fraction);
        if (Number.isFinite(b.spent_usd)) entry.spent = Math.max(entry.spent, b.spent_usd);
        this.counters.seeded_notices++;
      }
      for (const x of spends) {
        if (isoToMicros(x.period_start) !== latest) continue;
        const entry = this.entry(s, x.scope_value);
        if (entry === null) continue;
        if (Number.isFinite(x.spent_usd)) entry.spent = Math.max(entry.spent, x.spent_usd);
        if (x.unpriced_calls !== undefined && Number.isFinite(x.unpriced_calls)) entry.unpriced = Math.max(entry.unpriced, x.unpriced_calls);
      }
    }
  }

  /** Spend of every tracked scope value in each budget's current period. */
  spend(): BudgetSpend[] {
    return this.states.flatMap((s) =>
      s.periodStart === null
        ? []
        : [...s.values].map(([value, e]) => ({
            budget: s.cfg.name,
            period: s.cfg.period,
            period_start: isoMicros(s.periodStart!),
            scope: s.cfg.scope,
            scope_value: value,
            spent_usd: e.spent,
            limit_usd: s.cfg.limit_usd,
            unpriced_calls: e.unpriced,
            notified: [...e.sent].sort((a, b) => a - b),
          })),
    );
  }

  stats(): BudgetStats {
    return { ...this.counters };
  }

  /** Moves the budget to period `ps` (a new period forgets the last); false when `ps` is over. */
  private enterPeriod(s: BudgetState, ps: Micros): boolean {
    if (s.periodStart === null || ps > s.periodStart) {
      s.periodStart = ps;
      s.values.clear();
    }
    return ps === s.periodStart;
  }

  private entry(s: BudgetState, key: string): ScopeSpend | null {
    let e = s.values.get(key);
    if (e === undefined) {
      if (s.values.size >= MAX_SCOPE_VALUES) {
        this.counters.scope_values_capped++;
        return null;
      }
      e = { spent: 0, unpriced: 0, sent: new Set() };
      s.values.set(key, e);
    }
    return e;
  }

  private notice(s: BudgetState, key: string, e: ScopeSpend, fraction: number, t: Micros): AlertRecord {
    const cfg = s.cfg;
    const ps = s.periodStart!;
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
