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

function merge<T extends { id: string }>(base: T[], more: T[]): T[] {
  const seen = new Set(base.map((x) => x.id));
  return [...base, ...more.filter((x) => !seen.has(x.id))];
}

/**
 * Cursor pagination over a list endpoint (newest first). Never fetches everything: one page at a
 * time, the next only when asked (the table asks when its last rows scroll into view).
 */
export function usePaged<T extends { id: string }>(path: string, query: Query): Paged<T> {
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
        setState((s) => (s.key !== key ? s : { ...s, items: merge(s.items, page.items), cursor: page.next_cursor, done: page.next_cursor === null, pending: false })),
      (err: unknown) => setState((s) => (s.key !== key ? s : { ...s, pending: false, error: err instanceof Error ? err.message : String(err) })),
    );
  }, [canLoad, key, cursor]);

  const prepend = useCallback((rows: T[]) => {
    setState((s) => {
      const seen = new Set(s.items.map((x) => x.id));
      const fresh = rows.filter((x) => !seen.has(x.id));
      return fresh.length === 0 ? s : { ...s, items: [...fresh, ...s.items] };
    });
  }, []);

  return {
    items: fresh ? state.items : [],
    loading: !fresh || state.pending,
    error: fresh ? state.error : null,
    hasMore: fresh && !state.done,
    loadMore,
    prepend,
  };
}
