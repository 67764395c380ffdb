/**
 * The alert-metric grammar of src/config/types.ts read into what a rule watches: a call window
 * metric (rates, ratios, sums, latency percentiles) or an annotation-score statistic, and how to
 * read its value off the window's stats.
 */
import type { AlertMetric, ComparisonOp, WindowMetric } from '../config/types.js';
import { WINDOW_METRICS } from '../config/types.js';
import type { Quantiles, WindowStats } from '../metrics/call-window.js';
import type { ValueStats } from '../metrics/call-window.js';

export type RuleMetric =
  | { source: 'calls'; metric: WindowMetric }
  | { source: 'scores'; stat: 'mean' | 'min' | 'count'; name: string };

const SCORE = /^(score|score_min|score_count):(.+)$/;

/** What `metric` watches; null for a string outside the grammar (the loader refuses those, so
 * this only guards a hand-built configuration). */
export function parseRuleMetric(metric: AlertMetric | string): RuleMetric | null {
  if ((WINDOW_METRICS as readonly string[]).includes(metric)) return { source: 'calls', metric: metric as WindowMetric };
  const m = SCORE.exec(metric);
  if (!m) return null;
  const stat = m[1] === 'score' ? 'mean' : m[1] === 'score_min' ? 'min' : 'count';
  return { source: 'scores', stat, name: m[2]! };
}

/** The metric's value in a call window; null when the window has nothing to say (a ratio over no
 * calls, a percentile without samples). A null value never satisfies a comparison. */
export function callMetricValue(s: WindowStats, metric: WindowMetric): number | null {
  switch (metric) {
    case 'calls':
      return s.calls;
    case 'call_rate':
      return s.call_rate;
    case 'error_rate':
      return s.error_rate;
    case 'throttle_rate':
      return s.throttle_rate;
    case 'server_error_rate':
      return s.server_error_rate;
    case 'input_tokens':
      return s.input_tokens;
    case 'output_tokens':
      return s.output_tokens;
    case 'token_rate':
      return s.token_rate;
    case 'cache_hit_ratio':
      return s.cache_hit_ratio;
    case 'cost_usd':
      return s.cost_usd;
    case 'cost_rate':
      return s.cost_rate;
    case 'ttft_p50':
    case 'ttft_p95':
    case 'ttft_p99':
      return quantile(s.ttft_ms, metric);
    case 'tpot_p50':
    case 'tpot_p95':
    case 'tpot_p99':
      return quantile(s.tpot_ms, metric);
    case 'e2e_p50':
    case 'e2e_p95':
    case 'e2e_p99':
      return quantile(s.e2e_ms, metric);
  }
}

function quantile(q: Quantiles | null, metric: string): number | null {
  if (q === null) return null;
  if (metric.endsWith('p50')) return q.p50;
  if (metric.endsWith('p95')) return q.p95;
  return q.p99;
}

export function scoreMetricValue(s: ValueStats, stat: 'mean' | 'min' | 'count'): number | null {
  return stat === 'mean' ? s.mean : stat === 'min' ? s.min : s.count;
}

export function compare(value: number | null, op: ComparisonOp, threshold: number): boolean {
  if (value === null || !Number.isFinite(value)) return false;
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
  }
}
