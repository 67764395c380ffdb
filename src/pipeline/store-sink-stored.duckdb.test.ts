import { describe, expect, it } from 'vitest';
import { StoreSink } from './store-sink.js';
import { openStore } from '../store/index.js';
import { syntheticCall } from '../store/synthetic-records.js';
import { T0, tempDbPath } from '../store/test-helpers.test-support.js';
import type { StoredExchange } from '../store/types.js';

function storedFor(id: string, callId: string | null, connection: string): StoredExchange {
  return {
    id,
    call_id: callId,
    kind: callId ? 'llm_call' : 'other',
    reason: callId ? null : 'not_llm_route',
    source: 'test',
    connection_id: connection,
    client: { ip: '10.0.0.1', port: 50000 },
    server: { ip: '10.0.0.2', port: 443, host: 'api.example' },
    method: 'POST',
    target: '/v1/messages',
    status_code: 200,
    request_headers: [['host', 'api.example']],
    response_headers: [],
    request_bytes: 100,
    response_bytes: 200,
    request_body: '{"model":"m"}',
    response_body: '{}',
    request_body_size: 13,
    response_body_size: 2,
    request_body_truncated: false,
    response_body_truncated: false,
    response_events: null,
    response_events_total: 0,
    response_events_truncated: false,
    bodies_expired: false,
    request_start: '2026-01-15T10:00:00.000000Z',
    request_end: '2026-01-15T10:00:00.001000Z',
    response_start: '2026-01-15T10:00:00.002000Z',
    response_end: '2026-01-15T10:00:00.003000Z',
    anomalies: [],
  };
}

describe('StoreSink with exchanges built on workers', () => {
  it('stores a call and its exchange, and an exchange without a call, as StoreSink.addCall/addOther would', async () => {
    const db = await openStore({ path: tempDbPath(), retention: false });
    const published: string[] = [];
    const sink = new StoreSink(db, (calls) => published.push(...calls.map((c) => c.id)));
    const call = syntheticCall(0, { start: T0, stepUs: 1000 });
    const ex = storedFor(call.id, call.id, 'c1');
    const other = storedFor('019bc0e2-0000-7000-8000-000000000001', null, 'c2');
    sink.addStoredCall(call, ex);
    sink.addStoredOther(other);
    expect(sink.pending).toBeGreaterThan(0);
    await sink.flush();
    expect(published).toEqual([call.id]);
    expect(sink.callsInserted).toBe(1);
    expect(sink.exchangesInserted).toBe(2);
    expect(await db.getExchange(call.id)).toMatchObject({ call_id: call.id, connection_id: 'c1', request_body: '{"model":"m"}' });
    expect(await db.getExchange(other.id)).toMatchObject({ call_id: null, connection_id: 'c2' });
    await db.close();
  });
});
