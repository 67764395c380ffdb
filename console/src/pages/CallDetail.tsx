import { useState, type ReactNode } from 'react';
import type { CallDetail, LlmCallRecord } from '../api.js';
import { SessionLink, turnPath } from '../agent-ui.js';
import { Annotations } from '../annotations.js';
import { Empty, ErrorBox, Facts, Loading, PageHeader, Panel, StatusBadge, Tag } from '../components.js';
import { outputMessage, parseConversation, type Message, type Part } from '../conversation.js';
import { int, ms, short, time } from '../format.js';
import { useApi } from '../hooks.js';
import { RawExchange } from '../raw.js';
import { Link } from '../router.js';
import { Waterfall } from '../waterfall.js';

/** Characters of one message part shown before "more": agent prompts carry whole files. */
const PART_SHOWN = 4_000;

function Clipped({ text, className }: { text: string; className: string }) {
  const [open, setOpen] = useState(false);
  const cut = !open && text.length > PART_SHOWN;
  return (
    <>
      <div className={className}>{cut ? `${text.slice(0, PART_SHOWN)}…` : text}</div>
      {cut && (
        <button type="button" className="btn btn-link" onClick={() => setOpen(true)}>
          show all {int(text.length)} characters
        </button>
      )}
    </>
  );
}

function PartView({ part }: { part: Part }) {
  switch (part.kind) {
    case 'text':
      return <Clipped text={part.text} className="msg-text" />;
    case 'reasoning':
      return (
        <div className="part reasoning">
          <div className="part-label">reasoning</div>
          <Clipped text={part.text} className="msg-text" />
        </div>
      );
    case 'tool_call':
      return (
        <div className="part tool-call" data-tool={part.name}>
          <div className="part-label">
            tool call <b className="mono">{part.name}</b> {part.id && <span className="muted mono">{part.id}</span>}
          </div>
          <Clipped text={prettyArgs(part.args)} className="code small" />
        </div>
      );
    case 'tool_result':
      return (
        <div className={`part tool-result${part.isError ? ' is-error' : ''}`}>
          <div className="part-label">
            tool result {part.name && <b className="mono">{part.name}</b>} {part.id && <span className="muted mono">{part.id}</span>}
            {part.isError && <Tag tone="err">error</Tag>}
          </div>
          <Clipped text={part.text} className="code small" />
        </div>
      );
    case 'media':
      return <div className="muted">{part.text}</div>;
  }
}

function prettyArgs(args: string): string {
  try {
    return JSON.stringify(JSON.parse(args), null, 2);
  } catch {
    return args;
  }
}

function MessageView({ m, generated }: { m: Message; generated?: boolean }) {
  return (
    <div className={`msg role-${m.role}${generated ? ' generated' : ''}`} data-role={m.role}>
      <div className="msg-role">
        {m.role}
        {generated && <Tag tone="live">generated</Tag>}
      </div>
      <div className="msg-body">
        {m.parts.map((p, i) => (
          <PartView key={i} part={p} />
        ))}
      </div>
    </div>
  );
}

function Conversation({ call, requestBody }: { call: LlmCallRecord; requestBody: string | null }) {
  const msgs = parseConversation(call.api, requestBody);
  const out = outputMessage(call.content, call.tool_calls);
  return (
    <Panel title="Conversation" className="conversation">
      <div data-testid="conversation">
        {msgs === null ? (
          <Empty>The request body is not available as whole JSON (not captured, truncated or expired); see the raw request below.</Empty>
        ) : (
          msgs.map((m, i) => <MessageView key={i} m={m} />)
        )}
        {call.error && (
          <div className="msg role-error">
            <div className="msg-role">error</div>
            <div className="msg-body">
              <b className="mono">{call.error.type}</b>: <span className="msg-text">{call.error.message}</span>
            </div>
          </div>
        )}
        {out ? <MessageView m={out} generated /> : !call.error && <Empty>No generated output.</Empty>}
      </div>
    </Panel>
  );
}

function Usage({ call }: { call: LlmCallRecord }) {
  const u = call.usage;
  return (
    <Facts
      rows={[
        ['Input tokens', <span data-testid="usage-input">{int(u.input_tokens)}</span>],
        ['Output tokens', <span data-testid="usage-output">{int(u.output_tokens)}</span>],
        ['Cache read / write', `${int(u.cache_read_tokens)} / ${int(u.cache_write_tokens)}`],
        ['Reasoning tokens', int(u.reasoning_tokens)],
        ['Counted by', u.estimated ? 'estimated (tokenizer)' : 'the provider'],
        ['Cost', call.cost_usd === null ? call.cost_status : `$${call.cost_usd.toFixed(6)}`],
      ]}
    />
  );
}

