/**
 * One human line per alert: the `message` of the record, the `text` of a webhook payload (the
 * field Slack, Mattermost and Discord-compatible receivers show) and the log line.
 */
import type { AlertRecord } from '../core/record.js';

/** A number as a person reads it in a notice: up to 4 significant digits, no exponent for the
 * values alerts deal in (rates, ratios, ms, dollars). */
export function num(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return 'n/a';
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(4)));
}

export function usd(v: number): string {
  return `$${v.toFixed(2)}`;
}

/** "90s", "5m", "1h", "1d12h": how the configuration file writes windows. */
export function duration(ms: number): string {
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  let rest = ms;
  let out = '';
  for (const [u, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${u}`;
      rest -= n * size;
    }
  }
  if (rest > 0 || out === '') out += `${num(rest)}ms`;
  return out;
}

export function filtersText(filters: Record<string, string>): string {
  const parts = Object.entries(filters).map(([k, v]) => `${k}=${v}`);
  return parts.length === 0 ? '' : ` {${parts.join(', ')}}`;
}

/** "[FIRING critical] high-errors on probe-7: error_rate 0.6 > 0.5 over 5m {provider=openai} (5 calls)":
 * the source is named (a rule on calls runs per source) so a chat message from a fleet of probes
 * says which host; the record's `message` stays the condition alone. */
export function alertText(a: AlertRecord): string {
  const head = a.rule_kind === 'budget' ? 'BUDGET' : a.state === 'firing' ? 'FIRING' : 'RESOLVED';
  const where = typeof a.source === 'string' && a.source !== '' ? ` on ${a.source}` : '';
  return `[${head} ${a.severity}] ${a.rule}${where}: ${a.message}`;
}
