/**
 * The bpftrace child's stdout, line by line (format in bpftrace-script.ts). Strict: a line that
 * is not exactly one of the known shapes is counted (`ebpf_bad_line`) and dropped; nothing here
 * throws. Lines arrive split at any byte offset (pipe reads): LineSplitter keeps the partial line.
 */
import type { AnomalySink } from '../core/anomalies.js';
import { CHUNK_BYTES } from './bpftrace-script.js';

/** Monotonic microseconds (bpf_ktime_get_ns / 1000): map to wall time with the source's offset. */
export type MonoMicros = number;

export type EbpfEvent =
  | { kind: 'comm'; pid: number; comm: string }
  | { kind: 'data'; dir: 'w' | 'r'; pid: number; ssl: string; mono: MonoMicros; total: number; offset: number; bytes: Uint8Array }
  | { kind: 'free'; pid: number; ssl: string; mono: MonoMicros }
  | { kind: 'ready'; mono: MonoMicros }
  | { kind: 'lost'; count: number };

/** The longest valid line: "D w" + six numbers (≤ 20 digits) + CHUNK_BYTES hex pairs. Anything
 * longer is not ours: cut and counted (`ebpf_line_too_long`), never buffered without bound. */
export const MAX_LINE = 16 + 7 * 21 + 3 * CHUNK_BYTES;

const DATA = /^D ([wr]) (\d{1,10}) (\d{1,20}) (\d{4,20}) (\d{1,20}) (\d{1,20}) (\d{1,3}) ([0-9a-f ]+)$/;
const FREE = /^F (\d{1,10}) (\d{1,20}) (\d{4,20})$/;
const COMM = /^C (\d{1,10}) (.{0,15})$/;
const READY = /^READY (\d{4,20})$/;
/** bpftrace prints lost perf events on stdout ("Lost 12 events"). */
const LOST = /^Lost (\d{1,20}) events$/;
/** bpftrace's own chatter on stdout, not events. */
const CHATTER = /^(Attaching \d+ probes?\.\.\.|)$/;
const HEX_PAIRS = /^[0-9a-f]{2}(?: [0-9a-f]{2})*$/;

/** nanoseconds (decimal text) to microseconds, exact below 2^53 µs (285 years of uptime). */
function nsToMicros(ns: string): number {
  return Number(ns.slice(0, -3));
}

/** One line (without its newline) to an event, or null (counted) when it is not one. */
export function parseEventLine(line: string, anomalies: AnomalySink): EbpfEvent | null {
  const c0 = line.charCodeAt(0);
  if (c0 === 0x44 /* D */) {
    const m = DATA.exec(line);
    if (m !== null) {
      const len = Number(m[7]);
      const total = Number(m[5]);
      const offset = Number(m[6]);
      const hex = m[8]!;
      if (len >= 1 && len <= CHUNK_BYTES && hex.length === 3 * len - 1 && offset + len <= total && offset % CHUNK_BYTES === 0 && HEX_PAIRS.test(hex)) {
        const bytes = Buffer.from(hex.replaceAll(' ', ''), 'hex');
        return { kind: 'data', dir: m[1] as 'w' | 'r', pid: Number(m[2]), ssl: m[3]!, mono: nsToMicros(m[4]!), total, offset, bytes };
      }
    }
  } else if (c0 === 0x43 /* C */) {
    const m = COMM.exec(line);
    if (m !== null) return { kind: 'comm', pid: Number(m[1]), comm: m[2]! };
  } else if (c0 === 0x46 /* F */) {
    const m = FREE.exec(line);
    if (m !== null) return { kind: 'free', pid: Number(m[1]), ssl: m[2]!, mono: nsToMicros(m[3]!) };
  } else {
    let m = READY.exec(line);
    if (m !== null) return { kind: 'ready', mono: nsToMicros(m[1]!) };
    m = LOST.exec(line);
    if (m !== null) return { kind: 'lost', count: Number(m[1]) };
    if (CHATTER.test(line)) return null;
  }
  anomalies.add('ebpf_bad_line');
  return null;
}

/** Splits a text stream into lines, whatever the chunking; a line longer than MAX_LINE is cut. */
export class LineSplitter {
  private partial = '';
  private skipping = false;

  constructor(private readonly anomalies: AnomalySink) {}

  /** The complete lines in `text` (with what was kept from before). */
  push(text: string, onLine: (line: string) => void): void {
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const piece = text.slice(start, nl);
      start = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        this.partial = '';
        continue;
      }
      const line = this.partial === '' ? piece : this.partial + piece;
      this.partial = '';
      if (line.length > MAX_LINE) {
        this.anomalies.add('ebpf_line_too_long');
        continue;
      }
      onLine(line);
    }
    if (this.skipping) return;
    this.partial += text.slice(start);
    if (this.partial.length > MAX_LINE) {
      this.anomalies.add('ebpf_line_too_long');
      this.partial = '';
      this.skipping = true;
    }
  }

  /** End of stream: a last line without its newline is incomplete (the child died mid-write). */
  end(): void {
    if (this.partial !== '') this.anomalies.add('ebpf_truncated_line');
    this.partial = '';
    this.skipping = false;
  }
}
