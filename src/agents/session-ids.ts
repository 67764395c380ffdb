/**
 * Session ids that agents send themselves (DESIGN §5), parsed from untrusted header and body
 * values: never throws, null when the value is not of the expected form.
 */
import { obj, str, tryParseJson } from '../decoders/json.js';

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
