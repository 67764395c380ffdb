/**
 * Agent profiles (DESIGN §5): which agent made a call, the session id it sent, and whether the
 * call is auxiliary (outside turns). First match wins, in the order of PROFILES. A call no
 * profile recognises (no tools offered, no tool history, no agent markers) is a plain LLM call.
 */
import type { LlmCallRecord } from '../core/record.js';
import type { Micros } from '../core/time.js';
import type { RequestView } from '../decoders/request-view.js';
import type { DecodedCall } from '../decoders/types.js';
import { headerValue, type HeaderList, type HttpExchange } from '../http/types.js';
import { claudeSessionFromUserId, codexTurnMetadata, headerSessionId } from './session-ids.js';

/** What the agent layer gets for each call: the record (annotated in place), the request's
 * conversation view and the request headers. No HTTP exchange, so workers can ship it. */
export interface AgentCallInput {
  record: LlmCallRecord;
  view: RequestView | null;
  headers: HeaderList;
  /** Capture times of the request's first byte and the response's last (null: no response). */
  requestStart: Micros;
  responseEnd: Micros | null;
}

/** What the tracker needs of a decoded call: its record, the request's view, headers and times. */
export function agentCallInput(record: LlmCallRecord, ex: HttpExchange, call: DecodedCall): AgentCallInput {
  return { record, view: call.request_view ?? null, headers: ex.request.headers, requestStart: ex.request.start, responseEnd: ex.response?.end ?? null };
}

export interface AgentIdentity {
  /** Profile name: claude-code, codex, opencode, openclaw, hermes, gemini-cli, generic. */
  agent: string;
  /** The session id the client sent (header or metadata); null when the tracker must derive one. */
  sessionId: string | null;
  /** Title generation, quota probes, next-speaker checks…: recorded, kept out of turns. */
  auxiliary: boolean;
  /** The client marks the call as a sub-agent's (Claude Code: `x-claude-code-agent-id` header,
   * or `cc_is_subagent=true` in the first system block). */
  subagentMarked: boolean;
  /** The sub-agent's own id, when the client sends one (Claude Code `x-claude-code-agent-id`). */
  subagentId: string | null;
  /** The id of the sub-agent that launched this one (`x-claude-code-parent-agent-id`). */
  parentAgentId: string | null;
  /** Which of the profile's main-agent-only tools the call offers (the tools heuristic for
   * clients that do not mark sub-agents); null when the profile has none. */
  mainOnlyTools: string[] | null;
  /** The client's own turn id (Codex `X-Codex-Turn-Metadata.turn_id`), when it sends one. */
  clientTurnId: string | null;
}

export interface AgentProfile {
  readonly name: string;
  matches(c: AgentCallInput): boolean;
  identify(c: AgentCallInput): AgentIdentity;
}

function ua(c: AgentCallInput): string {
  return headerValue(c.headers, 'user-agent') ?? '';
}

function offers(c: AgentCallInput, names: readonly string[]): boolean {
  return c.record.tools_offered.some((t) => names.includes(t));
}

function countOffered(c: AgentCallInput, names: readonly string[]): number {
  let n = 0;
  for (const t of names) if (c.record.tools_offered.includes(t)) n++;
  return n;
}

/** A request for at most one token generates nothing worth a turn: Claude Code's quota probe
 * (`max_tokens: 1`, prompt "quota") is the known case. */
function isProbe(c: AgentCallInput): boolean {
  return c.view?.maxTokens !== null && c.view?.maxTokens !== undefined && c.view.maxTokens <= 1;
}

/** An agent call without tools cannot take a step of the agent loop: it is a side job of the
 * agent (title or summary generation, WebFetch digests, next-speaker checks). */
function noTools(c: AgentCallInput): boolean {
  return c.record.tools_offered.length === 0;
}

function identity(agent: string, sessionId: string | null, auxiliary: boolean, extra: Partial<AgentIdentity> = {}): AgentIdentity {
  return { agent, sessionId, auxiliary, subagentMarked: false, subagentId: null, parentAgentId: null, mainOnlyTools: null, clientTurnId: null, ...extra };
}

/** System prompts of Claude Code's auxiliary calls (title/topic detection, the Bash command
 * prefix "security monitor", conversation summaries), as seen in Claude Code 1.x–2.x requests. */
const CLAUDE_AUX_SYSTEM = /new conversation topic|Summarize this coding conversation|command prefix|policy_spec|security monitor|summary of the conversation/i;

/** Tools Claude Code offers its main agent and not its sub-agents: the sub-agent tool `Task` in
 * 1.x (sub-agents could not delegate); in 2.1.331 sub-agents offer `Agent` too and lack
 * `ScheduleWakeup` and `Workflow` instead (test/clients/OBSERVED.md). */
const CLAUDE_MAIN_ONLY = ['Task', 'Agent', 'ScheduleWakeup', 'Workflow'] as const;
/** Claude Code's first system block, `x-anthropic-billing-header: cc_version=…; cc_entrypoint=…;`,
 * ends in `cc_is_subagent=true;` on sub-agent calls (2.1.331). */
