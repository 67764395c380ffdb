/**
 * The turn tracker (DESIGN §5): stitches agent calls into turns and sessions.
 *
 * Each call is annotated the moment it arrives (agent, session_id, turn_id, agent_role) and
 * handed back to be written: the call's exchange (bodies up to the 64 MiB body cap) is never
 * held here. Calls may arrive out of request order (an exchange is emitted when its response
 * ends, and connections end in any order), so the tracker places a call by its request time:
 * - a turn starts at a call whose last message is a real user prompt (or a new client turn id);
 * - a follow-up that arrives before its turn's first call opens the turn as "start missed", and
 *   the prompt's call, when it comes, becomes the start of that same turn;
 * - a terminal call (an answer without tool calls) closes the turn, which then waits a grace
 *   period in capture time for late calls that started before the terminal one;
 * - a session silent for the idle timeout closes its open turn as incomplete; end of input
 *   flushes everything (open turns: incomplete);
 * - sub-agent calls (marked by the client, else guessed from tools or opening) join the turn
 *   that launched them; a turn whose background sub-agents still work is held past its grace,
 *   and the client's notification that they finished continues it (design-notes, "Agent turns").
 * Memory is bounded: sessions are capped (the least recently active is evicted, its open turn
 * closed as incomplete) and every list in a turn is capped (turn-state.ts).
 *
 * Time is capture time with a watermark per source (DESIGN §1): a call moves only its own
 * source's clock, and a session's grace and idle deadlines are read on its source's clock, so a
 * source whose clock runs ahead (a live interface beside an old capture file, a probe host 30 s
 * fast) does not close the turns of the others (source-clocks.ts).
 */
import type { AnomalySink } from '../core/anomalies.js';
import type { AgentTurnRecord, LlmCallRecord } from '../core/record.js';
import type { Micros } from '../core/time.js';
import { identifyAgent, PROFILES, type AgentCallInput, type AgentIdentity, type AgentProfile } from './profiles.js';
import { SessionNamer } from './session-ids.js';
import { DEFAULT_MAX_SOURCES, SourceClocks, type ClosingEntry, type SourceClock } from './source-clocks.js';
import { terminalOf, TurnState, type TurnThresholds } from './turn-state.js';

export interface TurnTrackerOptions {
  /** Called with every turn change: snapshots (final false, status in_progress) for live views,
   * and once with the final record (final true) after all of the turn's calls were written. */
  onTurn(turn: AgentTurnRecord, final: boolean): void;
  /** No in-progress snapshots (a pure JSONL conversion needs only the final records). */
  snapshots?: boolean;
  anomalies?: AnomalySink;
  /** Capture time a session may stay silent before its open turn closes as incomplete, ms. */
  idleTimeoutMs?: number;
  /** Capture time a closed turn waits for late calls, ms. */
  graceMs?: number;
  stallMs?: number;
  loopCount?: number;
  maxSessions?: number;
  /** Sources with a clock of their own; calls of further sources share the newest clock. */
  maxSources?: number;
  profiles?: readonly AgentProfile[];
}

/** 15 minutes: longer than the longest tool run agents allow (Claude Code's Bash tool stops at
 * 10 minutes, its documented maximum), so a silent session this long is not running a tool. */
export const DEFAULT_IDLE_TIMEOUT_MS = 15 * 60_000;
/** 5 s: an exchange is emitted when its response ends; calls of one turn that end on other
 * connections reach the tracker within a few packets of each other, far below this. */
export const DEFAULT_GRACE_MS = 5_000;
/** A tool that runs over a minute between two calls is worth a look (issue 4). */
export const DEFAULT_STALL_MS = 60_000;
/** Three identical tool calls in one turn: twice may be a retry, three times is a loop. */
export const DEFAULT_LOOP_COUNT = 3;
/** 10,000 sessions: a gateway with hundreds of concurrent agents stays far below; a session
 * costs a few KB (its open turn's steps aside), so the cap bounds memory to tens of MB. */
