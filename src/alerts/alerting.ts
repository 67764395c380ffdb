/**
 * Alerts and budgets as one record observer (src/pipeline/observers.ts): rules and budgets see
 * every call (rules also scores and the capture clock), and every AlertRecord they make (firing,
 * resolved, notice) goes to `onAlert` (the store) and to its notify targets (the log, webhooks).
 */
import type { AlertRuleConfig, BudgetConfig, LlmtapConfig } from '../config/types.js';
import type { AlertRecord, AnnotationRecord, LlmCallRecord } from '../core/record.js';
import type { Micros } from '../core/time.js';
import type { RecordObserver } from '../pipeline/observers.js';
import { BudgetTracker, type BudgetSpend, type BudgetSpendSeed, type BudgetStats } from './budgets.js';
import { AlertDelivery, type DeliveryDeps, type DeliveryStats } from './delivery.js';
import { RuleEngine, type RuleEngineStats } from './rule-engine.js';

export interface AlertingDeps extends DeliveryDeps {
  /** Every AlertRecord, as made (the lead wires the store here). A firing and its resolution
   * share an id: the resolution replaces the firing. */
  onAlert(alert: AlertRecord): void;
  /** A call of a source past the cap on clocks (it shares the newest clock: rule-engine.ts). */
  onSourceCapped?(): void;
}

export interface AlertingStats {
  rules: RuleEngineStats;
  budgets: BudgetStats;
  delivery: DeliveryStats;
  /** Exceptions thrown by `onAlert` (counted; delivery goes on). */
  on_alert_failures: number;
}

export interface Alerting extends RecordObserver {
  onCall(call: LlmCallRecord): void;
  onAnnotation(a: AnnotationRecord): void;
  /** Capture time reached `now` on `source` (without one: on every source). */
  onTime(now: Micros, source?: string): void;
  close(): Promise<void>;
  /** Restart safety: notices already sent (and spend so far) from the store; call before the first record. */
  seed(notices: readonly AlertRecord[], spend?: readonly BudgetSpendSeed[]): void;
  /** Incidents firing now. */
  firing(): { rule: string; id: string; fired_at: string }[];
  /** Spend per budget and scope value in the current period. */
  budgets(): BudgetSpend[];
  stats(): AlertingStats;
}

export function createAlerting(config: Pick<LlmtapConfig, 'alerts' | 'budgets' | 'webhooks'>, deps: AlertingDeps): Alerting {
  const delivery = new AlertDelivery(config.webhooks, deps);
  let onAlertFailures = 0;
  const emit = (a: AlertRecord, from: AlertRuleConfig | BudgetConfig): void => {
    try {
      deps.onAlert(a);
    } catch {
      onAlertFailures++;
    }
    delivery.deliver(a, from.notify);
  };
  const capped = deps.onSourceCapped ? { onSourceCapped: () => deps.onSourceCapped?.() } : {};
  const rules = new RuleEngine(config.alerts, emit, capped);
  const budgets = new BudgetTracker(config.budgets, emit, capped);

  return {
    onCall(call) {
      rules.onCall(call);
      budgets.onCall(call);
    },
    onAnnotation(a) {
      rules.onAnnotation(a);
    },
    onTime(now, source) {
      rules.onTime(now, source);
    },
    async close() {
      await delivery.close();
    },
    seed(notices, spend) {
      budgets.seed(notices, spend);
    },
    firing: () => rules.firing(),
    budgets: () => budgets.spend(),
    stats: () => ({ rules: rules.stats(), budgets: budgets.stats(), delivery: delivery.stats(), on_alert_failures: onAlertFailures }),
  };
}
