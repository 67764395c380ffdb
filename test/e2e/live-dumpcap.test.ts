/**
 * Live capture through dumpcap (src/capture/live-capture-tool.ts): `llmtap capture -i lo` with
 * dumpcap as its capture process while the official SDKs talk to a local LLM server. As with
 * tcpdump (live-capture.test.ts): every call reaches the API while the capture runs, Ctrl-C exits
 * 0 with the drop counters, the database holds every call. What differs, and is checked: dumpcap
 * has no drop counters while it runs (health says null, "unknown"), they come at its exit.
 *
 * dumpcap is chosen the way a host without tcpdump (and without llmtap-capture built) chooses
 * it: llmtap's PATH holds only dumpcap and LLMTAP_CAPTURE_PROGRAM is empty (so this needs no
 * `--capture-tool` flag). The delay from a call's last response byte to the API
 * is printed, not asserted (dumpcap hands packets over in blocks of up to 250 ms).
 *
 * Needs root and dumpcap (apt-get install tshark); skipped with the reason otherwise, except under
 * CI (CI=true), where a missing prerequisite fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { HealthInfo } from '../../src/api/types.js';
import { openStore } from '../../src/store/index.js';
import { CliProcess, runCli } from '../cli/cli-process.js';
import { startLlmServer, type LlmServer } from './llm-server.js';
import { ensureBuilt } from './replay-cli.js';
import { runAnthropicCalls, runOpenAiCalls } from './sdk-calls.js';
import { commandExists } from './tcpdump.js';
import { arrivalSummary, watchCallsArrive } from './listed-calls.js';

const TEST_TIMEOUT_MS = 120_000;

const inCi = process.env['CI'] === 'true';
const skip = process.getuid?.() !== 0 ? 'needs root (packet capture)' : !commandExists('dumpcap') ? 'missing dumpcap (apt-get install tshark)' : null;
if (skip !== null && !inCi) process.stderr.write(`live-dumpcap e2e skipped: ${skip}\n`);

describe.skipIf(skip !== null && !inCi)(`live capture through dumpcap${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let dir = '';
  let server: LlmServer | null = null;
  let cli: CliProcess | null = null;
  /** llmtap's environment: a PATH of one directory holding only dumpcap. */
  let env: NodeJS.ProcessEnv = process.env;

  beforeAll(async () => {
    if (skip !== null) throw new Error(`CI must provide the e2e prerequisites: ${skip}`);
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'llmtap-dumpcap-'));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(spawnSync('sh', ['-c', 'command -v dumpcap'], { encoding: 'utf8' }).stdout.trim(), join(bin, 'dumpcap'));
    // …and without llmtap's own capture process, which is found where the build put it, not on PATH.
    env = { ...process.env, PATH: bin, LLMTAP_CAPTURE_PROGRAM: '' };
    server = await startLlmServer({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await cli?.kill();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test(
    'every SDK call reaches the API while capturing; drops are unknown until dumpcap stops, then 0; the database has every call',
    async () => {
      const port = server!.port;
      const db = join(dir, 'live.duckdb');
      cli = new CliProcess(['capture', '-i', 'lo', '--bpf-filter', `tcp port ${port}`, '--db', db, '--listen', '127.0.0.1:0'], env);
      const base = (await cli.waitFor(/serving (http:\/\/\S+)/))[1]!;
      await cli.waitFor(/capturing on lo through dumpcap/);

      const { seen, views } = await watchCallsArrive(base, async () => [...(await runOpenAiCalls(`http://127.0.0.1:${port}/v1`)), ...(await runAnthropicCalls(`http://127.0.0.1:${port}`))]);
      expect(seen.map((s) => s.call.response_id).sort(), 'every call, once, while the capture runs').toEqual(views.map((v) => v.id).sort());
      process.stderr.write(`live-dumpcap e2e: ${arrivalSummary(seen)}\n`);

      // dumpcap reads pcap_stats only when its capture loop ends: no kernel count while it runs.
      const health = (await (await fetch(`${base}/api/v1/health`)).json()) as HealthInfo;
      expect(health.sources[0]).toMatchObject({ id: 'lo', kind: 'interface', state: 'running', drops: { kernel: null, interface: null, pipeline: 0 } });

      const code = await cli.interrupt();
      expect(code, cli.stderr).toBe(0);
      expect(cli.stderr).toContain(`${views.length} LLM calls`);
      expect(cli.stderr).toMatch(/drops: kernel 0, interface 0, llmtap 0 \(dumpcap: [\d,]+ captured, 0 lost in dumpcap\)/);

      const store = await openStore({ path: db, retention: false, readOnly: true });
      try {
        const stored = (await store.listCalls({}, { limit: 500 })).items;
        expect(stored.map((c) => c.response_id).sort(), 'the database has every call').toEqual(views.map((v) => v.id).sort());
      } finally {
        await store.close();
      }
    },
    TEST_TIMEOUT_MS,
  );

  test(
    '`llmtap run` with an interface source whose capture_tool is dumpcap: dumpcap though tcpdump is installed, every call under the source id',
    async () => {
      const port = server!.port;
      const config = join(dir, 'pipelines.yaml');
      writeFileSync(
        config,
        ['pipelines:', '  - name: live', '    sources:', `      - {kind: interface, iface: lo, id: lo-dumpcap, bpf_filter: "tcp port ${port}", capture_tool: dumpcap}`, ''].join('\n'),
      );
      // The user's own PATH: tcpdump, the default, is there too (the CI installs both).
      cli = new CliProcess(['run', '--config', config, '--db', join(dir, 'run.duckdb'), '--listen', '127.0.0.1:0']);
      const base = (await cli.waitFor(/serving (http:\/\/\S+)/))[1]!;
      await cli.waitFor(/capturing on lo through dumpcap for pipeline live/);

      const { seen, views } = await watchCallsArrive(base, () => runOpenAiCalls(`http://127.0.0.1:${port}/v1`));
      expect(seen.map((s) => s.call.response_id).sort(), 'every call, once, while the capture runs').toEqual(views.map((v) => v.id).sort());
      expect(new Set(seen.map((s) => s.call.source))).toEqual(new Set(['lo-dumpcap']));
      const health = (await (await fetch(`${base}/api/v1/health`)).json()) as HealthInfo;
      expect(health.sources.find((s) => s.id === 'lo-dumpcap')).toMatchObject({ kind: 'interface', state: 'running', drops: { kernel: null } });
      expect(await cli.interrupt(), cli.stderr).toBe(0);
      expect(cli.stderr).toContain(`${views.length} LLM calls`);
    },
    TEST_TIMEOUT_MS,
  );

  test("a bad interface and a bad filter are one clear line each, in dumpcap's words turned into the fix", () => {
    const nosuch = runCli(['capture', '-i', 'llmtap-nosuch0', '--jsonl', '-'], env);
    expect(nosuch.code).toBe(1);
    expect(nosuch.stderr).toBe('llmtap: no such interface: llmtap-nosuch0 (list them with `ip link`, or use -i any; see `llmtap doctor`)\n');
    const bad = runCli(['capture', '-i', 'lo', '--bpf-filter', 'tcp prot 80', '--jsonl', '-'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^llmtap: bad --bpf-filter: .+ \(see pcap-filter\(7\)\)\n$/);
  });
});
