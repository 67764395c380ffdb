import type { ReactNode } from 'react';
import { statusClass } from './format.js';

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <header className="page-header">
      <h1>{title}</h1>
      <div className="page-tools">{children}</div>
    </header>
  );
}

export function Card({ label, value, sub, testId, tone }: { label: string; value: string; sub?: string; testId?: string; tone?: 'err' | 'ok' }) {
  return (
    <div className={`card${tone ? ` tone-${tone}` : ''}`} data-testid={testId}>
      <div className="card-label">{label}</div>
      <div className="card-value" data-testid={testId ? `${testId}-value` : undefined}>
        {value}
      </div>
      {sub !== undefined && <div className="card-sub">{sub}</div>}
    </div>
  );
}

export function Panel({ title, children, actions, className }: { title?: string; children: ReactNode; actions?: ReactNode; className?: string }) {
  return (
    <section className={`panel${className ? ` ${className}` : ''}`}>
      {(title !== undefined || actions !== undefined) && (
        <div className="panel-head">
          {title !== undefined && <h2>{title}</h2>}
          {actions}
        </div>
      )}
      <div className="panel-body">{children}</div>
    </section>
  );
}

export function Loading() {
  return <div className="loading">Loading…</div>;
}

export function ErrorBox({ error }: { error: string }) {
  return (
    <div className="error-box" role="alert">
      {error}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function StatusBadge({ code, error }: { code: number | null; error?: boolean }) {
  const cls = statusClass(code, error === true);
  return <span className={`badge status-${cls}`}>{code === null ? 'none' : code}</span>;
}

export function Tag({ children, tone }: { children: ReactNode; tone?: string }) {
  return <span className={`tag${tone ? ` tag-${tone}` : ''}`}>{children}</span>;
}

/** A two-column list of facts. */
export function Facts({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="facts">
      {rows.map(([k, v]) => (
        <div key={k} className="fact">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
