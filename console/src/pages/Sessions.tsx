import { useCallback, useRef } from 'react';
import type { AgentTurnRecord, FilterValues, SessionDetail, SessionSummary } from '../api.js';
import { SessionLink, TurnFlags, TurnStatusBadge, cost, sessionPath, tokens, tokensShort, toolsSummary, turnPath } from '../agent-ui.js';
import { Empty, ErrorBox, Facts, Loading, PagedFooter, PageHeader, Panel } from '../components.js';
import { int, ms, shortTime, time } from '../format.js';
import { useApi } from '../hooks.js';
import { useLiveTurns } from '../live.js';
import { usePagedBy } from '../paged.js';
import { Link, navigate, useLocation } from '../router.js';
import { SessionTimeline } from '../session-timeline.js';
import { useRangeQuery } from '../use-time-range.js';
import { VirtualTable, type Column } from '../vtable.js';

const COLUMNS: Column<SessionSummary>[] = [
  { key: 'time', label: 'Started (UTC)', width: '130px', render: (s) => <Link to={sessionPath(s.session_id)} title={time(s.start)}>{shortTime(s.start)}</Link> },
  { key: 'end', label: 'Last activity', width: '120px', render: (s) => <span title={time(s.end)}>{shortTime(s.end)}</span> },
  { key: 'agent', label: 'Agent', width: '100px', render: (s) => <span className="mono">{s.agent}</span> },
  { key: 'session', label: 'Session', width: '130px', render: (s) => <SessionLink id={s.session_id} /> },
  { key: 'turns', label: 'Turns', width: '56px', num: true, render: (s) => int(s.turn_count) },
  { key: 'calls', label: 'Calls', width: '56px', num: true, render: (s) => int(s.call_count) },
  { key: 'last', label: 'Last turn', width: '106px', render: (s) => <TurnStatusBadge status={s.last_status} /> },
  { key: 'tokens', label: 'Tokens', width: '104px', num: true, render: (s) => tokensShort(s.usage) },
  { key: 'request', label: 'First request', width: 'minmax(200px, 2fr)', render: (s) => <span className="preview">{s.first_user_preview ?? ''}</span> },
  { key: 'cost', label: 'Cost', width: '76px', num: true, render: (s) => cost(s.cost_usd) },
];

const sessionKey = (s: SessionSummary): string => s.session_id;
/** Live turns arrive one per call; ask the server for the sessions' new sums at most this often. */
const REFRESH_MS = 1_000;

export function SessionsPage() {
  const { search } = useLocation();
  const agent = search.get('agent') ?? '';
  const query = useRangeQuery(agent ? { agent } : {});
  const values = useApi<FilterValues>('/filters', useRangeQuery());
  const paged = usePagedBy<SessionSummary>('/sessions', query, sessionKey);

  // A turn event changes its session's sums (and may start a session): refetch the first page,
  // throttled, rather than recompute sums here.
  const { refreshHead } = paged;
  const pending = useRef(false);
  useLiveTurns(
    useCallback(
      (t: AgentTurnRecord) => {
        if ((agent && t.agent !== agent) || pending.current) return;
        pending.current = true;
        setTimeout(() => {
          pending.current = false;
          refreshHead();
        }, REFRESH_MS);
      },
      [agent, refreshHead],
    ),
  );

  return (
    <div className="page page-fill">
      <PageHeader title="Sessions">
        <Link to="/turns">turns →</Link>
      </PageHeader>
      <div className="filters">
        <label className="filter">
          <span>Agent</span>
          <select name="agent" value={agent} onChange={(e) => navigate(e.target.value ? `/sessions?agent=${encodeURIComponent(e.target.value)}` : '/sessions', true)}>
            <option value="">all</option>
            {agent !== '' && !(values.data?.agent ?? []).some((a) => a.value === agent) && <option value={agent}>{agent}</option>}
            {(values.data?.agent ?? []).map((a) => (
              <option key={a.value} value={a.value}>
                {a.value} ({a.count} calls)
              </option>
            ))}
          </select>
        </label>
      </div>
      {paged.error && <ErrorBox error={paged.error} />}
      <VirtualTable
        testId="sessions-table"
        rows={paged.items}
        columns={COLUMNS}
        rowKey={sessionKey}
        onEndReached={paged.hasMore ? paged.loadMore : undefined}
        onRowClick={(s) => navigate(sessionPath(s.session_id))}
        footer={<PagedFooter paged={paged} count={paged.items.length} noun="sessions" testId="sessions-count" empty={`No sessions${agent ? ' match' : ' yet'}.`} />}
      />
    </div>
  );
}

