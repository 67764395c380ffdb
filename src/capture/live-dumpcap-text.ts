/**
 * What llmtap says to and reads from dumpcap (Wireshark's capture process) when it is the capture
 * process: the command line, the counters it prints, and its errors as one line that says how to
 * fix them. Pure functions: the wording is pinned by tests without a capture.
 *
 * Wording checked against dumpcap 4.0.17 (Debian 12), run without `-Z` (text on stderr):
 *   start:    "Capturing on 'Loopback: lo'" (before the device is opened), then "File: -" once it
 *             is open and the filter set (the moment tcpdump says "listening on")
 *   running:  "\rPackets: 1234 " every update (~0.5 s) while packets come: packets written
 *   exit:     "Packets captured: 1234", then "Packets received/dropped on interface 'Loopback: lo':
 *             1234/0 (pcap:0/dumpcap:0/flushed:0/ps_ifdrop:0) (100.0%)"
 *   errors:   "dumpcap: There is no device named \"eth9\".", "dumpcap: You do not have permission to
 *             capture on device \"lo\".", "dumpcap: Invalid capture filter \"…\" for interface 'lo'."
 *             followed by "That string isn't a valid capture filter (can't parse filter expression:
 *             syntax error)."
 *
 * Drops: dumpcap reads libpcap's pcap_stats only after its capture loop ended (dumpcap.c,
 * capture_loop_start: report_packet_drops after the loop; the capture-child sync pipe sends
 * SP_DROPS once, at the end; pcapng Interface Statistics Blocks are written only when a file is
 * closed, also with `-b` ring files; 4.0 has no --update-interval). So while dumpcap runs only the
 * packets it wrote are known; kernel drops come when it stops. That is why tcpdump, whose counters
 * SIGUSR1 gives at any time, stays the default capture process (live-capture-tool.ts).
 */
import type { TcpdumpArgs, TcpdumpCounters } from './live-tcpdump-text.js';

/** A stderr line of dumpcap, read. */
export type DumpcapLine = 'counters' | 'listening' | 'other';

/**
 * `dumpcap -i IFACE -P -w - -s N -B MiB [-f FILTER]`: `-P` classic pcap (the stream reader's
 * format, as tcpdump writes), `-w -` to stdout. dumpcap captures with TPACKET_V3: packets are
 * packed into blocks handed over when full or after 250 ms (its CAP_READ_TIMEOUT), so the same
 * ring holds ~50x the packets of tcpdump's immediate mode and dumpcap wakes once a block, not
 * once a packet. `-B` is in MiB (tcpdump's is KiB): rounded up. The filter is `-f`'s argument, so
 * it can never be read as an option.
 *
 * Loopback: no `inbound` in the filter (TcpdumpArgs.loopbackSentinelPort is ignored). libpcap
 * filters the first ring *block* after setting the filter in user space, where `inbound` fails
 * (live-tcpdump-text.ts, loopbackFilter); with TPACKET_V3 a block is up to 250 ms of packets, not
 * one frame: measured, 241 packets lost at the start of a 60,000 packets/s run, uncounted. Both
 * copies of each loopback packet enter the ring instead (the packed ring has room), and libpcap
 * drops the sent copies in user space.
 */
export function dumpcapArgs(a: TcpdumpArgs & { snaplen: number; bufferKib: number }): string[] {
  const args = ['-i', a.iface, '-P', '-w', '-', '-s', String(a.snaplen), '-B', String(Math.max(1, Math.ceil(a.bufferKib / 1024)))];
  if (a.filter !== undefined && a.filter.trim() !== '') args.push('-f', a.filter);
  return args;
}

const RUNNING = /^Packets: (\d+)\s*$/;
const CAPTURED = /^Packets captured: (\d+)\s*$/;
/** "… on interface 'NAME': R/D (pcap:P/dumpcap:U/flushed:F/ps_ifdrop:I) (x%)"; NAME may hold ": ". */
const FINAL = /^Packets received\/dropped on interface .*: (\d+)\/(\d+) \(pcap:(\d+)\/dumpcap:(\d+)\/flushed:(\d+)\/ps_ifdrop:(\d+)\)/;

function count(s: string | undefined): number | null {
  const n = Number(s);
  return s !== undefined && Number.isSafeInteger(n) ? n : null;
}

/**
 * Reads one stderr line of dumpcap (split at \r as well as \n: the running count is rewritten
 * in place with \r) into `into`. Never throws; a line it does not know is 'other'.
 * `received` stays null: dumpcap does not print libpcap's ps_recv. `process`: packets dumpcap
 * itself lost (its own write failures and those flushed at stop).
 */
export function readDumpcapLine(line: string, into: TcpdumpCounters): DumpcapLine {
  const l = line.trim();
  if (/^File: /.test(l)) return 'listening';
  const running = RUNNING.exec(l) ?? CAPTURED.exec(l);
  if (running !== null) {
    const n = count(running[1]);
    if (n === null) return 'other';
    into.captured = n;
    return 'counters';
  }
  const f = FINAL.exec(l);
  if (f !== null) {
    const written = count(f[1]);
    const kernel = count(f[3]);
    const own = count(f[4]);
    const flushed = count(f[5]);
    const ifdrop = count(f[6]);
    if (written === null || kernel === null || own === null || flushed === null || ifdrop === null) return 'other';
    into.captured = written;
    into.kernel = kernel;
    into.interface = ifdrop;
    into.process = own + flushed;
    return 'counters';
  }
  return 'other';
}

/** The commands that let a user without root run dumpcap (capabilities(7); Debian and Ubuntu
 * install it root:wireshark 0750 with the capabilities when asked to). */
export function dumpcapFix(dumpcapPath: string): string {
  return `sudo setcap cap_net_raw,cap_net_admin=eip ${dumpcapPath}, or (Debian/Ubuntu) sudo dpkg-reconfigure wireshark-common and sudo usermod -aG wireshark $USER`;
}

/** dumpcap failed before or while capturing: one line that says what is wrong and how to fix it. */
export function explainDumpcapFailure(stderr: string, o: { iface: string; dumpcapPath: string }): string {
  const lines = stderr
    .split(/[\r\n]/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^(Capturing on |File: |Packets( captured)?: |Packets received\/dropped )/.test(l));
  const text = lines.join(' ');
  if (/There is no device named|No such device/i.test(text)) {
    return `no such interface: ${o.iface} (list them with \`ip link\`, or use -i any; see \`llmtap doctor\`)`;
  }
  if (/permission|not permitted|EPERM|EACCES/i.test(text)) {
    return `dumpcap may not capture on ${o.iface} here: run llmtap as root, or let it capture: ${dumpcapFix(o.dumpcapPath)} (see \`llmtap doctor\`)`;
  }
  const parse = /can't parse filter expression:\s*([^)]*)/i.exec(text);
  if (parse !== null || /Invalid capture filter/i.test(text)) {
    return `bad --bpf-filter: ${clip(parse?.[1]?.trim() ?? 'not a valid capture filter')} (see pcap-filter(7))`;
  }
  if (/is not up|not up/i.test(text)) return `interface ${o.iface} is down: bring it up (ip link set ${o.iface} up)`;
  const first = lines[0]?.replace(/^dumpcap:\s*/, '') ?? 'no message';
  return `dumpcap failed: ${clip(first)}`;
}

function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
