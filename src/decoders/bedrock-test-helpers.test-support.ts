/**
 * Test-only: Bedrock event stream bodies built from events, for the Bedrock decoder tests.
 */
import type { Micros } from '../core/time.js';
import { encodeEventMessage } from '../http/eventstream.js';
import type { ChunkSpec } from './test-helpers.test-support.js';

export const EVENTSTREAM = { 'content-type': 'application/vnd.amazon.eventstream' };

/** Event frames, the i-th in its own chunk arriving at `start + i * step` µs. An `exception`
 * entry is an exception frame (`:message-type exception`). */
export function frames(start: Micros, step: Micros, ...events: [type: string, payload: unknown, kind?: 'exception'][]): ChunkSpec[] {
  return events.map(([type, payload, kind], i) => ({ data: encodeEventMessage(type, payload, kind ?? 'event'), ts: start + i * step }));
}

/** An InvokeModelWithResponseStream `chunk` payload: the family's JSON, base64 in `bytes`. */
export function chunk(o: unknown): [string, unknown] {
  return ['chunk', { bytes: Buffer.from(JSON.stringify(o)).toString('base64') }];
}
