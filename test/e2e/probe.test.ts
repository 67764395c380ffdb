/**
 * Remote probes end to end (issue 6 item 4): `llmtap collect` listens for probe batches,
 * `llmtap probe -i lo` captures while the official OpenAI and Anthropic SDKs talk to a local LLM
 * server, and every call must appear in the collector's API with `source` = the probe's uuid.
 * A malformed batch sent by the test straight to the collector is counted and dropped, and the
 * calls after it still arrive. Two processes, as a user runs them (the same host: the network
 * namespaces variant of the issue's check is not here yet).
 *
 * Loopback's 65,536-byte MTU makes frames one Ethernet header too big for the batch format's
 * u16 data length: the ~100 KB prompts of sdk-calls.ts cross it, so the probe's re-segmenting is
 * exercised by every run.
 *
 * Needs root and tcpdump (for the probe); skipped with the reason otherwise, except under CI
 * (CI=true), where a missing prerequisite fails instead of hiding the test. The two-probe test
 * below needs neither: the test itself is the probes, sending the demo capture in batches.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pull, Push } from 'zeromq';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { HealthInfo } from '../../src/api/types.js';
import { readCaptureFrames } from '../../src/capture/file-reader.js';
import { ProbeBatchEncoder, uuidBytes } from '../../src/capture/probe-batch.js';
import { CliProcess, runCli } from '../cli/cli-process.js';
import { repoRoot } from '../corpus.js';
import { startLlmServer, type LlmServer } from './llm-server.js';
import { ensureBuilt } from './replay-cli.js';
import { ANTHROPIC_TEST_KEY, OPENAI_TEST_KEY, runAnthropicCalls, runOpenAiCalls, type SdkView } from './sdk-calls.js';
import { commandExists } from './tcpdump.js';
import { listCalls, readUntil, type ListedCall } from './listed-calls.js';

/** Whole test bound: the calls take ~3 s; start-up, polling and shutdown a few more. */
const TEST_TIMEOUT_MS = 120_000;
const PROBE_ID = '6c1d0f4e-93a2-4b7e-8c55-0123456789ab';

const inCi = process.env['CI'] === 'true';
const skip = process.getuid?.() !== 0 ? 'needs root (packet capture)' : !commandExists('tcpdump') ? 'missing tcpdump (apt-get install tcpdump)' : null;
if (skip !== null && !inCi) process.stderr.write(`probe e2e skipped: ${skip}\n`);

async function health(base: string): Promise<HealthInfo> {
  return (await (await fetch(`${base}/api/v1/health`)).json()) as HealthInfo;
}

/** The calls listed once every SDK call's response id is in the collector's API (or the bound passed). */
function waitForCalls(base: string, views: SdkView[]): Promise<ListedCall[]> {
  return readUntil(
    () => listCalls(base),
    (calls) => {
      const have = new Set(calls.map((c) => c.response_id));
      return views.every((v) => have.has(v.id));
    },
  );
}

describe.skipIf(skip !== null && !inCi)(`remote probe on loopback${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let dir = '';
  let server: LlmServer | null = null;
  let collector: CliProcess | null = null;
  let probe: CliProcess | null = null;

  beforeAll(async () => {
    if (skip !== null) throw new Error(`CI must provide the e2e prerequisites: ${skip}`);
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'llmtap-probe-'));
    server = await startLlmServer({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await probe?.kill();
    await collector?.kill();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test(
    'every SDK call reaches the collector under the probe uuid; a garbage batch is counted and skipped',
    async () => {
      const port = server!.port;
      collector = new CliProcess(['collect', '--listen-probes', 'tcp://127.0.0.1:0', '--db', join(dir, 'collect.duckdb'), '--listen', '127.0.0.1:0']);
      const base = (await collector.waitFor(/serving (http:\/\/\S+)/))[1]!;
      const endpoint = (await collector.waitFor(/collecting probe batches on (tcp:\/\/\S+);/))[1]!;
      expect(collector.stderr, 'loopback: no exposure warning').not.toContain('WARNING');

      probe = new CliProcess(['probe', '-i', 'lo', '--bpf-filter', `tcp port ${port}`, '--send', endpoint, '--probe-id', PROBE_ID]);
      await probe.waitFor(/capturing on lo, sending to/);

      const first = await runOpenAiCalls(`http://127.0.0.1:${port}/v1`);
      const afterFirst = await waitForCalls(base, first);
      expect(afterFirst.map((c) => c.response_id).sort(), 'the OpenAI calls, before the garbage').toEqual(first.map((v) => v.id).sort());

      // A malformed batch straight to the collector (a truncated header), then one of a bad version.
      const push = new Push({ linger: 1_000 });
      push.connect(endpoint);
      await push.send(Uint8Array.from([0, 2, 0, 1, 0, 0]));
      const badVersion = new Uint8Array(24);
      badVersion[1] = 9;
      await push.send(badVersion);
      push.close();

      const second = await runAnthropicCalls(`http://127.0.0.1:${port}`);
      const views = [...first, ...second];
      const calls = await waitForCalls(base, views);
      expect(calls.map((c) => c.response_id).sort(), 'every call, once').toEqual(views.map((v) => v.id).sort());
      expect(new Set(calls.map((c) => c.source))).toEqual(new Set([PROBE_ID]));

      const h = await health(base);
      expect(h.anomalies['probe_batch_truncated']).toBe(1);
      expect(h.anomalies['probe_bad_version']).toBe(1);
      expect(h.sources[0]).toMatchObject({ kind: 'probe', state: 'running' });
      expect(h.counts.calls).toBe(views.length);

      // The probe stops first (its last batch goes out), then the collector; both exit 0.
      expect(await probe.interrupt(), probe.stderr).toBe(0);
      expect(probe.stderr).toMatch(new RegExp(`llmtap probe ${PROBE_ID} on lo`));
      expect(probe.stderr).toMatch(/send queue 0 packets in 0 batches/);
      expect(probe.stderr).toMatch(/TCP packets over 65,535 bytes re-segmented/);
      expect(await collector.interrupt(), collector.stderr).toBe(0);
      expect(collector.stderr).toContain(`${views.length} LLM calls`);
      expect(collector.stderr).toMatch(new RegExp(`1 probes: ${PROBE_ID} \\d`));
      expect(collector.stderr).toMatch(/dropped: 2 batches/);
      for (const key of [OPENAI_TEST_KEY, ANTHROPIC_TEST_KEY]) {
        expect(collector.stderr).not.toContain(key);
        expect(probe.stderr).not.toContain(key);
      }
    },
    TEST_TIMEOUT_MS,
  );
});

