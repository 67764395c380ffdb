/**
 * The console's only door to the server: GET requests to /api/v1 (docs/api.md). Types come from the
 * server's own definitions, so a renamed field breaks the console's build, not its screen.
 */
export type {
  CallDetail,
  CallListItem,
  ErrorGroup,
  ExchangeListItem,
  FilterValues,
  ModelStats,
  Page,
  Percentiles,
  StoredEvent,
  StoredExchange,
  Summary,
  TimeseriesResult,
} from '../../src/store/types.js';
export type { HealthResponse, SourceHealth } from '../../src/api/types.js';
export type { LlmCallRecord, CallTiming } from '../../src/core/record.js';
export type { AgentRole, AgentTurnRecord, TurnStep, TurnUsage } from '../../src/core/record.js';
export type { SessionDetail, SessionSummary, TurnDetail, TurnStatus } from '../../src/store/types.js';
export type { AnnotationTimeseries, CostBreakdown, CostGroup, CostTimeseries } from '../../src/store/types.js';
export type { AlertRecord, AnnotationRecord } from '../../src/core/record.js';

/** Thrown for any non-2xx answer; `status` 401 makes the app ask for the access token. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Called whenever the server answers 401 (the token prompt listens). */
export function onUnauthorized(fn: Listener): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

export type Query = Record<string, string | string[] | number | boolean | null | undefined>;

/** `?a=1&b=x&b=y`: arrays repeat the parameter (the API's list convention). */
export function queryString(q: Query): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const x of v) p.append(k, x);
    else p.append(k, String(v));
  }
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

export function apiGet<T>(path: string, q: Query = {}, signal?: AbortSignal): Promise<T> {
  return apiGetUrl<T>(`${path}${queryString(q)}`, signal);
}

/** GET `/api/v1` + `pathAndQuery` (already encoded). */
export async function apiGetUrl<T>(pathAndQuery: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(`/api/v1${pathAndQuery}`, {
    headers: { accept: 'application/json' },
    credentials: 'same-origin',
    ...(signal ? { signal } : {}),
  });
  if (!res.ok) {
    if (res.status === 401) for (const fn of unauthorizedListeners) fn();
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = (await res.json()) as { error?: { message?: string } };
      if (body.error?.message) message = body.error.message;
    } catch {
      // Not JSON: keep the status line.
    }
    throw new ApiError(res.status, message);
  }
  return (await res.json()) as T;
}

/**
 * POST a JSON body to `/api/v1` + `path` (annotations). The JSON content type is what the server
 * requires of every write (src/api/server.ts: a cross-site form cannot send it).
 */
export async function apiPost<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(`/api/v1${path}`, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    credentials: 'same-origin',
    body: JSON.stringify(body),
  });
  if (!res.ok) {
    if (res.status === 401) for (const fn of unauthorizedListeners) fn();
    let message = `${res.status} ${res.statusText}`;
    try {
      const b = (await res.json()) as { error?: { message?: string } };
      if (b.error?.message) message = b.error.message;
    } catch {
      // Not JSON: keep the status line.
    }
    throw new ApiError(res.status, message);
  }
  return (await res.json()) as T;
}

/** Stores the access token where the server looks for it (src/api/security.ts TOKEN_COOKIE). */
export function saveToken(token: string): void {
  document.cookie = `llmtap_token=${encodeURIComponent(token)}; Path=/; SameSite=Strict`;
}
