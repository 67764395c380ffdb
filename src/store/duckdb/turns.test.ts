import { describe, expect, test } from 'vitest';
import type { AgentTurnRecord, LlmCallRecord } from '../../core/record.js';
import { isoMicros } from '../../core/time.js';
import { syntheticTurn, TURN_CALLS } from '../synthetic-records.js';
import { openStore } from '../index.js';
import { calls, T0, tempDbPath, tempStore } from '../test-helpers.test-support.js';
import type { Page, PageRequest, SessionFilter, SessionSummary, Store, TurnFilter } from '../types.js';
import { STORE_CAPS } from '../types.js';

/** The turns of `recs` (one per TURN_CALLS calls whose session has an agent). */
function turnsOf(recs: LlmCallRecord[]): AgentTurnRecord[] {
  const out: AgentTurnRecord[] = [];
  for (let k = 0; k * TURN_CALLS < recs.length; k++) {
    const t = syntheticTurn(k, recs.slice(k * TURN_CALLS, (k + 1) * TURN_CALLS));
    if (t) out.push(t);
  }
  return out;
}

async function walkAll<T>(list: (page: PageRequest) => Promise<Page<T>>, limit: number, order: 'asc' | 'desc' = 'desc'): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (let guard = 0; guard < 10_000; guard++) {
    const page: Page<T> = await list({ limit, cursor, order });
    out.push(...page.items);
    if (page.next_cursor === null) return out;
    cursor = page.next_cursor;
  }
  throw new Error('pagination did not end');
}

const newestFirst = (a: AgentTurnRecord, b: AgentTurnRecord): number =>
  a.start !== b.start ? (a.start < b.start ? 1 : -1) : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;

async function filled(recs: LlmCallRecord[], turns: AgentTurnRecord[]): Promise<Store> {
  const store = await tempStore();
  await store.insertCalls(recs);
  await store.upsertTurns(turns);
  return store;
}

describe('turn snapshots', () => {
  test('in_progress then complete: one row, the last snapshot wins; an unchanged snapshot is not rewritten', async () => {
    const store = await tempStore();
    const recs = calls(TURN_CALLS);
    await store.insertCalls(recs);
    const done = syntheticTurn(0, recs)!;
    const early = { ...done, status: 'in_progress' as const, steps: done.steps.slice(0, 3), call_count: 3, end: null, duration_ms: null };

    expect(await store.upsertTurns([early])).toEqual([done.id]);
    expect((await store.getTurn(done.id))!.turn).toEqual(early);
    expect(await store.upsertTurns([early])).toEqual([]);
    expect(await store.upsertTurns([done])).toEqual([done.id]);
    expect((await store.getTurn(done.id))!.turn).toEqual(done);
    expect((await store.stats()).tables['turns']).toBe(1);
    expect((await store.listTurns({})).items).toEqual([done]);
    await store.close();
  });

  test('several snapshots of one turn in a batch: the last given wins; ids come back in last-snapshot order', async () => {
    const store = await tempStore();
    const recs = calls(3 * TURN_CALLS * 5);
    const [a, b] = turnsOf(recs);
    const a1 = { ...a!, status: 'in_progress' as const, call_count: 1 };
    const b1 = { ...b!, status: 'in_progress' as const, call_count: 1 };
    expect(await store.upsertTurns([a1, b1, a!])).toEqual([b!.id, a!.id]);
    expect((await store.listTurns({}, { order: 'asc' })).items).toEqual([a, b1]);
    await store.close();
  });

  test('a turn without a valid start refuses its batch, storing nothing', async () => {
    const store = await tempStore();
    const [t] = turnsOf(calls(TURN_CALLS));
    await expect(store.upsertTurns([t!, { ...t!, id: 'bad', start: 'yesterday' }])).rejects.toMatchObject({ code: 'invalid_argument' });
    expect((await store.listTurns({})).items).toEqual([]);
    await store.close();
  });

  test('a closed or read-only store refuses turn writes', async () => {
    const path = tempDbPath();
    const store = await openStore({ path, retention: false });
    await store.close();
    await expect(store.upsertTurns(turnsOf(calls(TURN_CALLS)))).rejects.toMatchObject({ code: 'closed' });
    const ro = await openStore({ path, readOnly: true });
    await expect(ro.upsertTurns(turnsOf(calls(TURN_CALLS)))).rejects.toMatchObject({ code: 'write_failed' });
    await ro.close();
  });
});

