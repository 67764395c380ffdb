import { useEffect, useState, type FormEvent } from 'react';
import { onUnauthorized, saveToken } from './api.js';
import { useLiveConnected } from './live.js';
import { Link, useLocation } from './router.js';
import { AlertsPage } from './pages/Alerts.js';
import { CallDetailPage } from './pages/CallDetail.js';
import { CallsPage } from './pages/Calls.js';
import { CostsPage } from './pages/Costs.js';
import { ErrorsPage } from './pages/Errors.js';
import { ExchangeDetailPage, ExchangesPage } from './pages/Exchanges.js';
import { HealthPage } from './pages/Health.js';
import { ModelsPage } from './pages/Models.js';
import { OverviewPage } from './pages/Overview.js';
import { PerformancePage } from './pages/Performance.js';
import { SessionDetailPage, SessionsPage } from './pages/Sessions.js';
import { TurnDetailPage } from './pages/TurnDetail.js';
import { TurnsPage } from './pages/Turns.js';
import { TrafficPage } from './pages/Traffic.js';
import { TimeRangePicker } from './time-range-picker.js';

interface NavItem {
  to: string;
  label: string;
  /** Planned pages (DESIGN §6) whose data comes with later issues. */
  coming?: boolean;
}

const NAV: { group: string; items: NavItem[] }[] = [
  {
    group: 'Monitor',
    items: [
      { to: '/', label: 'Overview' },
      { to: '/performance', label: 'Performance' },
      { to: '/traffic', label: 'Traffic' },
      { to: '/models', label: 'Models' },
      { to: '/errors', label: 'Errors' },
    ],
  },
  {
    group: 'Inspect',
    items: [
      { to: '/calls', label: 'Calls' },
      { to: '/turns', label: 'Agent turns' },
      { to: '/sessions', label: 'Sessions' },
      { to: '/exchanges', label: 'HTTP exchanges' },
    ],
  },
  {
    group: 'Manage',
    items: [
      { to: '/costs', label: 'Costs' },
      { to: '/alerts', label: 'Alerts' },
      { to: '/health', label: 'Pipeline health' },
    ],
  },
];

/** A path segment as typed or linked; null when its %-escapes are broken (then: not found). */
function decoded(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function route(path: string) {
  const call = /^\/calls\/([0-9a-fA-F-]{36})$/.exec(path);
  if (call) return <CallDetailPage id={call[1]!} />;
  const turn = /^\/turns\/([0-9a-fA-F-]{36})$/.exec(path);
  if (turn) return <TurnDetailPage id={turn[1]!} />;
  const session = /^\/sessions\/([^/]+)$/.exec(path);
  if (session) {
    const id = decoded(session[1]!);
    if (id !== null) return <SessionDetailPage id={id} />;
  }
  const ex = /^\/exchanges\/([0-9a-fA-F-]{36})$/.exec(path);
  if (ex) return <ExchangeDetailPage id={ex[1]!} />;
  switch (path) {
    case '/':
      return <OverviewPage />;
    case '/performance':
      return <PerformancePage />;
    case '/traffic':
      return <TrafficPage />;
    case '/models':
      return <ModelsPage />;
    case '/errors':
      return <ErrorsPage />;
    case '/calls':
      return <CallsPage />;
    case '/turns':
      return <TurnsPage />;
    case '/sessions':
      return <SessionsPage />;
    case '/exchanges':
      return <ExchangesPage />;
    case '/health':
      return <HealthPage />;
    case '/costs':
      return <CostsPage />;
    case '/alerts':
      return <AlertsPage />;
    default:
      return (
        <div className="not-found">
          <h1>Not found</h1>
          <p>
            There is no page at <code>{path}</code>. <Link to="/">Back to the overview</Link>
          </p>
        </div>
      );
  }
}

function isActive(item: NavItem, path: string): boolean {
  return item.to === '/' ? path === '/' : path === item.to || path.startsWith(`${item.to}/`);
}

function TokenPrompt() {
  const [token, setToken] = useState('');
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    if (token.trim() === '') return;
    saveToken(token.trim());
    window.location.reload();
  };
  return (
    <div className="token-prompt">
      <form onSubmit={submit} className="token-form">
        <h1>Access token required</h1>
        <p>This llmtap server asks for its access token (printed by the command that started it).</p>
        <input type="password" autoFocus placeholder="token" value={token} onChange={(e) => setToken(e.target.value)} aria-label="access token" />
        <button type="submit">Continue</button>
      </form>
    </div>
  );
}

export function App() {
  const { path } = useLocation();
  const [needToken, setNeedToken] = useState(false);
  const live = useLiveConnected();
  useEffect(() => onUnauthorized(() => setNeedToken(true)), []);
  useEffect(() => {
    const label = NAV.flatMap((g) => g.items).find((i) => isActive(i, path))?.label;
    document.title = label ? `${label} · llmtap` : 'llmtap';
  }, [path]);

  if (needToken) return <TokenPrompt />;
  return (
    <div className="layout">
      <nav className="sidebar" aria-label="main">
        <Link to="/" className="brand">
          <span className="brand-mark">◆</span> llmtap
        </Link>
        <TimeRangePicker />
        {NAV.map((g) => (
          <div key={g.group} className="nav-group">
            <div className="nav-group-title">{g.group}</div>
            {g.items.map((item) =>
              item.coming ? (
                <span key={item.to} className="nav-item disabled" aria-disabled="true" title="coming in a later release">
                  {item.label} <span className="soon">coming</span>
                </span>
              ) : (
                <Link key={item.to} to={item.to} className={`nav-item${isActive(item, path) ? ' active' : ''}`} aria-current={isActive(item, path) ? 'page' : undefined}>
                  {item.label}
                </Link>
              ),
            )}
          </div>
        ))}
        <div className="sidebar-foot">
          <span className={`dot ${live ? 'dot-on' : 'dot-off'}`} /> {live ? 'live feed connected' : 'live feed offline'}
        </div>
      </nav>
      <main className="content">{route(path)}</main>
    </div>
  );
}
