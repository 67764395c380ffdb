/**
 * Which program is the capture process (DESIGN §2: the one privileged part), and how llmtap talks
 * to each: llmtap's own llmtap-capture (live-llmtap-capture-text.ts), tcpdump (live-tcpdump-text.ts)
 * or Wireshark's dumpcap (live-dumpcap-text.ts).
 *
 * The trade (docs/live.md "Capture process"): tcpdump in immediate mode reports its kernel drops
 * whenever asked (SIGUSR1), as the issue wants them, continuously; but it wakes once per packet
 * and its TPACKET_V2 ring has one snaplen-sized slot per packet (~1000 on lo in 64 MiB), 10 ms of
 * traffic at 100,000 packets/s. dumpcap packs packets into TPACKET_V3 blocks handed over every
 * 250 ms at most: the same 64 MiB holds ~100,000 packets, at a fraction of the CPU; but its drop
 * counters come only when it stops. llmtap-capture has both: TPACKET_V3 blocks (50 ms timeout)
 * and its counters every second. So it is the default when it is built (npm run build:capture
 * needs a C compiler and libpcap's headers), then tcpdump, then dumpcap; `--capture-tool` picks one.
 */
import { dumpcapArgs, explainDumpcapFailure, readDumpcapLine } from './live-dumpcap-text.js';
import { CAPTURE_BLOCK_TIMEOUT_MS, explainLlmtapCaptureFailure, llmtapCaptureArgs, readLlmtapCaptureLine } from './live-llmtap-capture-text.js';
import { DEFAULT_BUFFER_KIB, defaultSnaplen, explainTcpdumpFailure, listeningLinkType, readCounters, tcpdumpArgs, type TcpdumpArgs, type TcpdumpCounters } from './live-tcpdump-text.js';

/** Every capture process llmtap runs; `--capture-tool` and a pipeline's `capture_tool` take each. */
export const CAPTURE_TOOLS = ['llmtap-capture', 'tcpdump', 'dumpcap'] as const;
export type CaptureTool = (typeof CAPTURE_TOOLS)[number];

/** Without `--capture-tool`, the first of these that is installed (see the module comment). */
export const TOOL_PREFERENCE: readonly CaptureTool[] = ['llmtap-capture', 'tcpdump', 'dumpcap'];

/** `--capture-tool`'s value: a tool, 'auto' (undefined or "auto"), or null when it names neither. */
export function parseCaptureTool(s: string | undefined): CaptureTool | 'auto' | null {
  if (s === undefined || s === 'auto') return 'auto';
  return (CAPTURE_TOOLS as readonly string[]).includes(s) ? (s as CaptureTool) : null;
}

/** How to install each tool (named in the error when none is found). */
export const INSTALL_HINT: Record<CaptureTool, string> = {
  'llmtap-capture': 'apt install gcc libpcap-dev, dnf install gcc libpcap-devel, then npm run build:capture',
  tcpdump: 'apt install tcpdump, dnf install tcpdump',
  dumpcap: 'apt install tshark, dnf install wireshark-cli',
};

/**
 * The tool to run and its path: the one asked for, or the first installed of TOOL_PREFERENCE.
 * `find` is findCaptureProgram (live-tcpdump.ts). A string when none can run: the message says
 * how to install it.
 */
export function pickCaptureTool(asked: CaptureTool | 'auto', find: (tool: CaptureTool) => string | null): { tool: CaptureTool; path: string } | string {
  const order = asked === 'auto' ? TOOL_PREFERENCE : [asked];
  for (const tool of order) {
    const path = find(tool);
    if (path !== null) return { tool, path };
  }
  if (asked === 'llmtap-capture') return `llmtap-capture is not built: build it (${INSTALL_HINT[asked]}) (see \`llmtap doctor\`)`;
  if (asked !== 'auto') return `${asked} not found: install it (${INSTALL_HINT[asked]}) or put it on PATH (see \`llmtap doctor\`)`;
  return `tcpdump not found: install it (${INSTALL_HINT.tcpdump}) or put it on PATH; dumpcap (${INSTALL_HINT.dumpcap}) also works (see \`llmtap doctor\`)`;
}

