/**
 * Cost as a user meets it (issue 5): replaying the example capture prices every call whose model
 * has a published price, from the call's own token counts, leaves the rest unpriced with a null
 * cost, and each agent turn costs the sum of its calls.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../corpus.js';

const cli = join(repoRoot, 'bin', 'llmtap.js');
const demo = join(repoRoot, 'examples', 'demo.pcap');

interface CallLine {
  kind: 'llm_call';
  id: string;
  provider: string;
  response_model: string | null;
  request_model: string | null;
  turn_id: string | null;
  cost_usd: number | null;
  cost_status: string;
  usage: {
    input_tokens: number | null;
    output_tokens: number | null;
    cache_read_tokens: number | null;
    cache_write_tokens: number | null;
    estimated: boolean;
  };
}
interface TurnLine {
  kind: 'agent_turn';
  id: string;
  cost_usd: number | null;
}

/** Dollars per million tokens as the providers publish them (openai.com/api/pricing,
 * claude.com/pricing, ai.google.dev/gemini-api/docs/pricing), for the models in the example. */
const PUBLISHED: Record<string, { input: number; cacheRead: number; cacheWrite: number; output: number }> = {
  'gpt-4o': { input: 2.5, cacheRead: 1.25, cacheWrite: 2.5, output: 10 },
  'gpt-5': { input: 1.25, cacheRead: 0.125, cacheWrite: 1.25, output: 10 },
  'gpt-5-codex': { input: 1.25, cacheRead: 0.125, cacheWrite: 1.25, output: 10 },
  'claude-sonnet-4-5': { input: 3, cacheRead: 0.3, cacheWrite: 3.75, output: 15 },
  'gemini-2.5-flash': { input: 0.3, cacheRead: 0.03, cacheWrite: 0.3, output: 2.5 },
};

function published(model: string): (typeof PUBLISHED)[string] | undefined {
  // Snapshot names carry a date suffix: gpt-4o-2024-08-06, claude-sonnet-4-5-20250929.
  return PUBLISHED[model.replace(/-(\d{8}|\d{4}-\d{2}-\d{2})$/, '')];
}

let calls: CallLine[] = [];
let turns: TurnLine[] = [];

beforeAll(() => {
  // The CLI runs from dist/: `npm test` builds first; a bare `vitest` run needs the build too.
  if (spawnSync('npm', ['run', 'build'], { cwd: repoRoot, encoding: 'utf8' }).status !== 0) {
    throw new Error('npm run build failed');
  }
  const r = spawnSync(process.execPath, [cli, 'replay', demo, '--jsonl', '-'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`replay failed: ${r.stderr}`);
  const lines = r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as CallLine | TurnLine);
  // A call can be written again once its turn is known: the last line for an id is the record.
  const byId = new Map<string, CallLine>();
  for (const l of lines) if (l.kind === 'llm_call') byId.set(l.id, l);
  calls = [...byId.values()];
  turns = lines.filter((l): l is TurnLine => l.kind === 'agent_turn');
});

describe('llmtap replay: cost', () => {
  it('prices calls of all three providers, and every priced call from its own counts at the published rates', () => {
    const priced = calls.filter((c) => c.cost_usd !== null);
    expect(new Set(priced.map((c) => c.provider))).toEqual(new Set(['openai', 'anthropic', 'google']));
    for (const c of priced) {
      const p = published(c.response_model ?? c.request_model ?? '');
      expect(p, `a published price for ${c.response_model}`).toBeDefined();
      if (p === undefined) continue;
      const u = c.usage;
      const read = u.cache_read_tokens ?? 0;
      const write = u.cache_write_tokens ?? 0;
      const uncached = (u.input_tokens ?? 0) - read - write;
      const want = (uncached * p.input + read * p.cacheRead + write * p.cacheWrite + (u.output_tokens ?? 0) * p.output) / 1e6;
      expect(c.cost_usd).toBeCloseTo(want, 12);
    }
  });

  it('cost and status agree: unpriced ⇔ null cost (never $0), estimated ⇔ estimated counts', () => {
    expect(calls.length).toBeGreaterThan(0);
    for (const c of calls) {
      expect(['priced', 'estimated', 'unpriced']).toContain(c.cost_status);
      expect(c.cost_usd === null).toBe(c.cost_status === 'unpriced');
      if (c.cost_usd !== null) {
        expect(c.cost_usd).toBeGreaterThan(0);
        expect(c.cost_status === 'estimated').toBe(c.usage.estimated);
      }
    }
    // The example has a call without usage (its counts unknown) and one whose usage was estimated.
    expect(calls.some((c) => c.cost_status === 'unpriced' && c.usage.input_tokens === null)).toBe(true);
    expect(calls.some((c) => c.cost_status === 'estimated')).toBe(true);
  });

  it('each turn costs the sum of its calls, and null when none of them is priced', () => {
    expect(turns.length).toBeGreaterThan(0);
    for (const t of turns) {
      const own = calls.filter((c) => c.turn_id === t.id);
      expect(own.length).toBeGreaterThan(0);
      const costs = own.map((c) => c.cost_usd).filter((x): x is number => x !== null);
      if (costs.length === 0) expect(t.cost_usd).toBeNull();
      else expect(t.cost_usd).toBeCloseTo(costs.reduce((a, b) => a + b, 0), 12);
    }
  });
});
