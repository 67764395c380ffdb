/**
 * The raw exchange as captured: headers, bodies and every streamed event with its time offset.
 * Everything here is captured content, so it is only ever rendered as text nodes.
 */
import { useState } from 'react';
import type { StoredEvent, StoredExchange } from './api.js';
import { Facts, Panel, StatusBadge, Tag } from './components.js';
import { bytes, epochMs, int, ms, time } from './format.js';

/** Events listed before "show all": long streams hold thousands (STORE_CAPS.eventsHead is 16,000). */
const EVENTS_SHOWN = 300;
/** Characters of a body shown before "show all": a 256 KiB prompt as one <pre> is slow to lay out. */
const BODY_SHOWN = 60_000;

function pretty(body: string): string {
  const t = body.trimStart();
  if (!(t.startsWith('{') || t.startsWith('['))) return body;
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

function Headers({ headers }: { headers: [string, string][] }) {
  if (headers.length === 0) return <div className="muted">no headers</div>;
  return (
    <table className="table headers">
      <tbody>
        {headers.map(([k, v], i) => (
          <tr key={i}>
            <td className="mono hname">{k}</td>
            <td className="mono hval">{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Body({ text, size, truncated, expired, testId }: { text: string | null; size: number; truncated: boolean; expired: boolean; testId: string }) {
  const [all, setAll] = useState(false);
  if (expired) return <div className="muted">Body dropped by retention.</div>;
  if (text === null || text === '') return <div className="muted">no body</div>;
  const shown = pretty(text);
  const cut = !all && shown.length > BODY_SHOWN;
  return (
    <div>
      <div className="body-meta">
        {bytes(size)}
        {truncated && <Tag tone="warn">stored head + tail only</Tag>}
      </div>
      <pre className="code" data-testid={testId}>
        {cut ? shown.slice(0, BODY_SHOWN) : shown}
      </pre>
      {cut && (
        <button type="button" className="btn" onClick={() => setAll(true)}>
          show all {int(shown.length)} characters
        </button>
      )}
    </div>
  );
}

export function Events({ events, start, total, truncated }: { events: StoredEvent[]; start: string; total: number; truncated: boolean }) {
  const [all, setAll] = useState(false);
  const t0 = epochMs(start);
  const shown = all ? events : events.slice(0, EVENTS_SHOWN);
  return (
    <div>
      <div className="body-meta">
        {int(total)} events{truncated && <Tag tone="warn">middle events not stored</Tag>}
      </div>
      <table className="table events" data-testid="sse-events">
        <thead>
          <tr>
            <th className="num">#</th>
            <th className="num">+ time</th>
            <th>event</th>
            <th>data</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((e, i) => (
            <tr key={i}>
              <td className="num muted">{i}</td>
              <td className="num nowrap">{ms(epochMs(e.ts) - t0)}</td>
              <td className="mono nowrap">{e.event || <span className="muted">(none)</span>}</td>
              <td className="mono event-data">{e.data}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length < events.length && (
        <button type="button" className="btn" onClick={() => setAll(true)}>
          show all {int(events.length)} events
        </button>
      )}
    </div>
  );
}

export function RawExchange({ ex }: { ex: StoredExchange }) {
  return (
    <>
      <Panel title="Request" className="raw">
        <div className="request-line mono">
          {ex.method} {ex.server.host ?? ex.server.ip}
          {ex.target}
        </div>
        <Facts
          rows={[
            ['Client → server', `${ex.client.ip}:${ex.client.port} → ${ex.server.ip}:${ex.server.port}`],
            ['Connection', ex.connection_id],
            ['Sent', `${time(ex.request_start)} → ${time(ex.request_end)} · ${bytes(ex.request_bytes)} on the wire`],
          ]}
        />
        <h3>Headers</h3>
        <Headers headers={ex.request_headers} />
        <h3>Body</h3>
        <Body text={ex.request_body} size={ex.request_body_size} truncated={ex.request_body_truncated} expired={ex.bodies_expired} testId="request-body" />
      </Panel>
      <Panel title="Response" className="raw">
        <div className="request-line">
          {ex.status_code === null ? <span className="muted">no response</span> : <StatusBadge code={ex.status_code} />}
          <span className="muted">
            {time(ex.response_start)} → {time(ex.response_end)} · {bytes(ex.response_bytes)} on the wire
          </span>
        </div>
        <h3>Headers</h3>
        <Headers headers={ex.response_headers} />
        {ex.response_events !== null ? (
          <>
            <h3>Events</h3>
            <Events events={ex.response_events} start={ex.request_start} total={ex.response_events_total} truncated={ex.response_events_truncated} />
          </>
        ) : (
          <>
            <h3>Body</h3>
            <Body text={ex.response_body} size={ex.response_body_size} truncated={ex.response_body_truncated} expired={ex.bodies_expired} testId="response-body" />
          </>
        )}
        {ex.anomalies.length > 0 && (
          <>
            <h3>Anomalies</h3>
            <div className="tags">
              {ex.anomalies.map((a) => (
                <Tag key={a} tone="warn">
                  {a}
                </Tag>
              ))}
            </div>
          </>
        )}
      </Panel>
    </>
  );
}
