/**
 * `llmtap run` with two file pipelines whose captures are an hour apart (the demo capture, and a
 * copy of it shifted an hour later, as `editcap -t 3600` makes): each source's agent turns, and
 * its calls' turn annotations, are the ones replaying that file alone gives (DESIGN §1: a
 * watermark per source). With one clock for all sources, the later capture's clock closed the
 * earlier one's open turns as idle (`agent_turn_idle_timeout` instead of `agent_turn_input_ended`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../corpus.js';
import { rows, shifted, turnsOf } from './turns-by-source.js';
import { runCli } from './cli-process.js';

const demo = join(repoRoot, 'examples', 'demo.pcap');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'llmtap-clocks-'));
  const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
  writeFileSync(join(dir, 'later.pcap'), shifted(demo, 3600));
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('llmtap run: sources whose clocks are an hour apart', () => {
  it.each([1, 2])('each file gets the turns it gets alone (workers: %i)', (workers) => {
    const later = join(dir, 'later.pcap');
    const config = join(dir, `two-${workers}.yaml`);
    // The earlier capture first: its turns are still open when the later capture's clock moves.
    writeFileSync(
      config,
      [
        'pipelines:',
        '  - name: earlier',
        `    workers: ${workers}`,
        '    sources:',
        `      - {kind: file, path: ${JSON.stringify(demo)}, id: earlier}`,
        '  - name: later',
        `    workers: ${workers}`,
        '    sources:',
        `      - {kind: file, path: ${JSON.stringify(later)}, id: later}`,
        '',
      ].join('\n'),
    );
    const together = join(dir, `together-${workers}.jsonl`);
    const r = runCli(['run', '--config', config, '--jsonl', together, '--exit-after-drain', '-q']);
    expect(r.code, r.stderr).toBe(0);
    const all = rows(readFileSync(together, 'utf8'));
    for (const [source, file] of [['earlier', demo], ['later', later]] as const) {
      const out = join(dir, `${source}-alone.jsonl`);
      const a = runCli(['replay', file, '--source', source, '--jsonl', out, '-q']);
      expect(a.code, a.stderr).toBe(0);
      const alone = turnsOf(rows(readFileSync(out, 'utf8')), source);
      // The demo holds agent turns, some left open at its end: the check is not vacuous.
      expect(alone.turns.length).toBeGreaterThan(5);
      expect(alone.turns.some((t) => (t['anomalies'] as string[]).includes('agent_turn_input_ended'))).toBe(true);
      expect(turnsOf(all, source), source).toEqual(alone);
    }
  });
});
