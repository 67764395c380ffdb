/**
 * Durations in the configuration file: "500ms", "30s", "5m", "1h", "7d", or a plain number of
 * seconds (YAML `90` or `1.5`). One unit per value: "1h30m" is written "90m".
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Longest duration accepted anywhere: a year and a day. Nothing in llmtap waits longer (monthly
 * budgets are calendar periods, not durations); past it a value is a typo (`7000d`), and it keeps
 * every value far inside the range where milliseconds are exact integers in a double. */
export const MAX_DURATION_MS = 366 * UNIT_MS['d']!;

/** Words people write instead of our units, for the hint in the error message. */
const UNIT_WORDS: [RegExp, string][] = [
  [/^(milliseconds?|millis?|msecs?)$/i, 'ms'],
  [/^(seconds?|secs?|sec)$/i, 's'],
  [/^(minutes?|mins?)$/i, 'm'],
  [/^(hours?|hrs?|hr)$/i, 'h'],
  [/^(days?)$/i, 'd'],
];

export type DurationResult = { ok: true; ms: number } | { ok: false; message: string };

/** Parses a duration; the failure message is the part after the key path. */
export function parseDuration(value: unknown): DurationResult {
  if (typeof value === 'number') return checkRange(value * 1000, String(value));
  if (typeof value !== 'string') return { ok: false, message: `expected a duration such as 30s, 5m or 1h, got ${describeType(value)}` };
  const text = value.trim();
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text);
  if (m) return checkRange(Number(m[1]) * UNIT_MS[m[2] ?? 's']!, JSON.stringify(value));
  return { ok: false, message: `${JSON.stringify(clip(value))} is not a duration (write ${suggest(text)})` };
}

function checkRange(ms: number, shown: string): DurationResult {
  if (!Number.isFinite(ms) || ms <= 0) return { ok: false, message: `${shown} is not a duration above zero` };
  if (ms > MAX_DURATION_MS) return { ok: false, message: `${shown} is longer than the 366 days llmtap accepts` };
  return { ok: true, ms: Math.round(ms) };
}

/** "5 minutes" → "5m"; anything else → the list of forms. */
function suggest(text: string): string {
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]+)$/.exec(text);
  if (m) {
    for (const [re, unit] of UNIT_WORDS) if (re.test(m[2]!)) return `${m[1]}${unit}`;
  }
  return 'a number and one unit: 500ms, 30s, 5m, 1h, 7d';
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

export function describeType(v: unknown): string {
  if (v === null) return 'nothing (null)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return `${v}`;
  return typeof v;
}
