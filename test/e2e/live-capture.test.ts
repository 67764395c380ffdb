/**
 * Live capture end to end (issue 6, "How we will know"): `llmtap capture -i lo` runs its default
 * capture process (llmtap-capture when built, as under CI; else tcpdump) while the official
 * OpenAI and Anthropic SDKs talk to a local LLM server;
 * every call must show up in the API while the capture runs, and after Ctrl-C the process exits
 * 0 with a summary naming its drops, and the database holds every call.
 *
 * The delay from a call's last response packet to its appearance in the API is measured and
 * printed, not asserted (two shared cores make any bound flaky); the design target is a second.
 *
 * Needs root and tcpdump; skipped with the reason otherwise, except under CI (CI=true), where a
 * missing prerequisite fails instead of hiding the test (llmtap-capture not built included).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { HealthInfo } from '../../src/api/types.js';
import { findLlmtapCapture } from '../../src/capture/live-llmtap-capture-text.js';
import { openStore } from '../../src/store/index.js';
import { CliProcess, runCli } from '../cli/cli-process.js';
import { startLlmServer, type LlmServer } from './llm-server.js';
import { ensureBuilt } from './replay-cli.js';
import { ANTHROPIC_TEST_KEY, OPENAI_TEST_KEY, runAnthropicCalls, runOpenAiCalls } from './sdk-calls.js';
import { commandExists } from './tcpdump.js';
import { arrivalSummary, sleep, watchCallsArrive } from './listed-calls.js';

/** Whole test bound: the calls take ~3 s; start-up, polling and shutdown a few more. */
const TEST_TIMEOUT_MS = 120_000;

const inCi = process.env['CI'] === 'true';
const skip = process.getuid?.() !== 0 ? 'needs root (packet capture)' : !commandExists('tcpdump') ? 'missing tcpdump (apt-get install tcpdump)' : null;
if (skip !== null && !inCi) process.stderr.write(`live-capture e2e skipped: ${skip}\n`);
/** The capture process `auto` runs here (src/capture/live-capture-tool.ts). Under CI it must be
 * llmtap's own (.ci/run installs gcc and libpcap-dev; the build compiles it). */
const tool = findLlmtapCapture() !== null || inCi ? 'llmtap-capture' : 'tcpdump';

describe.skipIf(skip !== null && !inCi)(`live capture on loopback${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let dir = '';
  let server: LlmServer | null = null;
  let cli: CliProcess | null = null;

  beforeAll(async () => {
    if (skip !== null) throw new Error(`CI must provide the e2e prerequisites: ${skip}`);
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'llmtap-live-'));
    server = await startLlmServer({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await cli?.kill();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test(
    'every SDK call reaches the API while capturing; Ctrl-C exits 0 and the database has them all',
    async () => {
      const port = server!.port;
      const db = join(dir, 'live.duckdb');
      cli = new CliProcess(['capture', '-i', 'lo', '--bpf-filter', `tcp port ${port}`, '--db', db, '--listen', '127.0.0.1:0']);
      const base = (await cli.waitFor(/serving (http:\/\/\S+)/))[1]!;
      await cli.waitFor(/capturing on lo/);

      const { seen, views } = await watchCallsArrive(base, async () => [...(await runOpenAiCalls(`http://127.0.0.1:${port}/v1`)), ...(await runAnthropicCalls(`http://127.0.0.1:${port}`))]);
      expect(seen.map((s) => s.call.response_id).sort(), 'every call, once, while the capture runs').toEqual(views.map((v) => v.id).sort());
      expect(new Set(seen.map((s) => s.call.source))).toEqual(new Set(['lo']));
      process.stderr.write(`live-capture e2e: ${arrivalSummary(seen)}\n`);

      // The health API names the live source and its drop counters (both tools report them each second).
      await sleep(1_500);
      const health = (await (await fetch(`${base}/api/v1/health`)).json()) as HealthInfo;
      expect(health.sources).toHaveLength(1);
      expect(health.sources[0]).toMatchObject({ id: 'lo', kind: 'interface', state: 'running', progress: null, drops: { kernel: 0, pipeline: 0 } });
      // …and so do the self-metrics, with the requests in flight (none: every call is answered).
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/^llmtap_capture_dropped_total\{by="kernel"\} 0$/m);
      expect(metrics).toMatch(/^llmtap_capture_stalls_total \d+$/m);
      expect(metrics).toMatch(/^llmtap_http_requests_in_flight 0$/m);

      const code = await cli.interrupt();
      expect(code, cli.stderr).toBe(0);
      expect(cli.stderr).toMatch(/llmtap capture -i lo \(pcap\)/);
      expect(cli.stderr).toContain(`${views.length} LLM calls`);
      expect(cli.stderr).toMatch(new RegExp(`drops: kernel 0, interface 0, llmtap 0 \\(${tool}: `));
      expect(cli.stderr).not.toContain(OPENAI_TEST_KEY);

      const store = await openStore({ path: db, retention: false, readOnly: true });
      try {
        const stored = (await store.listCalls({}, { limit: 500 })).items;
        expect(stored.map((c) => c.response_id).sort(), 'the database has every call').toEqual(views.map((v) => v.id).sort());
        const text = JSON.stringify(stored);
        for (const key of [OPENAI_TEST_KEY, ANTHROPIC_TEST_KEY]) expect(text.includes(key), `${key} stored`).toBe(false);
      } finally {
        await store.close();
      }
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'drop counters are in the health API from the start and while packets flow, not only when the capture process stops',
    async () => {
      const port = server!.port;
      cli = new CliProcess(['capture', '-i', 'lo', '--bpf-filter', `tcp port ${port}`, '--jsonl', '/dev/null', '--listen', '127.0.0.1:0']);
      const base = (await cli.waitFor(/serving (http:\/\/\S+)/))[1]!;
      await cli.waitFor(/capturing on lo/);
      const drops = async (): Promise<HealthInfo['sources'][number]> => ((await (await fetch(`${base}/api/v1/health`)).json()) as HealthInfo).sources[0]!;
      // llmtap-capture prints its counters as it starts: known before a second has passed.
      if (tool === 'llmtap-capture') expect((await drops()).drops).toMatchObject({ kernel: 0, interface: 0 });
      await runOpenAiCalls(`http://127.0.0.1:${port}/v1`);
      await sleep(1_200);
      const running = await drops();
      expect(running.state).toBe('running');
      expect(running.packets).toBeGreaterThan(0);
      expect(running.drops).toMatchObject({ kernel: 0, interface: 0, pipeline: 0 });
      expect(await cli.interrupt(), cli.stderr).toBe(0);
      expect(cli.stderr).toMatch(new RegExp(`drops: kernel 0, interface 0, llmtap 0 \\(${tool}: [\\d,]+ captured, [\\d,]+ received by filter\\)`));
    },
    TEST_TIMEOUT_MS,
  );

  test('a bad interface is one clear line and a non-zero exit', () => {
    const r = runCli(['capture', '-i', 'llmtap-nosuch0', '--jsonl', '-']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('llmtap: no such interface: llmtap-nosuch0 (list them with `ip link`, or use -i any; see `llmtap doctor`)\n');
    expect(r.stdout).toBe('');
  });

  test('a bad filter is one clear line and a non-zero exit', () => {
    const r = runCli(['capture', '-i', 'lo', '--bpf-filter', 'tcp prot 80', '--jsonl', '-']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^llmtap: bad --bpf-filter: .+ \(see pcap-filter\(7\)\)\n$/);
  });
});
