import type { HealthResponse } from '../api.js';
import { Card, Empty, ErrorBox, Facts, Loading, PageHeader, Panel, Tag } from '../components.js';
import { bytes, int, pct, time } from '../format.js';
import { useApi } from '../hooks.js';
import { Meter } from './Models.js';

export function HealthPage() {
  const r = useApi<HealthResponse>('/health', {}, 3_000);
  const h = r.data;
  const anomalies = h ? Object.entries(h.anomalies).sort((a, b) => b[1] - a[1]) : [];
  // Sources of `llmtap run` name their pipeline and count their calls; one-source commands do not.
  const hasPipelines = h ? h.sources.some((s) => s.pipeline != null) : false;
  return (
    <div className="page">
      <PageHeader title="Pipeline health">
        {h && (
          <>
            <Tag tone={h.status === 'ok' ? 'ok' : 'err'}>{h.status}</Tag>
            <span className="muted">
              llmtap {h.version} · started {time(h.started_at)}
            </span>
          </>
        )}
      </PageHeader>
      {r.error && <ErrorBox error={r.error} />}
      {!h && !r.error && <Loading />}
      {h && (
        <>
          <div className="cards" data-testid="health-counts">
            <Card label="Packets" value={int(h.counts.packets)} sub={bytes(h.counts.bytes)} testId="count-packets" />
            <Card label="TCP connections" value={int(h.counts.connections)} sub={`${int(h.counts.tcp_segments)} segments`} />
            <Card label="HTTP exchanges" value={int(h.counts.exchanges)} sub={`${int(h.counts.other_exchanges)} not LLM calls`} testId="count-exchanges" />
            <Card label="LLM calls" value={int(h.counts.calls)} testId="count-calls" />
            <Card label="Anomalies" value={int(anomalies.reduce((a, [, n]) => a + n, 0))} sub={`${anomalies.length} kinds`} tone={anomalies.length > 0 ? 'err' : undefined} />
          </div>
          {h.tls_undecrypted.length > 0 && <TlsUndecryptedPanel servers={h.tls_undecrypted} />}
          <Panel title="Sources">
            {h.sources.length === 0 ? (
              <Empty>No capture source: this server browses a stored database.</Empty>
            ) : (
              <table className="table" data-testid="sources-table">
                <thead>
                  <tr>
                    <th>Source</th>
                    {hasPipelines && <th>Pipeline</th>}
                    <th>Kind</th>
                    <th>State</th>
                    <th className="num">Packets</th>
                    <th className="num">Bytes</th>
                    {hasPipelines && <th className="num">Calls</th>}
                    <th>Progress</th>
                    <th className="num">Drops (kernel / iface / pipeline)</th>
                    <th>First → last packet</th>
                  </tr>
                </thead>
                <tbody>
                  {h.sources.map((s) => (
                    <tr key={s.id}>
                      <td className="mono">{s.id}</td>
                      {hasPipelines && <td className="mono">{s.pipeline ?? '—'}</td>}
                      <td>{s.kind}</td>
                      <td>
                        <Tag tone={s.state === 'error' ? 'err' : s.state === 'running' ? 'live' : 'ok'}>{s.state}</Tag>
                        {s.error && <div className="err-text">{s.error}</div>}
                      </td>
                      <td className="num">{int(s.packets)}</td>
                      <td className="num">{bytes(s.bytes)}</td>
                      {hasPipelines && <td className="num">{s.calls === undefined ? '—' : int(s.calls)}</td>}
                      <td className="progress-cell">
                        {s.progress ? (
                          <>
                            <Meter value={s.progress.total > 0 ? s.progress.done / s.progress.total : 0} />
                            <span className="muted">{pct(s.progress.total > 0 ? s.progress.done / s.progress.total : 0, 0)}</span>
                          </>
                        ) : (
                          'live'
                        )}
                      </td>
                      <td className="num">
                        {s.drops.kernel ?? '–'} / {s.drops.interface ?? '–'} / {s.drops.pipeline}
                      </td>
                      <td className="nowrap">
                        {time(s.first_packet)} → {time(s.last_packet)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Panel>
          <div className="grid-2">
            <Panel title="Anomalies by name">
              {anomalies.length === 0 ? (
                <Empty>None.</Empty>
              ) : (
                <table className="table" data-testid="anomalies-table">
                  <tbody>
                    {anomalies.map(([name, n]) => (
                      <tr key={name} data-anomaly={name}>
                        <td className="mono">{name}</td>
                        <td className="num">{int(n)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </Panel>
            <Panel title="Storage">
              {h.db_error && <ErrorBox error={`database unreadable: ${h.db_error}`} />}
              <Facts
                rows={[
                  ['Writer', h.writer ? `${int(h.writer.written)} written in ${int(h.writer.batches)} batches, ${int(h.writer.pending)} pending` : 'not writing (serve mode)'],
                  ['Last write error', h.writer?.last_error ?? 'none'],
                  ['Database', h.db ? <span className="mono">{h.db.path}</span> : '–'],
                  ['Schema version', h.db ? String(h.db.schema_version) : '–'],
                  ['File / WAL / bodies', h.db ? `${bytes(h.db.file_bytes)} / ${bytes(h.db.wal_bytes)} / ${bytes(h.db.bodies_bytes)}` : '–'],
                  ['Rows', h.db ? Object.entries(h.db.tables).map(([t, n]) => `${t} ${int(n)}`).join(' · ') : '–'],
                  [
                    'Retention',
                    h.db ? (h.db.retention === false ? 'off' : `calls ${h.db.retention.callsDays} d · exchanges ${h.db.retention.exchangesDays} d · bodies ${h.db.retention.bodiesDays} d`) : '–',
                  ],
                  ['Live feed', `${h.live.clients} clients · ${int(h.live.published)} published · ${int(h.live.delivered)} delivered · ${int(h.live.dropped)} dropped`],
                ]}
              />
            </Panel>
          </div>
          {h.outputs && <OutputsPanel outputs={h.outputs} />}
        </>
      )}
    </div>
  );
}

/** What each reason a TLS connection was not decrypted means, and what the user can do about it
 * (docs/tls.md, "What you see"). */
const TLS_REASONS: Record<string, string> = {
  no_keys: 'no keys — add a key log with --tls-keylog',
  mid_stream: 'handshake not captured — start the capture before the client connects',
  unsupported_cipher: 'cipher or TLS version not supported',
  decrypt_failed: 'the key log does not fit these connections (stale or mixed up?)',
};

/** TLS connections seen but not read (issue 7): never silently dropped, so the user knows which
 * servers' calls are missing and why. */
function TlsUndecryptedPanel({ servers }: { servers: HealthResponse['tls_undecrypted'] }) {
  return (
    <Panel title="TLS not decrypted">
      <p className="muted">
        These servers' connections were seen but not read: their calls are not in the records. Add a key log with <span className="mono">--tls-keylog</span> (docs/tls.md).
      </p>
      <table className="table" data-testid="tls-undecrypted">
        <thead>
          <tr>
            <th>Server</th>
            <th className="num">Connections</th>
            <th>Why</th>
          </tr>
        </thead>
        <tbody>
          {servers.map((s) => (
            <tr key={s.server} data-tls-server={s.server}>
              <td className="mono">{s.server}</td>
              <td className="num" data-col="connections">
                {int(s.connections)}
              </td>
              <td data-col="why">
                {Object.entries(s.reasons)
                  .sort((a, b) => b[1] - a[1])
                  .map(([reason, n]) => `${int(n)} ${TLS_REASONS[reason] ?? reason.replace(/_/g, ' ')}`)
                  .join('; ')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Panel>
  );
}

/** OTLP export and alert delivery (issue 5): what was sent, retried and lost. The same counters
 * as the llmtap_otlp_* and llmtap_alert* metrics on /metrics. */
function OutputsPanel({ outputs: o }: { outputs: NonNullable<HealthResponse['outputs']> }) {
  const spans = o.otlp?.spans ?? null;
  const metrics = o.otlp?.metrics ?? null;
  const alerts = o.alerts;
  const lost = (n: number) => (n > 0 ? <span className="err-text">{int(n)}</span> : '0');
  return (
    <Panel title="Exports and alerts">
      <div data-testid="outputs">
        <Facts
          rows={[
            ['OTLP endpoint', o.otlp ? <span className="mono">{o.otlp.endpoint}</span> : 'not configured'],
            [
              'OTLP spans',
              spans ? (
                <span data-testid="otlp-spans">
                  {int(spans.sent)} sent · {int(spans.queued)} queued · {lost(spans.dropped)} dropped · {int(spans.retries)} retries · {lost(spans.failed_batches)} failed
                  batches{spans.rejected > 0 ? ` · ${int(spans.rejected)} rejected by the receiver` : ''}
                </span>
              ) : (
                'off'
              ),
            ],
            [
              'OTLP metric pushes',
              metrics ? `${int(metrics.exported)} sent · ${int(metrics.failed)} failed · ${int(metrics.skipped)} skipped · ${int(metrics.retries)} retries` : 'off',
            ],
            ['Alert rules / budgets', alerts ? `${int(alerts.rules)} rules (${int(alerts.firing)} firing) · ${int(alerts.budgets)} budgets` : 'none configured'],
            ['Alerts raised', alerts ? `${int(alerts.fired)} fired · ${int(alerts.resolved)} resolved · ${int(alerts.notices)} budget notices · ${int(alerts.logged)} logged` : '–'],
            [
              'Webhook delivery',
              alerts ? (
                <span data-testid="webhook-delivery">
                  {int(alerts.webhooks.sent)} sent · {int(alerts.webhooks.queued)} queued · {int(alerts.webhooks.retries)} retries · {lost(alerts.webhooks.failed)} given up ·{' '}
                  {lost(alerts.webhooks.dropped)} dropped
                </span>
              ) : (
                '–'
              ),
            ],
            ['Failures', <span key="f">{lost(o.observer_failures)} observer errors{alerts ? <> · {lost(alerts.record_failures)} alert records not stored</> : null}</span>],
          ]}
        />
      </div>
    </Panel>
  );
}
