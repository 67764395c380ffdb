/**
 * `llmtap collect` with two probes whose clocks are an hour apart (the test is both probes: one
 * sends the demo capture, the other the same capture an hour later, their batches interleaved):
 * each probe's agent turns are the ones replaying its capture alone gives (DESIGN §1: a watermark
 * per source). With one clock for all probes, the later probe's batches closed the earlier
 * probe's open turns as idle.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Push } from 'zeromq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCaptureFrames } from '../../src/capture/file-reader.js';
import { ProbeBatchEncoder, uuidBytes } from '../../src/capture/probe-batch.js';
import { repoRoot } from '../corpus.js';
import { rows, turnsOf } from './turns-by-source.js';
import { CliProcess, runCli } from './cli-process.js';

const demo = join(repoRoot, 'examples', 'demo.pcap');
const EARLIER = '7a0c1e52-3b4d-4e6f-8a9b-0c1d2e3f4a5b';
const LATER = '1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b';
const HOUR_US = 3_600_000_000;
let dir: string;

/** A probe's batches of the demo capture, its packet times moved by `shiftUs`. */
async function batches(probeId: string, shiftUs: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  const enc = new ProbeBatchEncoder(uuidBytes(probeId)!, 0, 70_000 + 100);
  await readCaptureFrames(demo, (f) => {
    const data = f.buf.slice(f.start, f.end);
    const sealed = enc.add(f.ts + shiftUs, null, data, 0, data.length, data.length);
    if (sealed !== null) out.push(sealed);
  });
  out.push(enc.seal()!);
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'llmtap-collect-clocks-'));
  const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('llmtap collect: probes whose clocks are an hour apart', () => {
  it('each probe gets the turns its capture gets alone', async () => {
    // Each capture alone first (spawnSync holds this process's event loop, and the probes' sends).
    const alone = new Map<string, ReturnType<typeof turnsOf>>();
    for (const [id, shift] of [[EARLIER, 0], [LATER, HOUR_US]] as const) {
      const file = join(dir, `${id}.pcap`);
      writeFileSync(file, shiftedPcap(shift));
      const r = runCli(['replay', file, '--source', id, '--jsonl', '-', '-q']);
      expect(r.code, r.stderr).toBe(0);
      alone.set(id, turnsOf(rows(r.stdout), id));
    }
    const jsonl = join(dir, 'collected.jsonl');
    const p = new CliProcess(['collect', '--listen-probes', 'tcp://127.0.0.1:0', '--jsonl', jsonl, '--db', join(dir, 'collected.duckdb'), '--listen', '127.0.0.1:0']);
    try {
      const base = (await p.waitFor(/serving (http:\/\/\S+)/))[1]!;
      const endpoint = (await p.waitFor(/collecting probe batches on (tcp:\/\/\S+);/))[1]!;
      const a = await batches(EARLIER, 0);
      const b = await batches(LATER, HOUR_US);
      expect(a.length).toBeGreaterThan(3);
      const push = new Push({ linger: 5_000 });
      push.connect(endpoint);
      // Interleaved: the later probe's clock is an hour ahead while the earlier one's turns run.
      for (let i = 0; i < Math.max(a.length, b.length); i++) {
        if (i < a.length) await push.send(a[i]!);
        if (i < b.length) await push.send(b[i]!);
      }
      push.close();
      // Every call of both probes is in (the API lists them) before the collector is stopped.
      const want = (id: string): number => alone.get(id)!.calls.length;
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const items = ((await (await fetch(`${base}/api/v1/calls?limit=500`)).json()) as { items: { source: string }[] }).items;
        if (items.filter((r) => r.source === EARLIER).length === want(EARLIER) && items.filter((r) => r.source === LATER).length === want(LATER)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await p.interrupt()).toBe(0);
      const all = rows(readFileSync(jsonl, 'utf8'));
      for (const id of [EARLIER, LATER]) {
        const mine = alone.get(id)!;
        expect(mine.turns.some((t) => (t['anomalies'] as string[]).includes('agent_turn_input_ended'))).toBe(true);
        expect(turnsOf(all, id), id).toEqual(mine);
      }
    } finally {
      await p.kill();
    }
  }, 120_000);
});

/** The demo capture as a classic pcap with every packet `shiftUs` later (whole seconds). */
function shiftedPcap(shiftUs: number): Buffer {
  const b = Buffer.from(readFileSync(demo));
  const seconds = Math.round(shiftUs / 1e6);
  for (let at = 24; at + 16 <= b.length; at += 16 + b.readUInt32LE(at + 8)) b.writeUInt32LE(b.readUInt32LE(at) + seconds, at);
  return b;
}
