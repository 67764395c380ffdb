/**
 * What `llmtap top` reads from a running llmtap: its HTTP API only (docs/api.md), so it needs no
 * privilege and no database access. Every failure becomes a `FetchProblem` the screen can show
 * (never an exception), and no message ever carries the token.
 */
import type { LlmCallRecord } from '../core/record.js';
import type { LiveSnapshot } from '../metrics/live-aggregates.js';
import type { CallListItem, CostBreakdown, Page } from '../store/types.js';

export type FetchProblemKind = 'unreachable' | 'unauthorized' | 'forbidden' | 'http' | 'bad_response';

export interface FetchProblem {
  kind: FetchProblemKind;
  /** One line for the status bar; never the token. */
  message: string;
  status: number | null;
}

export type Fetched<T> = { ok: true; value: T } | { ok: false; problem: FetchProblem };

export type LiveAnswer = LiveSnapshot & { window: string };

/** What a call detail answers (src/store/types.ts CallDetail); only the call is shown. */
export interface CallDetailAnswer {
  call: LlmCallRecord;
}

/** The fetch top uses; tests pass their own. */
export type FetchFn = (url: string, init: { headers: Record<string, string>; signal: AbortSignal }) => Promise<Response>;

export interface TopApiOptions {
  /** Base URL of the running llmtap, e.g. http://127.0.0.1:3000 (a path prefix is kept). */
  url: string;
  token?: string | undefined;
  fetch?: FetchFn;
  /** Per request; a local API answers in milliseconds, a stuck one must not freeze the screen. */
  timeoutMs?: number;
}

/** Longest answer read: a call detail holds its exchange, whose bodies the store caps at 256 KiB
 * head + 64 KiB tail each plus up to 20,000 stored events (src/store/caps.ts); 16 MiB is above
 * that, and bounds what a wrong or hostile server can make top hold. */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 5_000;

export class TopApi {
  /** Origin and path prefix without userinfo, query or trailing slash: what messages show. */
  readonly base: string;
  private readonly token: string | undefined;
  private readonly fetchFn: FetchFn;
  private readonly timeoutMs: number;

  constructor(o: TopApiOptions) {
    this.base = normaliseBase(o.url);
    this.token = o.token === '' ? undefined : o.token;
    this.fetchFn = o.fetch ?? ((url, init) => fetch(url, init));
    this.timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  live(window: string | null, by: string[]): Promise<Fetched<LiveAnswer>> {
    const q = new URLSearchParams();
    if (window !== null) q.set('window', window);
    for (const d of by) q.append('by', d);
    return this.json<LiveAnswer>(`/api/v1/metrics/live?${q.toString()}`);
  }

  calls(limit: number): Promise<Fetched<Page<CallListItem>>> {
    return this.json<Page<CallListItem>>(`/api/v1/calls?limit=${limit}`);
  }

  call(id: string): Promise<Fetched<CallDetailAnswer>> {
    return this.json<CallDetailAnswer>(`/api/v1/calls/${encodeURIComponent(id)}`);
  }

  /** Spend by a dimension over [from, ∞) (µs since the epoch, sent as epoch milliseconds). */
  costs(by: string, fromMicros: number | null): Promise<Fetched<CostBreakdown>> {
    const q = new URLSearchParams({ by });
    if (fromMicros !== null) q.set('from', String(Math.floor(fromMicros / 1000)));
    return this.json<CostBreakdown>(`/api/v1/costs?${q.toString()}`);
  }

  /** The Prometheus text of `/metrics` (for `llmtap_http_requests_in_flight`). */
  async metricsText(): Promise<Fetched<string>> {
    return this.request('/metrics');
  }

  private async json<T>(path: string): Promise<Fetched<T>> {
    const r = await this.request(path);
    if (!r.ok) return r;
    try {
      return { ok: true, value: JSON.parse(r.value) as T };
    } catch {
      return { ok: false, problem: { kind: 'bad_response', message: `${this.base} answered something that is not JSON (is it llmtap?)`, status: null } };
    }
  }

  private async request(path: string): Promise<Fetched<string>> {
    const headers: Record<string, string> = { accept: 'application/json, text/plain' };
    if (this.token !== undefined) headers['authorization'] = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await this.fetchFn(`${this.base}${path}`, { headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      return { ok: false, problem: { kind: 'unreachable', message: `cannot reach ${this.base}: ${networkReason(err)}`, status: null } };
    }
    let body: string;
    try {
      body = await readCapped(res, MAX_ANSWER_BYTES);
    } catch (err) {
      return { ok: false, problem: { kind: 'unreachable', message: `${this.base}: ${networkReason(err)}`, status: res.status } };
    }
    if (res.status === 200) return { ok: true, value: body };
    return { ok: false, problem: this.problemOf(res.status, body) };
  }

  private problemOf(status: number, body: string): FetchProblem {
    const said = apiErrorMessage(body);
    if (status === 401) {
      const message =
        this.token === undefined
          ? `${this.base} needs a token (401): pass --token or set LLMTAP_TOKEN`
          : `${this.base} refused the token (401): check --token / LLMTAP_TOKEN`;
      return { kind: 'unauthorized', message, status };
    }
    if (status === 403) return { kind: 'forbidden', message: `${this.base} refused the request (403)${said ? `: ${said}` : ''}`, status };
    return { kind: 'http', message: `${this.base} answered ${status}${said ? `: ${said}` : ''}`, status };
  }
}

/** `http://user:pw@host:3000/x/?q` → `http://host:3000/x`; a URL without a scheme gets http://. */
export function normaliseBase(raw: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  const u = new URL(withScheme);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`--url must be http:// or https://, not ${u.protocol}`);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

/** The API's own `{"error": {"message"}}`, one line and short; null when the body is not that. */
function apiErrorMessage(body: string): string | null {
  try {
    const j = JSON.parse(body) as { error?: { message?: unknown } };
    const m = j.error?.message;
    return typeof m === 'string' ? m.replace(/\s+/g, ' ').slice(0, 160) : null;
  } catch {
    return null;
  }
}

/** Node's fetch wraps the socket error in `cause` (ECONNREFUSED, ENOTFOUND, …). */
function networkReason(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'no answer (timed out)';
  const cause = err instanceof Error ? (err as Error & { cause?: unknown }).cause : undefined;
  const code = cause !== null && typeof cause === 'object' && 'code' in cause ? String((cause as { code: unknown }).code) : null;
  if (code === 'ECONNREFUSED') return 'connection refused (is llmtap running with --listen?)';
  if (code !== null) return code;
  // undici refuses the fetch spec's "bad ports" (1, 9, 22, 6000…) with only a message.
  if (cause instanceof Error && cause.message !== '') return cause.message.slice(0, 120);
  return err instanceof Error ? err.message.slice(0, 120) : 'network error';
}

async function readCapped(res: Response, max: number): Promise<string> {
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new Error(`answer larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
