import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfigText } from '../../src/config/load.js';
import { configurePricing } from '../../src/cost/call-pricer.js';
import type { LlmCallRecord } from '../../src/core/record.js';
import { replayFile } from '../../src/pipeline/replay.js';
import { findRepoRoot } from '../gen/repo-root.js';

const root = findRepoRoot();

describe('examples/llmtap.yaml', () => {
  it('loads as shipped, with the fallbacks of its environment variables', () => {
    const c = loadConfig(join(root, 'examples', 'llmtap.yaml'), {});
    expect(c.fingerprint_salt).toBe('my-org-salt');
    expect(c.attributes.map((a) => a.name)).toEqual(['team', 'project', 'environment']);
    expect(c.metrics.dimensions).toContain('team');
    expect(c.turns).toEqual({ enabled: true, idle_timeout_ms: 900_000, stall_threshold_ms: 60_000, loop_threshold: 3 });
    expect(c.alerts.map((a) => [a.name, a.metric, a.window_ms])).toEqual([
      ['openai-errors', 'error_rate', 300_000],
      ['slow-first-token', 'ttft_p95', 300_000],
      ['unhelpful-answers', 'score:helpfulness', 3_600_000],
    ]);
    expect(c.budgets[1]).toMatchObject({ scope: 'team', period: 'day', limit_usd: 200 });
    expect(c.webhooks['oncall']?.url).toBe('https://hooks.example.com/llmtap');
  });

  it('takes its secrets from the environment', () => {
    const c = loadConfig(join(root, 'examples', 'llmtap.yaml'), { OTLP_TOKEN: 'otlp-1', ONCALL_WEBHOOK_TOKEN: 'hook-1', LLMTAP_SALT: 'salty' });
    expect(c.otlp?.headers).toEqual({ authorization: 'Bearer otlp-1' });
    expect(c.webhooks['oncall']?.headers).toEqual({ authorization: 'Bearer hook-1' });
    expect(c.fingerprint_salt).toBe('salty');
  });

  it('its attributes and prices reach the records of a replay', async () => {
    const c = loadConfig(join(root, 'examples', 'llmtap.yaml'), {});
    const calls: LlmCallRecord[] = [];
    await replayFile(join(root, 'examples', 'demo.pcap'), {
      source: 'demo',
      fingerprintSalt: c.fingerprint_salt ?? 'unused',
      attributes: c.attributes,
      pricer: configurePricing(c.pricing),
      onCall: (r) => calls.push(r),
    });
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) {
      // The demo's requests carry no X-Team or X-Project header: defaults only.
      expect(call.attributes).toEqual({ team: 'unassigned', environment: 'production' });
    }
  });
});

describe('docs/configuration.md', () => {
  const doc = readFileSync(join(root, 'docs', 'configuration.md'), 'utf8');
  const full = /## Full example\s+```yaml\n([\s\S]*?)```/.exec(doc)?.[1];

  it('its full example loads, and names a missing secret', () => {
    expect(full).toBeDefined();
    const env = { LLMTAP_SALT: 's', OTLP_TOKEN: 't', SLACK_WEBHOOK_URL: 'https://hooks.slack.example/T/B/X' };
    const c = parseConfigText(full ?? '', 'example.yaml', env);
    expect(c.budgets[0]).toMatchObject({ scope: 'team', notify: ['slack'] });
    expect(() => parseConfigText(full ?? '', 'example.yaml', { ...env, SLACK_WEBHOOK_URL: undefined })).toThrow(
      'example.yaml: webhooks.slack.url: environment variable SLACK_WEBHOOK_URL is not set',
    );
  });

  it('documents every key the loader accepts', () => {
    const keys = [
      'db', 'listen', 'retention', 'fingerprint_salt', 'enabled', 'idle_timeout', 'stall_threshold', 'loop_threshold',
      'name', 'header', 'default', 'dimensions', 'windows', 'max_series', 'endpoint', 'headers', 'traces', 'metrics',
      'export_interval', 'max_queue', 'max_batch', 'batch_delay', 'timeout', 'service_name', 'model', 'provider',
      'input_per_mtok', 'output_per_mtok', 'cache_read_per_mtok', 'cache_write_per_mtok', 'url', 'max_attempts',
      'metric', 'window', 'op', 'threshold', 'filters', 'min_calls', 'cooldown', 'severity', 'notify', 'period',
      'scope', 'value', 'limit_usd', 'notify_at',
    ];
    for (const k of keys) expect(doc, k).toContain(`| \`${k}\` |`);
  });
});