const CLAUDE_SUBAGENT_MARK = /\bcc_is_subagent=true\b/;

export const claudeCode: AgentProfile = {
  name: 'claude-code',
  // User-Agent `claude-cli/<ver> (external, cli)`; the SDK sends `claude-cli/<ver> (external, sdk-…)`.
  matches: (c) => ua(c).startsWith('claude-cli/') || headerValue(c.headers, 'x-claude-code-session-id') !== undefined,
  identify: (c) => {
    const system = c.view?.systemPreview ?? null;
    // Sub-agent calls carry `x-claude-code-agent-id: a<16 hex>`, nested ones also the parent's id.
    const subagentId = headerSessionId(headerValue(c.headers, 'x-claude-code-agent-id'));
    return identity(
      'claude-code',
      headerSessionId(headerValue(c.headers, 'x-claude-code-session-id')) ?? claudeSessionFromUserId(c.view?.metadataUserId ?? null),
      noTools(c) || isProbe(c) || (system !== null && CLAUDE_AUX_SYSTEM.test(system)),
      {
        subagentMarked: subagentId !== null || (system !== null && CLAUDE_SUBAGENT_MARK.test(system)),
        subagentId,
        parentAgentId: headerSessionId(headerValue(c.headers, 'x-claude-code-parent-agent-id')),
        mainOnlyTools: CLAUDE_MAIN_ONLY.filter((t) => offers(c, [t])),
      },
    );
  },
};

/** Codex's originators (`originator` header, also the User-Agent's first word). */
const CODEX_ORIGINATOR = /^codex[_-]/i;

export const codex: AgentProfile = {
  name: 'codex',
  matches: (c) =>
    CODEX_ORIGINATOR.test(headerValue(c.headers, 'originator') ?? '') ||
    CODEX_ORIGINATOR.test(ua(c)) ||
    headerValue(c.headers, 'x-codex-turn-metadata') !== undefined,
  identify: (c) => {
    const meta = codexTurnMetadata(headerValue(c.headers, 'x-codex-turn-metadata'));
    // `session_id` (codex 0.4x–0.118), `session-id` and `thread-id` (0.169, both the session id).
    const sessionId =
      meta.sessionId ??
      headerSessionId(headerValue(c.headers, 'session_id') ?? headerValue(c.headers, 'session-id') ?? headerValue(c.headers, 'thread-id'));
    return identity('codex', sessionId, noTools(c) || isProbe(c), { clientTurnId: meta.turnId });
  },
};

export const opencode: AgentProfile = {
  name: 'opencode',
  // `opencode/<ver> ai-sdk/…`; `x-session-affinity: ses_…` carries opencode's session id.
  matches: (c) => ua(c).startsWith('opencode/') || headerValue(c.headers, 'x-session-affinity') !== undefined,
  identify: (c) => identity('opencode', headerSessionId(headerValue(c.headers, 'x-session-affinity')), noTools(c) || isProbe(c)),
};

/** Tools only OpenClaw offers (its session tools); two of them make the fingerprint. */
const OPENCLAW_MARKERS = ['sessions_spawn', 'subagents', 'sessions_send', 'sessions_list', 'sessions_history'] as const;
/** Tools only Hermes Agent offers (its skills and delegation tools). */
const HERMES_MARKERS = ['skill_view', 'delegate_task', 'skills_list', 'session_search'] as const;

export const openclaw: AgentProfile = {
  name: 'openclaw',
  matches: (c) => countOffered(c, OPENCLAW_MARKERS) >= 2,
  identify: () => identity('openclaw', null, false),
};

export const hermes: AgentProfile = {
  name: 'hermes',
  matches: (c) => countOffered(c, HERMES_MARKERS) >= 2,
  identify: () => identity('hermes', null, false),
};

export const geminiCli: AgentProfile = {
  name: 'gemini-cli',
  // User-Agent `GeminiCLI/<ver> (<os>; <arch>)`.
  matches: (c) => /^GeminiCLI\//i.test(ua(c)),
  identify: (c) => identity('gemini-cli', null, noTools(c) || isProbe(c)),
};

export const generic: AgentProfile = {
  name: 'generic',
  // Any conversation that offers tools or carries tool calls: an agent loop of some kind.
  matches: (c) => c.record.tools_offered.length > 0 || c.view?.historyHasTools === true,
  identify: () => identity('generic', null, false),
};

export const PROFILES: readonly AgentProfile[] = [claudeCode, codex, opencode, openclaw, hermes, geminiCli, generic];

/** The first profile that recognises the call, or null: not an agent call. */
export function identifyAgent(c: AgentCallInput, profiles: readonly AgentProfile[] = PROFILES): AgentIdentity | null {
  for (const p of profiles) if (p.matches(c)) return p.identify(c);
  return null;
}
