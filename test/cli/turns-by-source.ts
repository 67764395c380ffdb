/** Test support for the per-source clock tests: what the turn tracker decided for one source of a
 * JSONL output (its final turns, and each call's turn annotations), in id order. */

export type Row = Record<string, unknown> & { kind: string; source: string };

export function rows(text: string): Row[] {
  return text
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Row);
}

export function turnsOf(all: Row[], source: string): { turns: Row[]; calls: unknown[] } {
  const mine = all.filter((r) => r.source === source);
  const byId = (a: Row, b: Row): number => String(a['id']).localeCompare(String(b['id']));
  return {
    turns: mine.filter((r) => r.kind === 'agent_turn').sort(byId),
    calls: mine
      .filter((r) => r.kind === 'llm_call')
      .sort(byId)
      .map((r) => ({ id: r['id'], agent: r['agent'], session: r['session_id'], turn: r['turn_id'], role: r['agent_role'], anomalies: r['anomalies'] })),
  };
}
