import { useCallback, useState, type FormEvent } from 'react';
import type { CallListItem, FilterValues } from '../api.js';
import { ErrorBox, PagedFooter, PageHeader, StatusBadge } from '../components.js';
import { int, ms, time } from '../format.js';
import { useApi } from '../hooks.js';
import { useLiveCalls, useLiveReconnect } from '../live.js';
import { usePaged } from '../paged.js';
import { Link, navigate, useLocation } from '../router.js';
import { inRange } from '../time-range.js';
import { useRangeQuery, useTimeRange } from '../use-time-range.js';
import { VirtualTable, type Column } from '../vtable.js';

/** Filters kept in the address (the API's own parameter names, so a URL is also an API query). */
// `session` and `turn` come from links on the turn and session pages; they have no dropdown.
const FILTER_KEYS = ['provider', 'api', 'model', 'status', 'finish_reason', 'stream', 'agent', 'agent_role', 'source', 'process', 'session', 'turn', 'q'] as const;
type FilterKey = (typeof FILTER_KEYS)[number];

const STATUS_CHOICES = ['2xx', '4xx', '5xx', 'error', 'none'];
const FINISH_CHOICES = ['stop', 'length', 'tool_call', 'content_filter', 'error', 'cancelled', 'other'];

// Widths fit a 1440 px window beside the sidebar (1182 px of table): the time in full, every
// header whole; long values (API, model, tools, output) end in an ellipsis.
const COLUMNS: Column<CallListItem>[] = [
  { key: 'time', label: 'Time (UTC)', width: '188px', render: (c) => <Link to={`/calls/${c.id}`}>{time(c.timing.request_start)}</Link> },
  { key: 'api', label: 'API', width: '140px', render: (c) => <span className="mono">{c.api}</span> },
  { key: 'model', label: 'Model', width: '144px', render: (c) => <span className="mono">{c.response_model ?? c.request_model ?? '–'}</span> },
  {
    key: 'agent',
    label: 'Agent',
    width: '84px',
    render: (c) =>
      c.agent === null ? (
        <span className="muted">–</span>
      ) : c.turn_id !== null ? (
        <Link to={`/turns/${c.turn_id}`}>{c.agent_role === 'main' || c.agent_role === null ? c.agent : `${c.agent} · ${c.agent_role}`}</Link>
      ) : (
        <span>{`${c.agent} · ${c.agent_role ?? ''}`}</span>
      ),
  },
  { key: 'status', label: 'Status', width: '64px', render: (c) => <StatusBadge code={c.status_code} error={c.error !== null} /> },
  { key: 'finish', label: 'Finish', width: '76px', render: (c) => c.finish_reason ?? '–' },
  { key: 'stream', label: 'Stream', width: '70px', render: (c) => (c.stream ? 'yes' : 'no') },
  { key: 'input', label: 'In', width: '60px', num: true, render: (c) => int(c.usage.input_tokens) },
  { key: 'output', label: 'Out', width: '50px', num: true, render: (c) => int(c.usage.output_tokens) },
  { key: 'ttft', label: 'TTFT', width: '66px', num: true, render: (c) => ms(c.ttft_ms) },
  { key: 'e2e', label: 'E2E', width: '66px', num: true, render: (c) => ms(c.e2e_ms) },
  {
    key: 'tools',
    label: 'Tools',
    width: '90px',
    render: (c) => (c.tool_calls.length === 0 ? <span className="muted">–</span> : <span className="mono">{c.tool_calls.map((t) => t.name).join(', ')}</span>),
  },
  { key: 'preview', label: 'Output', width: 'minmax(72px, 2fr)', render: (c) => <span className="preview">{c.error ? c.error.message : c.output_preview}</span> },
];

/** The calling process (issue 9): only sources that know it (eBPF) set it, so the column is shown
 * only when a listed call has one; `comm[pid]`, with the executable on hover. */
const PROCESS_COLUMN: Column<CallListItem> = {
  key: 'process',
  label: 'Process',
  width: '120px',
  render: (c) =>
    c.process ? (
      <span className="mono" title={c.process.exe ?? undefined}>{`${c.process.comm}[${c.process.pid}]`}</span>
    ) : (
      <span className="muted">–</span>
    ),
};

/** The list's columns: the process one after the agent when any call has a process. The table
 * fills a 1440 px window exactly, so it makes room: the API column is 40 px narrower, Tools 10 px,
 * and the Stream column goes (the Stream filter and the call detail still tell). */
function columnsFor(rows: CallListItem[]): Column<CallListItem>[] {
  if (!rows.some((c) => c.process)) return COLUMNS;
  const out: Column<CallListItem>[] = [];
  for (const c of COLUMNS) {
    if (c.key === 'stream') continue;
    out.push(c.key === 'api' ? { ...c, width: '100px' } : c.key === 'tools' ? { ...c, width: '80px' } : c);
    if (c.key === 'agent') out.push(PROCESS_COLUMN);
  }
  return out;
}

function filtersFrom(search: URLSearchParams): Partial<Record<FilterKey, string>> {
  const f: Partial<Record<FilterKey, string>> = {};
  for (const k of FILTER_KEYS) {
    const v = search.get(k);
    if (v !== null && v !== '') f[k] = v;
  }
  return f;
}

