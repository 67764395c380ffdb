/**
 * A call record with chosen times, status and usage for the metrics tests (the rest from the
 * store's synthetic records, src/store/synthetic-records.ts).
 */
import type { LlmCallRecord } from '../core/record.js';
import { isoMicros, type Micros } from '../core/time.js';
import { syntheticCall } from '../store/synthetic-records.js';

/** 2026-01-01T00:00:00Z in µs: a round capture time to count buckets from. */
export const T0: Micros = Date.UTC(2026, 0, 1) * 1000;

export interface CallSpec {
  /** Request start, seconds after T0. */
  at: number;
  /** Response end − request start, ms (default 1000). */
  e2eMs?: number;
  ttftMs?: number | null;
  status?: number | null;
  error?: boolean;
  input?: number | null;
  output?: number | null;
  cacheRead?: number | null;
  cost?: number | null;
  model?: string;
  provider?: string;
  attributes?: Record<string, string>;
}

let n = 0;

export function callAt(spec: CallSpec): LlmCallRecord {
  const base = syntheticCall(n++, { start: T0, stepUs: 0 });
  const start = T0 + Math.round(spec.at * 1e6);
  const e2e = spec.e2eMs ?? 1000;
  const ttft = spec.ttftMs === undefined ? null : spec.ttftMs;
  const status = spec.status === undefined ? 200 : spec.status;
  const output = spec.output === undefined ? 10 : spec.output;
  return {
    ...base,
    provider: spec.provider ?? 'openai',
    request_model: spec.model ?? 'gpt-4o',
    response_model: spec.model ?? 'gpt-4o',
    status_code: status,
    error: spec.error ? { type: 'overloaded_error', message: 'in-stream error' } : null,
    usage: {
      ...base.usage,
      input_tokens: spec.input === undefined ? 100 : spec.input,
      output_tokens: output,
      cache_read_tokens: spec.cacheRead === undefined ? 0 : spec.cacheRead,
    },
    cost_usd: spec.cost === undefined ? null : spec.cost,
    cost_status: spec.cost === undefined || spec.cost === null ? 'unpriced' : 'priced',
    timing: {
      request_start: isoMicros(start),
      request_end: isoMicros(start + 1000),
      response_start: isoMicros(start + 2000),
      first_token: ttft === null ? null : isoMicros(start + Math.round(ttft * 1000)),
      last_token: ttft === null ? null : isoMicros(start + Math.round(e2e * 1000)),
      response_end: isoMicros(start + Math.round(e2e * 1000)),
    },
    ttft_ms: ttft,
    tpot_ms: ttft !== null && output !== null && output >= 2 ? (e2e - ttft) / (output - 1) : null,
    e2e_ms: e2e,
    attributes: spec.attributes ?? {},
  };
}

/** Seconds after T0 as µs. */
export function sec(s: number): Micros {
  return T0 + Math.round(s * 1e6);
}
