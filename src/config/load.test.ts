import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { configPath, loadConfig, MAX_CONFIG_BYTES, parseConfigText } from './load.js';

/** The one-line message loading `yaml` gives, or null when it loads. */
function errorOf(yaml: string, env: NodeJS.ProcessEnv = {}): string | null {
  try {
    parseConfigText(yaml, 'llmtap.yaml', env);
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
}

const lines = (...l: string[]): string => l.join('\n');

describe('loadConfig: where the file comes from', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmtap-config-'));
  const file = join(dir, 'llmtap.yaml');
  writeFileSync(file, 'db: /data/x.duckdb\n');

  it('the given path, else LLMTAP_CONFIG, else defaults only (the working directory is not searched)', () => {
    expect(loadConfig(file, {}).db).toBe('/data/x.duckdb');
    expect(loadConfig(null, { LLMTAP_CONFIG: file })).toMatchObject({ path: file, db: '/data/x.duckdb' });
    expect(loadConfig(null, {})).toMatchObject({ path: null, db: null, retention: true });
    expect(configPath('a.yaml', { LLMTAP_CONFIG: 'b.yaml' })).toBe('a.yaml');
    expect(configPath(undefined, { LLMTAP_CONFIG: '' })).toBeNull();
  });

  it('an unreadable or oversized file is one clear line', () => {
    expect(() => loadConfig(join(dir, 'missing.yaml'), {})).toThrow(`${join(dir, 'missing.yaml')}: cannot read the configuration file (no such file)`);
    expect(() => loadConfig(dir, {})).toThrow(/cannot read the configuration file/);
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    expect(() => loadConfig(big, {})).toThrow(/too large for a configuration file/);
  });
});

describe('defaults', () => {
  it('an empty file loads every default', () => {
    const c = parseConfigText('', 'llmtap.yaml', {});
    expect(c).toEqual({
      path: 'llmtap.yaml',
      db: null,
      listen: null,
      retention: true,
      fingerprint_salt: null,
      turns: { enabled: true, idle_timeout_ms: null, stall_threshold_ms: null, loop_threshold: null },
      attributes: [],
      metrics: { dimensions: ['provider', 'api', 'model', 'server', 'agent'], windows_ms: [60_000, 300_000, 3_600_000], max_series: 1_000 },
      otlp: null,
      pricing: { models: [] },
      webhooks: {},
      alerts: [],
      budgets: [],
      workers: 'auto',
      pipelines: [],
    });
  });

  it('entries get their defaults; durations load as milliseconds', () => {
    const c = parseConfigText(
      lines(
        'webhooks:',
        '  ops: {url: "https://hooks.example/x"}',
        'alerts:',
        '  - {name: slow, metric: ttft_p95, threshold: 2000}',
        'budgets:',
        '  - {name: monthly, limit_usd: 500}',
        'attributes:',
        '  - {name: team, header: X-Team}',
        'pricing:',
        '  models:',
        '    - {model: "my-llama-*", input_per_mtok: 0.2, output_per_mtok: 0.6}',
      ),
      'llmtap.yaml',
      {},
    );
    expect(c.webhooks['ops']).toEqual({ url: 'https://hooks.example/x', headers: {}, max_attempts: 5, timeout_ms: 10_000 });
    expect(c.alerts[0]).toEqual({
      name: 'slow',
      metric: 'ttft_p95',
      window_ms: 300_000,
      op: '>',
      threshold: 2000,
      filters: {},
      min_calls: 1,
      cooldown_ms: 300_000,
      severity: 'warning',
      notify: ['log'],
    });
    expect(c.budgets[0]).toEqual({ name: 'monthly', period: 'month', scope: 'all', value: null, limit_usd: 500, notify_at: [0.5, 0.8, 1], notify: ['log'] });
    // Header names are matched case-insensitively: stored lower-case, as the HTTP layer keeps them.
    expect(c.attributes).toEqual([{ name: 'team', header: 'x-team', default: null }]);
    expect(c.pricing.models[0]).toEqual({ model: 'my-llama-*', provider: null, input_per_mtok: 0.2, output_per_mtok: 0.6, cache_read_per_mtok: null, cache_write_per_mtok: null });
  });
});

