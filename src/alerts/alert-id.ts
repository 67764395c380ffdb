/**
 * Alert ids: UUIDv7 (RFC 9562 §5.7) whose time is the capture time the alert fired at and whose
 * random bits are a hash of what makes the incident or notice itself (rule, time; budget, period,
 * scope value, fraction). Replaying the same capture twice yields the same ids, so a store can
 * ignore the second copy, as it does for calls (docs/design-notes.md, "Call record").
 */
import { hash } from 'node:crypto';
import { uuidV7 } from '../core/ids.js';
import type { Micros } from '../core/time.js';

export function alertId(at: Micros, ...parts: (string | number)[]): string {
  const h = hash('sha256', JSON.stringify(parts), 'buffer');
  return uuidV7(Math.max(0, Math.floor(at / 1000)), h);
}
