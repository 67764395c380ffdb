import type { ErrorGroup } from '../api.js';
import { Chart } from '../charts.js';
import { Empty, ErrorBox, Loading, PageHeader, Panel, StatusBadge } from '../components.js';
import { int, short, time } from '../format.js';
import { useApi } from '../hooks.js';
import { Link } from '../router.js';
import { useSeries } from '../series.js';
import { useRangeQuery } from '../use-time-range.js';

export function ErrorsPage() {
  const range = useRangeQuery();
  const r = useApi<{ items: ErrorGroup[] }>('/errors', range, 10_000);
  const series = useSeries(['errors', 'status_429', 'status_5xx'], 10_000, range);
  const items = r.data?.items;
  return (
    <div className="page">
      <PageHeader title="Errors">
        <Link to="/calls?status=error">all failed calls →</Link>
      </PageHeader>
      {r.error && <ErrorBox error={r.error} />}
      {series.data && (
        <Panel>
          <Chart
            title="Errors over time"
            kind="bar"
            x={series.data.x}
            series={[
              { name: 'all errors', values: series.data.get('errors'), color: 'c-err' },
              { name: '429', values: series.data.get('status_429'), color: 'c4' },
              { name: '5xx', values: series.data.get('status_5xx'), color: 'c6' },
            ]}
            format={short}
            height={150}
            testId="chart-errors"
          />
        </Panel>
      )}
      {!items && !r.error && <Loading />}
      {items && items.length === 0 && <Empty>No errors. Every stored call succeeded.</Empty>}
      {items && items.length > 0 && (
        <Panel title="Error groups">
          <table className="table" data-testid="errors-table">
            <thead>
              <tr>
                <th>Status</th>
                <th>Type</th>
                <th>Model</th>
                <th className="num">Count</th>
                <th>Message (latest)</th>
                <th>First seen</th>
                <th>Last seen</th>
                <th>Example</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={`${e.status_code ?? ''}/${e.error_type ?? ''}/${e.model ?? ''}`} data-example={e.example_id}>
                  <td>
                    <StatusBadge code={e.status_code} error />
                  </td>
                  <td className="mono">{e.error_type ?? '–'}</td>
                  <td className="mono">{e.model ?? '–'}</td>
                  <td className="num">{int(e.count)}</td>
                  <td className="message-cell">{e.example_message ?? '–'}</td>
                  <td className="nowrap">{time(e.first_seen)}</td>
                  <td className="nowrap">{time(e.last_seen)}</td>
                  <td>
                    <Link to={`/calls/${e.example_id}`} className="mono">
                      {e.example_id.slice(0, 8)}…
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Panel>
      )}
    </div>
  );
}
