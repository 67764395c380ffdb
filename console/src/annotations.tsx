/**
 * Scores on a call or a turn (issue 5 item 7): the list and a small form to add one. Posted as
 * JSON (src/api/routes/annotations.ts); label, comment and author are shown as text only.
 */
import { useState, type FormEvent } from 'react';
import { apiPost, type AnnotationRecord, type Page } from './api.js';
import { Empty, ErrorBox, Panel } from './components.js';
import { time } from './format.js';
import { useApi } from './hooks.js';

/** The server's name grammar (src/api/schemas.ts NAME), checked here too for a quick message. */
const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

export function Annotations({ kind, id }: { kind: 'call' | 'turn'; id: string }) {
  const list = useApi<Page<AnnotationRecord>>(`/${kind}s/${id}/annotations`, { limit: 100 });
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [comment, setComment] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const post = async (body: { name: string; value: number; comment?: string }): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await apiPost<AnnotationRecord>(`/${kind}s/${id}/annotations`, body);
      setName('');
      setValue('');
      setComment('');
      list.reload();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    const v = Number(value);
    if (!NAME.test(name.trim())) return setError('name: 1–64 characters of letters, digits, _ . : -');
    if (value.trim() === '' || !Number.isFinite(v)) return setError('value: a number');
    void post({ name: name.trim(), value: v, ...(comment.trim() !== '' ? { comment: comment.trim() } : {}) });
  };

  const items = list.data?.items ?? [];
  return (
    <Panel
      title={`Scores (${items.length})`}
      actions={
        <span className="thumbs">
          <button type="button" disabled={busy} onClick={() => void post({ name: 'thumbs_up', value: 1 })} data-testid="thumb-up" title="thumbs_up = 1">
            thumbs up
          </button>
          <button type="button" disabled={busy} onClick={() => void post({ name: 'thumbs_up', value: 0 })} data-testid="thumb-down" title="thumbs_up = 0">
            thumbs down
          </button>
        </span>
      }
    >
      {list.error && <ErrorBox error={list.error} />}
      {items.length === 0 && !list.error ? (
        <Empty>No scores yet.</Empty>
      ) : (
        <table className="table" data-testid="annotations">
          <thead>
            <tr>
              <th>Name</th>
              <th className="num">Value</th>
              <th>Label</th>
              <th>Comment</th>
              <th>Author</th>
              <th>Posted (UTC)</th>
            </tr>
          </thead>
          <tbody>
            {items.map((a) => (
              <tr key={a.id} data-name={a.name}>
                <td className="mono">{a.name}</td>
                <td className="num" data-col="value">{a.value}</td>
                <td>{a.label ?? '–'}</td>
                <td className="pre-wrap">{a.comment ?? '–'}</td>
                <td>{a.author ?? '–'}</td>
                <td className="nowrap">{time(a.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="annotation-form" onSubmit={submit} data-testid="annotation-form">
        <input aria-label="score name" placeholder="name (e.g. helpfulness)" value={name} onChange={(e) => setName(e.target.value)} maxLength={64} />
        <input aria-label="score value" placeholder="value" inputMode="decimal" value={value} onChange={(e) => setValue(e.target.value)} />
        <input aria-label="comment" placeholder="comment (optional)" value={comment} onChange={(e) => setComment(e.target.value)} maxLength={2000} />
        <button type="submit" disabled={busy}>
          Add score
        </button>
      </form>
      {error && <div className="form-error" role="alert">{error}</div>}
    </Panel>
  );
}
