/** Small pieces shared by the turn and session pages. */
import type { AgentTurnRecord, TurnUsage } from './api.js';
import { Tag } from './components.js';
import { short } from './format.js';
import { Link } from './router.js';

export type TurnStatus = AgentTurnRecord['status'];

const STATUS_TONE: Record<TurnStatus, string> = { in_progress: 'live', complete: 'ok', incomplete: 'warn' };
const STATUS_LABEL: Record<TurnStatus, string> = { in_progress: 'in progress', complete: 'complete', incomplete: 'incomplete' };
export const TURN_STATUSES: TurnStatus[] = ['in_progress', 'complete', 'incomplete'];

export function TurnStatusBadge({ status }: { status: TurnStatus }) {
  return (
    <span className={`badge turn-status tag-${STATUS_TONE[status] ?? 'warn'}`} data-status={status}>
      {STATUS_LABEL[status] ?? status}
    </span>
  );
}

/** Stall, loop and sub-agent flags of a turn, as tags (nothing when it has none). `compact`: the
 * short words a list column has room for. */
export function TurnFlags({ turn, compact }: { turn: Pick<AgentTurnRecord, 'stalls' | 'loops' | 'subagents'>; compact?: boolean }) {
  const n = (count: number, one: string, many: string): string => (compact ? (count === 1 ? one : `${one} ×${count}`) : count === 1 ? one : `${count} ${many}`);
  return (
    <span className="turn-flags">
      {turn.stalls.length > 0 && (
        <Tag tone="err">
          <span data-flag="stall">{n(turn.stalls.length, 'stall', 'stalls')}</span>
        </Tag>
      )}
      {turn.loops.length > 0 && (
        <Tag tone="warn">
          <span data-flag="loop">{n(turn.loops.length, 'loop', 'loops')}</span>
        </Tag>
      )}
      {turn.subagents.length > 0 && (
        <Tag tone="live">
          <span data-flag="subagents">{compact ? n(turn.subagents.length, 'sub', 'sub') : n(turn.subagents.length, 'sub-agent', 'sub-agents')}</span>
        </Tag>
      )}
    </span>
  );
}

/** Session ids are free text from headers and bodies: always encoded in a path. */
export function sessionPath(id: string): string {
  return `/sessions/${encodeURIComponent(id)}`;
}

export function turnPath(id: string): string {
  return `/turns/${id}`;
}

/** Characters of a session id a list shows: a UUID's first group, enough to tell sessions apart
 * on one screen (the link's title has it whole). */
const SESSION_HEAD = 8;

export function SessionLink({ id, full }: { id: string; full?: boolean }) {
  return (
    <Link to={sessionPath(id)} className="mono" title={id}>
      {full || id.length <= SESSION_HEAD + 3 ? id : `${id.slice(0, SESSION_HEAD)}…`}
    </Link>
  );
}

/** "12.3K / 456" for a narrow column. */
export function tokensShort(u: TurnUsage): string {
  return `${short(u.input_tokens)} / ${short(u.output_tokens)}`;
}

/** "12.3K in / 456 out". */
export function tokens(u: TurnUsage): string {
  return `${short(u.input_tokens)} in / ${short(u.output_tokens)} out`;
}

export function cost(v: number | null): string {
  if (v === null) return '–';
  return v >= 1 ? `$${v.toFixed(2)}` : `$${v.toFixed(4)}`;
}

/** "Bash ×3, Read" */
export function toolsSummary(tools: { name: string; count: number }[]): string {
  return tools.map((t) => (t.count > 1 ? `${t.name} ×${t.count}` : t.name)).join(', ');
}