export const DEFAULT_MAX_SESSIONS = 10_000;
/** Closed turns one session may have waiting for late calls at once (a session does not finish
 * turns faster than the grace period in practice); the oldest is made final early beyond it. */
const CLOSING_PER_SESSION = 8;
/** Distinct session ids counted for the summary; beyond it new session states are counted. */
const SESSION_COUNT_CAP = 100_000;
/** Idle sessions are looked for at most once per second of capture time. */
const SWEEP_EVERY_US = 1_000_000;

interface Session {
  key: string;
  /** Its source's clock: its deadlines are read on it (fixed at creation). */
  clock: SourceClock<Session>;
  id: string;
  agent: string;
  open: TurnState | null;
  closing: TurnState[];
  lastSeen: Micros;
  /** Latest main request start of a turn already made final: calls before it are too late. */
  finalizedUntil: Micros;
  /** The client marked a sub-agent call of this session (header or system marker): it marks
   * them all, so unmarked calls are the main agent's. */
  marksSubagents: boolean;
}

/** Finish reasons that end an agent's turn: it answered instead of asking for a tool. `other`
 * (Anthropic `pause_turn`) and `cancelled` are not answers; errors make the agent retry or stop. */
const TERMINAL_FINISH = new Set(['stop', 'length', 'content_filter']);

export function isTerminalCall(r: LlmCallRecord): boolean {
  if (r.status_code === null || r.status_code >= 400 || r.error !== null) return false;
  if (r.finish_reason === null || !TERMINAL_FINISH.has(r.finish_reason)) return false;
  // Responses: the turn ends with a `message` output item (text), not reasoning alone.
  if (r.api === 'openai.responses' && r.content.output_text === '') return false;
  return true;
}

export class TurnTracker {
  /** Final turn records emitted. */
  turns = 0;
  private readonly o: Required<Omit<TurnTrackerOptions, 'anomalies' | 'profiles' | 'maxSources'>>;
  private readonly profiles: readonly AgentProfile[];
  private readonly anomalies: AnomalySink | null;
  private readonly thresholds: TurnThresholds;
  /** Sessions of every source in order of last activity (re-inserted on each call): the oldest
   * come first (eviction). Each source's clock lists its own in the same order (idle sweep). */
  private readonly sessions = new Map<string, Session>();
  /** Each source's watermark, closing queue, sessions and held turns. */
  private readonly clocks: SourceClocks<Session>;
  private readonly names = new SessionNamer();
  private readonly sessionIds = new Set<string>();
  private extraSessions = 0;
  private readonly pending: { turn: TurnState; final: boolean }[] = [];

  constructor(opts: TurnTrackerOptions) {
    this.o = {
      onTurn: opts.onTurn,
      snapshots: opts.snapshots ?? true,
      idleTimeoutMs: opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      graceMs: opts.graceMs ?? DEFAULT_GRACE_MS,
      stallMs: opts.stallMs ?? DEFAULT_STALL_MS,
      loopCount: opts.loopCount ?? DEFAULT_LOOP_COUNT,
      maxSessions: Math.max(1, opts.maxSessions ?? DEFAULT_MAX_SESSIONS),
    };
    this.profiles = opts.profiles ?? PROFILES;
    this.anomalies = opts.anomalies ?? null;
    this.clocks = new SourceClocks<Session>(opts.maxSources ?? DEFAULT_MAX_SOURCES, SWEEP_EVERY_US, () => this.anomalies?.add('agent_sources_capped'));
    this.thresholds = { stallMs: this.o.stallMs, loopCount: this.o.loopCount };
  }

  /** Distinct sessions seen. */
  get sessionCount(): number {
    return this.sessionIds.size + this.extraSessions;
  }

  /** Annotates the call, lets `write` write it, then emits what changed (its turn's snapshot,
   * turns made final by the time the call carries). */
  add(c: AgentCallInput, write: () => void): void {
    // The call's own times are capture time already reached on its source's clock: a turn it
    // closes waits from here.
    const now = Math.max(c.requestStart, c.responseEnd ?? 0);
    const clock = this.clocks.forCall(c.record.source);
    this.clocks.move(clock, now);
    try {
      this.route(c);
    } catch {
      // Defensive only: the call is written whatever happens here (DESIGN §1: never throw).
      c.record.anomalies = [...c.record.anomalies, 'agent_tracker_failed'];
      this.anomalies?.add('agent_tracker_failed');
    }
    write();
    this.settle(clock);
    this.drain();
  }

