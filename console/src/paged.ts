import { useCallback, useEffect, useRef, useState } from 'react';
import { apiGet, queryString, type Page, type Query } from './api.js';

export interface Paged<T> {
  items: T[];
  loading: boolean;
  error: string | null;
  hasMore: boolean;
  loadMore: () => void;
  /** Puts rows in front (live feed), skipping ids already shown. */
  prepend: (rows: T[]) => void;
}

/** Page size: a screenful or three; the API allows up to 500 (STORE_CAPS.pageMax). */
export const PAGE_SIZE = 100;

/**
 * Cursor pagination over a list endpoint (newest first). Never fetches everything: one page at a
 * time, the next only when asked (the table asks when its last rows scroll into view).
 */
export function usePaged<T extends { id: string }>(path: string, query: Query): Paged<T> {
  const key = `${path}${queryString(query)}`;
  const [state, setState] = useState<{ key: string; items: T[]; cursor: string | null; done: boolean; error: string | null }>({
    key,
    items: [],
    cursor: null,
    done: false,
    error: null,
  });
  const [loading, setLoading] = useState(false);
  const inflight = useRef<AbortController | null>(null);
  const queryRef = useRef(query);
  queryRef.current = query;

  const fetchPage = useCallback(
    (cursor: string | null, reset: boolean) => {
      inflight.current?.abort();
      const ctl = new AbortController();
      inflight.current = ctl;
      setLoading(true);
      apiGet<Page<T>>(path, { ...queryRef.current, limit: PAGE_SIZE, cursor }, ctl.signal).then(
        (page) => {
          if (ctl.signal.aborted) return;
          setState((s) => {
            const base = reset ? [] : s.items;
            const seen = new Set(base.map((x) => x.id));
            return { key, items: [...base, ...page.items.filter((x) => !seen.has(x.id))], cursor: page.next_cursor, done: page.next_cursor === null, error: null };
          });
          setLoading(false);
        },
        (err: unknown) => {
          if (ctl.signal.aborted) return;
          setState((s) => ({ ...s, key, error: err instanceof Error ? err.message : String(err) }));
          setLoading(false);
        },
      );
    },
    [key, path],
  );

  useEffect(() => {
    setState({ key, items: [], cursor: null, done: false, error: null });
    fetchPage(null, true);
    return () => inflight.current?.abort();
  }, [key, fetchPage]);

  const loadMore = useCallback(() => {
    if (loading || state.done || state.cursor === null || state.key !== key) return;
    fetchPage(state.cursor, false);
  }, [loading, state.done, state.cursor, state.key, key, fetchPage]);

  const prepend = useCallback((rows: T[]) => {
    setState((s) => {
      const seen = new Set(s.items.map((x) => x.id));
      const fresh = rows.filter((x) => !seen.has(x.id));
      return fresh.length === 0 ? s : { ...s, items: [...fresh, ...s.items] };
    });
  }, []);

  const fresh = state.key === key;
  return {
    items: fresh ? state.items : [],
    loading: loading || !fresh,
    error: fresh ? state.error : null,
    hasMore: fresh && !state.done,
    loadMore,
    prepend,
  };
}
