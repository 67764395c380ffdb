/**
 * A request header's value made fit to be an attribute (issue 5 item 5: team, user, project…):
 * attributes become metric labels, budget keys, JSON fields and console text, and the header is
 * written by whoever sends the request. So: control characters out (they would break log lines
 * and label exposition), surrounding space trimmed, key-shaped strings redacted (a key pasted
 * into `X-Team` must not leak through the attribute), and the length capped.
 */
import { redactText } from './secrets.js';

/** Longest attribute value, in characters: team, project and user names are short; 128 keeps a
 * label readable and bounds what one header can add to every series and stored call. */
export const MAX_ATTRIBUTE_CHARS = 128;

/** C0 and C1 control characters and DEL (Unicode general category Cc). */
const CONTROL = /\p{Cc}/gu;

/** The cleaned value, or null when nothing is left (the rule's default then applies). */
export function attributeValue(raw: string): string | null {
  const text = redactText(raw.replace(CONTROL, '').trim());
  if (text === '') return null;
  if (text.length <= MAX_ATTRIBUTE_CHARS) return text;
  let cut = text.slice(0, MAX_ATTRIBUTE_CHARS);
  // Do not leave half of a surrogate pair at the end.
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return cut.trimEnd();
}
