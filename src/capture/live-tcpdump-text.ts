/**
 * What llmtap says to and reads from tcpdump, its capture process (DESIGN §2: tcpdump holds the
 * capture privilege, llmtap needs none): the command line, the drop counters it prints, and its
 * error messages turned into one line that says how to fix them. Pure functions, so the wording
 * tcpdump uses is pinned by tests without a capture.
 *
 * Wording checked against tcpdump 4.99.3 / libpcap 1.10.3 (Debian 12):
 *   start:   "tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes"
 *   SIGUSR1: "tcpdump: 3 packets captured, 5 packets received by filter, 0 packets dropped by kernel"
 *   exit:    "3 packets captured" / "5 packets received by filter" / "0 packets dropped by kernel"
 *            (each on its own line; "N packets dropped by interface" follows only when N > 0)
 *   errors:  "tcpdump: nosuch: No such device exists", "tcpdump: lo: You don't have permission to
 *            perform this capture on that device", "tcpdump: can't parse filter expression: …"
 */

/** tcpdump's own default snapshot length (libpcap MAXIMUM_SNAPLEN): whole packets, even 64 KB
 * GRO/GSO super-packets of loopback and offloading NICs. */
export const DEFAULT_SNAPLEN = 262_144;
/**
 * The default on `-i any` (Linux cooked v2): the largest packet Linux builds without BIG TCP
 * (65536 bytes: lo's MTU, and the default gso_max_size/gro_max_size) plus the 20-byte SLL2
 * header. On Ethernet devices (lo included) libpcap already caps each ring slot there in
 * immediate mode (pcap-linux.c create_ring: max(MTU, 65535 when offloading) + 18), but not on
 * `any`: at 262144 its ring held 255 slots, at this size ~1000, in the same 128 MiB (measured,
 * tcpdump 4.99.3 / libpcap 1.10.3, -B 65536). Only BIG TCP packets (an admin raising
 * gso_max_size past 64 KiB) are longer, and libpcap cuts those on Ethernet devices too.
 */
export const ANY_SNAPLEN = 65_536 + 20;

/** The snapshot length when none is asked for. */
export function defaultSnaplen(iface: string): number {
  return iface === 'any' ? ANY_SNAPLEN : DEFAULT_SNAPLEN;
}

/**
 * Kernel capture buffer, KiB (`-B`). In immediate mode libpcap uses TPACKET_V2: one slot per
 * packet, as large as the biggest packet allowed, and one slot per power-of-two block. On lo and
 * on offloading NICs a slot holds 65554 bytes plus its header, so each takes a 128 KiB block:
 * 64 MiB gives ~1000 slots and costs 128 MiB of kernel memory (measured in /proc/PID/maps of
 * tcpdump: 127.9 MiB). tcpdump's default 2 MiB would hold 16 packets. Beyond ~1000 packets
 * behind, the kernel drops; llmtap's reader thread keeps the ring that short (the pipe is read
 * while the pipeline decodes, live-tcpdump-worker.ts), and on loopback only received copies
 * enter it (loopbackFilter). More: `--buffer-size` (2x its size in kernel memory).
 */
export const DEFAULT_BUFFER_KIB = 65_536;

export interface TcpdumpArgs {
  iface: string;
  /** BPF filter expression (pcap-filter(7)); tcpdump checks it. */
  filter?: string;
  snaplen?: number;
  bufferKib?: number;
  /** The interface is a loopback device: keep only received copies in the kernel (loopbackFilter),
   * with this UDP port as the sentinel's. */
  loopbackSentinelPort?: number;
}

/**
 * The kernel filter on a loopback device. Linux hands a packet socket on lo every packet twice,
 * once sent and once received (dev_queue_xmit_nit, then netif_receive_skb), and both copies take
 * a ring slot before libpcap throws the sent one away in user space (pcap-linux.c: PACKET_OUTGOING
 * on the loopback ifindex); tcpdump then reports twice the packets "received by filter". With
 * `inbound` in the kernel filter (an SKF_AD_PKTTYPE load) the sent copies never reach the ring,
 * which then holds twice the packets. `-Q in` does not do this: libpcap 1.10 applies it in user
 * space (measured: still 2 received per packet).
 *
 * The price, and the sentinel: libpcap runs the *user-space* filter on the first ring frame after
 * the filter is set (blocks_to_filter_in_userland, pcap-linux.c), and in user space an
 * SKF_AD_PKTTYPE load fails the whole filter (libpcap issues #1254, #1402, #1482): the first
 * packet would be lost, uncounted (measured: 759 of 760 packets). So the filter also admits one
 * UDP datagram from 127.0.0.1:PORT to itself, which llmtap sends once tcpdump listens: that
 * datagram is the frame libpcap throws away. That is exact on a quiet interface; on a busy one
 * libpcap filters in user space the frames queued before the filter and the first two after it
 * (blocks_to_filter_in_userland: frames in the ring + 2, or 1 when it is empty), all before the
 * first frame delivered: the capture starts a few packets later, as one started a moment later
 * would (connections already open are joined mid-stream either way).
 */
