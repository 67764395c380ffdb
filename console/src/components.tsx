import type { ReactNode } from 'react';
import { int, statusClass } from './format.js';
import type { Paged } from './paged.js';

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

/** The footer of a paged list: how many rows are shown, loading, "Load more", and what an empty
 * list means (`empty`, shown once loading is over and nothing failed). */
export function PagedFooter({
  paged,
  count,
  noun,
  testId,
  empty,
}: {
  paged: Pick<Paged<unknown>, 'loading' | 'hasMore' | 'loadMore' | 'error'>;
  count: number;
  noun: string;
  testId?: string;
  empty?: string;
}) {
  return (
    <>
      <span data-testid={testId}>
        {int(count)} {noun} shown{paged.hasMore ? ', more available' : ''}
      </span>
      {paged.loading && <Tag>loading…</Tag>}
      {paged.hasMore && !paged.loading && (
        <button type="button" className="btn" onClick={paged.loadMore}>
          Load more
        </button>
      )}
      {empty !== undefined && !paged.loading && count === 0 && !paged.error && <span className="muted">{empty}</span>}
    </>
  );
}

