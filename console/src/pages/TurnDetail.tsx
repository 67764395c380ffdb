import { useCallback, type ReactNode } from 'react';
import type { AgentTurnRecord, CallListItem, TurnDetail } from '../api.js';
import { SessionLink, TurnFlags, TurnStatusBadge, cost, toolsSummary } from '../agent-ui.js';
import { Annotations } from '../annotations.js';
import { Empty, ErrorBox, Facts, Loading, PageHeader, Panel, StatusBadge } from '../components.js';
import { epochMs, int, ms, time } from '../format.js';
import { useApi } from '../hooks.js';
import { useLiveTurns } from '../live.js';
import { Link } from '../router.js';
import { TurnTimeline } from '../turn-timeline.js';

/** The user's request and the agent's final answer: captured text, shown as text. */
function Previews({ turn }: { turn: AgentTurnRecord }) {
  return (
    <>
      <Panel title="User request">
        {turn.user_preview ? <div className="msg-text preview-box" data-testid="turn-user">{turn.user_preview}</div> : <Empty>Not seen.</Empty>}
      </Panel>
      <Panel title={`Final answer${turn.final_finish_reason ? ` · ${turn.final_finish_reason}` : ''}`}>
        {turn.final_preview ? (
          <div className="msg-text preview-box" data-testid="turn-final">{turn.final_preview}</div>
        ) : (
          <Empty>{turn.status === 'in_progress' ? 'The agent is still working.' : 'No final answer was seen.'}</Empty>
        )}
      </Panel>
    </>
  );
}