  /**
   * Capture time moves on (a packet's time): turns past their grace or idle timeout close.
   * `source`: that source's clock moves (several sources, each on its own clock); without one
   * (one-source commands, an idle tick of the whole run) every source's clock moves to at least
   * `now`, and sources seen later start there.
   */
  advance(now: Micros, source?: string): void {
    if (source !== undefined) {
      const clock = this.clocks.clockOf(source);
      this.clocks.move(clock, now);
      this.settle(clock);
    } else {
      this.clocks.moveAll(now);
      for (const clock of this.clocks.all()) this.settle(clock);
    }
    this.drain();
  }

  /** End of input: every turn becomes final; open ones are incomplete. */
  flush(): void {
    for (const clock of this.clocks.all()) this.finalizeClosed(clock, Number.POSITIVE_INFINITY);
    for (const s of this.sessions.values()) {
      if (s.open !== null) this.finalize(s, s.open, 'agent_turn_input_ended');
      // Turns held for their sub-agents are not in the closing queue any more.
      for (const k of [...s.closing]) this.finalize(s, k, null);
    }
    this.sessions.clear();
    for (const clock of this.clocks.all()) clock.sessions.clear();
    this.drain();
  }

  /** A clock moved: its due turns become final and its idle sessions close (once per second of
   * its time); the shared clock of sources past the cap follows the newest clock. */
  private settle(clock: SourceClock<Session>): void {
    this.process(clock);
    const shared = this.clocks.followNewest();
    if (shared !== null && shared !== clock) this.process(shared);
  }

  private process(clock: SourceClock<Session>): void {
    this.finalizeClosed(clock);
    if (clock.watermark >= clock.nextSweep) {
      this.sweepIdle(clock);
      clock.nextSweep = clock.watermark + SWEEP_EVERY_US;
    }
  }

  // --- routing -------------------------------------------------------------------------------

  private route(c: AgentCallInput): void {
    const r = c.record;
    // An MCP request is a tool server's, not a model's: it starts no turn, and its session id is
    // the transport's (Mcp-Session-Id), which an agent profile must not overwrite.
    if (r.api === 'mcp') return;
    const id = identifyAgent(c, this.profiles);
    if (id === null) return;
    r.agent = id.agent;
    const sessionId = this.names.sessionIdFor(id, c);
    r.session_id = sessionId;
    if (id.auxiliary) {
      r.agent_role = 'auxiliary';
      if (sessionId !== null) this.touch(this.session(c.record.source, id.agent, sessionId), c);
      return;
    }
    r.agent_role = 'main';
    if (sessionId === null) {
      r.anomalies = [...r.anomalies, 'agent_session_unknown'];
      this.anomalies?.add('agent_session_unknown');
      return;
    }
    const s = this.session(c.record.source, id.agent, sessionId);
    this.touch(s, c);
    if (id.subagentMarked) {
      s.marksSubagents = true;
      this.routeSubagent(s, id, c);
      return;
    }
    const host = this.homeTurn(s, c.requestStart) ?? s.open;
    // A client that marks its sub-agents' calls leaves nothing to guess for the unmarked ones.
    if (host !== null && !s.marksSubagents && this.looksLikeSubagent(id, c, host)) {
      r.agent_role = 'subagent';
      this.attach(host, c, 'subagent', `sub-${(c.view?.openingUserHash ?? 'unknown').slice(0, 12)}`);
      return;
    }
    this.routeMain(s, id, c);
  }

