/**
 * Repricing as a user meets it (issue 5 item 4): a database made by `llmtap replay` of the example
 * capture, then `runReprice` with prices that changed. Calls, their turns' sums and the summary
 * change together; the same prices again change nothing; a dry run writes nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReprice } from '../../src/cli/reprice-command.js';
import type { AgentTurnRecord, LlmCallRecord } from '../../src/core/record.js';
import { openStore } from '../../src/store/index.js';
import type { CallRepricer } from '../../src/store/types.js';
import { repoRoot } from '../corpus.js';

const cli = join(repoRoot, 'bin', 'llmtap.js');
const demo = join(repoRoot, 'examples', 'demo.pcap');
const dir = mkdtempSync(join(tmpdir(), 'llmtap-reprice-'));
const db = join(dir, 'demo.duckdb');

interface Snapshot {
  calls: Map<string, LlmCallRecord>;
  turns: Map<string, AgentTurnRecord>;
  total: number | null;
}

async function snapshot(): Promise<Snapshot> {
  const store = await openStore({ path: db, retention: false });
  try {
    const calls = (await store.listCalls({}, { limit: 500 })).items as unknown as LlmCallRecord[];
    const turns = (await store.listTurns({}, { limit: 500 })).items;
    return { calls: new Map(calls.map((c) => [c.id, c])), turns: new Map(turns.map((t) => [t.id, t])), total: (await store.summary({})).cost_usd };
  } finally {
    await store.close();
  }
}

beforeAll(() => {
  // The CLI runs from dist/: `npm test` builds first; a bare `vitest` run needs the build too.
  if (spawnSync('npm', ['run', 'build'], { cwd: repoRoot, encoding: 'utf8' }).status !== 0) throw new Error('npm run build failed');
  const r = spawnSync(process.execPath, [cli, 'replay', demo, '--db', db, '--exit-after-drain', '--no-retention', '-q'], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`replay failed: ${r.stderr}`);
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Output tokens at $1 each for Anthropic calls; every other call keeps its price. */
const anthropicAtOneDollar: CallRepricer = (c) =>
  c.provider === 'anthropic' && c.usage.output_tokens !== null
    ? { cost_usd: c.usage.output_tokens, cost_status: 'priced' }
    : { cost_usd: c.cost_usd, cost_status: c.cost_status };

describe('llmtap reprice', () => {
  it('the configured prices of an unchanged table change nothing', async () => {
    const before = await snapshot();
    expect(before.calls.size).toBe(21);
    expect(before.turns.size).toBe(14);
    const lines: string[] = [];
    const r = await runReprice({ db }, { write: (l) => lines.push(l) });
    expect(r).toMatchObject({ scanned: 21, changed: 0, unchanged: 21, dry_run: false });
    expect(lines.join('\n')).toMatch(/repriced 21 calls/);
    expect((await snapshot()).total).toBe(before.total);
  });

  it('a dry run counts what would change and writes nothing', async () => {
    const before = await snapshot();
    const anthropic = [...before.calls.values()].filter((c) => c.provider === 'anthropic' && c.usage.output_tokens !== null && c.cost_usd !== c.usage.output_tokens);
    expect(anthropic.length).toBeGreaterThan(0);
    const r = await runReprice({ db, dryRun: true, quiet: true }, { price: anthropicAtOneDollar });
    expect(r).toMatchObject({ changed: anthropic.length, dry_run: true });
    expect((await snapshot()).total).toBe(before.total);
  });

  it('new prices change the calls, their turns and the totals', async () => {
    const before = await snapshot();
    const r = await runReprice({ db, quiet: true }, { price: anthropicAtOneDollar });
    const after = await snapshot();
    const changed = [...before.calls.values()].filter((c) => c.provider === 'anthropic' && c.usage.output_tokens !== null);
    expect(r.changed).toBe(changed.filter((c) => c.cost_usd !== c.usage.output_tokens).length);
    for (const c of after.calls.values()) {
      const want = anthropicAtOneDollar(before.calls.get(c.id)!);
      expect(c.cost_usd, c.id).toBe(want.cost_usd);
    }
    // Every turn costs the sum of its calls' new costs.
    let turnsWithChange = 0;
    for (const t of after.turns.values()) {
      const mine = [...after.calls.values()].filter((c) => c.turn_id === t.id && c.cost_usd !== null);
      const want = mine.length === 0 ? null : mine.reduce((a, c) => a + c.cost_usd!, 0);
      if (want === null) expect(t.cost_usd).toBeNull();
      else expect(t.cost_usd).toBeCloseTo(want, 9);
      if (t.cost_usd !== before.turns.get(t.id)!.cost_usd) turnsWithChange++;
    }
    expect(turnsWithChange).toBeGreaterThan(0);
    const sumAfter = [...after.calls.values()].reduce((a, c) => a + (c.cost_usd ?? 0), 0);
    expect(after.total).toBeCloseTo(sumAfter, 9);
  });

  it('with --config price overrides, then back to the table; filters limit what is repriced', async () => {
    const config = join(dir, 'llmtap.yaml');
    writeFileSync(config, 'pricing:\n  models:\n    - { model: "gpt-4o*", input_per_mtok: 1000000, output_per_mtok: 1000000 }\n');
    const before = await snapshot();
    const gpt4o = [...before.calls.values()].filter((c) => (c.response_model ?? c.request_model ?? '').startsWith('gpt-4o'));
    expect(gpt4o.length).toBeGreaterThan(0);
    const r = await runReprice({ db, config, model: gpt4o.map((c) => c.request_model!).filter((m, i, a) => a.indexOf(m) === i), quiet: true });
    expect(r.scanned).toBe(gpt4o.length);
    const after = await snapshot();
    for (const c of gpt4o) {
      const u = c.usage;
      expect(after.calls.get(c.id)!.cost_usd).toBeCloseTo((u.input_tokens ?? 0) + (u.output_tokens ?? 0), 6);
    }
    // Back to the maintained table: the Anthropic calls and gpt-4o get their list prices again.
    const back = await runReprice({ db, quiet: true });
    expect(back.changed).toBeGreaterThan(gpt4o.length);
    await expect(runReprice({ db: join(dir, 'missing.duckdb'), quiet: true })).rejects.toThrow(/no database/);
    await expect(runReprice({ db, from: 'yesterday', quiet: true })).rejects.toThrow(/--from/);
  });
});