function CallsTable({ turn, calls }: { turn: AgentTurnRecord; calls: CallListItem[] }) {
  const byId = new Map(calls.map((c) => [c.id, c]));
  const t0 = epochMs(turn.start);
  return (
    <table className="table" data-testid="turn-calls">
      <thead>
        <tr>
          <th className="num">#</th>
          <th>Call</th>
          <th className="num">At</th>
          <th>Lane</th>
          <th>Model</th>
          <th>Status</th>
          <th>Finish</th>
          <th className="num">In</th>
          <th className="num">Out</th>
          <th className="num">E2E</th>
          <th>Tools called</th>
        </tr>
      </thead>
      <tbody>
        {turn.steps.map((s, i) => {
          const c = byId.get(s.call_id);
          return (
            <tr key={s.call_id} data-call-id={s.call_id}>
              <td className="num">{i + 1}</td>
              <td className="mono">
                <Link to={`/calls/${s.call_id}`}>{s.call_id.slice(0, 13)}…</Link>
              </td>
              <td className="num">+{ms(epochMs(s.request_start) - t0)}</td>
              <td>{s.subagent_id !== null ? <span className="mono">sub-agent {s.subagent_id}</span> : s.role}</td>
              <td className="mono">{s.model ?? '–'}</td>
              <td>
                <StatusBadge code={s.status_code} error={c?.error !== null && c?.error !== undefined} />
              </td>
              <td>{s.finish_reason ?? '–'}</td>
              <td className="num">{int(c?.usage.input_tokens)}</td>
              <td className="num">{int(c?.usage.output_tokens)}</td>
              <td className="num">{ms(c?.e2e_ms)}</td>
              <td className="mono">{s.tool_calls.length > 0 ? s.tool_calls.join(', ') : <span className="muted">–</span>}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Problems({ turn }: { turn: AgentTurnRecord }) {
  if (turn.stalls.length === 0 && turn.loops.length === 0) return null;
  const stepOf = new Map(turn.steps.map((s, i) => [s.call_id, i + 1]));
  return (
    <div className="grid-2">
      {turn.loops.length > 0 && (
        <Panel title="Loops">
          <table className="table" data-testid="turn-loops">
            <thead>
              <tr>
                <th>Tool</th>
                <th className="num">Times</th>
                <th>Arguments</th>
              </tr>
            </thead>
            <tbody>
              {turn.loops.map((l, i) => (
                <tr key={i} data-loop-tool={l.tool}>
                  <td className="mono">{l.tool}</td>
                  <td className="num">{int(l.count)}</td>
                  <td className="mono message-cell">{l.arguments_preview}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Panel>
      )}
      {turn.stalls.length > 0 && (
        <Panel title="Stalls">
          <table className="table" data-testid="turn-stalls">
            <thead>
              <tr>
                <th>After call</th>
                <th className="num">Gap</th>
              </tr>
            </thead>
            <tbody>
              {turn.stalls.map((s) => (
                <tr key={s.after_call_id}>
                  <td>
                    <Link to={`/calls/${s.after_call_id}`}>#{stepOf.get(s.after_call_id) ?? '?'}</Link>
                  </td>
                  <td className="num">{ms(s.gap_ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Panel>
      )}
    </div>
  );
}

export function TurnDetailPage({ id }: { id: string }) {
  const r = useApi<TurnDetail>(`/turns/${id}`);
  const { reload } = r;
  // While the turn runs, every turn event for it means new calls or its end: fetch it again.
  useLiveTurns(
    useCallback(
      (t: AgentTurnRecord) => {
        if (t.id === id) reload();
      },
      [id, reload],
    ),
  );
  if (r.error) {
    return (
      <div className="page">
        <PageHeader title="Turn" />
        <ErrorBox error={r.error} />
      </div>
    );
  }
  if (!r.data) return <Loading />;
  const { turn, calls } = r.data;
  return (
    <div className="page">
      <PageHeader title={`Turn · ${turn.agent}`}>
        <Link to={`/turns?session=${encodeURIComponent(turn.session_id)}`}>turns of this session</Link>
        <Link to="/turns">← turns</Link>
      </PageHeader>
      <div className="detail-top">
        <Panel title="Turn">
          <Facts
            rows={[
              ['Id', <span className="mono" data-testid="turn-id">{turn.id}</span>],
              ['Agent', <span className="mono" data-testid="turn-agent">{turn.agent}</span>],
              ['Session', <span data-testid="turn-session"><SessionLink id={turn.session_id} full /></span>],
              ['Status', <span data-testid="turn-status"><TurnStatusBadge status={turn.status} /> <TurnFlags turn={turn} /></span>],
              ['Started', `${time(turn.start)} UTC`],
              ['Duration', <span data-testid="turn-duration">{ms(turn.duration_ms)}</span>],
              ['Calls', <span data-testid="turn-calls-count">{int(turn.call_count)}</span>],
              ['Models', <span className="mono">{turn.models.join(', ') || '–'}</span>],
              ['Tokens', <span data-testid="turn-tokens">{`${int(turn.usage.input_tokens)} in / ${int(turn.usage.output_tokens)} out`}</span>],
              ['Cache read / write', `${int(turn.usage.cache_read_tokens)} / ${int(turn.usage.cache_write_tokens)}${turn.usage.estimated ? ' (some counts estimated)' : ''}`],
              ...(turn.usage.reasoning_tokens !== null ? ([['Reasoning tokens', int(turn.usage.reasoning_tokens)]] as [string, string][]) : []),
              ['Cost', <span data-testid="turn-cost">{cost(turn.cost_usd)}</span>],
              ['Tools', turn.tools_used.length > 0 ? <span className="mono">{toolsSummary(turn.tools_used)} ({int(turn.tool_call_count)} calls)</span> : '–'],
              ...(turn.subagents.length > 0
                ? ([['Sub-agents', <span className="mono">{turn.subagents.map((s) => `${s.id} (${s.call_count} calls)`).join(', ')}</span>]] as [string, ReactNode][])
                : []),
              ['Source', turn.source],
              ...(turn.anomalies.length > 0 ? ([['Anomalies', turn.anomalies.join(', ')]] as [string, string][]) : []),
            ]}
          />
        </Panel>
        <div className="detail-side">
          <Previews turn={turn} />
        </div>
      </div>
      <Annotations kind="turn" id={turn.id} />
      <Panel title="Timeline">
        {turn.steps.length === 0 ? <Empty>No calls yet.</Empty> : <TurnTimeline turn={turn} calls={calls} />}
      </Panel>
      <Problems turn={turn} />
      <Panel title={`Calls (${turn.steps.length})`}>
        <CallsTable turn={turn} calls={calls} />
      </Panel>
    </div>
  );
}
