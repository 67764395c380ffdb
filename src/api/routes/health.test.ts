/**
 * GET /api/v1/health carries the TLS servers the pipeline could not decrypt (issue 7), as the
 * pipeline's counters hold them, and an empty list when the health source has none (`llmtap
 * serve`, whose health comes from no capture).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { healthOf } from '../../cli/health.js';
import { PipelineStats } from '../../pipeline/stats.js';
import { fakeHealth, FakeStore } from '../fake-store.test-support.js';
import { LiveFeed } from '../live-feed.js';
import { createServer, type ApiServer } from '../server.js';
import type { HealthResponse } from '../types.js';

const open: ApiServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

function serve(health: ServerHealth): ApiServer {
  const srv = createServer({ store: new FakeStore(), health, liveFeed: new LiveFeed({ heartbeatMs: 0 }) });
  open.push(srv);
  return srv;
}
type ServerHealth = Parameters<typeof createServer>[0]['health'];

describe('GET /api/v1/health: tls_undecrypted', () => {
  it('lists each server with its connections and reasons, read live from the pipeline', async () => {
    const stats = new PipelineStats();
    const srv = serve(() => healthOf({ id: 'cap.pcapng', stats, state: 'running', error: null }, null));
    const read = async (): Promise<HealthResponse['tls_undecrypted']> => (await srv.app.inject('/api/v1/health')).json<HealthResponse>().tls_undecrypted;

    expect(await read()).toEqual([]);
    stats.noteUndecryptedTls('api.anthropic.com', 'no_keys');
    stats.noteUndecryptedTls('api.anthropic.com', 'no_keys');
    stats.noteUndecryptedTls('chatgpt.com', 'mid_stream');
    expect(await read()).toEqual([
      { server: 'api.anthropic.com', connections: 2, reasons: { no_keys: 2 } },
      { server: 'chatgpt.com', connections: 1, reasons: { mid_stream: 1 } },
    ]);
  });

  it("keeps the pipeline's name cap: beyond 100 servers the rest are counted under '(other)'", async () => {
    const stats = new PipelineStats();
    for (let i = 0; i < 130; i++) stats.noteUndecryptedTls(`host${i}.example`, 'no_keys');
    const srv = serve(() => healthOf({ id: 'cap.pcap', stats, state: 'drained', error: null }, null));
    const list = (await srv.app.inject('/api/v1/health')).json<HealthResponse>().tls_undecrypted;
    expect(list).toHaveLength(101);
    expect(list[0]).toEqual({ server: '(other)', connections: 30, reasons: { no_keys: 30 } });
    expect(list.reduce((n, e) => n + e.connections, 0)).toBe(130);
  });

  it('is an empty list when the health source has no capture (serve mode)', async () => {
    const srv = serve(fakeHealth);
    const body = (await srv.app.inject('/api/v1/health')).json<HealthResponse>();
    expect(body.tls_undecrypted).toEqual([]);
  });
});
