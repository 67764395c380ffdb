/**
 * Capture times of a call record as µs. Records carry ISO 8601 with six fractional digits
 * (src/core/time.ts `isoMicros`); the store has its own parser (src/store/duckdb/timestamps.ts),
 * which metrics may not import (DESIGN §8: a stage imports only earlier stages).
 */
import type { LlmCallRecord } from '../core/record.js';
import type { Micros } from '../core/time.js';

const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/;

/** µs since the epoch, or null when `s` is not `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`. */
export function isoToMicros(s: string | null): Micros | null {
  if (s === null) return null;
  const m = ISO.exec(s);
  if (!m) return null;
  const secMs = Date.parse(`${m[1]}Z`);
  if (!Number.isFinite(secMs)) return null;
  const us = secMs * 1000 + Number((m[2] ?? '').padEnd(6, '0').slice(0, 6));
  return Number.isSafeInteger(us) ? us : null;
}

/**
 * The capture time at which a call counts in windows and rates: when it finished (last response
 * byte), falling back to the last time we know of it.
 *
 * Why the end, not `request_start`: an observer receives a call only once it has finished, and
 * windows only move forward. Placed at its start, a call longer than a window (a 2-minute
 * stream, a 1-minute window) would arrive already outside the window and never be counted, and
 * an alert rule would see a burst of errors "in the past" only after the window that should have
 * held them had moved on. Placed at its end, every call is seen by every window for the window's
 * full length, and counts agree with cumulative counters (Prometheus counters and the OTel
 * duration histogram are recorded when the operation completes, too). Latency of a call is a
 * fact about the moment it became known, like a request log line written at completion.
 */
export function completionMicros(call: LlmCallRecord): Micros | null {
  const t = call.timing;
  return (
    isoToMicros(t.response_end) ??
    isoToMicros(t.last_token) ??
    isoToMicros(t.response_start) ??
    isoToMicros(t.request_end) ??
    isoToMicros(t.request_start)
  );
}
