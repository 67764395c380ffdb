import type { ModelStats } from '../api.js';
import { Empty, ErrorBox, Loading, PageHeader, Panel } from '../components.js';
import { int, ms, pct, short, time } from '../format.js';
import { useApi } from '../hooks.js';
import { Link } from '../router.js';
import { useRangeQuery } from '../use-time-range.js';

export function ModelsPage() {
  const r = useApi<{ items: ModelStats[] }>('/models', useRangeQuery(), 10_000);
  const items = r.data?.items;
  const maxCalls = Math.max(1, ...(items ?? []).map((m) => m.calls));
  return (
    <div className="page">
      <PageHeader title="Models" />
      {r.error && <ErrorBox error={r.error} />}
      {!items && !r.error && <Loading />}
      {items && items.length === 0 && <Empty>No calls in this time range.</Empty>}
      {items && items.length > 0 && (
        <Panel>
          <table className="table" data-testid="models-table">
            <thead>
              <tr>
                <th>Model</th>
                <th>Provider</th>
                <th className="num">Calls</th>
                <th className="bar-col" />
                <th className="num">Errors</th>
                <th className="num">Tokens in</th>
                <th className="num">Tokens out</th>
                <th className="num">Cache read</th>
                <th className="num">TTFT p50 / p95</th>
                <th className="num">TPOT p50</th>
                <th className="num">E2E p50 / p95</th>
                <th className="num">tok/s p50</th>
                <th>Last seen (UTC)</th>
              </tr>
            </thead>
            <tbody>
              {items.map((m) => (
                <tr key={`${m.provider}/${m.model ?? ''}`} data-model={m.model ?? ''}>
                  <td className="mono">{m.model === null ? <span className="muted">(unknown)</span> : <Link to={`/calls?model=${encodeURIComponent(m.model)}`}>{m.model}</Link>}</td>
                  <td>{m.provider}</td>
                  <td className="num" data-col="calls">{int(m.calls)}</td>
                  <td className="bar-col">
                    <Meter value={m.calls / maxCalls} />
                  </td>
                  <td className={`num${m.errors > 0 ? ' err-text' : ''}`} data-col="errors">
                    {int(m.errors)} {m.errors > 0 && <span className="muted">({pct(m.errors / m.calls, 0)})</span>}
                  </td>
                  <td className="num">{short(m.input_tokens)}</td>
                  <td className="num" data-col="output_tokens">{short(m.output_tokens)}</td>
                  <td className="num">{short(m.cache_read_tokens)}</td>
                  <td className="num">
                    {ms(m.ttft_ms.p50)} / {ms(m.ttft_ms.p95)}
                  </td>
                  <td className="num">{ms(m.tpot_ms.p50)}</td>
                  <td className="num">
                    {ms(m.e2e_ms.p50)} / {ms(m.e2e_ms.p95)}
                  </td>
                  <td className="num">{short(m.output_tokens_per_second.p50)}</td>
                  <td className="nowrap">{time(m.last_seen)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Panel>
      )}
    </div>
  );
}

/** A horizontal bar for a fraction 0..1 (SVG: sizes are attributes, allowed by the CSP). */
export function Meter({ value }: { value: number }) {
  const w = Math.max(0, Math.min(1, value)) * 100;
  return (
    <svg className="meter" viewBox="0 0 100 8" preserveAspectRatio="none" width="100%" height="8">
      <rect className="meter-bg" x="0" y="0" width="100" height="8" rx="2" />
      <rect className="meter-fg" x="0" y="0" width={w} height="8" rx="2" />
    </svg>
  );
}