describe('precedence: file > environment > defaults', () => {
  it('fingerprint_salt comes from the file, else LLMTAP_FINGERPRINT_SALT, else null (the built-in salt)', () => {
    expect(parseConfigText('fingerprint_salt: f', 'x', { LLMTAP_FINGERPRINT_SALT: 'e' }).fingerprint_salt).toBe('f');
    expect(parseConfigText('', 'x', { LLMTAP_FINGERPRINT_SALT: 'e' }).fingerprint_salt).toBe('e');
    expect(parseConfigText('', 'x', {}).fingerprint_salt).toBeNull();
  });
});

describe('environment variables in values', () => {
  it('fill secrets from the environment', () => {
    const c = parseConfigText(
      lines('webhooks:', '  ops:', '    url: "${HOOK_URL}"', '    headers: {Authorization: "Bearer ${HOOK_TOKEN}"}'),
      'x',
      { HOOK_URL: 'https://hooks.example/T000/B000', HOOK_TOKEN: 'tok-1' },
    );
    expect(c.webhooks['ops']).toMatchObject({ url: 'https://hooks.example/T000/B000', headers: { Authorization: 'Bearer tok-1' } });
  });

  it('a missing variable is an error naming it and the key', () => {
    expect(errorOf(lines('otlp:', '  endpoint: http://c:4318', '  headers: {authorization: "${OTLP_TOKEN}"}'))).toBe(
      'llmtap.yaml: otlp.headers.authorization: environment variable OTLP_TOKEN is not set (write ${OTLP_TOKEN:-fallback} for a fallback)',
    );
  });
});

describe('errors: one line, file, key path, what is wrong', () => {
  it('a bad duration says what to write', () => {
    const yaml = lines(
      'alerts:',
      '  - {name: a, metric: calls, threshold: 1}',
      '  - {name: b, metric: calls, threshold: 1}',
      '  - {name: c, metric: calls, threshold: 1, window: "5 minutes"}',
    );
    expect(errorOf(yaml)).toBe('llmtap.yaml: alerts[2].window: "5 minutes" is not a duration (write 5m)');
  });

  it('unknown keys are errors, with a "did you mean" when close', () => {
    expect(errorOf('alert: []')).toBe('llmtap.yaml: unknown key "alert" (did you mean "alerts"?)');
    expect(errorOf('alerts: [{name: a, metric: calls, threshold: 1, windw: 5m}]')).toBe('llmtap.yaml: alerts[0]: unknown key "windw" (did you mean "window"?)');
    expect(errorOf('otlp: {endpoint: "http://c", max_que: 5}')).toBe('llmtap.yaml: otlp: unknown key "max_que" (did you mean "max_queue"?)');
    expect(errorOf('webhooks: {ops: {url: "https://h", retries: 3}}')).toMatch(/^llmtap\.yaml: webhooks\.ops: unknown key "retries" \(known keys: url, headers, max_attempts, timeout\)$/);
  });

  it('wrong types, enums, ranges and missing keys', () => {
    expect(errorOf('db: 5')).toBe('llmtap.yaml: db: expected a string, got a number (5)');
    expect(errorOf('alerts: [{name: a, metric: calls}]')).toBe('llmtap.yaml: alerts[0].threshold: is required');
    expect(errorOf('alerts: [{name: a, metric: calls, threshold: 1, severity: warn}]')).toBe('llmtap.yaml: alerts[0].severity: "warn" is not one of info, warning, critical');
    expect(errorOf('alerts: [{name: a, metric: error_rat, threshold: 1}]')).toMatch(/^llmtap\.yaml: alerts\[0\]\.metric: "error_rat" is not a metric \(did you mean "error_rate"\?\)/);
    expect(errorOf('alerts: [{name: a, metric: "score:helpful", threshold: 1}]')).toBeNull();
    expect(errorOf('alerts: [{name: a, metric: "score:", threshold: 1}]')).toMatch(/is not a metric/);
    expect(errorOf('turns: {loop_threshold: 1}')).toBe('llmtap.yaml: turns.loop_threshold: 1 must be 2 or more');
    expect(errorOf('budgets: [{name: b, limit_usd: 10, notify_at: [0.5, 11]}]')).toMatch(/^llmtap\.yaml: budgets\[0\]\.notify_at\[1\]: 11 must be a fraction of the limit above 0 and at most 10/);
    expect(errorOf('budgets: [{name: b, limit_usd: 10, notify_at: [0]}]')).toMatch(/notify_at\[0\]: 0 must be/);
    expect(errorOf('budgets: [{name: b, limit_usd: 0}]')).toBe('llmtap.yaml: budgets[0].limit_usd: 0 must be above 0');
    expect(errorOf('pricing: {models: [{model: x, input_per_mtok: -1, output_per_mtok: 1}]}')).toMatch(/input_per_mtok: -1 must be a price of 0 or more/);
    expect(errorOf('metrics: {windows: []}')).toBe('llmtap.yaml: metrics.windows: needs at least one window');
    expect(errorOf('- a')).toBe('llmtap.yaml: the file must be a mapping of keys (db:, attributes:, alerts:, …), not a list');
  });

  it('more than one problem: the first, and how many more', () => {
    expect(errorOf('db: 5\nlisten: 6\nretention: 7')).toBe('llmtap.yaml: db: expected a string, got a number (5) (and 2 more problems)');
  });

  it('YAML syntax errors give the position, not the offending line', () => {
    const e = errorOf('otlp:\n  headers: {authorization: "Bearer sk-live-secret", [');
    expect(e).toMatch(/^llmtap\.yaml:2:\d+: YAML syntax error: /);
    expect(e).not.toContain('secret');
    expect(errorOf('db: a\ndb: b')).toMatch(/^llmtap\.yaml:2:1: YAML syntax error: Map keys must be unique/);
  });

  it('alias bombs stop at the alias cap', () => {
    const bomb = lines('a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]');
    expect(errorOf(bomb)).toBe('llmtap.yaml: YAML aliases expand too far (more than 100 uses); write the values out');
  });
});

