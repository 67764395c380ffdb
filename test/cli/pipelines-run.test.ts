/**
 * `llmtap run --config FILE` with two pipelines, as a user runs it (issue 6 item 3): a bursty
 * pipeline replaying generated captures as fast as it can on its own worker pool, and a paced
 * pipeline replaying another capture at a speed factor, both into one --db and one API. Every
 * record carries its source id, health lists every source with its pipeline, and the paced
 * pipeline's calls reach the API about when their last packet is due while the other floods:
 * the delay is measured and printed beside the same pipeline run alone, not asserted (two shared
 * cores make any timing bound a coin toss).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeWorkload, type WorkloadMeta } from '../../bench/workload.js';
import { repoRoot } from '../corpus.js';
import { CliProcess, runCli } from './cli-process.js';

let dir: string;
let flood: WorkloadMeta;
let paced: WorkloadMeta;
let factor: number;
const floodPath = (): string => join(dir, 'flood.pcap');
const pacedPath = (): string => join(dir, 'paced.pcap');
/** Wall time the paced replay should take: long enough to see its calls arrive one by one. */
const PACED_WALL_S = 8;

interface CallRow {
  id: string;
  source: string;
  timing: { request_start: string; response_end: string | null };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'llmtap-pipelines-'));
  // The CLI runs from dist/ (compile only: the console bundle is not needed here).
  const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
  // Same generator, same time base (bench/workload.ts START), other seeds: the two pipelines'
  // capture clocks cover the same hour, as two live inputs of one host would.
  flood = writeWorkload(floodPath(), 24e6, { seed: 7 });
  paced = writeWorkload(pacedPath(), 2e6, { seed: 11 });
  factor = paced.captureSeconds / PACED_WALL_S;
}, 300_000);

