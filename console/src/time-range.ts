/**
 * The console's global time range: `from` and `to` in the address, with the API's own names and
 * formats (docs/api.md "Conventions": ISO 8601 or epoch ms; `from` inclusive, `to` exclusive, on
 * `timing.request_start`, turn `start`, session activity). Every list and aggregate page passes
 * them to its API calls (use-time-range.ts), and in-app navigation carries them along
 * (router.tsx), so a link keeps the range. Pure functions here: the tests import them.
 *
 * llmtap replays old captures, so a preset ("last 1 h") counts back from the newest stored call,
 * not from the wall clock; the preset is resolved once, when chosen, into an absolute `from` with
 * an open end, so calls still arriving (a live capture) keep showing.
 */

export interface Preset {
  key: string;
  label: string;
  /** Span back from the newest call; null for "all". */
  ms: number | null;
}

const MIN = 60_000;
export const PRESETS: Preset[] = [
  { key: 'all', label: 'all time', ms: null },
  { key: '15m', label: 'last 15 min', ms: 15 * MIN },
  { key: '1h', label: 'last 1 h', ms: 60 * MIN },
  { key: '6h', label: 'last 6 h', ms: 360 * MIN },
  { key: '24h', label: 'last 24 h', ms: 1440 * MIN },
  { key: '7d', label: 'last 7 d', ms: 7 * 1440 * MIN },
];

export interface TimeRange {
  from: string | null;
  to: string | null;
  /** The preset it was made from (a label only, never sent to the API), or null for custom. */
  preset: string | null;
}

export function rangeOf(search: URLSearchParams): TimeRange {
  const get = (k: string): string | null => {
    const v = search.get(k);
    return v === null || v.trim() === '' ? null : v;
  };
  const preset = get('range');
  return { from: get('from'), to: get('to'), preset: PRESETS.some((p) => p.key === preset) ? preset : null };
}

/** The range as API query parameters (nothing when unset). */
export function rangeQuery(r: TimeRange): Record<string, string> {
  const q: Record<string, string> = {};
  if (r.from !== null) q['from'] = r.from;
  if (r.to !== null) q['to'] = r.to;
  return q;
}

/** What the API accepts (docs/api.md): ISO 8601 date, optional time with up to µs, optional
 * `Z` or `±hh:mm`; or integer epoch milliseconds. */
const ISO_RE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * A typed time as the API wants it: "2026-01-15 10:00" → "2026-01-15T10:00" (no zone: UTC, as
 * everywhere in the console). Null when the API would refuse it.
 */
export function normalizeTime(text: string): string | null {
  const t = text.trim().replace(/^(\d{4}-\d{2}-\d{2})[ T]/, '$1T');
  if (/^\d{1,15}$/.test(t)) return t;
  if (!ISO_RE.test(t)) return null;
  return Number.isNaN(timeMs(t)) ? null : t;
}

/** Epoch ms of an API time value (ISO without zone = UTC; integer = epoch ms); NaN when unreadable. */
export function timeMs(v: string): number {
  if (/^\d{1,15}$/.test(v)) return Number(v);
  let iso = v;
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += 'T00:00:00Z';
  else if (!/(?:Z|[+-]\d{2}:\d{2})$/.test(iso)) iso += 'Z';
  // Date.parse keeps ms; the µs digits matter only for the last thousandth of a ms.
  const m = /\.(\d{3})(\d{1,3})/.exec(iso);
  const base = Date.parse(iso.replace(/(\.\d{3})\d+/, '$1'));
  return m ? base + Number(m[2]!.padEnd(3, '0')) / 1000 : base;
}

/** Whether a record time falls in [from, to); null when a bound is unreadable (ask the server). */
export function inRange(iso: string, r: TimeRange): boolean | null {
  const t = timeMs(iso);
  const from = r.from === null ? -Infinity : timeMs(r.from);
  const to = r.to === null ? Infinity : timeMs(r.to);
  if (Number.isNaN(t) || Number.isNaN(from) || Number.isNaN(to)) return null;
  return t >= from && t < to;
}

/** ISO with µs ("2026-01-15T10:00:00.021000Z") of epoch microseconds, the API's own format. */
export function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  return `${new Date(ms).toISOString().slice(0, 23)}${String(us - ms * 1000).padStart(3, '0')}Z`;
}

/** The `from` of a preset: `span` ms before the newest call's request start. */
export function presetFrom(newestIso: string, span: number): string {
  // Whole µs: the API's resolution, and exact in a double (epoch µs < 2^53).
  return isoMicros(Math.round(timeMs(newestIso) * 1000) - span * 1000);
}

/** "2026-01-15T10:00:00.021000Z" → "2026-01-15 10:00:00.021" for the note under the picker. */
export function showTime(v: string): string {
  const ms = timeMs(v);
  if (Number.isNaN(ms)) return v;
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.000Z$|Z$/, '');
}
