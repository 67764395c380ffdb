import { useCallback, useEffect, useState } from 'react';
import { apiGetUrl, queryString, type Page, type Query } from './api.js';

export interface Paged<T> {
  items: T[];
  loading: boolean;
  error: string | null;
  hasMore: boolean;
  loadMore: () => void;
  /** Puts rows in front (live feed), skipping ids already shown. */
  prepend: (rows: T[]) => void;
  /** Replaces rows already shown in place (same key) and puts the others in front: a live turn
   * that grew or ended keeps its place in the list. */
  upsert: (rows: T[]) => void;
  /** Fetches the first page again and upserts it (what changed at the top, without losing the
   * pages already scrolled through). */
  refreshHead: () => void;
}

/** Page size: a few screenfuls; the API allows up to 500 (STORE_CAPS.pageMax). */
export const PAGE_SIZE = 100;

interface State<T> {
  key: string;
  items: T[];
  cursor: string | null;
  done: boolean;
  error: string | null;
  pending: boolean;
}

function pageUrl(key: string, cursor: string | null): string {
  const [path, qs = ''] = key.split('?', 2) as [string, string?];
  const p = new URLSearchParams(qs);
  p.set('limit', String(PAGE_SIZE));
  if (cursor !== null) p.set('cursor', cursor);
  return `${path}?${p.toString()}`;
}

function merge<T>(base: T[], more: T[], keyOf: (row: T) => string): T[] {
  const seen = new Set(base.map(keyOf));
  return [...base, ...more.filter((x) => !seen.has(keyOf(x)))];
}

function upserted<T>(base: T[], rows: T[], keyOf: (row: T) => string): T[] {
  const byKey = new Map(rows.map((r) => [keyOf(r), r]));
  let changed = false;
  const kept = base.map((x) => {
    const next = byKey.get(keyOf(x));
    if (next === undefined) return x;
    byKey.delete(keyOf(x));
    if (next !== x) changed = true;
    return next;
  });
  const fresh = rows.filter((r) => byKey.has(keyOf(r)));
  return fresh.length === 0 && !changed ? base : [...fresh, ...kept];
}

const byId = (row: { id: string }): string => row.id;

/** Cursor pagination over a list endpoint whose items have an `id`. */
export function usePaged<T extends { id: string }>(path: string, query: Query): Paged<T> {
  return usePagedBy<T>(path, query, byId);
}

/**
 * Cursor pagination over a list endpoint (newest first). Never fetches everything: one page at a
 * time, the next only when asked (the table asks when its last rows scroll into view).
 * `keyOf` names a row (sessions have no `id`); it must be a stable function.
 */
export function usePagedBy<T>(path: string, query: Query, keyOf: (row: T) => string): Paged<T> {
  const key = `${path}${queryString(query)}`;
  const [state, setState] = useState<State<T>>({ key: '', items: [], cursor: null, done: false, error: null, pending: false });

  useEffect(() => {
    const ctl = new AbortController();
    apiGetUrl<Page<T>>(pageUrl(key, null), ctl.signal).then(
      (page) => setState({ key, items: page.items, cursor: page.next_cursor, done: page.next_cursor === null, error: null, pending: false }),
      (err: unknown) => {
        if (!ctl.signal.aborted) setState({ key, items: [], cursor: null, done: true, error: err instanceof Error ? err.message : String(err), pending: false });
      },
    );
    return () => ctl.abort();
  }, [key]);

  const fresh = state.key === key;
  const canLoad = fresh && !state.pending && !state.done && state.cursor !== null;
  const cursor = state.cursor;

  const loadMore = useCallback(() => {
    if (!canLoad) return;
    setState((s) => ({ ...s, pending: true }));
    apiGetUrl<Page<T>>(pageUrl(key, cursor)).then(
      (page) =>
        setState((s) => (s.key !== key ? s : { ...s, items: merge(s.items, page.items, keyOf), cursor: page.next_cursor, done: page.next_cursor === null, pending: false })),
      (err: unknown) => setState((s) => (s.key !== key ? s : { ...s, pending: false, error: err instanceof Error ? err.message : String(err) })),
    );
  }, [canLoad, key, cursor, keyOf]);

  const prepend = useCallback(
    (rows: T[]) => {
      setState((s) => {
        const seen = new Set(s.items.map(keyOf));
        const fresh = rows.filter((x) => !seen.has(keyOf(x)));
        return fresh.length === 0 ? s : { ...s, items: [...fresh, ...s.items] };
      });
    },
    [keyOf],
  );

  const upsert = useCallback(
    (rows: T[]) => {
      setState((s) => {
        const items = upserted(s.items, rows, keyOf);
        return items === s.items ? s : { ...s, items };
      });
    },
    [keyOf],
  );

  const refreshHead = useCallback(() => {
    apiGetUrl<Page<T>>(pageUrl(key, null)).then(
      (page) =>
        setState((s) => {
          if (s.key !== key) return s;
          const items = upserted(s.items, page.items, keyOf);
          return items === s.items ? s : { ...s, items };
        }),
      () => {
        // A failed refresh leaves the list as it was; the next event tries again.
      },
    );
  }, [key, keyOf]);

  return {
    items: fresh ? state.items : [],
    loading: !fresh || state.pending,
    error: fresh ? state.error : null,
    hasMore: fresh && !state.done,
    loadMore,
    prepend,
    upsert,
    refreshHead,
  };
}
