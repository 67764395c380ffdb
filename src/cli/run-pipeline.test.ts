/**
 * What a replay into the database loads and runs when nothing serves (`--db --exit-after-drain`
 * without `--listen`): not the API server nor the metric instruments (nothing would read them),
 * yet every configured alert rule and budget still fires and is stored, as with `--listen`.
 * Runs the built CLI (dist/) on the demo capture.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertRecord } from '../core/record.js';
import { openStore } from '../store/index.js';
import { repoRoot } from '../../test/corpus.js';
import { ensureBuilt } from '../../test/e2e/replay-cli.js';
import { runCli } from '../../test/cli/cli-process.js';

const demo = join(repoRoot, 'examples', 'demo.pcap');
let dir: string;
const env: NodeJS.ProcessEnv = { ...process.env };
delete env['LLMTAP_CONFIG'];
delete env['LLMTAP_TOKEN'];

/** A preload that writes, at exit, every CommonJS file the process loaded (fastify and the
 * OpenTelemetry SDK are CommonJS: an ESM import of them lands in require.cache too). */
function loadedFilesProbe(out: string): string {
  const f = join(dir, `probe-${Math.random().toString(36).slice(2)}.cjs`);
  writeFileSync(f, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, Object.keys(require.cache).join('\\n')));\n`);
  return f;
}

function replayLoading(args: string[]): { code: number | null; stderr: string; loaded: string[] } {
  const out = join(dir, `loaded-${Math.random().toString(36).slice(2)}.txt`);
  const r = runCli(['replay', demo, ...args], { ...env, NODE_OPTIONS: `--require ${loadedFilesProbe(out)}` });
  return { code: r.code, stderr: r.stderr, loaded: readFileSync(out, 'utf8').split('\n') };
}

const uses = (loaded: string[], pkg: string): boolean => loaded.some((f) => f.includes(`/node_modules/${pkg}/`));

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'llmtap-run-pipeline-'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('replay --db --exit-after-drain without --listen', () => {
  it('loads neither the API server nor the OpenTelemetry SDK, and stores every call', () => {
    const db = join(dir, 'quiet.duckdb');
    const r = replayLoading(['--db', db, '--exit-after-drain', '--no-retention']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/stored \d+ new calls/);
    expect(uses(r.loaded, 'fastify')).toBe(false);
    expect(uses(r.loaded, '@opentelemetry/sdk-metrics')).toBe(false);
    expect(uses(r.loaded, '@duckdb/node-api')).toBe(true);
  });

  it('with --listen the same replay does load them (the probe above sees what is loaded)', () => {
    const db = join(dir, 'listening.duckdb');
    const r = replayLoading(['--db', db, '--listen', '127.0.0.1:0', '--exit-after-drain', '--no-retention']);
    expect(r.code).toBe(0);
    expect(uses(r.loaded, 'fastify')).toBe(true);
    expect(uses(r.loaded, '@opentelemetry/sdk-metrics')).toBe(true);
  });

  it('still fires and stores every configured alert and budget notice, as the JSONL of the run lists them', async () => {
    const config = join(dir, 'alerts.yaml');
    writeFileSync(
      config,
      `alerts:
  - name: openai-throttled
    metric: throttle_rate
    window: 10s
    op: ">"
    threshold: 0
    filters: { provider: openai }
    min_calls: 1
    cooldown: 0
    notify: [log]
budgets:
  - name: daily
    period: day
    limit_usd: 0.01
    notify: [log]
`,
    );
    const db = join(dir, 'alerts.duckdb');
    const jsonl = join(dir, 'alerts.jsonl');
    const r = runCli(['replay', demo, '--config', config, '--db', db, '--jsonl', jsonl, '--exit-after-drain', '--no-retention', '-q'], env);
    expect(r.code).toBe(0);
    const fromJsonl = readFileSync(jsonl, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { kind: string })
      .filter((x): x is AlertRecord => x.kind === 'alert');
    const latest = new Map(fromJsonl.map((a) => [a.id, a]));
    expect([...latest.values()].some((a) => a.rule === 'openai-throttled')).toBe(true);
    expect([...latest.values()].some((a) => a.rule === 'daily')).toBe(true);
    const store = await openStore({ path: db, retention: false, readOnly: true });
    try {
      const stored = (await store.listAlerts({}, { limit: 1000 })).items;
      expect(new Map(stored.map((a) => [a.id, `${a.rule}/${a.state}`]))).toEqual(
        new Map([...latest.values()].map((a) => [a.id, `${a.rule}/${a.state}`])),
      );
    } finally {
      await store.close();
    }
  });
});
