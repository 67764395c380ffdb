/**
 * One turn being assembled (DESIGN §5): its calls as steps, the sums over them, tool use, stalls
 * and loops, and the record it becomes (snapshot while in progress, final when it closes).
 * Everything that grows with the turn's calls has a cap; hitting one is a turn anomaly.
 */
import { uuidV7 } from '../core/ids.js';
import { hash } from 'node:crypto';
import type { AgentRole, AgentTurnRecord, LlmCallRecord, TurnStep, TurnUsage } from '../core/record.js';
import type { Micros } from '../core/time.js';
import { isoMicros } from '../core/time.js';
import { roundUsd } from '../cost/call-pricer.js';
import { preview } from '../decoders/request-view.js';
import { redactText } from '../redact/secrets.js';
import { compareNames } from '../core/name-order.js';

export interface TurnThresholds {
  /** A tool gap longer than this is a stall, ms. */
  stallMs: number;
  /** The same tool call with the same arguments this many times is a loop. */
  loopCount: number;
}

/** 5,000 calls: Claude Code's longest real turns run to a few hundred calls; beyond this the
 * turn keeps counting but stops listing steps. */
export const STEPS_CAP = 5_000;
/** Distinct (tool, arguments) pairs remembered per turn for loop detection. */
const LOOP_KEYS_CAP = 2_000;
/** Tool names, models, sub-agents, stalls listed per turn: a console page, not a dump. */
const LIST_CAP = 100;
/** Loop arguments are shown, not stored whole. */
const ARGS_PREVIEW_CHARS = 120;
/** Arguments longer than this are keyed by a hash (loop detection must not hold whole files). */
const ARGS_KEY_CHARS = 512;

interface SubagentState {
  id: string;
  call_count: number;
  first_call_id: string;
  /** Request start of its latest call, and whether that call asked for tools (it goes on). */
  lastStart: Micros;
  working: boolean;
}

export interface TerminalCall {
  preview: string | null;
  finishReason: string | null;
}

/** The little a turn needs of its terminal call. Call records carry their output text redacted. */
export function terminalOf(r: LlmCallRecord): TerminalCall {
  return { preview: preview(r.content.output_text), finishReason: r.finish_reason };
}

interface Step extends TurnStep {
  start: Micros;
  end: Micros | null;
}

/** A deterministic UUIDv7 at the turn's start: same capture, same ids (like call ids). */
export function turnId(source: string, sessionId: string, firstCallId: string, start: Micros): string {
  // One-shot hash: the same digest as a Hash object fed the same string, without the object.
  const h = hash('sha256', `turn|${source}|${sessionId}|${firstCallId}`, 'buffer');
  return uuidV7(Math.floor(start / 1000), h);
}

function addCount(a: number | null, b: number | null): number | null {
  if (b === null) return a;
  return (a ?? 0) + b;
}

export class TurnState {
  readonly id: string;
  readonly sessionId: string;
  readonly agent: string;
  readonly source: string;
  /** Opening hash (first user message) of the main conversation; sub-agents have another. */
  mainOpening: string | null;
  /** Main-agent-only tools the turn's main calls offer (profiles.ts `mainOnlyTools`). */
  readonly mainOnlyTools = new Set<string>();
  clientTurnId: string | null;
  /** No call with the user's prompt was seen: the capture began mid-turn (so far). */
  startMissed: boolean;
  /** What the turn keeps of its terminal call, once seen (the turn then waits the grace period for
   * late calls): not the record itself, whose output text may be megabytes. */
  terminal: TerminalCall | null = null;
  /** Closed, waiting the grace period for late calls. */
  closing = false;
  /** Capture time at which a closing turn is final. */
  closeAt: Micros = 0;
  final = false;
  /** Latest request start of a main call: calls that started before it are late. */
  lastMainStart: Micros = 0;
  /** Closed and past its grace, but kept from being final while sub-agents it launched run. */
  held = false;
  /** Latest capture time of any of its calls (request start or response end). */
  lastActivity: Micros;
  start: Micros;
  end: Micros | null = null;

