/**
 * What llmtap says to and reads from llmtap-capture, its own capture process (native/llmtap-capture.c,
 * docs/live.md "Capture process"): where the program is, its command line, the counters it prints,
 * and its errors as one line that says how to fix them. Pure functions but for the lookup, so the
 * wording is pinned by tests without a capture.
 *
 * Why a third program: tcpdump gives drop counters at any time (SIGUSR1) but only in immediate
 * mode hands packets over at once, and immediate mode means TPACKET_V2 and one wake-up per packet;
 * dumpcap packs packets into TPACKET_V3 blocks but gives its drop counters only when it stops.
 * llmtap-capture uses TPACKET_V3 blocks with a short block timeout (CAPTURE_BLOCK_TIMEOUT_MS: the
 * longest a packet waits in the kernel) and prints pcap_stats every CAPTURE_STATS_MS on its own.
 *
 * Its stderr (native/llmtap-capture.c):
 *   start:   "llmtap-capture: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144
 *            bytes, buffer 65536 KiB, block timeout 50 ms, inbound only"
 *   running: "llmtap-capture: stats captured=N received=N dropped_kernel=N dropped_interface=N"
 *            (once at start, then every CAPTURE_STATS_MS)
 *   exit:    "llmtap-capture: final captured=N …" (same fields)
 *   errors:  "llmtap-capture: eth9: No such device exists (…)", "llmtap-capture: lo: You don't have
 *            permission to capture on that device (…)", "llmtap-capture: eth1: That device is not
 *            up", "llmtap-capture: can't parse filter expression: syntax error"
 */
import { findOnPath, isExecutable } from './find-program.js';
import { fileURLToPath } from 'node:url';
import { DEFAULT_BUFFER_KIB, defaultSnaplen, setcapFix, type TcpdumpArgs, type TcpdumpCounters } from './live-tcpdump-text.js';

export const LLMTAP_CAPTURE = 'llmtap-capture';

/**
 * The TPACKET_V3 block timeout asked for (`-t`): the kernel hands a block over when it is full or
 * this long after its first packet, so no packet waits longer in the kernel (dumpcap's is 250 ms).
 * Shorter means more wake-ups at low rates (20 a second at most here); at high rates blocks fill
 * first.
 */
export const CAPTURE_BLOCK_TIMEOUT_MS = 50;
/** How often it prints its counters (`-S`): the health API and `/metrics` are never older. */
export const CAPTURE_STATS_MS = 1_000;

/** `LLMTAP_CAPTURE_PROGRAM`: the program to use instead of the built one (a copy given the capture
 * capabilities where the checkout's file system ignores them, say); empty: none, as if not built. */
export const PROGRAM_ENV = 'LLMTAP_CAPTURE_PROGRAM';


/**
 * Where llmtap-capture is: $LLMTAP_CAPTURE_PROGRAM when set (empty: nowhere), else the one `npm run
 * build:capture` compiled (dist/native, found from this module compiled in dist/src/capture or run
 * from src/capture by vitest), else the first on PATH; null when there is none.
 */
export function findLlmtapCapture(env: NodeJS.ProcessEnv = process.env): string | null {
  const asked = env[PROGRAM_ENV];
  if (asked !== undefined) return asked !== '' && isExecutable(asked) ? asked : null;
  for (const rel of ['../../native/llmtap-capture', '../../dist/native/llmtap-capture']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (isExecutable(p)) return p;
  }
  return findOnPath(LLMTAP_CAPTURE, env['PATH']);
}

/**
 * `llmtap-capture -i IFACE -s N -B KiB -t MS -S MS [-- FILTER]`: `-B` in KiB like tcpdump's, but
 * with TPACKET_V3 the buffer is the ring itself (64 MiB of kernel memory for 64 MiB, not twice),
 * and the snaplen does not size its slots. `--` ends options: a filter is never read as one. On a
 * loopback device the program keeps the sent copies out of the kernel ring itself, without the
 * sentinel datagram tcpdump needs (native/llmtap-capture.c, attach_inbound), so
 * TcpdumpArgs.loopbackSentinelPort is ignored.
 */
export function llmtapCaptureArgs(a: TcpdumpArgs): string[] {
  const args = [
    '-i', a.iface,
    '-s', String(a.snaplen ?? defaultSnaplen(a.iface)),
    '-B', String(a.bufferKib ?? DEFAULT_BUFFER_KIB),
    '-t', String(CAPTURE_BLOCK_TIMEOUT_MS),
    '-S', String(CAPTURE_STATS_MS),
  ];
  if (a.filter !== undefined && a.filter.trim() !== '') args.push('--', a.filter);
  return args;
}

const COUNTERS = /^llmtap-capture: (?:stats|final) captured=(\d+) received=(\d+) dropped_kernel=(\d+) dropped_interface=(\d+)$/;

function count(s: string | undefined): number | null {
  const n = Number(s);
  return s !== undefined && Number.isSafeInteger(n) ? n : null;
}

/** Reads one stderr line of llmtap-capture into `into`. Never throws; a line it does not know
 * (a warning, an error, garbage) is 'other' and changes nothing. */
export function readLlmtapCaptureLine(line: string, into: TcpdumpCounters): 'counters' | 'listening' | 'other' {
  const l = line.trim();
  if (l.startsWith('llmtap-capture: listening on ')) return 'listening';
  const m = COUNTERS.exec(l);
  if (m === null) return 'other';
  const captured = count(m[1]);
  const received = count(m[2]);
  const kernel = count(m[3]);
  const ifdrop = count(m[4]);
  if (captured === null || received === null || kernel === null || ifdrop === null) return 'other';
  into.captured = captured;
  into.received = received;
  into.kernel = kernel;
  into.interface = ifdrop;
  return 'counters';
}

/** llmtap-capture failed before or while capturing: one line that says what is wrong and how to fix it. */
export function explainLlmtapCaptureFailure(stderr: string, o: { iface: string; path: string }): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^llmtap-capture: (listening on |stats |final |warning: )/.test(l));
  const text = lines.join(' ');
  if (/No such device/i.test(text)) return `no such interface: ${o.iface} (list them with \`ip link\`, or use -i any; see \`llmtap doctor\`)`;
  if (/permission|not permitted|EPERM|EACCES/i.test(text)) {
    return `llmtap-capture may not capture on ${o.iface} here: run llmtap as root, or grant it the capture capabilities once: ${setcapFix(o.path)} (see \`llmtap doctor\`)`;
  }
  const parse = /can't parse filter expression:\s*(.*)$/i.exec(lines.find((l) => /can't parse filter expression/i.test(l)) ?? '');
  if (parse !== null) return `bad --bpf-filter: ${clip(parse[1]!.trim() || 'not a valid capture filter')} (see pcap-filter(7))`;
  if (/That device is not up/i.test(text)) return `interface ${o.iface} is down: bring it up (ip link set ${o.iface} up)`;
  const first = lines[0]?.replace(/^llmtap-capture:\s*/, '') ?? 'no message';
  return `llmtap-capture failed: ${clip(first)}`;
}

/** One line stays one line: its own text is clipped (it may echo a long filter). */
function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