describe('listTurns', () => {
  // 45 sessions of 5 turns of 8 calls; sessions alternate claude-code, codex, no agent.
  const recs = calls(45 * 5 * TURN_CALLS, 700_000);
  const turns = turnsOf(recs);
  turns[3] = { ...turns[3]!, status: 'in_progress', user_preview: 'fix the 100% CPU_loop in parser.ts' };
  turns[9] = { ...turns[9]!, final_preview: 'Done: Parser FIXED' };
  const t = (k: number): number => T0 + k * TURN_CALLS * 700_000;

  const cases: [string, TurnFilter, (t: AgentTurnRecord) => boolean][] = [
    ['all', {}, () => true],
    ['from/to on start', { from: t(20), to: t(61) }, (x) => x.start >= isoMicros(t(20)) && x.start < isoMicros(t(61))],
    ['agent', { agent: ['codex'] }, (x) => x.agent === 'codex'],
    ['session', { session_id: ['sess-3', 'sess-4'] }, (x) => ['sess-3', 'sess-4'].includes(x.session_id)],
    ['status', { status: ['incomplete', 'in_progress'] }, (x) => x.status !== 'complete'],
    ['source', { source: ['nope'] }, () => false],
    ['stalls', { has_stalls: true }, (x) => x.stalls.length > 0],
    ['no loops', { has_loops: false }, (x) => x.loops.length === 0],
    ['q in user preview, literal % and _', { q: '100% cpu_LOOP' }, (x) => x.id === turns[3]!.id],
    ['q in final preview', { q: 'parser fixed' }, (x) => x.id === turns[9]!.id],
    ['q matching none', { q: '%%' }, () => false],
    ['combined', { agent: ['claude-code'], status: ['complete'], from: t(10) }, (x) => x.agent === 'claude-code' && x.status === 'complete' && x.start >= isoMicros(t(10))],
    ['empty list selects nothing', { agent: [] }, () => false],
  ];

  test.each(cases)('%s', async (_name, filter, pred) => {
    const store = await filled(recs, turns);
    const want = turns.filter(pred).sort(newestFirst);
    expect((await walkAll((p) => store.listTurns(filter, p), 17)).map((x) => x.id)).toEqual(want.map((x) => x.id));
    await store.close();
  });

  test('the cases select something and leave something out', () => {
    for (const [name, , pred] of cases) {
      const n = turns.filter(pred).length;
      if (name === 'all') expect(n).toBe(turns.length);
      else if (['source', 'q matching none', 'empty list selects nothing'].includes(name)) expect(n).toBe(0);
      else expect([name, n > 0 && n < turns.length]).toEqual([name, true]);
    }
  });

  test('pagination walks every turn once both ways, with ties on start; list items are whole records', async () => {
    const tied = turns.map((x, i) => ({ ...x, start: isoMicros(T0 + Math.floor(i / 7) * 1000) }));
    const store = await filled(recs, tied);
    const desc = await walkAll((p) => store.listTurns({}, p), 4);
    expect(desc).toEqual([...tied].sort(newestFirst));
    const asc = await walkAll((p) => store.listTurns({}, p), 9, 'asc');
    expect(asc).toEqual([...desc].reverse());
    await expect(store.listTurns({}, { cursor: 'garbage!' })).rejects.toMatchObject({ code: 'invalid_cursor' });
    await expect(store.listTurns({ q: 'x'.repeat(STORE_CAPS.qChars + 1) })).rejects.toMatchObject({ code: 'invalid_argument' });
    await store.close();
  });

  test('filter values that are not there match nothing, never an error', async () => {
    const store = await filled(recs, turns);
    for (const v of ["' OR 1=1 --", '%', '_', '\\', '"; DROP TABLE turns; --', '\u0000', 'ü'.repeat(300)]) {
      expect((await store.listTurns({ agent: [v], session_id: [v], source: [v] })).items).toEqual([]);
      expect((await store.listTurns({ status: [v as never] })).items).toEqual([]);
      expect((await store.listSessions({ agent: [v] })).items).toEqual([]);
      expect(await store.getTurn(v)).toBeNull();
      expect(await store.getSession(v)).toBeNull();
    }
    expect((await store.stats()).tables['turns']).toBe(turns.length);
    await store.close();
  });
});