  /** A call the client marks as a sub-agent's: it joins the turn that launched that sub-agent
   * (even after that turn's answer: background sub-agents outlive it), else its parent
   * sub-agent's turn, else the turn in progress at its request time. */
  private routeSubagent(s: Session, id: AgentIdentity, c: AgentCallInput): void {
    c.record.agent_role = 'subagent';
    const sub = id.subagentId ?? `sub-${(c.view?.openingUserHash ?? 'unknown').slice(0, 12)}`;
    let turn = this.turnOfSubagent(s, sub) ?? (id.parentAgentId !== null ? this.turnOfSubagent(s, id.parentAgentId) : null) ?? this.homeTurn(s, c.requestStart) ?? s.open;
    if (turn === null) {
      // The capture began while a sub-agent ran: its turn's start was not seen.
      turn = this.open(s, c, id, true);
      turn.addAnomaly('agent_turn_start_missed');
      turn.mainOpening = null; // the sub-agent's conversation is not the main one
    }
    this.attach(turn, c, 'subagent', sub);
  }

  /** The tools heuristic, for clients that do not mark sub-agents: the call lacks a main-only
   * tool the turn's main calls offer (Claude Code 1.x sub-agents have no `Task`), or its
   * conversation opens with another first user message than the turn's. */
  private looksLikeSubagent(id: AgentIdentity, c: AgentCallInput, host: TurnState): boolean {
    const tools = id.mainOnlyTools;
    if (tools !== null && host.mainOnlyTools.size > 0) {
      for (const t of host.mainOnlyTools) if (!tools.includes(t)) return true;
      // Every main-only tool the main calls offer: a main call, whatever its opening (compaction
      // rewrites the main conversation's first message).
      if (tools.length > 0) return false;
    }
    const opening = c.view?.openingUserHash ?? null;
    return opening !== null && host.mainOpening !== null && opening !== host.mainOpening;
  }

  private routeMain(s: Session, id: AgentIdentity, c: AgentCallInput): void {
    const r = c.record;
    const t = c.requestStart;
    const prompt = c.view?.lastIsUserPrompt === true;
    if (!prompt && (c.view?.taskNotificationIds.length ?? 0) > 0 && this.routeNotification(s, id, c)) return;
    if (id.clientTurnId !== null) {
      this.routeClientTurn(s, id, c, prompt);
      return;
    }
    if (prompt) {
      this.startTurn(s, id, c);
      return;
    }
    const home = this.homeTurn(s, t);
    if (home !== null) {
      if (home.closing && home.terminal !== null && t > home.lastMainStart) {
        // The agent went on after its answer without a new prompt (a stop hook, a continuation
        // after max_tokens): the turn is not over after all.
        if (s.open !== null) this.close(s, s.open, 'agent_turn_interrupted');
        this.reopen(s, home);
      }
      this.attachMain(s, home, c, id);
      return;
    }
    // Before every turn of the session: a follow-up that arrived after later calls of a turn
    // whose start was not seen yet belongs to that turn.
    const missed = this.startMissedAfter(s, t);
    if (missed !== null) {
      this.attachMain(s, missed, c, id);
      return;
    }
    if (t <= s.finalizedUntil || s.open !== null) {
      // A follow-up of a turn already made final: counted, not added to another turn.
      r.anomalies = [...r.anomalies, 'agent_call_late'];
      this.anomalies?.add('agent_call_late');
      return;
    }
    const turn = this.open(s, c, id, true);
    turn.addAnomaly('agent_turn_start_missed');
    this.attachMain(s, turn, c, id);
  }

  /** A call whose last message is the user's prompt: a new turn, or the start of the turn its
   * follow-ups opened before it arrived. */
  private startTurn(s: Session, id: AgentIdentity, c: AgentCallInput): void {
    const missed = this.startMissedAfter(s, c.requestStart);
    if (missed !== null) {
      this.foundStart(missed, c);
      this.attachMain(s, missed, c, id);
      return;
    }
    if (s.open !== null) this.close(s, s.open, 'agent_turn_interrupted');
    const turn = this.open(s, c, id, false);
    turn.setUserPreview(c.view?.userPreview ?? null);
    this.attachMain(s, turn, c, id);
  }

