/**
 * Trace and span ids derived from record ids, so the same capture exported twice gives the same
 * spans (a backend keeps one copy) and a call can name its turn's span as parent before the
 * turn's own span is sent (the turn is final only after its calls were written, DESIGN §5).
 *
 * W3C Trace Context §3.2.2.3/§3.2.2.4: a trace id is 16 bytes, a span id 8 bytes, both lowercase
 * hex, and all-zero ids are invalid. Ids are the first bytes of SHA-256 over a labelled input;
 * the labels keep a turn's and a call's ids apart even if a turn and a call shared an id string.
 */
import { createHash } from 'node:crypto';

function hashHex(label: string, id: string, bytes: number): string {
  const hex = createHash('sha256').update(`${label}|${id}`).digest('hex').slice(0, bytes * 2);
  // An all-zero id is invalid (W3C Trace Context): 2^-64 at worst, but never send one.
  return /^0+$/.test(hex) ? `${hex.slice(0, -1)}1` : hex;
}

/** Trace id of a turn: its calls and its own span share it. */
export function turnTraceId(turnId: string): string {
  return hashHex('trace', turnId, 16);
}

/** Span id of a turn's `invoke_agent` span, the parent of its calls' spans. */
export function turnSpanId(turnId: string): string {
  return hashHex('span', turnId, 8);
}

/** Trace id of a call outside any turn: a trace of its own. */
export function callTraceId(callId: string): string {
  return hashHex('call-trace', callId, 16);
}

/** Span id of a call's span. */
export function callSpanId(callId: string): string {
  return hashHex('call-span', callId, 8);
}
