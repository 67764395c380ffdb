/**
 * Whole scenario (issue 4): a generated capture of agent traffic (test/gen/llm-agents.ts) replayed
 * by the built CLI, `llmtap replay FILE --jsonl OUT`, as a user would: the JSONL carries every call
 * annotated with its agent, session and turn, and one `agent_turn` record per turn after its calls.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AgentTurnRecord, LlmCallRecord } from '../../src/core/record.js';
import { repoRoot } from '../corpus.js';
import { agentScenario } from '../gen/llm-agents.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'llmtap-turns-'));
  // The CLI runs from dist/: build it (npm test builds first; a bare vitest run needs it too).
  if (spawnSync('npm', ['run', 'build'], { cwd: repoRoot, encoding: 'utf8' }).status !== 0) throw new Error('npm run build failed');
}, 300_000);

function replay(pcap: string, ...flags: string[]) {
  const out = join(dir, `out-${flags.length}.jsonl`);
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'llmtap.js'), 'replay', pcap, '--jsonl', out, ...flags], { encoding: 'utf8', timeout: 60_000 });
  const lines = readFileSync(out, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as LlmCallRecord | AgentTurnRecord);
  return { code: r.status, stderr: r.stderr, lines };
}

describe('llmtap replay: agent turns in the JSONL', () => {
  it('writes each turn after its calls, with its calls annotated', () => {
    const scenario = agentScenario();
    const pcap = join(dir, 'agents.pcap');
    writeFileSync(pcap, scenario.pcap);
    const { code, stderr, lines } = replay(pcap);
    expect(code).toBe(0);
    const calls = lines.filter((l): l is LlmCallRecord => l.kind === 'llm_call');
    const turns = lines.filter((l): l is AgentTurnRecord => l.kind === 'agent_turn');
    expect(calls).toHaveLength(scenario.expected.reduce((n, t) => n + t.callCount, 0) + scenario.auxiliaryCalls);
    expect(turns).toHaveLength(scenario.expected.length);
    for (const want of scenario.expected) {
      const t = turns.find((x) => x.session_id === want.session)!;
      expect(t).toMatchObject({ agent: want.agent, status: want.status, call_count: want.callCount, user_preview: want.userPreview, final_preview: want.finalPreview });
      expect(t.tools_used.map((u) => u.name).sort()).toEqual([...want.tools].sort());
      // The turn's calls: annotated, in request order, all written before the turn.
      const mine = calls.filter((c) => c.turn_id === t.id);
      expect(mine.map((c) => c.id)).toEqual(t.steps.map((s) => s.call_id));
      for (const c of mine) expect(c).toMatchObject({ agent: want.agent, session_id: want.session, agent_role: 'main' });
      const turnAt = lines.indexOf(t);
      for (const c of mine) expect(lines.indexOf(c)).toBeLessThan(turnAt);
    }
    // Title generation: the agent's and session's, but no turn's.
    const aux = calls.filter((c) => c.agent_role === 'auxiliary');
    expect(aux).toHaveLength(scenario.auxiliaryCalls);
    for (const c of aux) expect(c.turn_id).toBeNull();
    expect(stderr).toMatch(/3 agent turns in 3 sessions/);
    // Keys in headers never reach the output.
    expect(JSON.stringify(lines)).not.toMatch(/agentdemo/);
  });

  it('--no-turns leaves calls unannotated and writes no turns', () => {
    const pcap = join(dir, 'agents.pcap');
    writeFileSync(pcap, agentScenario().pcap);
    const { code, lines } = replay(pcap, '--no-turns');
    expect(code).toBe(0);
    expect(lines.every((l) => l.kind === 'llm_call' && l.turn_id === null && l.agent === null)).toBe(true);
  });

  it('rejects a bad threshold with one clear line', () => {
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'llmtap.js'), 'replay', join(dir, 'x.pcap'), '--jsonl', '-', '--stall-threshold', 'soon'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual(['llmtap: --stall-threshold: "soon" is not a duration (write a number and one unit: 500ms, 30s, 5m, 1h, 7d)']);
  });
});
