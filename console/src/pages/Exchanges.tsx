import type { ExchangeListItem, StoredExchange } from '../api.js';
import { ErrorBox, Loading, PagedFooter, PageHeader, StatusBadge, Tag } from '../components.js';
import { bytes, int, time } from '../format.js';
import { useApi } from '../hooks.js';
import { usePaged } from '../paged.js';
import { Link, navigate, useLocation } from '../router.js';
import { RawExchange } from '../raw.js';
import { useRangeQuery } from '../use-time-range.js';
import { VirtualTable, type Column } from '../vtable.js';

// Widths fit a 1440 px window beside the sidebar (1182 px of table), the time in full.
const COLUMNS: Column<ExchangeListItem>[] = [
  { key: 'time', label: 'Time (UTC)', width: '188px', render: (e) => <Link to={`/exchanges/${e.id}`}>{time(e.request_start)}</Link> },
  { key: 'kind', label: 'Kind', width: '90px', render: (e) => (e.kind === 'llm_call' ? <Tag tone="live">LLM call</Tag> : <Tag>{e.reason ?? 'other'}</Tag>) },
  { key: 'method', label: 'Method', width: '70px', render: (e) => <span className="mono">{e.method}</span> },
  { key: 'host', label: 'Host', width: '200px', render: (e) => <span className="mono">{e.server.host ?? e.server.ip}</span> },
  { key: 'target', label: 'Target', width: 'minmax(160px, 1fr)', render: (e) => <span className="mono">{e.target}</span> },
  { key: 'status', label: 'Status', width: '64px', render: (e) => <StatusBadge code={e.status_code} /> },
  { key: 'req', label: 'Request', width: '84px', num: true, render: (e) => bytes(e.request_bytes) },
  { key: 'resp', label: 'Response', width: '84px', num: true, render: (e) => bytes(e.response_bytes) },
  { key: 'events', label: 'Events', width: '64px', num: true, render: (e) => (e.response_events_total > 0 ? int(e.response_events_total) : '–') },
  { key: 'client', label: 'Client', width: '156px', render: (e) => <span className="mono">{`${e.client.ip}:${e.client.port}`}</span> },
];

export function ExchangesPage() {
  const { search } = useLocation();
  const kind = search.get('kind') ?? '';
  const query = useRangeQuery(kind ? { kind } : {});
  const paged = usePaged<ExchangeListItem>('/exchanges', query);
  return (
    <div className="page page-fill">
      <PageHeader title="HTTP exchanges">
        <div className="segmented">
          {[
            ['', 'all'],
            ['llm_call', 'LLM calls'],
            ['other', 'other'],
          ].map(([k, label]) => (
            <button key={k} type="button" className={`btn${kind === k ? ' active' : ''}`} onClick={() => navigate(k ? `/exchanges?kind=${k}` : '/exchanges', true)}>
              {label}
            </button>
          ))}
        </div>
      </PageHeader>
      {paged.error && <ErrorBox error={paged.error} />}
      <VirtualTable
        testId="exchanges-table"
        rows={paged.items}
        columns={COLUMNS}
        rowKey={(e) => e.id}
        onEndReached={paged.hasMore ? paged.loadMore : undefined}
        onRowClick={(e) => navigate(`/exchanges/${e.id}`)}
        footer={<PagedFooter paged={paged} count={paged.items.length} noun="exchanges" />}
      />
    </div>
  );
}

export function ExchangeDetailPage({ id }: { id: string }) {
  const r = useApi<StoredExchange>(`/exchanges/${id}`);
  if (r.error) {
    return (
      <div className="page">
        <PageHeader title="HTTP exchange" />
        <ErrorBox error={r.error} />
      </div>
    );
  }
  if (!r.data) return <Loading />;
  const ex = r.data;
  return (
    <div className="page">
      <PageHeader title={`${ex.method} ${ex.server.host ?? ex.server.ip}`}>
        {ex.call_id && <Link to={`/calls/${ex.call_id}`}>the LLM call →</Link>}
        <Link to="/exchanges">← exchanges</Link>
      </PageHeader>
      <div data-testid="exchange-id" className="muted mono">
        {ex.id}
      </div>
      <RawExchange ex={ex} />
    </div>
  );
}