function setFilter(search: URLSearchParams, key: FilterKey, value: string): void {
  const next = new URLSearchParams(search);
  if (value === '') next.delete(key);
  else next.set(key, value);
  const s = next.toString();
  navigate(`/calls${s ? `?${s}` : ''}`, true);
}

function Select({ label, name, value, choices, search }: { label: string; name: FilterKey; value: string; choices: { value: string; count?: number }[]; search: URLSearchParams }) {
  // Keep a value from the URL selectable even when the filter list does not (yet) contain it.
  const all = value !== '' && !choices.some((c) => c.value === value) ? [{ value }, ...choices] : choices;
  return (
    <label className="filter">
      <span>{label}</span>
      <select name={name} value={value} onChange={(e) => setFilter(search, name, e.target.value)}>
        <option value="">all</option>
        {all.map((c) => (
          <option key={c.value} value={c.value}>
            {c.value}
            {c.count !== undefined ? ` (${c.count})` : ''}
          </option>
        ))}
      </select>
    </label>
  );
}

export function CallsPage() {
  const { search } = useLocation();
  const filters = filtersFrom(search);
  // The global time range (sidebar) goes to the API with the page's own filters.
  const range = useTimeRange();
  const query = useRangeQuery(filters);
  const values = useApi<FilterValues>('/filters', useRangeQuery());
  const paged = usePaged<CallListItem>('/calls', query);
  const [q, setQ] = useState(filters.q ?? '');
  const [unseen, setUnseen] = useState(0);
  const filtered = Object.keys(filters).length > 0;

  const { prepend, refreshHead } = paged;
  useLiveCalls(
    useCallback(
      (call: CallListItem) => {
        // Unfiltered, the newest-first list simply grows at the top, if the call is in the time
        // range (a fixed `to` leaves new calls out); with filters the server decides what
        // matches, so offer a reload instead of guessing.
        const within = inRange(call.timing.request_start, range);
        if (within === false) return;
        if (!filtered && within) prepend([call]);
        else setUnseen((n) => n + 1);
      },
      [filtered, prepend, range],
    ),
  );
  // Calls committed while the feed was down are not replayed: fetch the first page again.
  useLiveReconnect(refreshHead);

  const submitSearch = (e: FormEvent): void => {
    e.preventDefault();
    setFilter(search, 'q', q.trim());
  };

  const v = values.data;
  const opts = (field: keyof FilterValues) => v?.[field] ?? [];
  return (
    <div className="page page-fill">
      <PageHeader title="Calls">
        {unseen > 0 && (
          <button type="button" className="btn" onClick={() => window.location.reload()}>
            {unseen} new — reload
          </button>
        )}
      </PageHeader>
      <div className="filters" data-testid="filters">
        <Select label="Provider" name="provider" value={filters.provider ?? ''} choices={opts('provider')} search={search} />
        <Select label="API" name="api" value={filters.api ?? ''} choices={opts('api')} search={search} />
        <Select label="Model" name="model" value={filters.model ?? ''} choices={opts('model')} search={search} />
        <Select label="Status" name="status" value={filters.status ?? ''} choices={[...opts('status'), ...STATUS_CHOICES.map((value) => ({ value }))]} search={search} />
        <Select
          label="Finish"
          name="finish_reason"
          value={filters.finish_reason ?? ''}
          choices={opts('finish_reason').length > 0 ? opts('finish_reason') : FINISH_CHOICES.map((value) => ({ value }))}
          search={search}
        />
        <Select label="Stream" name="stream" value={filters.stream ?? ''} choices={[{ value: 'true' }, { value: 'false' }]} search={search} />
        <Select label="Agent" name="agent" value={filters.agent ?? ''} choices={opts('agent')} search={search} />
        <Select label="Role" name="agent_role" value={filters.agent_role ?? ''} choices={opts('agent_role')} search={search} />
        {/* One capture has one source: the choice appears with a second (pipelines, probes). */}
        {(opts('source').length > 1 || filters.source !== undefined) && (
          <Select label="Source" name="source" value={filters.source ?? ''} choices={opts('source')} search={search} />
        )}
        {(opts('process').length > 0 || filters.process !== undefined) && (
          <Select label="Process" name="process" value={filters.process ?? ''} choices={opts('process')} search={search} />
        )}
        <form className="filter search" onSubmit={submitSearch}>
          <span>Search content</span>
          <input type="search" name="q" placeholder="text in prompts and answers" value={q} onChange={(e) => setQ(e.target.value)} />
        </form>
        {filtered && (
          <button
            type="button"
            className="btn btn-link"
            onClick={() => {
              setQ('');
              navigate('/calls', true);
            }}
          >
            clear filters
          </button>
        )}
      </div>
      {paged.error && <ErrorBox error={paged.error} />}
      <VirtualTable
        testId="calls-table"
        rows={paged.items}
        columns={columnsFor(paged.items)}
        rowKey={(c) => c.id}
        onEndReached={paged.hasMore ? paged.loadMore : undefined}
        rowClass={(c) => (c.status_code !== null && c.status_code >= 400) || c.error ? 'row-err' : ''}
        onRowClick={(c) => navigate(`/calls/${c.id}`)}
        footer={<PagedFooter paged={paged} count={paged.items.length} noun="calls" testId="calls-count" empty="No calls match." />}
      />
    </div>
  );
}
