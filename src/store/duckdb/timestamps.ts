/** ISO 8601 (as written by src/core/time.ts isoMicros) ↔ µs since the epoch. */
import type { Micros } from '../../core/time.js';

const ISO = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/;

/** µs since the epoch, or null when `s` is not an ISO 8601 date-time with a zone. */
export function parseIsoMicros(s: string | null | undefined): Micros | null {
  if (typeof s !== 'string') return null;
  const m = ISO.exec(s);
  if (!m) return null;
  const secMs = Date.parse(`${m[1]}${m[3]}`);
  if (!Number.isFinite(secMs)) return null;
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  const us = secMs * 1000 + Number(frac);
  // Exact as a JS number only up to 2^53 µs (year 2255): later is not a capture time.
  return Number.isSafeInteger(us) ? us : null;
}