  /** The prompt's call of a turn opened by a later call. */
  private foundStart(turn: TurnState, c: AgentCallInput): void {
    turn.startMissed = false;
    turn.removeAnomaly('agent_turn_start_missed');
    turn.setUserPreview(c.view?.userPreview ?? null);
    turn.mainOpening = c.view?.openingUserHash ?? turn.mainOpening;
  }

  /** The client names its turns (Codex `turn_id`): the same id is the same turn, another id a
   * new turn, whatever the conversation looks like. */
  private routeClientTurn(s: Session, id: AgentIdentity, c: AgentCallInput, prompt: boolean): void {
    const t = c.requestStart;
    let same: TurnState | null = null;
    for (const k of [s.open, ...s.closing]) if (k !== null && k.clientTurnId === id.clientTurnId) same = k;
    if (same !== null) {
      if (prompt && same.startMissed && t <= same.start) this.foundStart(same, c);
      if (same.closing && same.terminal !== null && t > same.lastMainStart && s.open === null) this.reopen(s, same);
      this.attachMain(s, same, c, id);
      return;
    }
    if (s.open !== null) this.close(s, s.open, 'agent_turn_interrupted');
    const turn = this.open(s, c, id, !prompt);
    if (prompt) turn.setUserPreview(c.view?.userPreview ?? null);
    else turn.addAnomaly('agent_turn_start_missed');
    this.attachMain(s, turn, c, id);
  }

  /** A main call that the client sent to report finished background sub-agents (Claude Code's
   * `<task-notification>`, not typed by the user): it continues the turn that launched them.
   * False when no live turn launched them (the caller routes the call as any other follow-up). */
  private routeNotification(s: Session, id: AgentIdentity, c: AgentCallInput): boolean {
    const ids = c.view?.taskNotificationIds ?? [];
    let turn: TurnState | null = null;
    for (const a of ids) {
      turn = this.turnOfSubagent(s, a);
      if (turn !== null) break;
    }
    if (turn === null) return false;
    turn.noteNotified(ids);
    if (turn === s.open) {
      this.attachMain(s, turn, c, id);
    } else if (s.open === null) {
      this.reopen(s, turn);
      this.attachMain(s, turn, c, id);
    } else {
      // The user went on with a new prompt meanwhile: the launching turn takes the call and stays
      // closed; its answer, if this is one, becomes the turn's answer.
      this.attach(turn, c, 'main', null);
      if (isTerminalCall(c.record)) {
        turn.terminal = terminalOf(c.record);
        this.rearm(s, turn);
      }
    }
    return true;
  }

  /** The live turn (open or closing) that launched or ran sub-agent `agentId`. */
  private turnOfSubagent(s: Session, agentId: string): TurnState | null {
    if (s.open?.hasSubagent(agentId) === true) return s.open;
    for (const k of s.closing) if (k.hasSubagent(agentId)) return k;
    return null;
  }

  private attachMain(s: Session, turn: TurnState, c: AgentCallInput, id: AgentIdentity): void {
    for (const t of id.mainOnlyTools ?? []) turn.mainOnlyTools.add(t);
    if (c.view !== null) turn.noteLaunched(c.view.launchedAgentIds);
    turn.mainOpening ??= c.view?.openingUserHash ?? null;
    turn.clientTurnId ??= id.clientTurnId;
    this.attach(turn, c, 'main', null);
    if (turn.terminal === null && isTerminalCall(c.record)) {
      turn.terminal = terminalOf(c.record);
      // A late answer to a turn closed by the next prompt: it did finish.
      turn.removeAnomaly('agent_turn_interrupted');
      if (s.open === turn) this.close(s, turn, null);
    }
  }

  private attach(turn: TurnState, c: AgentCallInput, role: 'main' | 'subagent', sub: string | null): void {
    c.record.turn_id = turn.id;
    turn.add(c.record, role, sub, c.requestStart, c.responseEnd);
    if (this.o.snapshots) this.queue(turn, false);
    // Its last sub-agent done, a held turn waits one more grace period (for the notification call).
    if (turn.held && !turn.subagentsPending()) {
      // Held turns are listed on their source's clock (clocks are never dropped: it is there).
      const s = this.clocks.clockOf(turn.source).held.get(turn);
      if (s !== undefined) this.rearm(s, turn);
    }
  }