describe('checks across sections', () => {
  const hooks = lines('webhooks:', '  slack: {url: "https://hooks.example/s"}');

  it('notify names a webhook or "log"', () => {
    expect(errorOf(lines(hooks, 'alerts: [{name: a, metric: calls, threshold: 1, notify: [log, slack]}]'))).toBeNull();
    expect(errorOf(lines(hooks, 'alerts: [{name: a, metric: calls, threshold: 1, notify: [slak]}]'))).toBe(
      'llmtap.yaml: alerts[0].notify[0]: "slak" is not a webhook in webhooks (nor "log"); did you mean "slack"?',
    );
    expect(errorOf('budgets: [{name: b, limit_usd: 5, notify: [pager]}]')).toMatch(/^llmtap\.yaml: budgets\[0\]\.notify\[0\]: "pager" is not a webhook/);
    expect(errorOf('webhooks: {log: {url: "https://h"}}')).toMatch(/webhooks\.log: .*built-in log target/);
  });

  it('filters, scopes and metric dimensions name built-ins or configured attributes', () => {
    const attrs = lines('attributes:', '  - {name: team, header: X-Team}');
    expect(errorOf(lines(attrs, 'metrics: {dimensions: [model, team]}', 'alerts: [{name: a, metric: calls, threshold: 1, filters: {team: infra, provider: openai}}]', 'budgets: [{name: b, limit_usd: 5, scope: team, value: infra}]'))).toBeNull();
    expect(errorOf(lines(attrs, 'metrics: {dimensions: [tema]}'))).toBe(
      'llmtap.yaml: metrics.dimensions[0]: "tema" is neither a built-in dimension (provider, api, model, server, agent, client, key, source, process) nor a configured attribute (team); did you mean "team"?',
    );
    expect(errorOf('alerts: [{name: a, metric: calls, threshold: 1, filters: {team: infra}}]')).toMatch(/^llmtap\.yaml: alerts\[0\]\.filters\.team: "team" is neither .* \(none configured\)$/);
    expect(errorOf('budgets: [{name: b, limit_usd: 5, scope: user}]')).toMatch(/^llmtap\.yaml: budgets\[0\]\.scope: "user" is neither/);
    expect(errorOf('budgets: [{name: b, limit_usd: 5, value: x}]')).toMatch(/budgets\[0\]\.value: .*scope "all"/);
    expect(errorOf('metrics: {dimensions: [model, model]}')).toMatch(/metrics\.dimensions\[1\]: .*listed twice/);
  });

  it('attributes: valid, unique names that are not built-ins; headers that are not secret', () => {
    expect(errorOf('attributes: [{name: model, header: x-m}]')).toMatch(/attributes\[0\]\.name: "model" is a built-in dimension/);
    expect(errorOf('attributes: [{name: all, header: x-a}]')).toMatch(/attributes\[0\]\.name: "all" means the total spend/);
    expect(errorOf('attributes: [{name: team, header: x-a}, {name: team, header: x-b}]')).toMatch(/attributes\[1\]\.name: "team" is defined twice/);
    expect(errorOf('attributes: [{name: Team, header: x-a}]')).toMatch(/attributes\[0\]\.name: "Team" is not a valid attribute name/);
    for (const secret of ['Authorization', 'x-api-key', 'Cookie', 'x-goog-api-key', 'X-Team-Token']) {
      expect(errorOf(`attributes: [{name: team, header: ${secret}}]`), secret).toMatch(/names a header that carries credentials/);
    }
    expect(errorOf('attributes: [{name: env}]')).toMatch(/attributes\[0\]: needs a header to read, a default value, or both/);
    expect(errorOf('attributes: [{name: env, default: prod}]')).toBeNull();
  });

  it('rule and budget names are unique', () => {
    expect(errorOf('alerts: [{name: a, metric: calls, threshold: 1}]\nbudgets: [{name: a, limit_usd: 1}]')).toBe('llmtap.yaml: budgets[0].name: "a" is already the name of alerts[0]');
  });

  it('webhook and OTLP URLs are http(s)', () => {
    expect(errorOf('webhooks: {ops: {url: "ftp://h"}}')).toBe('llmtap.yaml: webhooks.ops.url: the value is not an http:// or https:// URL');
    expect(errorOf('otlp: {endpoint: "localhost:4318"}')).toMatch(/^llmtap\.yaml: otlp\.endpoint: the value is not an http/);
    expect(errorOf('otlp: {endpoint: "http://c:4318/v1/traces"}')).toMatch(/write the base URL/);
    expect(parseConfigText('otlp: {endpoint: "http://c:4318/"}', 'x', {}).otlp?.endpoint).toBe('http://c:4318');
  });
});

