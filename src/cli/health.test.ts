import { describe, expect, it } from 'vitest';
import type { OutputsHealth } from '../api/types.js';
import { PipelineStats } from '../pipeline/stats.js';
import { healthOf, newSourceCounters, sourceHealthOf, StatsRollup } from './health.js';

const quiet: OutputsHealth = {
  otlp: { endpoint: 'http://collector:4318/', spans: { queued: 0, sent: 9, dropped: 0, rejected: 0, invalid: 0, failed_batches: 0, retries: 1 }, metrics: null },
  alerts: {
    rules: 1,
    budgets: 0,
    firing: 1,
    fired: 1,
    resolved: 0,
    notices: 0,
    logged: 1,
    record_failures: 0,
    webhooks: { sent: 1, failed: 0, retries: 1, dropped: 0, queued: 0 },
  },
  observer_failures: 0,
};

describe('healthOf', () => {
  it('carries the exports’ counters; retries alone are not a problem', () => {
    const h = healthOf(null, null, { stats: () => quiet });
    expect(h.outputs).toEqual(quiet);
    expect(h.status).toBe('ok');
  });

  it('is degraded when spans, webhook alerts or alert records are lost, or an observer fails', () => {
    const cases: OutputsHealth[] = [
      { ...quiet, otlp: { ...quiet.otlp!, spans: { ...quiet.otlp!.spans!, dropped: 1 } } },
      { ...quiet, otlp: { ...quiet.otlp!, metrics: { exported: 0, failed: 1, skipped: 0, retries: 4 } } },
      { ...quiet, alerts: { ...quiet.alerts!, webhooks: { ...quiet.alerts!.webhooks, failed: 1 } } },
      { ...quiet, alerts: { ...quiet.alerts!, record_failures: 1 } },
      { ...quiet, observer_failures: 1 },
    ];
    for (const c of cases) expect(healthOf(null, null, { stats: () => c }).status, JSON.stringify(c)).toBe('degraded');
  });

  it('has no outputs when nothing is exported (`llmtap serve`)', () => {
    expect(healthOf(null, null).outputs).toBeNull();
  });

  it('names the TLS servers not decrypted, most connections first, with why; status stays ok', () => {
    const stats = new PipelineStats();
    stats.noteUndecryptedTls('api.openai.com', 'no_keys');
    stats.noteUndecryptedTls('api.anthropic.com', 'no_keys');
    stats.noteUndecryptedTls('api.anthropic.com', 'mid_stream');
    stats.noteUndecryptedTls('api.anthropic.com', 'no_keys');
    stats.noteUndecryptedTls('10.0.0.7:443', 'decrypt_failed');
    const h = healthOf({ id: 'cap.pcap', stats, state: 'running', error: null }, null);
    expect(h.tls_undecrypted).toEqual([
      { server: 'api.anthropic.com', connections: 3, reasons: { no_keys: 2, mid_stream: 1 } },
      { server: '10.0.0.7:443', connections: 1, reasons: { decrypt_failed: 1 } },
      { server: 'api.openai.com', connections: 1, reasons: { no_keys: 1 } },
    ]);
    // Traffic llmtap could not read is the user's to fix (a key log), not a pipeline fault.
    expect(h.status).toBe('ok');
    // A copy: what the page was given does not change under it as the capture goes on.
    stats.noteUndecryptedTls('api.openai.com', 'no_keys');
    expect(h.tls_undecrypted?.[2]?.connections).toBe(1);
  });

  it('has an empty TLS list without a source', () => {
    expect(healthOf(null, null).tls_undecrypted).toEqual([]);
  });
});

describe('StatsRollup: the run totals of several pipelines', () => {
  it('sums the parts at each refresh, adds anomalies once, keeps the run’s own anomalies, merges TLS names', () => {
    const total = new PipelineStats();
    const rollup = new StatsRollup(total);
    const a = new PipelineStats();
    const b = new PipelineStats();
    rollup.add(a);
    rollup.add(b);
    a.packets = 10;
    a.calls = 2;
    a.connections = 3;
    a.firstTs = 5_000;
    a.lastTs = 9_000;
    a.anomalies.add('tcp_gap', 2);
    a.noteUndecryptedTls('api.openai.com', 'no_keys');
    b.packets = 4;
    b.calls = 1;
    b.connections = 1;
    b.pipelineDrops = 7;
    b.firstTs = 1_000;
    b.lastTs = 2_000;
    b.anomalies.add('tcp_gap');
    b.noteUndecryptedTls('api.openai.com', 'mid_stream');
    b.noteUndecryptedTls('api.openai.com', 'mid_stream');
    // The turn tracker counts into the run's counter directly.
    total.anomalies.add('agent_call_late');
    rollup.refresh();
    rollup.refresh();
    expect([total.packets, total.calls, total.connections, total.pipelineDrops, total.firstTs, total.lastTs]).toEqual([14, 3, 4, 7, 1_000, 9_000]);
    expect(total.anomalies.entries()).toEqual([
      ['tcp_gap', 3],
      ['agent_call_late', 1],
    ]);
    expect([...total.undecryptedTls]).toEqual([['api.openai.com', { connections: 3, reasons: { no_keys: 1, mid_stream: 2 } }]]);
    // Parts move on; a refresh adds only what is new.
    a.anomalies.add('tcp_gap');
    a.connections = 1;
    rollup.refresh();
    expect(total.anomalies.get('tcp_gap')).toBe(4);
    expect(total.connections).toBe(2);
    expect(healthOf({ id: 'pipelines', stats: total, state: 'running', error: null }, null).counts).toMatchObject({ packets: 14, calls: 3 });
  });

  it('sums the live sources’ drop counters (unknown stays null)', () => {
    const total = new PipelineStats();
    const rollup = new StatsRollup(total);
    const a = new PipelineStats();
    const b = new PipelineStats();
    rollup.add(a);
    rollup.add(b);
    a.liveCounters = () => ({ kernel: 3, interface: null, stalls: 1 });
    b.liveCounters = () => ({ kernel: 4, interface: null, stalls: 0 });
    b.pipelineDrops = 2;
    rollup.refresh();
    expect(total.liveCounters?.()).toEqual({ kernel: 7, interface: null, stalls: 1, pipeline: 2 });
  });
});

describe('sourceHealthOf', () => {
  it('one source of a pipeline, with its pipeline and calls', () => {
    const c = newSourceCounters('lo', 'interface', 'live');
    c.packets = 5;
    c.calls = 2;
    c.firstTs = 1_700_000_000_000_000;
    c.lastTs = 1_700_000_001_000_000;
    c.drops = () => ({ kernel: 1, interface: 0, pipeline: 0 });
    expect(sourceHealthOf(c)).toEqual({
      id: 'lo',
      kind: 'interface',
      pipeline: 'live',
      state: 'starting',
      packets: 5,
      bytes: 0,
      calls: 2,
      progress: null,
      drops: { kernel: 1, interface: 0, pipeline: 0 },
      first_packet: '2023-11-14T22:13:20.000000Z',
      last_packet: '2023-11-14T22:13:21.000000Z',
      error: null,
    });
  });
});
