/**
 * One refresh of `llmtap top`: the answers it needs from the API, fetched together.
 *
 * - Rates, tokens, cost and latency percentiles per model: the live aggregates
 *   (`/api/v1/metrics/live?window=…&by=model`, DESIGN §4 sliding windows, from memory).
 * - Active calls: `llmtap_http_requests_in_flight` from `/metrics` (the API has no field for it;
 *   docs/design-notes.md "Metrics": observers see finished calls only).
 * - Tokens and cost per process: `/api/v1/costs?by=process` over the same window, counted back
 *   from the live snapshot's `now` (capture time, so a replayed capture shows its own last
 *   minutes). `process` is not a live-metrics dimension by default (its label set is opt-in).
 * - The latest calls: the first page of `/api/v1/calls`, polled. The live feed (SSE) would push
 *   them, but it replays nothing missed, so a reconnecting client must poll this page anyway; one
 *   page every refresh is cheap (a keyed range scan) and keeps a single code path.
 */
import type { CallListItem, CostBreakdown } from '../store/types.js';
import type { Fetched, FetchProblem, LiveAnswer, TopApi } from './api-client.js';

export interface TopData {
  live: LiveAnswer;
  /** Requests in flight now; null when /metrics could not be read or lacks the gauge. */
  inFlight: number | null;
  /** Newest first. */
  calls: CallListItem[];
  /** Spend by process over the window; null when the API could not say (see processNote). */
  processes: CostBreakdown | null;
  processNote: string | null;
}

export interface PollOptions {
  /** A configured live window (`1m`, `5m`, `1h`), or null for the API's default. */
  window: string | null;
  /** Calls fetched per refresh: more than any terminal shows. */
  callLimit: number;
}

/** The calls page is what the list can show: 200 rows is beyond any terminal height. */
export const MAX_CALL_ROWS = 200;

export async function pollOnce(api: TopApi, o: PollOptions): Promise<Fetched<TopData> & { window: string | null }> {
  let window = o.window;
  const [first, calls, metrics] = await Promise.all([api.live(window, ['model']), api.calls(Math.min(o.callLimit, MAX_CALL_ROWS)), api.metricsText()]);
  let live = first;
  // A window the server is not configured with (metrics.windows) is a 400: fall back to its default.
  if (!live.ok && live.problem.status === 400 && window !== null && /window/.test(live.problem.message)) {
    window = null;
    live = await api.live(null, ['model']);
  }
  if (!live.ok) return { ok: false, problem: live.problem, window };
  if (!calls.ok) return { ok: false, problem: calls.problem, window };

  const from = windowStart(live.value);
  const processes = await api.costs('process', from);
  return {
    ok: true,
    window,
    value: {
      live: live.value,
      inFlight: metrics.ok ? inFlightOf(metrics.value) : null,
      calls: Array.isArray(calls.value.items) ? calls.value.items : [],
      processes: processes.ok ? processes.value : null,
      processNote: processes.ok ? null : processNoteOf(processes.problem),
    },
  };
}

/** Start of the live window in capture time (µs), or null before the first call. */
export function windowStart(live: LiveAnswer): number | null {
  if (typeof live.now !== 'string') return null;
  const ms = Date.parse(live.now);
  return Number.isFinite(ms) ? (ms - live.window_ms) * 1000 : null;
}

/** The gauge's value in Prometheus text exposition format (no labels: design-notes "Metrics"). */
export function inFlightOf(text: string): number | null {
  const m = /^llmtap_http_requests_in_flight(?:\{[^}]*\})?\s+([0-9.eE+-]+)\s*$/m.exec(text);
  if (!m) return null;
  const v = Number(m[1]);
  return Number.isFinite(v) ? v : null;
}

function processNoteOf(p: FetchProblem): string {
  // An llmtap from before issue 9 refuses by=process as an unknown dimension.
  return p.status === 400 ? 'this llmtap cannot break costs down by process (upgrade it)' : p.message;
}
