/**
 * Spend (issue 5 item 4): the total, a breakdown by model, provider, agent, key, client, source or
 * any attribute, and spend over time, all over the global time range. Calls without a price are
 * counted as unpriced, never shown as $0. Scores posted on calls and turns are drawn below
 * (issue 5 item 7: "scores become time series like any metric").
 */
import type { AnnotationTimeseries, CostBreakdown, CostGroup, CostTimeseries, FilterValues } from '../api.js';
import { cost } from '../agent-ui.js';
import { Chart } from '../charts.js';
import { Card, Empty, ErrorBox, Loading, PageHeader, Panel } from '../components.js';
import { epochMs, int, short } from '../format.js';
import { useApi } from '../hooks.js';
import { Link, navigate, useLocation } from '../router.js';
import { useRangeQuery } from '../use-time-range.js';
import { Meter } from './Models.js';

/** Built-in dimensions (src/config/types.ts BUILTIN_DIMENSIONS) offered first, and the call filter
 * parameter each one feeds (docs/api.md "Call filters") for a drill-down to the calls. */
const DIMENSIONS: { by: string; label: string; param: string }[] = [
  { by: 'model', label: 'Model', param: 'model' },
  { by: 'provider', label: 'Provider', param: 'provider' },
  { by: 'agent', label: 'Agent', param: 'agent' },
  { by: 'key', label: 'API key', param: 'key' },
  { by: 'client', label: 'Client', param: 'client' },
  { by: 'source', label: 'Source', param: 'source' },
  // The calling program (issue 9: eBPF sources); offered when a call in the range has one.
  { by: 'process', label: 'Process', param: 'process' },
];

/** Dimensions worth offering: `process` only when some call knows its process (captured traffic
 * never does), or when the address already asks for it. */
function dimensionsFor(v: FilterValues | null, by: string): typeof DIMENSIONS {
  const hasProcess = (v?.process?.length ?? 0) > 0 || by === 'process';
  return DIMENSIONS.filter((d) => d.by !== 'process' || hasProcess);
}

const COLORS = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];

/** Attribute names among the `name=value` filter values. */
function attributeNames(v: FilterValues | null): string[] {
  const names = new Set<string>();
  for (const x of v?.attribute ?? []) {
    const eq = x.value.indexOf('=');
    if (eq > 0) names.add(x.value.slice(0, eq));
  }
  return [...names].sort();
}

function callsLink(by: string, g: CostGroup): string | null {
  if (g.value === null) return null;
  const dim = DIMENSIONS.find((d) => d.by === by);
  const q = dim ? `${dim.param}=${encodeURIComponent(g.value)}` : `attribute=${encodeURIComponent(`${by}=${g.value}`)}`;
  return `/calls?${q}`;
}

function usd(v: number | null): string {
  return v === null ? '–' : cost(v);
}

