/** Number, time and size formatting: one style across the console. */

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });
const whole = new Intl.NumberFormat('en');

/** 1234 → "1,234"; null → "–". */
export function int(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : whole.format(n);
}

/** 12345 → "12.3K" (exact value under 10,000). */
export function short(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  return Math.abs(n) < 10_000 ? whole.format(Math.round(n * 100) / 100) : compact.format(n);
}

/** A duration in ms: "850 ms", "1.24 s", "2m 05s". */
export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  if (v === 0) return '0 ms';
  if (v < 1) return `${v.toFixed(2)} ms`;
  if (v < 1000) return `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)} s`;
  const s = Math.round(v / 1000);
  return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

export function pct(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined ? '–' : `${(v * 100).toFixed(digits)}%`;
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** ISO µs string → "2026-01-15 10:00:01.234" (UTC, as stored: captures come from many machines). */
export function time(iso: string | null | undefined): string {
  if (!iso) return '–';
  return iso.replace('T', ' ').replace(/(\.\d{3})\d*Z$/, '$1').replace(/Z$/, '');
}

/** ISO µs string → "01-15 10:00:01" (UTC): month, day and second, for narrow list columns. */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  return iso.slice(5, 19).replace('T', ' ');
}

/** Milliseconds since the epoch of an ISO string with µs (Date.parse keeps ms; add the rest). */
export function epochMs(iso: string): number {
  const base = Date.parse(iso);
  const m = /\.(\d{3})(\d{1,3})/.exec(iso);
  return m ? base + Number(m[2]!.padEnd(3, '0')) / 1000 : base;
}

/** Short time label for a chart axis. */
export function axisTime(t: number, spanMs: number): string {
  const d = new Date(t);
  const iso = d.toISOString();
  if (spanMs <= 60_000) return iso.slice(14, 23);
  if (spanMs <= 2 * 86_400_000) return iso.slice(11, 19);
  return iso.slice(5, 16).replace('T', ' ');
}

export function statusClass(code: number | null, hasError: boolean): 'ok' | 'warn' | 'err' | 'none' {
  if (code === null) return 'none';
  if (code >= 400 || hasError) return 'err';
  if (code >= 300) return 'warn';
  return 'ok';
}
