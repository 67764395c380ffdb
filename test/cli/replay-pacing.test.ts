/**
 * `llmtap replay --pace` as a user meets it: a paced replay takes the capture's time (scaled) and
 * gives exactly the records of the unpaced one; into a store, calls reach the API while the
 * replay is still running (a user watching the console sees them arrive); a bad value is one
 * clear line and exit 2.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../corpus.js';
import { CliProcess, runCli } from './cli-process.js';

const demo = join(repoRoot, 'examples', 'demo.pcap');
let dir: string;
/** The unpaced conversion, run once. */
let unpaced: string;
/** Capture time from the demo's first packet to its last, from the unpaced run's records. */
let spanMs: number;

interface Rec {
  kind: string;
  timing?: { request_start: string; response_end: string | null };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'llmtap-pace-'));
  // The CLI runs from dist/: `npm test` builds first; a bare `vitest` run needs the build too.
  if (spawnSync('npm', ['run', 'build'], { cwd: repoRoot, encoding: 'utf8' }).status !== 0) throw new Error('npm run build failed');
  const r = runCli(['replay', demo, '--jsonl', '-', '-q']);
  expect(r.code).toBe(0);
  unpaced = r.stdout;
  const times = unpaced
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Rec)
    .flatMap((x) => (x.timing ? [Date.parse(x.timing.request_start), Date.parse(x.timing.response_end ?? x.timing.request_start)] : []));
  spanMs = Math.max(...times) - Math.min(...times);
}, 300_000);

describe('llmtap replay --pace', () => {
  it('at 20× takes the capture’s time / 20 and writes byte-identical JSONL', () => {
    // The demo's calls span ~21 s of its ~23 s: at least ~1 s of wall time at 20×.
    expect(spanMs / 20).toBeGreaterThan(1000);
    const t0 = performance.now();
    const r = runCli(['replay', demo, '--jsonl', '-', '-q', '--pace', '20']);
    const wallMs = performance.now() - t0;
    expect(r.code).toBe(0);
    // A lower bound only: a paced replay cannot be faster than its pace, however busy the machine.
    expect(wallMs).toBeGreaterThanOrEqual(spanMs / 20);
    expect(r.stdout).toBe(unpaced);
  });

  it('into a store, shows calls in the API while the capture is still being replayed', async () => {
    // 3×: ~7.7 s, so the first calls (2–3 s into the capture) are stored seconds before the end.
    const p = new CliProcess(['replay', demo, '--db', join(dir, 'paced.duckdb'), '--listen', '127.0.0.1:0', '--exit-after-drain', '--pace', '3']);
    try {
      const base = (await p.waitFor(/serving (http:\/\/\S+)/))[1]!;
      const total = unpaced.split('\n').filter((l) => l.includes('"kind":"llm_call"')).length;
      let first = 0;
      while (first === 0) {
        await new Promise((r) => setTimeout(r, 100));
        first = ((await (await fetch(`${base}/api/v1/summary`)).json()) as { calls: number }).calls;
      }
      // Some calls are in, the replay goes on (it has not printed its summary yet), more to come.
      const stillRunning = !/LLM calls/.test(p.stderr);
      expect(stillRunning).toBe(true);
      expect(first).toBeLessThan(total);
      expect(await p.waitFor(/(\d+) LLM calls/).then((m) => Number(m[1]))).toBe(total);
    } finally {
      await p.kill();
    }
  }, 120_000);

  it.each(['fast', '0', '-2', '10x', ''])('refuses --pace "%s" with one line and exit 2', (v) => {
    const r = runCli(['replay', demo, '--jsonl', '-', '--pace', v]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^llmtap: --pace takes "capture" or a speed factor above 0/);
  });
});
