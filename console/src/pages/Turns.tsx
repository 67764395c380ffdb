import { useCallback, useState, type FormEvent } from 'react';
import type { AgentTurnRecord, FilterValues } from '../api.js';
import { SessionLink, TURN_STATUSES, TurnFlags, TurnStatusBadge, cost, tokensShort, toolsSummary, turnPath } from '../agent-ui.js';
import { ErrorBox, PagedFooter, PageHeader } from '../components.js';
import { int, ms, shortTime, time } from '../format.js';
import { useApi } from '../hooks.js';
import { useLiveReconnect, useLiveTurns } from '../live.js';
import { usePaged } from '../paged.js';
import { Link, navigate, useLocation } from '../router.js';
import { inRange, type TimeRange } from '../time-range.js';
import { useRangeQuery, useTimeRange } from '../use-time-range.js';
import { VirtualTable, type Column } from '../vtable.js';

/** Filters kept in the address, with the API's parameter names (so a URL is also an API query). */
const FILTER_KEYS = ['agent', 'status', 'session', 'source', 'has_stalls', 'has_loops', 'q'] as const;
type FilterKey = (typeof FILTER_KEYS)[number];
/** Filters a live turn can be checked against here; any other makes the page ask the server. */
const LOCAL_KEYS: Record<Exclude<FilterKey, 'q'>, (t: AgentTurnRecord) => string> = {
  agent: (t) => t.agent,
  status: (t) => t.status,
  session: (t) => t.session_id,
  source: (t) => t.source,
  has_stalls: (t) => String(t.stalls.length > 0),
  has_loops: (t) => String(t.loops.length > 0),
};

const COLUMNS: Column<AgentTurnRecord>[] = [
  { key: 'time', label: 'Started (UTC)', width: '130px', render: (t) => <Link to={turnPath(t.id)} title={time(t.start)}>{shortTime(t.start)}</Link> },
  { key: 'agent', label: 'Agent', width: '100px', render: (t) => <span className="mono">{t.agent}</span> },
  { key: 'session', label: 'Session', width: '96px', render: (t) => <SessionLink id={t.session_id} /> },
  { key: 'status', label: 'Status', width: '106px', render: (t) => <TurnStatusBadge status={t.status} /> },
  { key: 'calls', label: 'Calls', width: '50px', num: true, render: (t) => int(t.call_count) },
  { key: 'duration', label: 'Duration', width: '78px', num: true, render: (t) => ms(t.duration_ms) },
  { key: 'tokens', label: 'Tokens', width: '104px', num: true, render: (t) => tokensShort(t.usage) },
  // The user's words identify a turn best: before the columns a narrow window may scroll away.
  { key: 'request', label: 'User request', width: 'minmax(160px, 2fr)', render: (t) => <span className="preview">{t.user_preview ?? ''}</span> },
  { key: 'tools', label: 'Tools', width: '120px', render: (t) => (t.tools_used.length === 0 ? <span className="muted">–</span> : <span className="mono">{toolsSummary(t.tools_used)}</span>) },
  { key: 'flags', label: 'Flags', width: '138px', render: (t) => <TurnFlags turn={t} compact /> },
  { key: 'cost', label: 'Cost', width: '76px', num: true, render: (t) => cost(t.cost_usd) },
];

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
  navigate(`/turns${s ? `?${s}` : ''}`, true);
}

/** The "Flagged" choice: turns with stalls, or with loops (the API's has_stalls / has_loops). */
function setFlagged(search: URLSearchParams, choice: string): void {
  const next = new URLSearchParams(search);
  next.delete('has_stalls');
  next.delete('has_loops');
  if (choice === 'stalls') next.set('has_stalls', 'true');
  if (choice === 'loops') next.set('has_loops', 'true');
  const s = next.toString();
  navigate(`/turns${s ? `?${s}` : ''}`, true);
}

/** Whether a live turn belongs in the list; null when only the server can tell (text search). */
function matches(t: AgentTurnRecord, f: Partial<Record<FilterKey, string>>, range: TimeRange): boolean | null {
  // Turns are in the range by their start (docs/api.md, turn filters).
  const within = inRange(t.start, range);
  if (within === false) return false;
  if (f.q !== undefined || within === null) return null;
  for (const [k, get] of Object.entries(LOCAL_KEYS) as [Exclude<FilterKey, 'q'>, (t: AgentTurnRecord) => string][]) {
    const want = f[k];
    if (want !== undefined && get(t) !== want) return false;
  }
  return true;
}

