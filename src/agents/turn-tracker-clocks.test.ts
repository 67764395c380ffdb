/**
 * The turn tracker's clock per source (DESIGN §1): two sources whose capture clocks are an hour
 * apart, fed to one tracker in any interleaving, give each source the turns it gets alone.
 */
import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import type { AgentTurnRecord } from '../core/record.js';
import { anthropicReply, claudeBody, claudeHeaders, craft, toolResult, toolUse, us, type AnthropicMsg, type CraftSpec } from './crafted-calls.test-support.js';
import type { AgentCallInput } from './profiles.js';
import { TurnTracker, type TurnTrackerOptions } from './turn-tracker.js';
import { interleave, mulberry32 } from '../metrics/source-traffic.test-support.js';

/** A call of `source` (crafted once as a spec, so every tracker gets an identical copy), or a
 * tick of that source's clock to `at` seconds. */
type Event = { source: string; spec: CraftSpec } | { source: string; tick: number };

/**
 * One source's traffic from `base` seconds: Claude Code turns (prompt → tool → answer, some cut
 * short) in three sessions, gaps around the grace period and the idle timeout, calls arriving
 * out of request order (each arrives when its response ends, plus jitter) and clock ticks.
 */
function sourceEvents(source: string, base: number, rnd: () => number): Event[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const timed: { arrive: number; e: Event }[] = [];
  let t = base;
  const turns = 3 + Math.floor(rnd() * 6);
  for (let i = 0; i < turns; i++) {
    const session = `${source}-s${Math.floor(rnd() * 3)}`;
    const h = claudeHeaders(session);
    const id = `toolu_${source}_${i}`;
    const prompt: AnthropicMsg[] = [{ role: 'user', content: `Task ${i} of ${source}` }];
    const withTool: AnthropicMsg[] = [...prompt, { role: 'assistant', content: [toolUse(id, 'Bash', { command: 'ls' })] }, { role: 'user', content: [toolResult(id)] }];
    const first = rnd() * 3;
    const spec1: CraftSpec = { headers: h, body: claudeBody(prompt), response: anthropicReply({ tools: [{ id, name: 'Bash', input: { command: 'ls' } }], input: 10, output: 2 }), at: t, seconds: first };
    timed.push({ arrive: t + first + rnd() * 2, e: { source, spec: spec1 } });
    if (rnd() < 0.8) {
      const at = t + first + rnd() * 4;
      const spec2: CraftSpec = { headers: h, body: claudeBody(withTool), response: anthropicReply({ text: `Answer ${i}`, input: 20, output: 3 }), at, seconds: 1 };
      timed.push({ arrive: at + 1 + rnd() * 2, e: { source, spec: spec2 } });
    }
    t += pick([1, 3, 6, 8, 20, 70, 200]);
    if (rnd() < 0.4) timed.push({ arrive: t, e: { source, tick: t } });
  }
  timed.sort((a, b) => a.arrive - b.arrive);
  return timed.map((x) => x.e);
}

type Out = { source: string; call: { id: string; turn: string | null; session: string | null; anomalies: string[] } } | { source: string; turn: AgentTurnRecord; final: boolean };

function callOf(e: { source: string; spec: CraftSpec }): AgentCallInput {
  const c = craft(e.spec);
  c.record.source = e.source;
  return c;
}

/** Feeds events to one tracker; everything it wrote and emitted, in order. */
function feed(events: Event[], opts: Partial<TurnTrackerOptions> = {}): { out: Out[]; tracker: TurnTracker } {
  const out: Out[] = [];
  const tracker = new TurnTracker({ idleTimeoutMs: 60_000, ...opts, onTurn: (turn, final) => out.push({ source: turn.source, turn, final }) });
  for (const e of events) {
    if ('tick' in e) {
      tracker.advance(us(e.tick), e.source);
      continue;
    }
    const c = callOf(e);
    const r = c.record;
    tracker.add(c, () => out.push({ source: e.source, call: { id: r.id, turn: r.turn_id, session: r.session_id, anomalies: r.anomalies } }));
  }
  tracker.flush();
  return { out, tracker };
}

const HOUR = 3600;

