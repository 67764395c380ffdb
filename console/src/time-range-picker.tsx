/**
 * The range picker in the sidebar: presets counted back from the newest stored call (llmtap
 * replays old captures, so the wall clock says nothing about the data) and a custom from/to in
 * UTC. The range is written to the address (time-range.ts); pages read it from there.
 */
import { useState, type FormEvent } from 'react';
import { apiGet, type CallListItem, type Page } from './api.js';
import { navigate, useLocation } from './router.js';
import { PRESETS, normalizeTime, presetFrom, rangeOf, showTime } from './time-range.js';

function go(path: string, search: URLSearchParams, set: Record<'from' | 'to' | 'range', string | null>): void {
  const next = new URLSearchParams(search);
  for (const [k, v] of Object.entries(set)) {
    if (v === null) next.delete(k);
    else next.set(k, v);
  }
  const s = next.toString();
  navigate(`${path}${s ? `?${s}` : ''}`, false, false);
}

/** The newest call's request start: the first item of /calls (newest first) with limit=1. */
async function newestCall(): Promise<string | null> {
  const page = await apiGet<Page<CallListItem>>('/calls', { limit: 1 });
  return page.items[0]?.timing.request_start ?? null;
}

export function TimeRangePicker() {
  const { path, search } = useLocation();
  const range = rangeOf(search);
  const current = range.preset ?? (range.from !== null || range.to !== null ? 'custom' : 'all');
  const [editing, setEditing] = useState(false);
  const [fromText, setFromText] = useState('');
  const [toText, setToText] = useState('');
  const [problem, setProblem] = useState<string | null>(null);

  const choose = (key: string): void => {
    setProblem(null);
    if (key === 'custom') {
      setFromText(range.from === null ? '' : showTime(range.from));
      setToText(range.to === null ? '' : showTime(range.to));
      setEditing(true);
      return;
    }
    setEditing(false);
    const preset = PRESETS.find((p) => p.key === key);
    if (preset === undefined || preset.ms === null) {
      go(path, search, { from: null, to: null, range: null });
      return;
    }
    const span = preset.ms;
    newestCall().then(
      (newest) => {
        if (newest === null) setProblem('no calls stored yet');
        else go(path, search, { from: presetFrom(newest, span), to: null, range: key });
      },
      (err: unknown) => setProblem(err instanceof Error ? err.message : String(err)),
    );
  };

  const apply = (e: FormEvent): void => {
    e.preventDefault();
    const from = fromText.trim() === '' ? null : normalizeTime(fromText);
    const to = toText.trim() === '' ? null : normalizeTime(toText);
    if (from === null && fromText.trim() !== '') return setProblem('from: not a time (YYYY-MM-DD HH:MM:SS, UTC)');
    if (to === null && toText.trim() !== '') return setProblem('to: not a time (YYYY-MM-DD HH:MM:SS, UTC)');
    setProblem(null);
    setEditing(false);
    go(path, search, { from, to, range: null });
  };

  return (
    <div className="range-picker" data-testid="time-range">
      <label className="range-label">
        <span>Time range</span>
        <select name="time-range" value={editing ? 'custom' : current} onChange={(e) => choose(e.target.value)}>
          {PRESETS.map((p) => (
            <option key={p.key} value={p.key}>
              {p.label}
            </option>
          ))}
          <option value="custom">custom…</option>
        </select>
      </label>
      {editing && (
        <form className="range-custom" onSubmit={apply} data-testid="range-custom">
          <input name="range-from" placeholder="from (UTC)" value={fromText} onChange={(e) => setFromText(e.target.value)} aria-label="from (UTC)" />
          <input name="range-to" placeholder="to (UTC, exclusive)" value={toText} onChange={(e) => setToText(e.target.value)} aria-label="to (UTC)" />
          <div className="range-buttons">
            <button type="submit" className="btn">
              Apply
            </button>
            <button type="button" className="btn btn-link" onClick={() => setEditing(false)}>
              cancel
            </button>
          </div>
        </form>
      )}
      {problem !== null && (
        <div className="range-problem" role="alert">
          {problem}
        </div>
      )}
      <div className="range-note" data-testid="range-note">
        {range.from === null && range.to === null ? (
          'all stored data'
        ) : (
          <>
            <span data-testid="range-from">{range.from === null ? 'the start' : showTime(range.from)}</span>
            {' → '}
            <span data-testid="range-to">{range.to === null ? 'open end' : showTime(range.to)}</span> UTC
            {range.preset !== null && <span className="range-why"> · {PRESETS.find((p) => p.key === range.preset)?.label} before the newest call</span>}
          </>
        )}
      </div>
    </div>
  );
}