export function CostsPage() {
  const { search } = useLocation();
  const by = search.get('by') ?? 'model';
  const range = useRangeQuery();
  const values = useApi<FilterValues>('/filters', range);
  const breakdown = useApi<CostBreakdown>('/costs', { ...range, by }, 10_000);
  const series = useApi<CostTimeseries>('/costs/timeseries', { ...range, by, group_limit: 5 }, 10_000);
  const scores = useApi<AnnotationTimeseries>('/annotations/timeseries', range, 10_000);
  const attrs = attributeNames(values.data);
  const setBy = (b: string): void => {
    const next = new URLSearchParams(search);
    next.set('by', b);
    navigate(`/costs?${next.toString()}`, true);
  };
  const total = breakdown.data?.total;
  const maxCost = Math.max(0, ...(breakdown.data?.groups ?? []).map((g) => g.cost_usd ?? 0));
  return (
    <div className="page">
      <PageHeader title="Costs">
        <label className="filter">
          <span>Break down by</span>
          <select value={by} onChange={(e) => setBy(e.target.value)} aria-label="break down by" data-testid="costs-by">
            {dimensionsFor(values.data, by).map((d) => (
              <option key={d.by} value={d.by}>
                {d.label}
              </option>
            ))}
            {attrs.map((a) => (
              <option key={a} value={a}>
                attribute: {a}
              </option>
            ))}
            {!DIMENSIONS.some((d) => d.by === by) && !attrs.includes(by) && <option value={by}>attribute: {by}</option>}
          </select>
        </label>
      </PageHeader>
      {breakdown.error && <ErrorBox error={breakdown.error} />}
      {!breakdown.data && !breakdown.error && <Loading />}
      {total && (
        <div className="cards">
          <Card label="Spend" value={usd(total.cost_usd)} sub={total.estimated_cost_usd !== null ? `${usd(total.estimated_cost_usd)} from estimated usage` : 'priced calls'} testId="cost-total" />
          <Card label="Priced calls" value={int(total.priced_calls + total.estimated_calls)} sub={`of ${int(total.calls)} calls`} testId="cost-priced" />
          <Card label="Unpriced calls" value={int(total.unpriced_calls)} sub="no known price: not counted as $0" testId="cost-unpriced" tone={total.unpriced_calls > 0 ? 'err' : undefined} />
          <Card label="Tokens" value={`${short(total.input_tokens)} in / ${short(total.output_tokens)} out`} sub={`${short(total.cache_read_tokens)} cache read`} testId="cost-tokens" />
        </div>
      )}
      {series.data && series.data.buckets.length > 0 && (
        <Panel>
          <Chart
            title="Spend over time (USD per bucket)"
            x={series.data.buckets.map(epochMs)}
            series={series.data.series.map((s, i) => ({ name: s.group ?? 'all', values: s.cost_usd, color: COLORS[i % COLORS.length]! }))}
            format={(v) => cost(v)}
            testId="chart-cost"
          />
        </Panel>
      )}
      {breakdown.data && breakdown.data.groups.length === 0 && <Empty>No calls in this time range.</Empty>}
      {breakdown.data && breakdown.data.groups.length > 0 && (
        <Panel title={`By ${DIMENSIONS.find((d) => d.by === by)?.label.toLowerCase() ?? `attribute ${by}`}`}>
          <table className="table" data-testid="costs-table">
            <thead>
              <tr>
                <th>{DIMENSIONS.find((d) => d.by === by)?.label ?? by}</th>
                <th className="num">Spend</th>
                <th className="bar-col" />
                <th className="num">Calls</th>
                <th className="num">Unpriced</th>
                <th className="num">Tokens in</th>
                <th className="num">Tokens out</th>
                <th className="num">Cache read</th>
              </tr>
            </thead>
            <tbody>
              {breakdown.data.groups.map((g) => {
                const link = callsLink(by, g);
                return (
                  <tr key={g.value ?? '(none)'} data-group={g.value ?? ''}>
                    <td className="mono">{g.value === null ? <span className="muted">(none)</span> : link ? <Link to={link}>{g.value}</Link> : g.value}</td>
                    <td className="num" data-col="cost">
                      {g.cost_usd === null ? <span className="unpriced">unpriced</span> : usd(g.cost_usd)}
                    </td>
                    <td className="bar-col">{maxCost > 0 && <Meter value={(g.cost_usd ?? 0) / maxCost} />}</td>
                    <td className="num" data-col="calls">{int(g.calls)}</td>
                    <td className={`num${g.unpriced_calls > 0 ? ' unpriced' : ''}`} data-col="unpriced">{int(g.unpriced_calls)}</td>
                    <td className="num">{short(g.input_tokens)}</td>
                    <td className="num">{short(g.output_tokens)}</td>
                    <td className="num">{short(g.cache_read_tokens)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {breakdown.data.groups_truncated && <div className="muted">Only the first 500 groups are shown.</div>}
        </Panel>
      )}
      <Panel title="Quality scores">
        {scores.error && <ErrorBox error={scores.error} />}
        {scores.data && scores.data.series.length === 0 && <Empty>No scores in this time range. Add one on a call or a turn.</Empty>}
        {scores.data && scores.data.series.length > 0 && (
          <Chart
            title="Mean score per bucket"
            x={scores.data.buckets.map(epochMs)}
            series={scores.data.series.map((s, i) => ({ name: s.name, values: s.mean, color: COLORS[i % COLORS.length]! }))}
            format={(v) => (Math.abs(v) >= 100 ? short(v) : String(Math.round(v * 1000) / 1000))}
            testId="chart-scores"
          />
        )}
      </Panel>
    </div>
  );
}