describe('turn tracker: a clock per source', () => {
  it('two sources an hour apart, interleaved at random, each get the turns they get alone', () => {
    let closedBeforeFlush = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const rnd = mulberry32(seed);
      const a = sourceEvents('A', 0, rnd);
      const b = sourceEvents('B', HOUR, rnd);
      const together = feed(interleave([a, b], rnd)).out;
      for (const [source, alone] of [['A', feed(a).out] as const, ['B', feed(b).out] as const]) {
        const mine = together.filter((o) => o.source === source);
        expect(mine, `seed ${seed}, source ${source}`).toEqual(alone);
      }
      // The property is only worth something if turns close on the clocks (not all at the flush).
      const lastCall = together.findLastIndex((o) => 'call' in o);
      closedBeforeFlush += together.slice(0, lastCall).filter((o) => 'turn' in o && o.final).length;
    }
    expect(closedBeforeFlush).toBeGreaterThan(100);
  });

  it('a source an hour ahead does not close the turns of the other one', () => {
    const h = claudeHeaders('s-old');
    const prompt: AnthropicMsg[] = [{ role: 'user', content: 'Fix the build' }];
    const withTool: AnthropicMsg[] = [...prompt, { role: 'assistant', content: [toolUse('toolu_1', 'Bash')] }, { role: 'user', content: [toolResult('toolu_1')] }];
    const old: Event[] = [
      { source: 'file', spec: { headers: h, body: claudeBody(prompt), response: anthropicReply({ tools: [{ id: 'toolu_1', name: 'Bash' }] }), at: 0 } },
      // A live interface's clock, an hour ahead, moves before the old capture's next call.
      { source: 'live', tick: HOUR },
      { source: 'file', spec: { headers: h, body: claudeBody(withTool), response: anthropicReply({ text: 'Fixed.' }), at: 30 } },
    ];
    const { out, tracker } = feed(old);
    const finals = out.flatMap((o) => ('turn' in o && o.final ? [o.turn] : []));
    expect(finals).toHaveLength(1);
    expect(finals[0]).toMatchObject({ source: 'file', status: 'complete', call_count: 2, anomalies: [] });
    expect(tracker.turns).toBe(1);
  });

  it('advance() without a source moves every clock, and sources seen later start there', () => {
    const turn = (source: string, at: number): Event[] => {
      const h = claudeHeaders(`${source}-s`);
      return [{ source, spec: { headers: h, body: claudeBody([{ role: 'user', content: `Hi from ${source}` }]), response: anthropicReply({ text: 'Hello.' }), at } }];
    };
    const out: AgentTurnRecord[] = [];
    const tracker = new TurnTracker({ onTurn: (t, final) => void (final ? out.push(t) : undefined) });
    for (const e of [...turn('A', 0), ...turn('B', HOUR)]) if ('spec' in e) tracker.add(callOf(e), () => undefined);
    // Both answered: closing, each waiting its grace on its own clock.
    expect(out).toHaveLength(0);
    tracker.advance(us(HOUR + 10));
    expect(out.map((t) => t.source).sort()).toEqual(['A', 'B']);
    // A source seen after that starts at the time every source reached: its answered turn waits
    // its grace from there, not from its own second 0.
    for (const e of turn('C', 0)) if ('spec' in e) tracker.add(callOf(e), () => undefined);
    tracker.advance(us(10), 'C');
    expect(out.map((t) => t.source)).not.toContain('C');
    tracker.advance(us(HOUR + 16), 'C');
    expect(out.map((t) => t.source)).toContain('C');
  });

  it('sources past the cap share the newest clock, counted', () => {
    const anomalies = new AnomalyCounter();
    const h = (s: string): Record<string, string> => claudeHeaders(s);
    const answer = (source: string, session: string, at: number): Event => ({
      source,
      spec: { headers: h(session), body: claudeBody([{ role: 'user', content: `Question of ${source}` }]), response: anthropicReply({ text: 'Answer.' }), at },
    });
    const out: AgentTurnRecord[] = [];
    const tracker = new TurnTracker({ maxSources: 1, anomalies, onTurn: (t, final) => void (final ? out.push(t) : undefined) });
    const add = (e: Event): void => {
      if ('spec' in e) tracker.add(callOf(e), () => undefined);
    };
    add(answer('A', 'a', HOUR));
    add(answer('B', 'b', 0));
    add(answer('C', 'c', 0));
    expect(anomalies.get('agent_sources_capped')).toBe(2);
    // B and C are on the shared clock, at the newest time (A's, an hour ahead of theirs): as with
    // one clock for all, their sessions are idle on it (at the next idle sweep, once per second of
    // it) and their turns final; A's turn waits its grace on A's own clock.
    expect(out.map((t) => t.source)).toContain('B');
    expect(out.map((t) => t.source)).not.toContain('A');
    tracker.advance(us(HOUR + 6), 'A');
    expect(out.map((t) => t.source).sort()).toEqual(['A', 'B', 'C']);
  });
});
