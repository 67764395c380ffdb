/**
 * A remote probe and a collector in two network namespaces (issue 6, "How we will know": "A probe
 * and a collector (two processes, two network namespaces) deliver every call to the collector
 * under the probe's source id; a garbage batch is counted and skipped").
 *
 * The lab of netns.ts: the LLM server in the server namespace, the official OpenAI and Anthropic
 * SDKs on the host calling it through the router namespace. `llmtap probe` runs inside the router
 * namespace and captures the forwarded traffic on the router's end of the host veth pair
 * (routerA: 1500-byte frames, like a NIC on a real probe host); `llmtap collect` runs in the
 * host namespace, so every batch the probe sends crosses the veth pair (routerA → hostIf) over
 * ZeroMQ. Every call must reach the collector's API with `source` = the probe's uuid; two
 * malformed batches sent by the test are counted (health and /metrics) and skipped, and the calls
 * made after them still arrive.
 *
 * Needs root, tcpdump and ip (iproute2); skipped with the reason otherwise, except under CI
 * (CI=true), where a missing prerequisite fails instead of hiding the test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Push } from 'zeromq';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { HealthInfo } from '../../src/api/types.js';
import { createVethLab, startLlmServerInNamespace, type NsProcess, type VethLab } from './netns.js';
import { NsCliProcess } from './ns-cli.js';
import { ensureBuilt } from './replay-cli.js';
import { ANTHROPIC_TEST_KEY, OPENAI_TEST_KEY, runAnthropicCalls, runOpenAiCalls, type SdkView } from './sdk-calls.js';
import { commandExists } from './tcpdump.js';
import { listCalls, sleep, type ListedCall } from './listed-calls.js';

/** Whole test bound: the calls take ~3–5 s across the lab; set-up, polling and shutdown more. */
const TEST_TIMEOUT_MS = 120_000;
const POLL_MS = 100;
/** After the last SDK call, how long the calls may take to reach the collector's API before the
 * test fails: far beyond the one-second design target, so only a call that never comes fails. */
const ARRIVAL_BOUND_MS = 30_000;
const PROBE_ID = '0e5a7c1b-4d2f-4a86-9b3e-8f1c2d3e4f50';

const inCi = process.env['CI'] === 'true';
const skip =
  process.getuid?.() !== 0
    ? 'needs root (packet capture, network namespaces)'
    : (['tcpdump', 'ip'].filter((c) => !commandExists(c)).map((c) => `missing ${c} (apt-get install tcpdump iproute2)`)[0] ?? null);
if (skip !== null && !inCi) process.stderr.write(`probe-netns e2e skipped: ${skip}\n`);

/** Waits until every SDK call's response id is in the collector's API (or the bound passes). */
async function waitForCalls(base: string, views: SdkView[]): Promise<ListedCall[]> {
  const deadline = Date.now() + ARRIVAL_BOUND_MS;
  let calls: ListedCall[] = [];
  while (Date.now() < deadline) {
    calls = await listCalls(base);
    const have = new Set(calls.map((c) => c.response_id));
    if (views.every((v) => have.has(v.id))) break;
    await sleep(POLL_MS);
  }
  return calls;
}

describe.skipIf(skip !== null && !inCi)(`a probe and a collector in two network namespaces${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let dir = '';
  let lab: VethLab | null = null;
  let server: NsProcess | null = null;
  let port = 0;
  let collector: NsCliProcess | null = null;
  let probe: NsCliProcess | null = null;

  beforeAll(async () => {
    if (skip !== null) throw new Error(`CI must provide the e2e prerequisites: ${skip}`);
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'llmtap-probe-netns-'));
    lab = createVethLab();
    ({ server, port } = await startLlmServerInNamespace(lab.serverNs, lab.serverIp, dir));
  });

  afterAll(async () => {
    await probe?.kill();
    await collector?.kill();
    await server?.stop();
    lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test(
    'every SDK call reaches the collector across the veth pair under the probe uuid; a garbage batch is counted and skipped',
    async () => {
      const l = lab!;
      // The collector listens on the host's veth address only: the probe's namespace reaches it
      // through the veth pair, nothing else can.
      collector = new NsCliProcess(null, ['collect', '--listen-probes', `tcp://${l.hostIp}:0`, '--db', join(dir, 'collect.duckdb'), '--listen', '127.0.0.1:0']);
      const base = (await collector.waitFor(/serving (http:\/\/\S+)/))[1]!;
      const endpoint = (await collector.waitFor(/collecting probe batches on (tcp:\/\/\S+);/))[1]!;
      expect(endpoint.startsWith(`tcp://${l.hostIp}:`), endpoint).toBe(true);

      probe = new NsCliProcess(l.routerNs, ['probe', '-i', l.routerA, '--bpf-filter', `tcp port ${port}`, '--send', endpoint, '--probe-id', PROBE_ID]);
      await probe.waitFor(new RegExp(`capturing on ${l.routerA}, sending to`));

      const url = `http://${l.serverIp}:${port}`;
      const first = await runOpenAiCalls(`${url}/v1`);
      const afterFirst = await waitForCalls(base, first);
      expect(afterFirst.map((c) => c.response_id).sort(), 'the OpenAI calls, before the garbage').toEqual(first.map((v) => v.id).sort());

      // Garbage straight to the collector: a truncated header, then a header of an unknown version.
      const push = new Push({ linger: 1_000 });
      push.connect(endpoint);
      await push.send(Uint8Array.from([0, 2, 0, 1, 0, 0]));
      const badVersion = new Uint8Array(24);
      badVersion[1] = 9;
      await push.send(badVersion);
      push.close();

      const second = await runAnthropicCalls(url);
      const views = [...first, ...second];
      const calls = await waitForCalls(base, views);
      expect(calls.map((c) => c.response_id).sort(), 'every call, once, the ones after the garbage too').toEqual(views.map((v) => v.id).sort());
      expect(new Set(calls.map((c) => c.source)), 'the probe uuid is the source').toEqual(new Set([PROBE_ID]));

      const h = (await (await fetch(`${base}/api/v1/health`)).json()) as HealthInfo;
      expect(h.anomalies['probe_batch_truncated']).toBe(1);
      expect(h.anomalies['probe_bad_version']).toBe(1);
      expect(h.sources[0]).toMatchObject({ kind: 'probe', state: 'running' });
      expect(h.counts.calls).toBe(views.length);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/^llmtap_anomalies_total\{name="probe_batch_truncated"\} 1$/m);
      expect(metrics).toMatch(/^llmtap_anomalies_total\{name="probe_bad_version"\} 1$/m);

      // The probe stops first (its last batch goes out), then the collector; both exit 0.
      expect(await probe.interrupt(), probe.stderr).toBe(0);
      expect(probe.stderr).toMatch(new RegExp(`llmtap probe ${PROBE_ID} on ${l.routerA}`));
      expect(probe.stderr).toMatch(/send queue 0 packets in 0 batches/);
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