function TurnsTable({ turns }: { turns: AgentTurnRecord[] }) {
  return (
    <table className="table" data-testid="session-turns">
      <thead>
        <tr>
          <th className="num">#</th>
          <th>Started (UTC)</th>
          <th>Status</th>
          <th className="num">Calls</th>
          <th className="num">Duration</th>
          <th className="num">Tokens</th>
          <th className="num">Cost</th>
          <th>Tools</th>
          <th>Flags</th>
          <th>User request</th>
        </tr>
      </thead>
      <tbody>
        {turns.map((t, i) => (
          <tr key={t.id} data-turn-id={t.id}>
            <td className="num">{i + 1}</td>
            <td className="nowrap">
              <Link to={turnPath(t.id)}>{time(t.start)}</Link>
            </td>
            <td>
              <TurnStatusBadge status={t.status} />
            </td>
            <td className="num" data-col="calls">{int(t.call_count)}</td>
            <td className="num">{ms(t.duration_ms)}</td>
            <td className="num">{tokens(t.usage)}</td>
            <td className="num">{cost(t.cost_usd)}</td>
            <td className="mono">{toolsSummary(t.tools_used) || <span className="muted">–</span>}</td>
            <td>
              <TurnFlags turn={t} />
            </td>
            <td className="message-cell preview">{t.user_preview ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function SessionDetailPage({ id }: { id: string }) {
  const r = useApi<SessionDetail>(`/sessions/${encodeURIComponent(id)}`);
  const { reload } = r;
  useLiveTurns(
    useCallback(
      (t: AgentTurnRecord) => {
        if (t.session_id === id) reload();
      },
      [id, reload],
    ),
  );
  if (r.error) {
    return (
      <div className="page">
        <PageHeader title="Session" />
        <ErrorBox error={r.error} />
      </div>
    );
  }
  if (!r.data) return <Loading />;
  const { session, turns, turns_truncated: truncated } = r.data;
  return (
    <div className="page">
      <PageHeader title={`Session · ${session.agent}`}>
        <Link to={`/turns?session=${encodeURIComponent(session.session_id)}`}>its turns in the list</Link>
        <Link to="/sessions">← sessions</Link>
      </PageHeader>
      <Panel title="Session">
        <Facts
          rows={[
            ['Id', <span className="mono" data-testid="session-id">{session.session_id}</span>],
            ['Agent', <span className="mono">{session.agent}</span>],
            ['Source', session.source],
            ['Started', `${time(session.start)} UTC`],
            ['Last activity', `${time(session.end)} UTC`],
            ['Turns · calls', <span data-testid="session-counts">{`${int(session.turn_count)} · ${int(session.call_count)}`}</span>],
            ['Tokens', tokens(session.usage)],
            ['Cost', cost(session.cost_usd)],
          ]}
        />
      </Panel>
      <Panel title="Turns on one time axis">{turns.length === 0 ? <Empty>No turns.</Empty> : <SessionTimeline turns={turns} />}</Panel>
      <Panel title={`Turns (${turns.length})`}>
        {truncated && (
          <div className="muted">
            The first {int(turns.length)} of {int(session.turn_count)} turns; <Link to={`/turns?session=${encodeURIComponent(session.session_id)}`}>all of them in the turns list</Link>.
          </div>
        )}
        <TurnsTable turns={turns} />
      </Panel>
    </div>
  );
}