/** Agent, session and turn of a call an agent profile recognised, each linking to its page. */
function agentFacts(call: LlmCallRecord): [string, ReactNode][] {
  if (call.agent === null && call.session_id === null && call.turn_id === null) return [];
  const rows: [string, ReactNode][] = [['Agent', <span className="mono" data-testid="call-agent">{call.agent ?? '–'}{call.agent_role ? ` (${call.agent_role})` : ''}</span>]];
  if (call.session_id !== null) rows.push(['Session', <span data-testid="call-session"><SessionLink id={call.session_id} full /></span>]);
  if (call.turn_id !== null) rows.push(['Turn', <Link to={turnPath(call.turn_id)} className="mono" data-testid="call-turn">{call.turn_id}</Link>]);
  return rows;
}

export function CallDetailPage({ id }: { id: string }) {
  const r = useApi<CallDetail>(`/calls/${id}`);
  if (r.error) {
    return (
      <div className="page">
        <PageHeader title="Call" />
        <ErrorBox error={r.error} />
      </div>
    );
  }
  if (!r.data) return <Loading />;
  const { call, exchange } = r.data;
  const model = call.response_model ?? call.request_model;
  return (
    <div className="page">
      <PageHeader title={`Call · ${model ?? call.api}`}>
        <Link to="/calls">← calls</Link>
      </PageHeader>
      <div className="detail-top">
        <Panel title="Call">
          <Facts
            rows={[
              ['Id', <span className="mono" data-testid="call-id">{call.id}</span>],
              ['Provider · API', `${call.provider} · ${call.api} (${call.operation})`],
              ['Model', <span className="mono" data-testid="call-model">{model ?? '–'}</span>],
              ['Requested model', call.request_model ?? '–'],
              ['Status', <span data-testid="call-status"><StatusBadge code={call.status_code} error={call.error !== null} /></span>],
              ['Finish', `${call.finish_reason ?? '–'}${call.finish_reason_raw ? ` (${call.finish_reason_raw})` : ''}`],
              ['Streamed', call.stream ? 'yes' : 'no'],
              ['Started', `${time(call.timing.request_start)} UTC`],
              ['Client → server', `${call.client.ip}:${call.client.port} → ${call.server.host ?? call.server.ip}`],
              // Only sources that know the calling process (eBPF) set it; captured traffic cannot.
              ...(call.process
                ? ([
                    [
                      'Process',
                      <span className="mono" data-testid="call-process">
                        {`${call.process.comm} [pid ${call.process.pid}]`}
                        {call.process.exe ? ` ${call.process.exe}` : ''}
                      </span>,
                    ],
                  ] as [string, ReactNode][])
                : []),
              ['User agent', call.user_agent ?? '–'],
              ...agentFacts(call),
              ['Key fingerprint', call.api_key_fingerprint ?? '–'],
              ['Tools offered', call.tools_offered.length > 0 ? call.tools_offered.join(', ') : '–'],
              ...(call.anomalies.length > 0 ? ([['Anomalies', call.anomalies.join(', ')]] as [string, string][]) : []),
            ]}
          />
        </Panel>
        <div className="detail-side">
          <Panel title="Timing">
            <div className="timing-nums">
              <span>TTFB <b>{ms(call.ttfb_ms)}</b></span>
              <span>TTFT <b data-testid="call-ttft">{ms(call.ttft_ms)}</b></span>
              <span>TPOT <b>{ms(call.tpot_ms)}</b></span>
              <span>E2E <b>{ms(call.e2e_ms)}</b></span>
              <span>tok/s <b>{short(call.output_tokens_per_second)}</b></span>
            </div>
            <Waterfall timing={call.timing} />
          </Panel>
          <Panel title="Usage">
            <Usage call={call} />
          </Panel>
        </div>
      </div>
      <Annotations kind="call" id={call.id} />
      <Conversation call={call} requestBody={exchange?.request_body ?? null} />
      {exchange ? <RawExchange ex={exchange} /> : <Empty>The raw exchange was not stored.</Empty>}
    </div>
  );
}