  private readonly steps: Step[] = [];
  private callCount = 0;
  private readonly models: string[] = [];
  private readonly usage: TurnUsage = {
    input_tokens: null,
    output_tokens: null,
    cache_read_tokens: null,
    cache_write_tokens: null,
    reasoning_tokens: null,
    estimated: false,
  };
  private cost: number | null = null;
  /** Calls without a price: a turn cost that leaves some out says so (`agent_turn_cost_partial`). */
  private unpricedCalls = 0;
  private toolCallCount = 0;
  private readonly tools = new Map<string, number>();
  private readonly subagents = new Map<string, SubagentState>();
  /** Background sub-agents the main agent launched (Claude Code's "Async agent launched") and
   * those the client said finished (`<task-notification>`). */
  private readonly launched = new Set<string>();
  private readonly notified = new Set<string>();
  private readonly loopKeys = new Map<string, { tool: string; args: string; count: number }>();
  private readonly anomalies: string[] = [];
  userPreview: string | null = null;

  constructor(o: { source: string; sessionId: string; agent: string; first: LlmCallRecord; start: Micros; startMissed: boolean; mainOpening: string | null; clientTurnId: string | null }) {
    this.source = o.source;
    this.sessionId = o.sessionId;
    this.agent = o.agent;
    this.start = o.start;
    this.startMissed = o.startMissed;
    this.mainOpening = o.mainOpening;
    this.clientTurnId = o.clientTurnId;
    this.lastActivity = o.start;
    this.id = turnId(o.source, o.sessionId, o.first.id, o.start);
  }

  addAnomaly(name: string): void {
    if (!this.anomalies.includes(name)) this.anomalies.push(name);
  }

  removeAnomaly(name: string): void {
    const i = this.anomalies.indexOf(name);
    if (i >= 0) this.anomalies.splice(i, 1);
  }

  setUserPreview(p: string | null): void {
    this.userPreview = p === null ? null : redactText(p);
  }

  /** Adds a call; `start`/`end` are its request start and response end (capture time). */
  add(r: LlmCallRecord, role: AgentRole, subagentId: string | null, start: Micros, end: Micros | null): void {
    this.callCount++;
    if (start < this.start) this.start = start;
    if (end !== null && (this.end === null || end > this.end)) this.end = end;
    if (role === 'main' && start > this.lastMainStart) this.lastMainStart = start;
    const active = Math.max(start, end ?? 0);
    if (active > this.lastActivity) this.lastActivity = active;

    const model = r.response_model ?? r.request_model;
    if (model !== null && !this.models.includes(model) && this.models.length < LIST_CAP) this.models.push(model);
    const u = r.usage;
    this.usage.input_tokens = addCount(this.usage.input_tokens, u.input_tokens);
    this.usage.output_tokens = addCount(this.usage.output_tokens, u.output_tokens);
    this.usage.cache_read_tokens = addCount(this.usage.cache_read_tokens, u.cache_read_tokens);
    this.usage.cache_write_tokens = addCount(this.usage.cache_write_tokens, u.cache_write_tokens);
    this.usage.reasoning_tokens = addCount(this.usage.reasoning_tokens, u.reasoning_tokens);
    if (u.estimated) this.usage.estimated = true;
    if (r.cost_usd !== null) this.cost = (this.cost ?? 0) + r.cost_usd;
    else this.unpricedCalls++;

    this.toolCallCount += r.tool_calls.length;
    for (const t of r.tool_calls) {
      const n = this.tools.get(t.name);
      if (n !== undefined) this.tools.set(t.name, n + 1);
      else if (this.tools.size < LIST_CAP) this.tools.set(t.name, 1);
      this.countLoop(subagentId, t.name, t.arguments ?? '');
    }
    if (subagentId !== null) {
      const working = r.tool_calls.length > 0;
      const s = this.subagents.get(subagentId);
      if (s !== undefined) {
        s.call_count++;
        if (start >= s.lastStart) {
          s.lastStart = start;
          s.working = working;
        }
      } else if (this.subagents.size < LIST_CAP) {
        this.subagents.set(subagentId, { id: subagentId, call_count: 1, first_call_id: r.id, lastStart: start, working });
      }
    }

    if (this.steps.length >= STEPS_CAP) {
      this.addAnomaly('agent_turn_steps_capped');
      return;
    }
    const step: Step = {
      call_id: r.id,
      role,
      subagent_id: subagentId,
      model,
      request_start: r.timing.request_start,
      response_end: r.timing.response_end,
      finish_reason: r.finish_reason,
      status_code: r.status_code,
      tool_calls: r.tool_calls.map((t) => t.name),
      start,
      end,
    };
    // Request order: calls mostly arrive in it, so insertion from the back is cheap.
    let i = this.steps.length;
    while (i > 0 && this.steps[i - 1]!.start > start) i--;
    this.steps.splice(i, 0, step);
  }