/** What differs between the tools, as startLiveCapture needs it. */
export interface ToolSpeech {
  readonly tool: CaptureTool;
  args(a: TcpdumpArgs): string[];
  /** The tool puts `inbound` in the kernel filter on loopback: the sentinel datagram is needed. */
  readonly loopbackSentinel: boolean;
  /** Reads one stderr line into the counters; 'listening' once it captures. */
  read(line: string, into: TcpdumpCounters): 'counters' | 'listening' | 'other';
  /** The link type from the 'listening' line, when the tool names it. */
  linkType(line: string): string | null;
  /** Its stderr as one line saying how to fix what failed. */
  explain(stderr: string, o: { iface: string; path: string }): string;
  /** Sent every STATS_EVERY_MS for fresh counters; null: the tool has no such signal. */
  readonly statsSignal: NodeJS.Signals | null;
  /** Where its stderr lines end (dumpcap rewrites its running count after a \r). */
  readonly lineEnd: RegExp;
  /** How long stop() waits before SIGINT, so that what was captured before it is written. */
  readonly stopDelayMs: number;
  /** How late a captured packet may reach the pipe: the wall-clock idle advance of the capture
   * clock must stay behind it, or a packet still in the kernel would arrive "in the past". */
  readonly deliveryLagMs: number;
  /** Its latest count is the unterminated text (dumpcap writes "\rPackets: N " and the next \r
   * only with the next count): read the partial line for counters too. */
  readonly countsInPartialLine: boolean;
}

/**
 * dumpcap's TPACKET_V3 block timeout (dumpcap.c CAP_READ_TIMEOUT, 250 ms): the kernel hands a
 * block over at most this long after its first packet. On SIGINT dumpcap leaves its loop at once:
 * the packets of the block still open, and of a handed-over block not yet read, are never written
 * (measured: the last call before Ctrl-C lost on a veth pair). So stop() first waits two block
 * timeouts: everything captured before Ctrl-C has been handed over and written by then.
 */
export const DUMPCAP_BLOCK_TIMEOUT_MS = 250;
export const DUMPCAP_STOP_DELAY_MS = 2 * DUMPCAP_BLOCK_TIMEOUT_MS;

const TCPDUMP: ToolSpeech = {
  tool: 'tcpdump',
  args: tcpdumpArgs,
  loopbackSentinel: true,
  read: (line, into) => (readCounters(line, into) ? 'counters' : line.includes('listening on ') ? 'listening' : 'other'),
  linkType: listeningLinkType,
  explain: (stderr, o) => explainTcpdumpFailure(stderr, { iface: o.iface, tcpdumpPath: o.path }),
  // Linux tcpdump prints pcap_stats on SIGUSR1 (BSDs use SIGINFO, which is not this code's).
  statsSignal: process.platform === 'linux' ? 'SIGUSR1' : null,
  lineEnd: /\n/,
  // Immediate mode: each packet is written as it is captured; SIGINT loses nothing seen.
  stopDelayMs: 0,
  deliveryLagMs: 0,
  countsInPartialLine: false,
};

/**
 * llmtap-capture: TPACKET_V3 with a 50 ms block timeout, counters printed every second without
 * being asked (no signal), and on SIGINT it reads on for two block timeouts itself before it
 * leaves, so nothing captured before the signal is lost and stop() need not wait. On loopback it
 * keeps sent copies out of the ring in the kernel itself, with no first-block loss: no sentinel.
 */
const LLMTAP_CAPTURE: ToolSpeech = {
  tool: 'llmtap-capture',
  args: llmtapCaptureArgs,
  loopbackSentinel: false,
  read: readLlmtapCaptureLine,
  linkType: listeningLinkType,
  explain: explainLlmtapCaptureFailure,
  statsSignal: null,
  lineEnd: /\n/,
  stopDelayMs: 0,
  deliveryLagMs: CAPTURE_BLOCK_TIMEOUT_MS,
  countsInPartialLine: false,
};

const DUMPCAP: ToolSpeech = {
  tool: 'dumpcap',
  args: (a) => dumpcapArgs({ ...a, snaplen: a.snaplen ?? defaultSnaplen(a.iface), bufferKib: a.bufferKib ?? DEFAULT_BUFFER_KIB }),
  loopbackSentinel: false,
  read: readDumpcapLine,
  linkType: () => null,
  explain: (stderr, o) => explainDumpcapFailure(stderr, { iface: o.iface, dumpcapPath: o.path }),
  statsSignal: null,
  lineEnd: /[\r\n]/,
  stopDelayMs: DUMPCAP_STOP_DELAY_MS,
  deliveryLagMs: DUMPCAP_BLOCK_TIMEOUT_MS,
  countsInPartialLine: true,
};

export function toolSpeech(tool: CaptureTool): ToolSpeech {
  return tool === 'dumpcap' ? DUMPCAP : tool === 'llmtap-capture' ? LLMTAP_CAPTURE : TCPDUMP;
}
