import { describe, expect, it } from 'vitest';
import type { OutputsHealth } from '../api/types.js';
import { PipelineStats } from '../pipeline/stats.js';
import { healthOf } from './health.js';

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
