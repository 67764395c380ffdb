import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import type { OtlpConfig } from '../../config/types.js';
import { REAL_DEPS, type SenderDeps } from './http-sender.js';
import { otlpMetricReader } from './metric-export.js';

const config: OtlpConfig = {
  endpoint: 'http://collector.invalid:4318',
  headers: {},
  traces: false,
  metrics: true,
  export_interval_ms: 60_000,
  max_queue: 10,
  max_batch: 10,
  batch_delay_ms: 10,
  // Ten minutes per attempt: only the close deadline can end the last push.
  timeout_ms: 600_000,
  service_name: 'llmtap-test',
};

/** A collector that accepts the connection and never answers; the request ends only when aborted. */
function hangingDeps(requests: { n: number }): SenderDeps {
  return {
    ...REAL_DEPS,
    fetch: (_url, init) =>
      new Promise<Response>((_resolve, reject) => {
        requests.n++;
        init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')), { once: true });
      }),
  };
}

describe('otlpMetricReader', () => {
  it('shutdown gives up the last push at the close deadline when the collector hangs', async () => {
    const requests = { n: 0 };
    const errors: string[] = [];
    const reader = otlpMetricReader(config, { deps: hangingDeps(requests), closeDeadlineMs: 20, onError: (m) => errors.push(m) });
    const provider = new MeterProvider({ readers: [reader] });
    provider.getMeter('llmtap').createCounter('llmtap.calls').add(1);
    // Without the deadline this never resolves (the vitest timeout would fail the test).
    await provider.shutdown();
    expect(requests.n).toBe(1);
    expect(reader.otlpStats()).toMatchObject({ exported: 0, failed: 1 });
    // Abandoned at shutdown: not reported as a collector failure.
    expect(errors).toEqual([]);
  });
});