// The generated captures are ~26 MB.
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(name: string, withFlood: boolean): string {
  const path = join(dir, name);
  const lines = ['pipelines:'];
  if (withFlood) {
    lines.push(
      '  - name: bulk',
      '    workers: 2',
      '    queue: {bytes: 8MiB}',
      '    sources:',
      ...[1, 2, 3].map((i) => `      - {kind: file, path: ${JSON.stringify(floodPath())}, id: flood-${i}}`),
    );
  }
  lines.push('  - name: latency', '    workers: 1', '    sources:', `      - {kind: file, path: ${JSON.stringify(pacedPath())}, id: paced, pace: ${factor}}`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** Polls the API for the paced source's calls; for each, the wall time it was first listed. */
async function watchPaced(base: string, until: () => boolean): Promise<Map<string, { seenAt: number; row: CallRow }>> {
  const seen = new Map<string, { seenAt: number; row: CallRow }>();
  for (let last = false; !last; ) {
    last = until();
    const res = await fetch(`${base}/api/v1/calls?source=paced&limit=500`).catch(() => null);
    const now = performance.now();
    if (res?.ok) {
      const body = (await res.json()) as { items: CallRow[] };
      for (const row of body.items) if (!seen.has(row.id)) seen.set(row.id, { seenAt: now, row });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return seen;
}

/** Each call's delay: when it was listed, against when its last packet was due at the pace
 * (the replay's start + capture offset / factor). */
function delays(seen: Map<string, { seenAt: number; row: CallRow }>, startedAt: number, firstPacketMs: number): number[] {
  return [...seen.values()]
    .map(({ seenAt, row }) => {
      const end = Date.parse(row.timing.response_end ?? row.timing.request_start);
      return seenAt - (startedAt + (end - firstPacketMs) / factor);
    })
    .sort((a, b) => a - b);
}

const pct = (xs: number[], q: number): number => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? Number.NaN;

async function pacedRun(withFlood: boolean): Promise<{ delays: number[]; stderr: string; health: unknown; jsonl: string }> {
  const db = join(dir, `${withFlood ? 'both' : 'alone'}.duckdb`);
  const jsonl = join(dir, `${withFlood ? 'both' : 'alone'}.jsonl`);
  const p = new CliProcess(['run', '--config', config(`${withFlood ? 'both' : 'alone'}.yaml`, withFlood), '--db', db, '--jsonl', jsonl, '--listen', '127.0.0.1:0']);
  try {
    const base = (await p.waitFor(/serving (http:\/\/\S+)/))[1]!;
    await p.waitFor(/pipeline latency:/);
    // The sources start right after the pipelines are announced.
    const startedAt = performance.now();
    let done = false;
    // Drained: it keeps serving (no --exit-after-drain), so a last poll sees every call.
    const drained = p.waitFor(/pipelines drained; serving/).then(() => {
      done = true;
    });
    let health: unknown = null;
    const watching = watchPaced(base, () => done);
    // Health while both run (the flood takes seconds).
    await new Promise((r) => setTimeout(r, 1500));
    health = await (await fetch(`${base}/api/v1/health`)).json().catch(() => null);
    await drained;
    const seen = await watching;
    // The first packet of the paced capture: its calls' times are relative to it.
    const first = Math.min(...[...seen.values()].map((s) => Date.parse(s.row.timing.request_start)));
    return { delays: delays(seen, startedAt, first), stderr: p.stderr, health, jsonl: readFileSync(jsonl, 'utf8') };
  } finally {
    await p.kill();
  }
}

describe('llmtap run: two pipelines into one store', () => {
  it('every record carries its source id; health and the summary list each pipeline and source; the paced calls arrive while the other pipeline floods', async () => {
    const alone = await pacedRun(false);
    const both = await pacedRun(true);

    // Records: every call under its source id, each source with all its calls.
    const bySource = new Map<string, number>();
    for (const line of both.jsonl.trim().split('\n')) {
      const r = JSON.parse(line) as { kind: string; source: string };
      if (r.kind === 'llm_call') bySource.set(r.source, (bySource.get(r.source) ?? 0) + 1);
    }
    expect(Object.fromEntries(bySource)).toEqual({ 'flood-1': flood.calls, 'flood-2': flood.calls, 'flood-3': flood.calls, paced: paced.calls });
    // The paced pipeline's calls all reached the API (listed at some point while running).
    expect(both.delays).toHaveLength(paced.calls);

    // Health while running: every source with its pipeline.
    const h = both.health as { sources: { id: string; kind: string; pipeline: string; packets: number }[] };
    expect(h.sources.map((s) => [s.id, s.kind, s.pipeline])).toEqual([
      ['flood-1', 'file', 'bulk'],
      ['flood-2', 'file', 'bulk'],
      ['flood-3', 'file', 'bulk'],
      ['paced', 'file', 'latency'],
    ]);
    // The summary: each pipeline, each source with its calls.
    expect(both.stderr).toMatch(/pipeline bulk \(2 workers, queue 8 MiB \/ 1,024 rounds\):/);
    for (const i of [1, 2, 3]) expect(both.stderr).toContain(`flood-${i} (file): ${flood.packets.toLocaleString('en-US')} packets, ${flood.calls.toLocaleString('en-US')} calls, drained`);
    expect(both.stderr).toContain(`paced (file): ${paced.packets.toLocaleString('en-US')} packets, ${paced.calls.toLocaleString('en-US')} calls, drained, paced ×${factor}`);

    // The measurement a user would make (printed, not asserted: shared cores).
    const floodWall = /\n {2}([\d.]+) s, [\d.]+ MB\/s/.exec(both.stderr)?.[1] ?? '?';
    const show = (xs: number[]): string => `p50 ${pct(xs, 0.5).toFixed(0)} ms, p90 ${pct(xs, 0.9).toFixed(0)} ms, max ${pct(xs, 1).toFixed(0)} ms`;
    process.stderr.write(
      `pipelines isolation: ${paced.calls} paced calls (pace ×${factor.toFixed(2)}), delay from their last packet's due time to being listed by the API:\n` +
        `  alone:                  ${show(alone.delays)}\n` +
        `  beside a 3×${(flood.bytes / 1e6).toFixed(0)} MB flood: ${show(both.delays)} (the run took ${floodWall} s; the paced replay ${PACED_WALL_S} s)\n`,
    );
  }, 240_000);

  it('refuses a configuration without pipelines, in one line, exit 2', () => {
    const empty = join(dir, 'empty.yaml');
    writeFileSync(empty, 'db: x.duckdb\n');
    const r = runCli(['run', '--config', empty, '--jsonl', '-']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^llmtap: .*empty\.yaml: no pipelines to run: add a pipelines: section/);
  });

  it('refuses a pipeline whose file does not exist before opening anything', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, `pipelines: [{name: a, sources: [{kind: file, path: ${JSON.stringify(join(dir, 'nope.pcap'))}}]}]\n`);
    const r = runCli(['run', '--config', bad, '--jsonl', '-']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pipelines\[0\]\.sources\[0\]\.path: ".*nope\.pcap" does not exist/);
  });
});