describe('getTurn', () => {
  test('the turn and its calls as list items, in step order; steps whose call is not stored are skipped', async () => {
    const recs = calls(TURN_CALLS * 2);
    const turn = syntheticTurn(0, recs.slice(0, TURN_CALLS))!;
    // Steps are the authority on order, not request times.
    const reordered = { ...turn, steps: [turn.steps[2]!, turn.steps[0]!, ...turn.steps.slice(3), turn.steps[1]!] };
    const store = await tempStore();
    await store.insertCalls(recs.filter((r) => r.id !== turn.steps[4]!.call_id));
    await store.upsertTurns([reordered]);
    const detail = (await store.getTurn(turn.id))!;
    expect(detail.turn).toEqual(reordered);
    expect(detail.calls.map((c) => c.id)).toEqual(reordered.steps.map((s) => s.call_id).filter((id) => id !== turn.steps[4]!.call_id));
    const byId = new Map(recs.map((r) => [r.id, r]));
    for (const c of detail.calls) {
      const { content, ...rest } = byId.get(c.id)!;
      expect(c).toEqual({ ...rest, output_preview: content.output_text.slice(0, STORE_CAPS.previewChars) });
    }
    expect(await store.getTurn('019bc1a4-0000-7000-8000-00000000dead')).toBeNull();
    await store.close();
  });

  test('a turn stored without steps finds its calls by turn_id', async () => {
    const recs = calls(TURN_CALLS * 2);
    const turn = { ...syntheticTurn(0, recs.slice(0, TURN_CALLS))!, steps: [] };
    const store = await filled(recs, [turn]);
    expect((await store.getTurn(turn.id))!.calls.map((c) => c.id)).toEqual(recs.slice(0, TURN_CALLS).map((r) => r.id));
    await store.close();
  });
});

