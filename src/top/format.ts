/**
 * Text for the terminal: numbers, durations, money, and captured strings made safe to print.
 * Captured content is attacker-controlled (DESIGN §1): an escape sequence in a model name or an
 * output preview could move the cursor, retitle the window or worse (terminal escape injection),
 * so every string from the API goes through `clean` before it reaches the screen.
 */

// C0 controls, DEL, C1 controls (ESC, CSI 0x9b, OSC 0x9d…), and Unicode bidi overrides/isolates,
// which can make text read differently from what it is (CVE-2021-42574 "Trojan Source").
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** One line of printable text: controls become spaces (a newline in a preview is a gap), runs collapse. */
export function clean(s: unknown): string {
  if (typeof s !== 'string') return s === null || s === undefined ? '' : clean(String(s));
  return s.replace(UNSAFE, ' ').replace(/ {2,}/g, ' ');
}

/** Cells a code point takes: 0 for combining marks and zero-width, 2 for East Asian wide and
 * emoji (Unicode UAX #11 W/F ranges, the common blocks), else 1. An approximation: terminals
 * themselves disagree on some emoji. */
export function charWidth(cp: number): number {
  if (cp === 0x200b || cp === 0x200c || cp === 0x200d || cp === 0xfeff) return 0;
  if ((cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x1ab0 && cp <= 0x1aff) || (cp >= 0x20d0 && cp <= 0x20ff) || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

export function textWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch.codePointAt(0)!);
  return w;
}

/** Exactly `width` cells: cut with "…" when longer, padded when shorter. */
export function fit(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  let w = textWidth(s);
  let out = s;
  if (w > width) {
    out = '';
    w = 0;
    for (const ch of s) {
      const cw = charWidth(ch.codePointAt(0)!);
      if (w + cw > width - 1) break;
      out += ch;
      w += cw;
    }
    out += '…';
    w += 1;
  }
  const pad = ' '.repeat(Math.max(0, width - w));
  return align === 'right' ? pad + out : out + pad;
}

/** Wrap one paragraph to lines of at most `width` cells (breaking inside long words). */
export function wrap(s: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  let w = 0;
  for (const ch of s) {
    const cw = charWidth(ch.codePointAt(0)!);
    if (w + cw > width) {
      lines.push(line);
      line = '';
      w = 0;
    }
    line += ch;
    w += cw;
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines;
}

const DASH = '—';

export function int(n: number | null | undefined): string {
  return typeof n === 'number' && Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : DASH;
}

/** Dollars: four decimals under $1 (single calls cost fractions of a cent), two above. */
export function usd(n: number | null | undefined): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return DASH;
  return Math.abs(n) < 1 ? `$${n.toFixed(4)}` : `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** A duration in ms: "508 ms", "1.50 s", "2.5 min". */
export function ms(n: number | null | undefined): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return DASH;
  if (n < 1000) return `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`;
  if (n < 60_000) return `${(n / 1000).toFixed(2)} s`;
  return `${(n / 60_000).toFixed(1)} min`;
}

/** A rate with about three significant digits. */
export function rate(n: number | null | undefined): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return DASH;
  if (n === 0) return '0';
  if (n < 10) return n.toFixed(2);
  if (n < 100) return n.toFixed(1);
  return Math.round(n).toLocaleString('en-US');
}

export function percent(n: number | null | undefined): string {
  return typeof n === 'number' && Number.isFinite(n) ? `${(n * 100).toFixed(1)}%` : DASH;
}

/** "2026-01-15T10:00:30.000000Z" → "10:00:30.000" (UTC, as the API gives it). */
export function clockTime(iso: unknown): string {
  if (typeof iso !== 'string') return DASH;
  const m = /T(\d{2}:\d{2}:\d{2}(?:\.\d{3})?)/.exec(iso);
  return m ? m[1]! : DASH;
}

/** "2026-01-15T10:00:30.123456Z" → "2026-01-15 10:00:30 UTC". */
export function dateTime(iso: unknown): string {
  if (typeof iso !== 'string') return DASH;
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : DASH;
}

/** Seconds since a wall-clock time, for "updated 3s ago". */
export function ago(thenMs: number, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - thenMs) / 1000));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