  private open(s: Session, c: AgentCallInput, id: AgentIdentity, startMissed: boolean): TurnState {
    const turn = new TurnState({
      // The call's own source: one tracker serves every probe of a collector.
      source: c.record.source,
      sessionId: s.id,
      agent: s.agent,
      first: c.record,
      start: c.requestStart,
      startMissed,
      mainOpening: c.view?.openingUserHash ?? null,
      clientTurnId: id.clientTurnId,
    });
    s.open = turn;
    return turn;
  }

  /** The turn a call made at request time `t` belongs to: the latest of the session's turns
   * (open or waiting for late calls) that started at or before `t`. */
  private homeTurn(s: Session, t: Micros): TurnState | null {
    let best: TurnState | null = null;
    for (const k of s.closing) if (k.start <= t && (best === null || k.start > best.start)) best = k;
    if (s.open !== null && s.open.start <= t && (best === null || s.open.start > best.start)) best = s.open;
    return best;
  }

  /** The earliest turn of the session opened by a follow-up (start missed) after time `t`. */
  private startMissedAfter(s: Session, t: Micros): TurnState | null {
    let best: TurnState | null = null;
    for (const k of [s.open, ...s.closing]) {
      if (k === null || !k.startMissed || k.start < t) continue;
      if (best === null || k.start < best.start) best = k;
    }
    return best;
  }

  private reopen(s: Session, turn: TurnState): void {
    const i = s.closing.indexOf(turn);
    if (i >= 0) s.closing.splice(i, 1);
    this.unhold(s, turn);
    turn.closing = false;
    turn.terminal = null;
    s.open = turn;
  }

  /** A closing turn waits a (new) grace period from now. */
  private rearm(s: Session, turn: TurnState): void {
    this.unhold(s, turn);
    turn.closeAt = s.clock.watermark + this.o.graceMs * 1000;
    s.clock.queue.push({ turn, session: s });
  }

  private unhold(s: Session, turn: TurnState): void {
    turn.held = false;
    s.clock.held.delete(turn);
  }

  // --- sessions ------------------------------------------------------------------------------

  /** Sessions are kept per source: two probes of a collector that see the same session id (the
   * same capture, or clients that reuse ids) keep their turns apart. */
  private session(source: string, agent: string, id: string): Session {
    const key = `${source}\u0000${agent}\u0000${id}`;
    const found = this.sessions.get(key);
    if (found !== undefined) return found;
    if (this.sessions.size >= this.o.maxSessions) this.evictOldest();
    // The call's clock (add() made it, or counted its source past the cap).
    const clock = this.clocks.clockOf(source);
    const s: Session = { key, clock, id, agent, open: null, closing: [], lastSeen: 0, finalizedUntil: 0, marksSubagents: false };
    this.sessions.set(key, s);
    clock.sessions.set(key, s);
    if (this.sessionIds.size < SESSION_COUNT_CAP) this.sessionIds.add(key);
    else if (!this.sessionIds.has(key)) this.extraSessions++;
    return s;
  }

  /** Marks activity: the session moves to the back of the activity order. */
  private touch(s: Session, c: AgentCallInput): void {
    const t = Math.max(c.requestStart, c.responseEnd ?? 0);
    if (t > s.lastSeen) s.lastSeen = t;
    this.sessions.delete(s.key);
    this.sessions.set(s.key, s);
    s.clock.sessions.delete(s.key);
    s.clock.sessions.set(s.key, s);
  }

  private evictOldest(): void {
    const oldest = this.sessions.values().next().value;
    if (oldest === undefined) return;
    this.anomalies?.add('agent_sessions_capped');
    if (oldest.open !== null) this.finalize(oldest, oldest.open, 'agent_session_evicted');
    for (const k of [...oldest.closing]) this.finalize(oldest, k, null);
    this.sessions.delete(oldest.key);
    oldest.clock.sessions.delete(oldest.key);
  }