export function TurnsPage() {
  const { search } = useLocation();
  const filters = filtersFrom(search);
  const filterKey = JSON.stringify(filters);
  // The global time range (sidebar) goes to the API with the page's own filters.
  const range = useTimeRange();
  const query = useRangeQuery(filters);
  // The agents seen on calls: the filter list the API already has (GET /filters).
  const values = useApi<FilterValues>('/filters', useRangeQuery());
  const paged = usePaged<AgentTurnRecord>('/turns', query);
  const [q, setQ] = useState(filters.q ?? '');
  const filtered = Object.keys(filters).length > 0;

  const { upsert, refreshHead, items } = paged;
  useLiveTurns(
    useCallback(
      (turn: AgentTurnRecord) => {
        const f = JSON.parse(filterKey) as Partial<Record<FilterKey, string>>;
        const shown = items.some((t) => t.id === turn.id);
        const m = matches(turn, f, range);
        // A turn already in the list changes in place (more calls, then its end); a new one goes
        // on top when it matches; with a text search only the server knows, so ask it.
        if (shown || m === true) upsert([turn]);
        else if (m === null) refreshHead();
      },
      [filterKey, items, upsert, refreshHead, range],
    ),
  );
  // Turns that started or changed while the feed was down are not replayed: refetch the top.
  useLiveReconnect(refreshHead);

  const submitSearch = (e: FormEvent): void => {
    e.preventDefault();
    setFilter(search, 'q', q.trim());
  };

  const agents = values.data?.agent ?? [];
  const agentChoices = filters.agent !== undefined && !agents.some((a) => a.value === filters.agent) ? [{ value: filters.agent, count: undefined }, ...agents] : agents;
  return (
    <div className="page page-fill">
      <PageHeader title="Agent turns">
        <Link to="/sessions">sessions →</Link>
      </PageHeader>
      <div className="filters" data-testid="filters">
        <label className="filter">
          <span>Agent</span>
          <select name="agent" value={filters.agent ?? ''} onChange={(e) => setFilter(search, 'agent', e.target.value)}>
            <option value="">all</option>
            {agentChoices.map((c) => (
              <option key={c.value} value={c.value}>
                {c.value}
                {c.count !== undefined ? ` (${c.count} calls)` : ''}
              </option>
            ))}
          </select>
        </label>
        <label className="filter">
          <span>Status</span>
          <select name="status" value={filters.status ?? ''} onChange={(e) => setFilter(search, 'status', e.target.value)}>
            <option value="">all</option>
            {TURN_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
        <label className="filter">
          <span>Flagged</span>
          <select name="flagged" value={filters.has_stalls === 'true' ? 'stalls' : filters.has_loops === 'true' ? 'loops' : ''} onChange={(e) => setFlagged(search, e.target.value)}>
            <option value="">any</option>
            <option value="stalls">with stalls</option>
            <option value="loops">with loops</option>
          </select>
        </label>
        <SessionFilter value={filters.session ?? ''} search={search} />
        <form className="filter search" onSubmit={submitSearch}>
          <span>Search requests and answers</span>
          <input type="search" name="q" placeholder="text in the user request or final answer" value={q} onChange={(e) => setQ(e.target.value)} />
        </form>
        {filtered && (
          <button
            type="button"
            className="btn btn-link"
            onClick={() => {
              setQ('');
              navigate('/turns', true);
            }}
          >
            clear filters
          </button>
        )}
      </div>
      {paged.error && <ErrorBox error={paged.error} />}
      <VirtualTable
        testId="turns-table"
        rows={items}
        columns={COLUMNS}
        rowKey={(t) => t.id}
        onEndReached={paged.hasMore ? paged.loadMore : undefined}
        rowClass={(t) => (t.stalls.length > 0 || t.loops.length > 0 ? 'row-warn' : t.status === 'in_progress' ? 'row-live' : '')}
        onRowClick={(t) => navigate(turnPath(t.id))}
        footer={<PagedFooter paged={paged} count={items.length} noun="turns" testId="turns-count" empty={`No turns${filtered ? ' match' : ' yet: turns come from agents (Claude Code, Codex, …) recognised in the traffic'}.`} />}
      />
    </div>
  );
}

/** A session id typed or pasted (sessions have too many ids for a list). */
function SessionFilter({ value, search }: { value: string; search: URLSearchParams }) {
  const [text, setText] = useState(value);
  return (
    <form
      className="filter"
      onSubmit={(e) => {
        e.preventDefault();
        setFilter(search, 'session', text.trim());
      }}
    >
      <span>Session</span>
      <input type="search" name="session" placeholder="session id" value={text} onChange={(e) => setText(e.target.value)} />
    </form>
  );
}
