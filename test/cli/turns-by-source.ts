/** Test support for the per-source clock tests: what the turn tracker decided for one source of a
 * JSONL output (its final turns, and each call's turn annotations), in id order; a capture
 * shifted in time. */
import { readFileSync } from 'node:fs';

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

/** A classic little-endian pcap with every packet `seconds` later (editcap -t). */
export function shifted(src: string, seconds: number): Buffer {
  const b = Buffer.from(readFileSync(src));
  if (b.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${src}: not a little-endian microsecond pcap`);
  for (let at = 24; at + 16 <= b.length; at += 16 + b.readUInt32LE(at + 8)) b.writeUInt32LE(b.readUInt32LE(at) + seconds, at);
  return b;
}
