/**
 * One order for names in output (tool names in a turn's lists, anomaly names in summaries): the
 * English collation, whatever the machine's locale. `a.localeCompare(b)` used the default locale,
 * so the same capture gave different JSONL on another machine (Danish sorts "aa" after "z",
 * Lithuanian puts "y" with "i"); under C, POSIX and en locales this is the order it gave.
 *
 * Names of [A-Za-z0-9_] (nearly all tool and anomaly names) are compared here without the ICU
 * collator, whose first use costs ~67 M instructions (15–25 ms of a replay, measured with
 * callgrind on `node -e`): in CLDR's root order, which English keeps for these characters, `_`
 * (punctuation) < digits < letters at the first level, letters without case, a shorter prefix
 * first; equal there, the first case difference decides, lower case first. Other names go to an
 * English collator, made on first use.
 */

/** Root-collation rank of a code unit of [A-Za-z0-9_] (case folded), 0 for any other. */
function rank(c: number): number {
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 12;
  if (c >= 0x41 && c <= 0x5a) return c - 0x41 + 12;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 2;
  return c === 0x5f ? 1 : 0;
}

function allRanked(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (rank(s.charCodeAt(i)) === 0) return false;
  return true;
}

let english: Intl.Collator | null = null;

/** Negative, zero or positive as `a` sorts before, with or after `b` (see the file comment). */
export function compareNames(a: string, b: string): number {
  if (!allRanked(a) || !allRanked(b)) return (english ??= new Intl.Collator('en')).compare(a, b);
  const n = Math.min(a.length, b.length);
  let caseOrder = 0;
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    const ra = rank(ca);
    const rb = rank(cb);
    if (ra !== rb) return ra < rb ? -1 : 1;
    // Same rank, different code unit: the same letter in two cases; lower case (higher code) first.
    if (caseOrder === 0 && ca !== cb) caseOrder = ca > cb ? -1 : 1;
  }
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return caseOrder;
}