  private countLoop(subagentId: string | null, tool: string, args: string): void {
    const a = args.length > ARGS_KEY_CHARS ? hash('sha256', args, 'hex') : args;
    const key = `${subagentId ?? ''}\u0000${tool}\u0000${a}`;
    const e = this.loopKeys.get(key);
    if (e !== undefined) e.count++;
    else if (this.loopKeys.size < LOOP_KEYS_CAP) this.loopKeys.set(key, { tool, args, count: 1 });
  }

  get calls(): number {
    return this.callCount;
  }

  /** The turn launched or ran sub-agent `id`. */
  hasSubagent(id: string): boolean {
    return this.subagents.has(id) || this.launched.has(id);
  }

  noteLaunched(ids: readonly string[]): void {
    for (const id of ids) if (this.launched.size < LIST_CAP) this.launched.add(id);
  }

  noteNotified(ids: readonly string[]): void {
    for (const id of ids) if (this.hasSubagent(id) && this.notified.size < LIST_CAP) this.notified.add(id);
  }

  /** A sub-agent of the turn may still be at work: launched in the background and not reported
   * finished, or its latest call asked for tools (a sub-agent still in its loop). */
  subagentsPending(): boolean {
    for (const id of this.launched) if (!this.notified.has(id)) return true;
    for (const s of this.subagents.values()) if (s.working && !this.notified.has(s.id)) return true;
    return false;
  }

  /** The record as it stands: `status` is in_progress until the turn is final. */
  toRecord(status: AgentTurnRecord['status'], t: TurnThresholds): AgentTurnRecord {
    const steps: TurnStep[] = this.steps.map(({ start: _s, end: _e, ...s }) => s);
    const tools_used = [...this.tools.entries()]
      .map(([name, count]) => ({ name, count }))
      .sort((a, b) => b.count - a.count || compareNames(a.name, b.name));
    const loops: AgentTurnRecord['loops'] = [];
    for (const e of this.loopKeys.values()) {
      if (e.count >= t.loopCount) loops.push({ tool: e.tool, arguments_preview: e.args.slice(0, ARGS_PREVIEW_CHARS), count: e.count });
    }
    loops.sort((a, b) => b.count - a.count || compareNames(a.tool, b.tool));
    const term = status === 'complete' ? this.terminal : null;
    return {
      kind: 'agent_turn',
      id: this.id,
      source: this.source,
      agent: this.agent,
      session_id: this.sessionId,
      status,
      start: isoMicros(this.start),
      end: this.end === null ? null : isoMicros(this.end),
      duration_ms: this.end === null ? null : Math.round((this.end - this.start) / 1000),
      call_count: this.callCount,
      steps,
      models: [...this.models],
      usage: { ...this.usage },
      cost_usd: this.cost === null ? null : roundUsd(this.cost),
      tool_call_count: this.toolCallCount,
      tools_used,
      subagents: [...this.subagents.values()].map((s) => ({ id: s.id, call_count: s.call_count, first_call_id: s.first_call_id })),
      user_preview: this.userPreview,
      // Call records carry their output text redacted already.
      final_preview: term?.preview ?? null,
      final_finish_reason: term?.finishReason ?? null,
      stalls: this.stalls(t.stallMs),
      loops,
      anomalies: this.cost !== null && this.unpricedCalls > 0 ? [...this.anomalies, 'agent_turn_cost_partial'] : [...this.anomalies],
    };
  }

  /** Tool gaps: time between the end of the last call in flight that asked for tools and the start
   * of the next call, when no LLM call of the turn was running (sub-agents at work are not a
   * stall). */
  private stalls(thresholdMs: number): { after_call_id: string; gap_ms: number }[] {
    const out: { after_call_id: string; gap_ms: number }[] = [];
    let busyUntil: Micros | null = null;
    let busyStep: Step | null = null;
    for (const s of this.steps) {
      if (busyUntil !== null && busyStep !== null && busyStep.tool_calls.length > 0) {
        const gapMs = (s.start - busyUntil) / 1000;
        if (gapMs > thresholdMs && out.length < LIST_CAP) out.push({ after_call_id: busyStep.call_id, gap_ms: Math.round(gapMs) });
      }
      if (s.end !== null && (busyUntil === null || s.end > busyUntil)) {
        busyUntil = s.end;
        busyStep = s;
      }
    }
    return out;
  }
}
