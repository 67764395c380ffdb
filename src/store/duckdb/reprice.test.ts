/**
 * Repricing stored calls: columns, record JSON and turn sums change together; what did not change
 * is left alone; a dry run writes nothing; batches walk the whole selection exactly once.
 */
import { describe, expect, test } from 'vitest';
import type { AgentTurnRecord, LlmCallRecord } from '../../core/record.js';
import { syntheticTurn, TURN_CALLS } from '../synthetic-records.js';
import { calls, T0, tempStore } from '../test-helpers.test-support.js';
import type { CallListItem, CallRepricer, Store } from '../types.js';

const N = 10 * TURN_CALLS;

function turnsOf(recs: LlmCallRecord[]): AgentTurnRecord[] {
  const out: AgentTurnRecord[] = [];
  for (let k = 0; k * TURN_CALLS < recs.length; k++) {
    const t = syntheticTurn(k, recs.slice(k * TURN_CALLS, (k + 1) * TURN_CALLS));
    if (t) out.push(t);
  }
  return out;
}

/** $1 per output token for one provider, everything else unpriced: easy to check by hand. */
const dollarPerToken =
  (provider: string): CallRepricer =>
  (c) =>
    c.provider === provider && c.usage.output_tokens !== null
      ? { cost_usd: c.usage.output_tokens, cost_status: 'priced' }
      : { cost_usd: null, cost_status: 'unpriced' };

async function filled(): Promise<{ store: Store; recs: LlmCallRecord[]; turns: AgentTurnRecord[] }> {
  const recs = calls(N);
  const turns = turnsOf(recs);
  const store = await tempStore();
  await store.insertCalls(recs);
  await store.upsertTurns(turns);
  return { store, recs, turns };
}

async function allCalls(store: Store): Promise<Map<string, CallListItem>> {
  const page = await store.listCalls({}, { limit: 500 });
  return new Map(page.items.map((c) => [c.id, c]));
}

describe('repriceCalls', () => {
  test('updates cost and status of changed calls (columns and record) and sums their turns again', async () => {
    const { store, recs, turns } = await filled();
    expect(turns.length).toBeGreaterThan(2);
    const price = dollarPerToken('openai');
    const res = await store.repriceCalls(price, {}, { batchSize: 7 });
    const willCost = recs.filter((r) => price(r).cost_usd !== null);
    expect(res).toMatchObject({ scanned: N, changed: willCost.length, unchanged: N - willCost.length, now_priced: willCost.length, now_unpriced: 0, dry_run: false });
    expect(res.cost_before_usd).toBeNull();
    expect(res.cost_after_usd).toBe(willCost.reduce((a, r) => a + r.usage.output_tokens!, 0));

    const stored = await allCalls(store);
    for (const r of recs) {
      const want = price(r);
      expect(stored.get(r.id)).toMatchObject({ cost_usd: want.cost_usd, cost_status: want.cost_status });
      // Everything else in the record is as it was.
      const { content: _c, cost_usd: _u, cost_status: _s, ...rest } = r;
      expect(stored.get(r.id)).toMatchObject(JSON.parse(JSON.stringify(rest)) as object);
    }
    // The typed columns agree with the records: the summary sums cost_usd.
    expect((await store.summary({})).cost_usd).toBe(res.cost_after_usd);
    const costs = await store.costs({}, { by: 'provider' });
    expect(costs.groups.find((g) => g.value === 'openai')).toMatchObject({ unpriced_calls: 0 });

    for (const t of turns) {
      const mine = recs.filter((r) => r.turn_id === t.id);
      const priced = mine.filter((r) => price(r).cost_usd !== null);
      const want = priced.length === 0 ? null : priced.reduce((a, r) => a + r.usage.output_tokens!, 0);
      const got = (await store.getTurn(t.id))!.turn;
      expect(got.cost_usd, t.id).toBe(want);
      expect(got.anomalies.includes('agent_turn_cost_partial')).toBe(want !== null && priced.length < mine.length);
      const listed = (await store.listTurns({ session_id: [t.session_id] }, { limit: 500 })).items.find((x) => x.id === t.id)!;
      expect(listed.cost_usd).toBe(want);
    }
    // Sessions sum their turns' column.
    const session = (await store.getSession(turns[0]!.session_id))!;
    const inSession = turns.filter((t) => t.session_id === turns[0]!.session_id).map((t) => recs.filter((r) => r.turn_id === t.id && price(r).cost_usd !== null));
    const sessionWant = inSession.flat().reduce<number | null>((a, r) => (a ?? 0) + r.usage.output_tokens!, null);
    expect(session.session.cost_usd).toBe(sessionWant);

    // A second run with the same prices changes nothing.
    const again = await store.repriceCalls(price);
    expect(again).toMatchObject({ scanned: N, changed: 0, unchanged: N, turns_updated: 0 });
    await store.close();
  });

  test('prices that go away make calls unpriced again; the filter limits the walk', async () => {
    const { store, recs } = await filled();
    await store.repriceCalls(dollarPerToken('openai'));
    const from = T0 + 40 * 1_000_000;
    const res = await store.repriceCalls(() => ({ cost_usd: null, cost_status: 'unpriced' }), { from });
    const later = recs.filter((r) => Date.parse(r.timing.request_start) * 1000 >= from);
    const lost = later.filter((r) => dollarPerToken('openai')(r).cost_usd !== null);
    expect(res).toMatchObject({ scanned: later.length, changed: lost.length, now_unpriced: lost.length, now_priced: 0 });
    const stored = await allCalls(store);
    for (const r of recs) {
      const before = Date.parse(r.timing.request_start) * 1000 < from;
      expect(stored.get(r.id)!.cost_usd).toBe(before ? dollarPerToken('openai')(r).cost_usd : null);
    }
    await store.close();
  });

  test('a dry run counts and writes nothing; anomalies given by the pricer are stored', async () => {
    const { store, recs } = await filled();
    const dry = await store.repriceCalls(dollarPerToken('anthropic'), {}, { dryRun: true });
    expect(dry.dry_run).toBe(true);
    expect(dry.changed).toBe(recs.filter((r) => dollarPerToken('anthropic')(r).cost_usd !== null).length);
    expect((await store.summary({})).cost_usd).toBeNull();
    expect([...(await allCalls(store)).values()].every((c) => c.cost_usd === null)).toBe(true);

    await store.repriceCalls((c) => ({ cost_usd: null, cost_status: 'unpriced', anomalies: [...c.anomalies, 'cost_price_failed'] }), {}, { batchSize: 1000 });
    expect([...(await allCalls(store)).values()].every((c) => c.anomalies.includes('cost_price_failed'))).toBe(true);
    await store.close();
  });

  test('refuses a price that is not a function', async () => {
    const store = await tempStore();
    await expect(store.repriceCalls('nope' as unknown as CallRepricer)).rejects.toMatchObject({ code: 'invalid_argument' });
    await store.close();
  });
});
