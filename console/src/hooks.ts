import { useCallback, useEffect, useState } from 'react';
import { apiGetUrl, queryString, type Query } from './api.js';

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/**
 * GET a resource; refetches when the path or query changes, and every `refreshMs` when given
 * (the overview's cards while a capture runs). Late answers to superseded requests are dropped.
 */
export function useApi<T>(path: string | null, query: Query = {}, refreshMs?: number): Loaded<T> {
  const key = path === null ? null : `${path}${queryString(query)}`;
  const [state, setState] = useState<{ key: string | null; data: T | null; error: string | null }>({ key: null, data: null, error: null });
  const [tick, setTick] = useState(0);

  useEffect(() => {
    if (key === null) return;
    const ctl = new AbortController();
    apiGetUrl<T>(key, ctl.signal).then(
      (data) => setState({ key, data, error: null }),
      (err: unknown) => {
        if (ctl.signal.aborted) return;
        setState((s) => ({ key, data: s.key === key ? s.data : null, error: err instanceof Error ? err.message : String(err) }));
      },
    );
    return () => ctl.abort();
  }, [key, tick]);

  useEffect(() => {
    if (refreshMs === undefined) return;
    const t = setInterval(() => setTick((x) => x + 1), refreshMs);
    return () => clearInterval(t);
  }, [refreshMs]);

  const reload = useCallback(() => setTick((x) => x + 1), []);
  const fresh = state.key === key;
  return { data: fresh ? state.data : null, error: fresh ? state.error : null, loading: !fresh, reload };
}
