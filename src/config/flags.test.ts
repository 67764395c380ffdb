import { describe, expect, it } from 'vitest';
import { applyFlags } from './flags.js';
import { parseConfigText } from './load.js';

const file = parseConfigText(
  [
    'db: /var/lib/llmtap.duckdb',
    'listen: 127.0.0.1:4000',
    'fingerprint_salt: from-file',
    'turns: {idle_timeout: 10m, stall_threshold: 30s, loop_threshold: 4}',
    'otlp: {endpoint: "http://collector:4318", service_name: edge, headers: {x-token: abc}}',
  ].join('\n'),
  'llmtap.yaml',
  {},
);

describe('applyFlags: flags override the file', () => {
  it('no flags: the file as loaded', () => {
    expect(applyFlags(file, {})).toEqual(file);
    // Commander sets --no-… options true when absent: that overrides nothing.
    expect(applyFlags(file, { retention: true, turns: true })).toEqual(file);
  });

  it('each flag sets its key', () => {
    const c = applyFlags(file, {
      db: '/tmp/x.duckdb',
      listen: '0.0.0.0:3000',
      retention: false,
      fingerprintSalt: 'from-flag',
      turns: false,
      turnIdleTimeout: '90',
      stallThreshold: '2m',
      loopThreshold: '5',
      otlpEndpoint: 'https://otel.example:4318/',
    });
    expect(c.db).toBe('/tmp/x.duckdb');
    expect(c.listen).toBe('0.0.0.0:3000');
    expect(c.retention).toBe(false);
    expect(c.fingerprint_salt).toBe('from-flag');
    expect(c.turns).toEqual({ enabled: false, idle_timeout_ms: 90_000, stall_threshold_ms: 120_000, loop_threshold: 5 });
    // The endpoint changes; the rest of the file's OTLP section stays.
    expect(c.otlp).toEqual({ ...file.otlp, endpoint: 'https://otel.example:4318' });
    // Pure: the loaded configuration is not changed.
    expect(file.turns.idle_timeout_ms).toBe(600_000);
    expect(file.db).toBe('/var/lib/llmtap.duckdb');
  });

  it('--otlp-endpoint without an otlp section turns export on with the defaults', () => {
    const c = applyFlags(parseConfigText('', null, {}), { otlpEndpoint: 'http://localhost:4318' });
    expect(c.otlp).toEqual({
      endpoint: 'http://localhost:4318',
      headers: {},
      traces: true,
      metrics: true,
      export_interval_ms: 60_000,
      max_queue: 2_048,
      max_batch: 512,
      batch_delay_ms: 5_000,
      timeout_ms: 10_000,
      service_name: 'llmtap',
    });
  });

  it('bad flag values are one-line errors naming the flag, never quoting a URL', () => {
    expect(() => applyFlags(file, { turnIdleTimeout: '5 minutes' })).toThrow('--turn-idle-timeout: "5 minutes" is not a duration (write 5m)');
    expect(() => applyFlags(file, { stallThreshold: '0' })).toThrow(/--stall-threshold/);
    expect(() => applyFlags(file, { loopThreshold: '1' })).toThrow('--loop-threshold takes a whole number of at least 2 (got "1")');
    expect(() => applyFlags(file, { db: ' ' })).toThrow('--db takes a value');
    expect(() => applyFlags(file, { otlpEndpoint: 'ftp://user:hunter2@host' })).toThrow(/^--otlp-endpoint takes an http/);
    expect(() => applyFlags(file, { otlpEndpoint: 'ftp://user:hunter2@host' })).not.toThrow(/hunter2/);
    expect(() => applyFlags(file, { otlpEndpoint: 'http://c:4318/v1/traces' })).toThrow(/base URL/);
  });
});
