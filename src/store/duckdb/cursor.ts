/**
 * Opaque page cursors: the (request_start µs, id) of the last row served and the walk's order,
 * as base64url JSON. Keyset pagination on that pair is stable under inserts (a new row never
 * shifts a walk) and costs the same on page 1 and page 10,000.
 */
import { StoreError } from '../types.js';

export interface Cursor {
  t: number;
  id: string;
  o: 'asc' | 'desc';
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.t, c.id, c.o]), 'utf8').toString('base64url');
}

/** Call, exchange and turn ids are UUIDs; session ids come from agents' headers and bodies (a
 * UUID, a hash, an opaque string). A generous bound keeps a forged cursor from carrying a huge one. */
const MAX_ID_CHARS = 1_000;
/** base64url of [t, id, order] with MAX_ID_CHARS of id (JSON-escaped, UTF-8) fits well within. */
export const MAX_CURSOR_CHARS = 8_000;

export function decodeCursor(s: string, order: 'asc' | 'desc'): Cursor {
  const bad = (why: string): StoreError => new StoreError('invalid_cursor', `invalid cursor: ${why}`);
  if (s.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(s)) throw bad('not a cursor');
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    throw bad('not a cursor');
  }
  if (!Array.isArray(v) || v.length !== 3) throw bad('not a cursor');
  const [t, id, o] = v as unknown[];
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || typeof id !== 'string' || id.length > MAX_ID_CHARS) {
    throw bad('not a cursor');
  }
  if (o !== order) throw bad(`it continues a walk in ${String(o)} order, not ${order}`);
  return { t, id, o: order };
}
