/**
 * Configuration errors are one line: the file, the key path and what is wrong
 * (`llmtap.yaml: alerts[2].window: "5 minutes" is not a duration (write 5m)`), so the CLI can
 * print them as they are. Secret values never appear in them (see schema.ts: values of headers,
 * URLs and anything filled from an environment variable are never quoted), and every message
 * passes through redactText as a last guard.
 */
import { redactText } from '../redact/secrets.js';

export type PathSegment = string | number;

export interface ConfigProblem {
  path: readonly PathSegment[];
  message: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** `alerts[2].window`, `webhooks.slack.url`, `webhooks["ops.team"].url`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg.length > 40 ? `${seg.slice(0, 40)}…` : seg)}]`;
  }
  return out;
}

/** The one-line error for a set of problems: the first in full, and how many more there are. */
export function configError(file: string, problems: readonly ConfigProblem[]): ConfigError {
  const first = problems[0];
  const where = first === undefined || first.path.length === 0 ? '' : `${formatPath(first.path)}: `;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
  return new ConfigError(redactText(`${file}: ${where}${first?.message ?? 'invalid configuration'}${more}`));
}

/** The closest of `candidates` to `word` when it is a plausible typo (edit distance at most a
 * third of the word, and at most 3), for "did you mean" hints. */
export function closest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d <= bestDistance && (best === null || d < bestDistance)) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Edit distance (Levenshtein plus adjacent swaps); inputs are configuration keys (short), capped at 64 characters so a
 * pasted blob costs nothing. */
function editDistance(a: string, b: string): number {
  a = a.slice(0, 64);
  b = b.slice(0, 64);
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  let prevPrev = prev;
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      // A swap of two neighbours ("tema" for "team") is one typo (optimal string alignment).
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) cur[j] = Math.min(cur[j]!, prevPrev[j - 2]! + 1);
    }
    prevPrev = prev;
    prev = cur;
  }
  return prev[b.length]!;
}