  // --- closing -------------------------------------------------------------------------------

  /** The turn stops taking new main calls and waits the grace period for late ones. */
  private close(s: Session, turn: TurnState, reason: string | null): void {
    if (s.open === turn) s.open = null;
    if (reason !== null) turn.addAnomaly(reason);
    turn.closing = true;
    turn.closeAt = s.clock.watermark + this.o.graceMs * 1000;
    s.closing.push(turn);
    s.clock.queue.push({ turn, session: s });
    if (s.closing.length > CLOSING_PER_SESSION) this.finalize(s, s.closing[0]!, null);
  }

  /** A clock's closing queue is in deadline order (its watermark only grows), so due turns are
   * at its head: a due turn never waits behind a turn of another source. */
  private finalizeClosed(clock: SourceClock<Session>, until: Micros = clock.watermark): void {
    const q: ClosingEntry<Session>[] = clock.queue;
    while (clock.head < q.length) {
      const e = q[clock.head]!;
      // Entries of turns made final early or reopened are stale: skip them.
      const live = !e.turn.final && e.turn.closing && !e.turn.held;
      if (live && e.turn.closeAt > until) break;
      clock.head++;
      if (!live) continue;
      if (until !== Number.POSITIVE_INFINITY && e.turn.subagentsPending()) {
        // A background sub-agent of the turn is still at work: its calls and the notification
        // call that reports it belong to this turn (design-notes, "Agent turns").
        e.turn.held = true;
        clock.held.set(e.turn, e.session);
        continue;
      }
      this.finalize(e.session, e.turn, null);
    }
    // Drop the consumed head now and then: the queue holds only turns still in their grace.
    if (clock.head > 1024 && clock.head * 2 > q.length) {
      q.splice(0, clock.head);
      clock.head = 0;
    }
  }

  private finalize(s: Session, turn: TurnState, reason: string | null): void {
    if (turn.final) return;
    turn.final = true;
    this.unhold(s, turn);
    if (reason !== null) turn.addAnomaly(reason);
    if (turn.subagentsPending()) turn.addAnomaly('agent_turn_subagent_unfinished');
    if (s.open === turn) s.open = null;
    const i = s.closing.indexOf(turn);
    if (i >= 0) s.closing.splice(i, 1);
    if (turn.lastMainStart > s.finalizedUntil) s.finalizedUntil = turn.lastMainStart;
    this.queue(turn, true);
  }

  /** A source's sessions silent for the idle timeout on its clock: the open turn closes as
   * incomplete, the state goes. */
  private sweepIdle(clock: SourceClock<Session>): void {
    const limit = clock.watermark - this.o.idleTimeoutMs * 1000;
    // A held turn whose sub-agents went silent for the idle timeout (its session may be busy
    // with later turns) waits no longer.
    for (const [turn, s] of [...clock.held]) if (turn.lastActivity <= limit) this.finalize(s, turn, null);
    for (const s of clock.sessions.values()) {
      if (s.lastSeen > limit) break;
      if (s.open !== null) this.finalize(s, s.open, 'agent_turn_idle_timeout');
      for (const k of [...s.closing]) this.finalize(s, k, null);
      this.sessions.delete(s.key);
      clock.sessions.delete(s.key);
    }
  }

  // --- output --------------------------------------------------------------------------------

  private queue(turn: TurnState, final: boolean): void {
    // One snapshot per turn per call is enough: replace a queued one.
    if (!final) {
      const last = this.pending[this.pending.length - 1];
      if (last !== undefined && last.turn === turn && !last.final) return;
    }
    this.pending.push({ turn, final });
  }

  private drain(): void {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.pending.length);
      for (const { turn, final } of batch) {
        if (!final && turn.final) continue; // its final record follows
        const status = final ? (turn.terminal !== null ? 'complete' : 'incomplete') : 'in_progress';
        if (final) this.turns++;
        this.o.onTurn(turn.toRecord(status, this.thresholds), final);
      }
    }
  }
}