describe('sessions', () => {
  const recs = calls(12 * 5 * TURN_CALLS, 500_000);
  const turns = turnsOf(recs);
  // Session sess-0: its last turn still running; sess-1 started with a request we search for.
  const s0 = turns.filter((x) => x.session_id === 'sess-0');
  s0[s0.length - 1]!.status = 'in_progress';
  s0[s0.length - 1]!.end = null;
  const s1 = turns.filter((x) => x.session_id === 'sess-1');
  s1[0]!.user_preview = 'Refactor the Billing module';
  s1[2]!.cost_usd = 0.25;
  s1[3]!.cost_usd = 0.5;

  /** The reference: sessions computed from the turns in plain JS. */
  function expected(list: AgentTurnRecord[]): SessionSummary[] {
    const by = new Map<string, AgentTurnRecord[]>();
    for (const x of list) by.set(x.session_id, [...(by.get(x.session_id) ?? []), x]);
    const sum = (ts: AgentTurnRecord[], f: (x: AgentTurnRecord) => number | null): number | null =>
      ts.some((x) => f(x) !== null) ? ts.reduce((a, x) => a + (f(x) ?? 0), 0) : null;
    return [...by.entries()]
      .map(([id, ts]) => {
        const sorted = [...ts].sort((a, b) => -newestFirst(a, b));
        const first = sorted[0]!;
        const last = sorted[sorted.length - 1]!;
        const ends = ts.map((x) => x.end ?? x.start).sort();
        return {
          session_id: id,
          agent: first.agent,
          source: first.source,
          start: first.start,
          end: ends[ends.length - 1]!,
          turn_count: ts.length,
          call_count: ts.reduce((a, x) => a + x.call_count, 0),
          tool_call_count: ts.reduce((a, x) => a + x.tool_call_count, 0),
          usage: {
            input_tokens: sum(ts, (x) => x.usage.input_tokens),
            output_tokens: sum(ts, (x) => x.usage.output_tokens),
            cache_read_tokens: sum(ts, (x) => x.usage.cache_read_tokens),
            cache_write_tokens: sum(ts, (x) => x.usage.cache_write_tokens),
            reasoning_tokens: sum(ts, (x) => x.usage.reasoning_tokens),
            estimated: ts.some((x) => x.usage.estimated),
          },
          cost_usd: sum(ts, (x) => x.cost_usd),
          last_status: last.status,
          last_turn_id: last.id,
          first_user_preview: first.user_preview,
        };
      })
      .sort((a, b) => (a.start !== b.start ? (a.start < b.start ? 1 : -1) : a.session_id < b.session_id ? 1 : -1));
  }

  test('each session sums its turns, newest first, walked page by page', async () => {
    const store = await filled(recs, turns);
    const want = expected(turns);
    expect(want.length).toBe(8); // 12 sessions, a third without an agent
    expect(await walkAll((p) => store.listSessions({}, p), 3)).toEqual(want);
    expect(await walkAll((p) => store.listSessions({}, p), 5, 'asc')).toEqual([...want].reverse());
    const sess1 = want.find((s) => s.session_id === 'sess-1')!;
    expect(sess1.cost_usd).toBe(0.75);
    expect(sess1.first_user_preview).toBe('Refactor the Billing module');
    expect(want.find((s) => s.session_id === 'sess-0')!.last_status).toBe('in_progress');
    await store.close();
  });

  const cases: [string, SessionFilter, (s: SessionSummary) => boolean][] = [
    ['agent', { agent: ['codex'] }, (s) => s.agent === 'codex'],
    ['status of the latest turn', { status: ['in_progress'] }, (s) => s.last_status === 'in_progress'],
    ['q in any preview', { q: 'billing MODULE' }, (s) => s.session_id === 'sess-1'],
    ['session ids', { session_id: ['sess-3', 'sess-9', 'nope'] }, (s) => ['sess-3', 'sess-9'].includes(s.session_id)],
  ];

  test.each(cases)('filter: %s', async (_n, filter, pred) => {
    const store = await filled(recs, turns);
    const want = expected(turns).filter(pred);
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(expected(turns).length);
    expect(await walkAll((p) => store.listSessions(filter, p), 2)).toEqual(want);
    await store.close();
  });

  test('filter: from/to select the sessions active in the range', async () => {
    const store = await filled(recs, turns);
    const all = expected(turns);
    // A range inside sess-4 (turns 20..24): sessions that ended before it or start after it are
    // out; sess-3, whose last calls run into sess-4's time, is in.
    const s4 = turns.filter((x) => x.session_id === 'sess-4');
    const from = Date.parse(s4[1]!.start) * 1000;
    const to = Date.parse(s4[2]!.start) * 1000;
    const want = all.filter((s) => (s.end ?? s.start) >= isoMicros(from) && s.start < isoMicros(to));
    expect(want.map((s) => s.session_id)).toEqual(['sess-4', 'sess-3']);
    expect((await store.listSessions({ from, to })).items).toEqual(want);
    await store.close();
  });

  test('getSession: the summary and its turns oldest first; unknown is null', async () => {
    const store = await filled(recs, turns);
    const got = (await store.getSession('sess-1'))!;
    expect(got.session).toEqual(expected(turns).find((s) => s.session_id === 'sess-1'));
    expect(got.turns).toEqual(s1);
    expect(got.turns_truncated).toBe(false);
    expect(await store.getSession('sess-2')).toBeNull(); // a session of calls without an agent has no turns
    await store.close();
  });
});
