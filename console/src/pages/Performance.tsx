import type { Summary } from '../api.js';
import { Chart } from '../charts.js';
import { ErrorBox, Loading, PageHeader, Panel } from '../components.js';
import { int, ms, short } from '../format.js';
import { useApi } from '../hooks.js';
import { useSeries } from '../series.js';
import { useRangeQuery } from '../use-time-range.js';

const METRICS: { key: 'ttfb_ms' | 'ttft_ms' | 'tpot_ms' | 'e2e_ms' | 'output_tokens_per_second'; label: string; hint: string }[] = [
  { key: 'ttft_ms', label: 'Time to first token', hint: 'request start → first generated token' },
  { key: 'tpot_ms', label: 'Time per output token', hint: 'first → last token, per token' },
  { key: 'e2e_ms', label: 'End to end', hint: 'request start → response end' },
  { key: 'ttfb_ms', label: 'Time to first byte', hint: 'request start → response head' },
];

export function PerformancePage() {
  const range = useRangeQuery();
  const series = useSeries(['ttft_ms', 'tpot_ms', 'e2e_ms', 'ttfb_ms', 'output_tokens_per_second'], 10_000, range);
  const summary = useApi<Summary>('/summary', range, 10_000);
  const s = summary.data;
  return (
    <div className="page">
      <PageHeader title="Performance" />
      {(series.error ?? summary.error) && <ErrorBox error={(series.error ?? summary.error)!} />}
      {s && (
        <Panel title={range['from'] === undefined && range['to'] === undefined ? 'Percentiles over all stored calls' : 'Percentiles over the calls in the time range'}>
          <table className="table" data-testid="percentiles">
            <thead>
              <tr>
                <th>Metric</th>
                <th className="num">calls</th>
                <th className="num">p50</th>
                <th className="num">p95</th>
                <th className="num">p99</th>
                <th className="num">avg</th>
                <th className="num">max</th>
              </tr>
            </thead>
            <tbody>
              {[...METRICS, { key: 'output_tokens_per_second' as const, label: 'Output tokens / s', hint: '' }].map((m) => {
                const p = s[m.key];
                const f = m.key === 'output_tokens_per_second' ? short : ms;
                return (
                  <tr key={m.key} data-metric={m.key}>
                    <td>{m.label}</td>
                    <td className="num">{int(p.count)}</td>
                    <td className="num">{p.p50 === null ? '–' : f(p.p50)}</td>
                    <td className="num">{p.p95 === null ? '–' : f(p.p95)}</td>
                    <td className="num">{p.p99 === null ? '–' : f(p.p99)}</td>
                    <td className="num">{p.avg === null ? '–' : f(p.avg)}</td>
                    <td className="num">{p.max === null ? '–' : f(p.max)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </Panel>
      )}
      {!series.data && !series.error && <Loading />}
      {series.data && (
        <div className="grid-2">
          {METRICS.map((m) => (
            <Panel key={m.key}>
              <Chart
                title={`${m.label} (${m.hint})`}
                x={series.data!.x}
                series={[
                  { name: 'p50', values: series.data!.get(`${m.key}_p50`), color: 'c1' },
                  { name: 'p95', values: series.data!.get(`${m.key}_p95`), color: 'c4' },
                  { name: 'p99', values: series.data!.get(`${m.key}_p99`), color: 'c-err' },
                ]}
                format={ms}
                testId={`chart-${m.key}`}
              />
            </Panel>
          ))}
        </div>
      )}
    </div>
  );
}