/** The demo capture's frames (Ethernet), copied out of the reader's reused buffers. */
async function demoFrames(): Promise<{ ts: number; data: Uint8Array }[]> {
  const frames: { ts: number; data: Uint8Array }[] = [];
  await readCaptureFrames(join(repoRoot, 'examples', 'demo.pcap'), (f) => frames.push({ ts: f.ts, data: f.buf.slice(f.start, f.end) }));
  return frames;
}

/** What Netis cloud-probe does to each frame: an MPLS label after the Ethernet addresses
 * (EtherType 0x8847, bottom of stack), its keybit in the label (src/socketzmq.cpp). */
function withMplsLabel(eth: Uint8Array): Uint8Array {
  const out = new Uint8Array(eth.length + 4);
  out.set(eth.subarray(0, 12), 0);
  out.set([0x88, 0x47, 0x00, 0x01, 0x01, 0xff], 12);
  out.set(eth.subarray(14), 18);
  return out;
}

describe('two probes with identical traffic', () => {
  let collector: CliProcess | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'llmtap-probes-'));
  afterAll(async () => {
    await collector?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test.each([1, 2])(
    'each probe has its own flows and source: the same capture from two probes gives every call twice (workers: %i)',
    async (workers) => {
      ensureBuilt();
      // A rule on calls runs once per probe: each raises its own incident, named by its uuid.
      const config = join(dir, 'alerts.yaml');
      writeFileSync(config, ['alerts:', '  - {name: busy, metric: calls, window: 10m, op: ">=", threshold: 5, notify: []}', ''].join('\n'));
      collector = new CliProcess(['collect', '--listen-probes', 'tcp://127.0.0.1:0', '--listen', '127.0.0.1:0', '--db', join(dir, `two-${workers}.duckdb`), '--config', config, '--workers', String(workers)]);
      const base = (await collector.waitFor(/serving (http:\/\/\S+)/))[1]!;
      const endpoint = (await collector.waitFor(/collecting probe batches on (tcp:\/\/\S+);/))[1]!;
      // A message over the 2 MiB cap: ZeroMQ drops it and disconnects its sender; nothing else changes.
      const big = new Push({ linger: 1_000 });
      big.connect(endpoint);
      await big.send(new Uint8Array(3 * 1024 * 1024));
      big.close();
      const frames = await demoFrames();
      const probes = ['11111111-2222-4333-8444-555555555555', '99999999-8888-4777-8666-555555555555'];
      const push = new Push({ linger: 5_000 });
      push.connect(endpoint);
      for (const [i, id] of probes.entries()) {
        // Small batches, so that one connection's packets span several.
        const enc = new ProbeBatchEncoder(uuidBytes(id)!, 0, 70_000 + 100);
        for (const f of frames) {
          const data = i === 1 ? withMplsLabel(f.data) : f.data;
          const sealed = enc.add(f.ts, null, data, 0, data.length, data.length);
          if (sealed !== null) await push.send(sealed);
        }
        await push.send(enc.seal()!);
      }
      push.close();

      const calls = await readUntil(() => listCalls(base), (c) => c.length >= 42);
      const bySource = new Map<string, string[]>();
      for (const c of calls) bySource.set(c.source, [...(bySource.get(c.source) ?? []), c.response_id ?? '']);
      expect([...bySource.keys()].sort()).toEqual([...probes].sort());
      const [a, b] = probes.map((id) => bySource.get(id)!.sort());
      // The demo capture holds 21 calls (README quickstart); each probe delivers all of them.
      expect(a).toHaveLength(21);
      expect(b).toEqual(a);
      // Turns too carry the probe they came from (the demo has 14 agent turns). The store commits
      // a batch's turns after its calls: they are read once all 28 are in.
      const listTurns = async (): Promise<{ source: string }[]> => ((await (await fetch(`${base}/api/v1/turns?limit=100`)).json()) as { items: { source: string }[] }).items;
      const turns = await readUntil(listTurns, (t) => t.length >= 28);
      expect(turns.filter((t) => t.source === probes[0]).length).toBe(14);
      expect(turns.filter((t) => t.source === probes[1]).length).toBe(14);

      // Health lists the collector (what no probe owns: refused batches) and then each probe.
      const h = await health(base);
      const iso = (t: number): string => new Date(t / 1000).toISOString().replace('Z', `${String(t % 1000).padStart(3, '0')}Z`);
      expect(h.sources.map((s) => [s.id, s.kind, s.packets, s.calls, s.drops.pipeline])).toEqual([
        [expect.stringMatching(/^probes@tcp:/), 'probe', 0, 0, 0],
        [probes[0], 'probe', frames.length, 21, 0],
        [probes[1], 'probe', frames.length, 21, 0],
      ]);
      for (const s of h.sources.slice(1)) {
        expect(s.first_packet).toBe(iso(frames[0]!.ts));
        expect(s.last_packet).toBe(iso(Math.max(...frames.map((f) => f.ts))));
      }
      expect(h.sources.slice(1).reduce((n, s) => n + s.bytes, 0)).toBeGreaterThan(0);
      // /metrics: one source label per probe, adding up to the totals.
      const metrics = await (await fetch(`${base}/metrics`)).text();
      for (const id of probes) {
        expect(metrics).toMatch(new RegExp(`^llmtap_source_packets_total\\{source="${id}",pipeline=""\\} ${frames.length}$`, 'm'));
        expect(metrics).toMatch(new RegExp(`^llmtap_source_calls_total\\{source="${id}",pipeline=""\\} 21$`, 'm'));
      }
      expect(metrics).toMatch(new RegExp(`^llmtap_packets_total ${2 * frames.length}$`, 'm'));

      // Each probe's incident names it; the second, at the same microsecond, has an id of its own.
      const listAlerts = async (): Promise<{ id: string; source: string | null }[]> =>
        ((await (await fetch(`${base}/api/v1/alerts?rule=busy&state=firing`)).json()) as { items: { id: string; source: string | null }[] }).items;
      const alerts = await readUntil(listAlerts, (a) => a.length >= 2);
      expect(alerts.map((a) => a.source).sort()).toEqual([...probes].sort());
      expect(new Set(alerts.map((a) => a.id)).size).toBe(2);
      const one = ((await (await fetch(`${base}/api/v1/alerts?source=${probes[1]}`)).json()) as { items: { source: string }[] }).items;
      expect(one.map((a) => a.source)).toEqual([probes[1]]);

      expect(await collector.interrupt(), collector.stderr).toBe(0);
      expect(collector.stderr).toContain('42 LLM calls');
      expect(collector.stderr).toMatch(/2 probes: /);
      expect(collector.stderr).toMatch(/dropped: 0 batches/);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('collect and probe command lines', () => {
  test('a bad endpoint is one clear line and exit 2', () => {
    ensureBuilt();
    const c = runCli(['collect', '--listen-probes', 'http://127.0.0.1:5556', '--jsonl', '-']);
    expect(c.code).toBe(2);
    expect(c.stderr).toBe('llmtap: --listen-probes http://127.0.0.1:5556: expected tcp://HOST:PORT, e.g. tcp://0.0.0.0:5556\n');
    const p = runCli(['probe', '-i', 'lo', '--send', 'tcp://*:5556']);
    expect(p.code).toBe(2);
    expect(p.stderr).toBe('llmtap: --send tcp://*:5556: expected tcp://HOST:PORT of a collector (llmtap collect --listen-probes)\n');
    const id = runCli(['probe', '-i', 'lo', '--send', 'tcp://127.0.0.1:5556', '--probe-id', 'host-a']);
    expect(id.code).toBe(2);
    expect(id.stderr).toBe('llmtap: --probe-id host-a: expected a UUID (8-4-4-4-12 hex digits)\n');
  });

  test('an endpoint in use is one clear line and exit 1', async () => {
    ensureBuilt();
    const taken = new Pull();
    await taken.bind('tcp://127.0.0.1:*');
    try {
      const r = runCli(['collect', '--listen-probes', taken.lastEndpoint!, '--jsonl', '-']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`llmtap: cannot listen for probes on ${taken.lastEndpoint!}: the address is in use\n`);
    } finally {
      taken.close();
    }
  });
});
