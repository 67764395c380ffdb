/**
 * `llmtap run` with a live pipeline that needs no root: a `probes` source on its own worker pool,
 * fed by the test (it is the probe, sending the demo capture in batches, as test/e2e/probe.test.ts
 * does), beside a file pipeline. The probe's calls carry its uuid, the file's calls its id; health
 * lists both sources under their pipelines; Ctrl-C ends the run with both in the summary.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Push } from 'zeromq';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCaptureFrames } from '../../src/capture/file-reader.js';
import { ProbeBatchEncoder, uuidBytes } from '../../src/capture/probe-batch.js';
import { isoMicros } from '../../src/core/time.js';
import { repoRoot } from '../corpus.js';
import { listCalls, readUntil, type ListedCall } from '../e2e/listed-calls.js';
import { CliProcess, runCli } from './cli-process.js';

const demo = join(repoRoot, 'examples', 'demo.pcap');
const PROBE_ID = '0d9c2a51-7d0e-4c1b-9a6e-3f2b1c0d9e8f';
let demoCalls = 0;

beforeAll(() => {
  const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
  const r = runCli(['replay', demo, '--jsonl', '-', '-q', '--no-turns']);
  demoCalls = r.stdout.split('\n').filter((l) => l.includes('"kind":"llm_call"')).length;
}, 300_000);

describe('llmtap run: a probes pipeline beside a file pipeline', () => {
  it.each([2, 1])('the probe’s calls carry its uuid, the file’s its id; both sources in health and the summary (workers: %i)', async (workers) => {
    const dir = mkdtempSync(join(tmpdir(), 'llmtap-pipelines-probes-'));
    const cfg = join(dir, 'llmtap.yaml');
    writeFileSync(
      cfg,
      [
        'pipelines:',
        '  - name: files',
        `    sources: [{kind: file, path: ${JSON.stringify(demo)}, id: demo-file}]`,
        '  - name: fleet',
        `    workers: ${workers}`,
        '    queue: {bytes: 2MiB, rounds: 256}',
        '    sources: [{kind: probes, listen: "tcp://127.0.0.1:0", id: fleet-probes}]',
        '',
      ].join('\n'),
    );
    const p = new CliProcess(['run', '--config', cfg, '--db', join(dir, 'x.duckdb'), '--listen', '127.0.0.1:0']);
    try {
      const base = (await p.waitFor(/serving (http:\/\/\S+)/))[1]!;
      const endpoint = (await p.waitFor(/collecting probe batches on (tcp:\/\/\S+) for pipeline fleet/))[1]!;
      const frames: { ts: number; data: Uint8Array }[] = [];
      await readCaptureFrames(demo, (f) => frames.push({ ts: f.ts, data: f.buf.slice(f.start, f.end) }));
      const push = new Push({ linger: 5_000 });
      push.connect(endpoint);
      const enc = new ProbeBatchEncoder(uuidBytes(PROBE_ID)!, 0, 70_000 + 100);
      for (const f of frames) {
        const sealed = enc.add(f.ts, null, f.data, 0, f.data.length, f.data.length);
        if (sealed !== null) await push.send(sealed);
      }
      await push.send(enc.seal()!);
      // A garbage batch: counted and dropped, the run goes on.
      await push.send(Uint8Array.from([0, 2, 0, 1]));
      push.close();

      const bySource = (items: ListedCall[]): Map<string, number> => {
        const m = new Map<string, number>();
        for (const c of items) m.set(c.source, (m.get(c.source) ?? 0) + 1);
        return m;
      };
      const counts = bySource(
        await readUntil(
          () => listCalls(base),
          (items) => {
            const m = bySource(items);
            return m.get(PROBE_ID) === demoCalls && m.get('demo-file') === demoCalls;
          },
        ),
      );
      expect(Object.fromEntries(counts)).toEqual({ [PROBE_ID]: demoCalls, 'demo-file': demoCalls });

      const h = (await (await fetch(`${base}/api/v1/health`)).json()) as {
        sources: { id: string; kind: string; pipeline: string; state: string; calls: number; packets: number; first_packet: string | null; last_packet: string | null; drops: { pipeline: number } }[];
        anomalies: Record<string, number>;
      };
      // The listener, then each probe (as `llmtap collect` lists them): the listener holds only
      // what no probe owns (the garbage batch), so a sum over sources counts each packet once.
      expect(h.sources.map((s) => ({ id: s.id, kind: s.kind, pipeline: s.pipeline, calls: s.calls, packets: s.packets, state: s.state }))).toEqual([
        { id: 'demo-file', kind: 'file', pipeline: 'files', calls: demoCalls, packets: frames.length, state: 'drained' },
        { id: 'fleet-probes', kind: 'probe', pipeline: 'fleet', calls: 0, packets: 0, state: 'running' },
        { id: PROBE_ID, kind: 'probe', pipeline: 'fleet', calls: demoCalls, packets: frames.length, state: 'running' },
      ]);
      const probe = h.sources[2]!;
      expect([probe.first_packet, probe.last_packet]).toEqual([isoMicros(frames[0]!.ts), isoMicros(Math.max(...frames.map((f) => f.ts)))]);
      // /metrics: one source label per probe, as with `llmtap collect`.
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`^llmtap_source_calls_total\\{source="${PROBE_ID}",pipeline="fleet"\\} ${demoCalls}$`, 'm'));
      expect(h.anomalies['probe_batch_truncated']).toBe(1);

      expect(await p.interrupt()).toBe(0);
      // The summary's line for the probes source adds up its probes.
      expect(p.stderr).toMatch(/pipeline fleet \((2 workers, queue 2 MiB \/ 256 rounds|workers 1: on the main thread)\):\n {4}fleet-probes \(probe\): [\d,]+ packets, \d+ calls, stopped, 1 probes, dropped 1 batches/);
      expect(p.stderr).toContain(`fleet-probes (probe): ${frames.length.toLocaleString('en-US')} packets, ${demoCalls} calls, stopped`);
      expect(p.stderr).toContain(`demo-file (file): ${frames.length.toLocaleString('en-US')} packets, ${demoCalls} calls, drained`);
    } finally {
      await p.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
