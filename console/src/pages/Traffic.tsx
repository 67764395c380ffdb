import { Chart } from '../charts.js';
import { ErrorBox, Loading, PageHeader, Panel } from '../components.js';
import { ms, short } from '../format.js';
import { useSeries } from '../series.js';
import { useRangeQuery } from '../use-time-range.js';

export function TrafficPage() {
  const series = useSeries(['calls', 'errors', 'status_429', 'active_calls', 'input_tokens', 'output_tokens', 'cache_read_tokens'], 10_000, useRangeQuery());
  const d = series.data;
  return (
    <div className="page">
      <PageHeader title="Traffic">{d && <span className="muted">bucket {ms(d.bucketMs)}</span>}</PageHeader>
      {series.error && <ErrorBox error={series.error} />}
      {!d && !series.error && <Loading />}
      {d && (
        <div className="grid-2">
          <Panel>
            <Chart
              title="Calls per bucket"
              kind="bar"
              x={d.x}
              series={[
                { name: 'calls', values: d.get('calls'), color: 'c1' },
                { name: 'errors', values: d.get('errors'), color: 'c-err' },
                { name: '429', values: d.get('status_429'), color: 'c4' },
              ]}
              format={short}
              testId="chart-calls"
            />
          </Panel>
          <Panel>
            <Chart title="Active calls" x={d.x} series={[{ name: 'in flight', values: d.get('active_calls'), color: 'c2' }]} format={short} testId="chart-active" />
          </Panel>
          <Panel className="span-2">
            <Chart
              title="Tokens per bucket"
              kind="bar"
              x={d.x}
              series={[
                { name: 'input', values: d.get('input_tokens'), color: 'c1' },
                { name: 'cache read', values: d.get('cache_read_tokens'), color: 'c5' },
                { name: 'output', values: d.get('output_tokens'), color: 'c3' },
              ]}
              format={short}
              testId="chart-tokens"
            />
          </Panel>
        </div>
      )}
    </div>
  );
}
