/**
 * Alerts and budgets (issue 5 item 6): incidents still firing first, then the history, and the
 * budget notices with how much of each limit is spent. Times are capture times (UTC). An
 * incident shows the source whose calls raised it (each source is judged on its own).
 */
import type { AlertRecord, FilterValues, Page } from '../api.js';
import { cost } from '../agent-ui.js';
import { Empty, ErrorBox, Loading, PageHeader, Panel } from '../components.js';
import { ms, pct, time } from '../format.js';
import { useApi } from '../hooks.js';
import { navigate, useLocation } from '../router.js';
import { useRangeQuery } from '../use-time-range.js';

function StateBadge({ a }: { a: AlertRecord }) {
  return <span className={`alert-state ${a.state}`}>{a.state}</span>;
}

function filtersText(f: Record<string, string>): string {
  const parts = Object.entries(f).map(([k, v]) => `${k}=${v}`);
  return parts.length === 0 ? 'all calls' : parts.join(', ');
}

function IncidentTable({ items, testId }: { items: AlertRecord[]; testId: string }) {
  return (
    <table className="table" data-testid={testId}>
      <thead>
        <tr>
          <th>State</th>
          <th>Rule</th>
          <th>Severity</th>
          <th>What</th>
          <th>Scope</th>
          <th>Source</th>
          <th>Fired (UTC)</th>
          <th>Resolved (UTC)</th>
        </tr>
      </thead>
      <tbody>
        {items.map((a) => (
          <tr key={a.id} data-alert={a.id} data-state={a.state}>
            <td>
              <StateBadge a={a} />
            </td>
            <td className="mono">{a.rule}</td>
            <td>{a.severity}</td>
            <td>
              {a.message}
              <div className="muted">
                {a.metric} {a.value === null ? '' : `= ${Number(a.value.toPrecision(4))}`} (threshold {a.threshold}
                {a.window_ms !== null ? `, window ${ms(a.window_ms)}` : ''})
              </div>
            </td>
            <td>{filtersText(a.filters)}</td>
            {/* A rule on calls runs per source (a probe, a capture, an interface); rules on
                scores and alerts stored before llmtap named sources have none. */}
            <td className="mono" data-col="source">
              {a.source ?? '–'}
            </td>
            <td className="nowrap">{time(a.fired_at)}</td>
            <td className="nowrap">{a.resolved_at ? time(a.resolved_at) : '–'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Spent / limit as a bar (SVG attributes only: the CSP allows no inline styles). */
function BudgetBar({ fraction }: { fraction: number }) {
  const w = Math.max(0, Math.min(1, fraction)) * 100;
  return (
    <svg className="meter budget-bar" viewBox="0 0 100 8" preserveAspectRatio="none" width="100%" height="8" role="img" aria-label={pct(fraction, 0)}>
      <rect className="meter-bg" x="0" y="0" width="100" height="8" rx="2" />
      <rect className={`meter-fg${fraction >= 1 ? ' over' : ''}`} x="0" y="0" width={w} height="8" rx="2" />
    </svg>
  );
}

/**
 * The sources to choose from: those of the calls in the time range and of the incidents shown
 * (an incident may outlive its calls' retention), and the chosen one.
 */
function sourceChoices(values: FilterValues | null, shown: (AlertRecord[] | undefined)[], chosen: string): string[] {
  const all = new Set<string>(values?.source.map((v) => v.value) ?? []);
  for (const items of shown) for (const a of items ?? []) if (a.source !== null) all.add(a.source);
  if (chosen !== '') all.add(chosen);
  return [...all].sort();
}

export function AlertsPage() {
  const { search } = useLocation();
  // `?source=`: the incidents of one source (a probe, an interface); budgets have no source.
  const source = search.get('source') ?? '';
  const range = useRangeQuery();
  const only = source === '' ? {} : { source };
  const firing = useApi<Page<AlertRecord>>('/alerts', { ...range, ...only, state: 'firing', rule_kind: 'rule', limit: 200 }, 10_000);
  const history = useApi<Page<AlertRecord>>('/alerts', { ...range, ...only, state: 'resolved', rule_kind: 'rule', limit: 200 }, 10_000);
  const budgets = useApi<Page<AlertRecord>>('/alerts', { ...range, rule_kind: 'budget', limit: 200 }, 10_000);
  const values = useApi<FilterValues>('/filters', range);
  const error = firing.error ?? history.error ?? budgets.error;
  const loaded = firing.data && history.data && budgets.data;
  const choices = sourceChoices(values.data, [firing.data?.items, history.data?.items], source);
  const choose = (value: string): void => navigate(`/alerts${value === '' ? '' : `?${new URLSearchParams({ source: value }).toString()}`}`, true);
  return (
    <div className="page">
      <PageHeader title="Alerts and budgets" />
      {(choices.length > 1 || source !== '') && (
        <div className="filters" data-testid="filters">
          <label className="filter">
            <span>Source</span>
            <select name="source" value={source} onChange={(e) => choose(e.target.value)}>
              <option value="">all</option>
              {choices.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </label>
        </div>
      )}
      {error && <ErrorBox error={error} />}
      {!loaded && !error && <Loading />}
      {firing.data && (
        <Panel title={`Firing (${firing.data.items.length})`}>
          {firing.data.items.length === 0 ? <Empty>Nothing is firing.</Empty> : <IncidentTable items={firing.data.items} testId="alerts-firing" />}
        </Panel>
      )}
      {budgets.data && (
        <Panel title="Budget notices">
          {budgets.data.items.length === 0 ? (
            <Empty>No budget notices in this time range.</Empty>
          ) : (
            <table className="table" data-testid="budget-notices">
              <thead>
                <tr>
                  <th>Budget</th>
                  <th>Scope</th>
                  <th>Period</th>
                  <th className="num">Spent / limit</th>
                  <th className="bar-col" />
                  <th>Noticed (UTC)</th>
                </tr>
              </thead>
              <tbody>
                {budgets.data.items.map((a) => (
                  <tr key={a.id} data-alert={a.id}>
                    <td className="mono">{a.rule}</td>
                    <td>{a.budget ? (a.budget.scope === 'all' ? 'all calls' : `${a.budget.scope}=${a.budget.scope_value}`) : '–'}</td>
                    <td>{a.budget ? `${a.budget.period} from ${time(a.budget.period_start)}` : '–'}</td>
                    <td className="num" data-col="spent">
                      {a.budget ? `${cost(a.budget.spent_usd)} / ${cost(a.budget.limit_usd)} (${pct(a.budget.fraction, 0)})` : '–'}
                    </td>
                    <td className="bar-col">{a.budget && <BudgetBar fraction={a.budget.spent_usd / Math.max(a.budget.limit_usd, Number.MIN_VALUE)} />}</td>
                    <td className="nowrap">{time(a.fired_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Panel>
      )}
      {history.data && (
        <Panel title="History">
          {history.data.items.length === 0 ? <Empty>No resolved incidents in this time range.</Empty> : <IncidentTable items={history.data.items} testId="alerts-history" />}
        </Panel>
      )}
    </div>
  );
}
