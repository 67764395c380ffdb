/**
 * Session ids that agents send themselves (DESIGN §5), parsed from untrusted header and body
 * values: never throws, null when the value is not of the expected form.
 */
import { obj, str, tryParseJson } from '../decoders/json.js';
import { hashHex, openingHashOf } from '../decoders/request-view.js';
import type { AgentCallInput, AgentIdentity } from './profiles.js';

/** Ids are echoed into records and used as map keys: 200 characters is far above any UUID or
 * ULID-like id an agent sends, and keeps a hostile value from growing every record. */
const SESSION_ID_CAP = 200;

function clean(v: string | null | undefined): string | null {
  if (v === null || v === undefined) return null;
  const t = v.trim();
  return t === '' || t.length > SESSION_ID_CAP ? null : t;
}

/** Claude Code's `metadata.user_id` carries the session in one of two historic forms: older
 * versions send `user_<hash>_account_<uuid>_session_<uuid>` (the account may be empty), newer
 * ones a JSON string `{"device_id":…,"account_uuid":…,"session_id":…}` (seen from 2.1.x). */
export function claudeSessionFromUserId(userId: string | null): string | null {
  if (userId === null) return null;
  const t = userId.trim();
  if (t.startsWith('{')) return clean(str(obj(tryParseJson(t))?.['session_id']));
  const m = /_session_([0-9A-Za-z-]+)$/.exec(t);
  return m ? clean(m[1]) : null;
}

/** Codex's `X-Codex-Turn-Metadata` header: JSON with `session_id` and `turn_id` (codex-tui
 * 0.118, recorded in tokenscope/exchanges/codex-cli-responses-exchange.txt). */
export function codexTurnMetadata(header: string | undefined): { sessionId: string | null; turnId: string | null } {
  if (header === undefined) return { sessionId: null, turnId: null };
  const o = obj(tryParseJson(header));
  return { sessionId: clean(str(o?.['session_id'])), turnId: clean(str(o?.['turn_id'])) };
}

/** A header value used as a session id as sent. */
export function headerSessionId(v: string | undefined): string | null {
  return clean(v);
}

/** previous_response_id → session, for Responses conversations chained on the server. */
const RESPONSE_ALIAS_CAP = 10_000;
/** Tool-call ids become session ids: the API serves ids up to 200 characters in a path, so a
 * longer one (only a hostile or broken client sends it) is replaced by its hash. */
const DERIVED_ID_CAP = 200;

function boundedId(id: string): string {
  return id.length <= DERIVED_ID_CAP ? id : `id-${hashHex(id)}`;
}

/** Names the session of each agent call: the client's own id, else one derived from the
 * conversation (DESIGN §5): a Responses `previous_response_id` chain, the first tool-call id, the
 * opening's hash. A conversation's first call is named after what its next request will carry:
 * its own first tool-call id, or the opening it creates, so no other state is needed. */
export class SessionNamer {
  private readonly responseAlias = new Map<string, string>();

  sessionIdFor(id: AgentIdentity, c: AgentCallInput): string | null {
    const sessionId = this.derive(id, c);
    const responseId = c.record.response_id;
    if (responseId !== null && sessionId !== null) this.remember(responseId, sessionId);
    return sessionId;
  }

  private derive(id: AgentIdentity, c: AgentCallInput): string | null {
    if (id.sessionId !== null) return id.sessionId;
    const v = c.view;
    if (id.auxiliary || v === null) return null;
    if (v.previousResponseId !== null) {
      const s = this.responseAlias.get(v.previousResponseId);
      if (s !== undefined) return s;
    }
    if (v.anchorToolCallId !== null) return boundedId(v.anchorToolCallId);
    if (v.openingHash !== null) return `conv-${v.openingHash}`;
    if (v.openingUserHash === null) return null;
    const r = c.record;
    const firstId = r.tool_calls[0]?.id ?? null;
    if (firstId !== null) return boundedId(firstId);
    return `conv-${openingHashOf(v.openingUserHash, r.content.output_text, r.tool_calls.map((t) => t.name))}`;
  }

  private remember(responseId: string, sessionId: string): void {
    if (this.responseAlias.size >= RESPONSE_ALIAS_CAP) {
      const oldest = this.responseAlias.keys().next().value;
      if (oldest !== undefined) this.responseAlias.delete(oldest);
    }
    this.responseAlias.set(responseId, sessionId);
  }
}
