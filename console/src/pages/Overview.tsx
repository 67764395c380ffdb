import { useCallback, useRef } from 'react';
import type { ModelStats, Summary } from '../api.js';
import { Chart } from '../charts.js';
import { Card, ErrorBox, Loading, PageHeader, Panel } from '../components.js';
import { int, ms, pct, short, time } from '../format.js';
import { useApi } from '../hooks.js';
import { useLiveCalls } from '../live.js';
import { Link } from '../router.js';
import { useSeries } from '../series.js';
import { useRangeQuery } from '../use-time-range.js';

/** How often the cards refresh while the page is open: a capture in progress changes them. */
const REFRESH_MS = 5_000;

export function SummaryCards({ s }: { s: Summary }) {
  return (
    <div className="cards" data-testid="summary-cards">
      <Card label="Calls" value={int(s.calls)} sub={`${int(s.streamed)} streamed`} testId="card-calls" />
      <Card label="Error rate" value={pct(s.error_rate)} sub={`${int(s.errors)} errors · ${int(s.status_429)} × 429`} testId="card-error-rate" tone={s.errors > 0 ? 'err' : undefined} />
      <Card label="Tokens in / out" value={`${short(s.input_tokens)} / ${short(s.output_tokens)}`} sub={`${short(s.reasoning_tokens)} reasoning`} testId="card-tokens" />
      <Card label="Cache hit ratio" value={pct(s.cache_hit_ratio)} sub={`${short(s.cache_read_tokens)} read · ${short(s.cache_write_tokens)} written`} testId="card-cache" />
      <Card label="TTFT p50 / p95" value={`${ms(s.ttft_ms.p50)} / ${ms(s.ttft_ms.p95)}`} sub={`${int(s.ttft_ms.count)} calls with a first token`} testId="card-ttft" />
      <Card label="E2E p50 / p95" value={`${ms(s.e2e_ms.p50)} / ${ms(s.e2e_ms.p95)}`} sub={`max ${ms(s.e2e_ms.max)}`} testId="card-e2e" />
    </div>
  );
}

export function OverviewPage() {
  const range = useRangeQuery();
  const summary = useApi<Summary>('/summary', range, REFRESH_MS);
  // A new call on the live feed refreshes the cards at once, at most once a second.
  const lastReload = useRef(0);
  const { reload } = summary;
  useLiveCalls(
    useCallback(() => {
      const now = Date.now();
      if (now - lastReload.current < 1000) return;
      lastReload.current = now;
      reload();
    }, [reload]),
  );
  const series = useSeries(['calls', 'errors', 'ttft_ms', 'e2e_ms'], REFRESH_MS, range);
  const models = useApi<{ items: ModelStats[] }>('/models', range, REFRESH_MS * 2);

  const s = summary.data;
  return (
    <div className="page">
      <PageHeader title="Overview">
        {s && (
          <span className="muted">
            {time(s.first_call)} → {time(s.last_call)} UTC
          </span>
        )}
      </PageHeader>
      {summary.error && <ErrorBox error={summary.error} />}
      {s ? <SummaryCards s={s} /> : !summary.error && <Loading />}
      {series.data && (
        <div className="grid-2">
          <Panel>
            <Chart
              title="Calls and errors"
              kind="bar"
              x={series.data.x}
              series={[
                { name: 'calls', values: series.data.get('calls'), color: 'c1' },
                { name: 'errors', values: series.data.get('errors'), color: 'c-err' },
              ]}
              format={short}
              testId="chart-calls"
            />
          </Panel>
          <Panel>
            <Chart
              title="Latency p50"
              x={series.data.x}
              series={[
                { name: 'TTFT p50', values: series.data.get('ttft_ms_p50'), color: 'c2' },
                { name: 'E2E p50', values: series.data.get('e2e_ms_p50'), color: 'c3' },
              ]}
              format={ms}
              testId="chart-latency"
            />
          </Panel>
        </div>
      )}
      {models.data && models.data.items.length > 0 && (
        <Panel title="Busiest models" actions={<Link to="/models">all models →</Link>}>
          <table className="table">
            <thead>
              <tr>
                <th>Model</th>
                <th>Provider</th>
                <th className="num">Calls</th>
                <th className="num">Errors</th>
                <th className="num">Tokens out</th>
                <th className="num">TTFT p50</th>
              </tr>
            </thead>
            <tbody>
              {models.data.items.slice(0, 5).map((m) => (
                <tr key={`${m.provider}/${m.model ?? ''}`}>
                  <td>
                    <Link to={`/calls?model=${encodeURIComponent(m.model ?? '')}`}>{m.model ?? '(unknown)'}</Link>
                  </td>
                  <td>{m.provider}</td>
                  <td className="num">{int(m.calls)}</td>
                  <td className="num">{int(m.errors)}</td>
                  <td className="num">{short(m.output_tokens)}</td>
                  <td className="num">{ms(m.ttft_ms.p50)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Panel>
      )}
    </div>
  );
}