describe('secrets never appear in error messages', () => {
  const token = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123';
  const cases: [string, NodeJS.ProcessEnv][] = [
    // A secret URL that is not http(s).
    ['webhooks: {ops: {url: "ftp://user:hunter2-secret-value@h/x"}}', {}],
    // A secret from the environment in a place that fails validation.
    ['webhooks: {ops: {url: "${HOOK}"}}', { HOOK: 'not a url hunter2-secret-value' }],
    ['db: ${DB_SECRET}\nlisten: 5', { DB_SECRET: 'hunter2-secret-value' }],
    ['alerts: [{name: a, metric: "${M}", threshold: 1}]', { M: 'hunter2-secret-value' }],
    // Header values with the wrong type or next to another problem.
    ['otlp: {endpoint: "http://c", headers: {authorization: [hunter2-secret-value]}}', {}],
    ['webhooks: {ops: {url: "https://h", headers: {"bad header": "hunter2-secret-value"}}}', {}],
    [`fingerprint_salt: ["hunter2-secret-value"]`, {}],
    // A key-shaped string anywhere is redacted as a last guard.
    [`alerts: [{name: a, metric: calls, threshold: 1, notify: ["${token}"]}]`, {}],
  ];
  it.each(cases)('%s', (yaml, env) => {
    const e = errorOf(yaml, env);
    expect(e).not.toBeNull();
    expect(e).not.toContain('hunter2');
    expect(e).not.toContain(token);
  });
});