export function loopbackFilter(filter: string | undefined, sentinelPort: number): string {
  const sentinel = `(udp and src host 127.0.0.1 and src port ${sentinelPort} and dst port ${sentinelPort})`;
  return filter === undefined || filter.trim() === '' ? 'inbound' : `inbound and ((${filter}) or ${sentinel})`;
}

/**
 * `tcpdump -i IFACE -U -w - --immediate-mode -s N -B KiB [-- FILTER]`:
 * `-w -` pcap on stdout; `-U` flushes each packet into the pipe as it is captured (no stdio
 * buffering); `--immediate-mode` hands packets over at once instead of in 1-second TPACKET_V3
 * blocks (calls must show within a second); `-n` no name lookups; `--` ends options so a filter
 * can never be read as one.
 */
export function tcpdumpArgs(a: TcpdumpArgs): string[] {
  const args = ['-i', a.iface, '-n', '-U', '-w', '-', '--immediate-mode', '-s', String(a.snaplen ?? defaultSnaplen(a.iface)), '-B', String(a.bufferKib ?? DEFAULT_BUFFER_KIB)];
  const filter = a.loopbackSentinelPort !== undefined ? loopbackFilter(a.filter, a.loopbackSentinelPort) : a.filter;
  if (filter !== undefined && filter.trim() !== '') args.push('--', filter);
  return args;
}

/** libpcap's pcap_stats, as tcpdump prints it: counters since the capture began. */
export interface TcpdumpCounters {
  /** Packets tcpdump wrote. */
  captured: number | null;
  /** Packets that passed the filter (ps_recv). */
  received: number | null;
  /** Dropped by the kernel because the capture buffer was full (ps_drop). */
  kernel: number | null;
  /** Dropped by the interface or its driver (ps_ifdrop); tcpdump prints it only when non-zero. */
  interface: number | null;
  /** Lost inside the capture process itself: dumpcap's own write failures and packets it flushed
   * at stop (its "dumpcap:" and "flushed:" counters). tcpdump has none: absent. */
  process?: number | null;
}

const COUNTERS: [keyof TcpdumpCounters, RegExp][] = [
  ['captured', /(\d+) packets? captured/],
  ['received', /(\d+) packets? received by filter/],
  ['kernel', /(\d+) packets? dropped by kernel/],
  ['interface', /(\d+) packets? dropped by interface/],
];

/** Reads the counters in one line of tcpdump's stderr into `into`; true when the line had any. */
export function readCounters(line: string, into: TcpdumpCounters): boolean {
  let found = false;
  for (const [key, re] of COUNTERS) {
    const m = re.exec(line);
    if (m === null) continue;
    const n = Number(m[1]);
    if (!Number.isSafeInteger(n)) continue;
    into[key] = n;
    found = true;
  }
  // A report names interface drops only when there are some: a report without them means 0.
  if (found && /dropped by kernel/.test(line) && !/dropped by interface/.test(line) && into.interface === null) into.interface = 0;
  return found;
}

/** "listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes" → "EN10MB (Ethernet)". */
export function listeningLinkType(line: string): string | null {
  const m = /listening on .+?, link-type ([^,]+)/.exec(line);
  return m ? m[1]!.trim() : null;
}

/** The command that grants a capture program (tcpdump, llmtap-capture) the capture capabilities
 * (capabilities(7): CAP_NET_RAW opens packet sockets, CAP_NET_ADMIN sets promiscuous mode and the ring). */
export function setcapFix(program: string): string {
  return `sudo setcap cap_net_raw,cap_net_admin=eip ${program}`;
}

/**
 * tcpdump failed before or while capturing: one line that says what is wrong and how to fix it.
 * `stderr` is what tcpdump printed (its own words are quoted when none of the known cases fits).
 */
export function explainTcpdumpFailure(stderr: string, o: { iface: string; tcpdumpPath: string }): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^\d+ packets? /.test(l) && !/^tcpdump: (listening on|data link type|WARNING)/.test(l));
  const text = lines.join(' ');
  if (/No such device|SIOCGIFHWADDR: No such device|doesn't exist|no suitable device/i.test(text)) {
    return `no such interface: ${o.iface} (list them with \`ip link\`, or use -i any; see \`llmtap doctor\`)`;
  }
  if (/permission|not permitted|EPERM|EACCES/i.test(text)) {
    return `tcpdump may not capture on ${o.iface} here: run llmtap as root, or grant tcpdump the capture capabilities once: ${setcapFix(o.tcpdumpPath)} (see \`llmtap doctor\`)`;
  }
  if (/parse filter expression|syntax error|illegal|unknown (host|port|proto)/i.test(text)) {
    const why = text.replace(/tcpdump:\s*/g, '').replace(/^can't parse filter expression:\s*/i, '');
    return `bad --bpf-filter: ${clip(why)} (see pcap-filter(7))`;
  }
  if (/(is not up|That device is not up)/i.test(text)) return `interface ${o.iface} is down: bring it up (ip link set ${o.iface} up)`;
  const first = lines[0]?.replace(/^tcpdump:\s*/, '') ?? 'no message';
  return `tcpdump failed: ${clip(first)}`;
}

/** One line stays one line: tcpdump's own text is clipped (it may echo a long filter). */
function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
