/**
 * Runs tcpdump for a test: starts it, waits until it is really capturing, stops it cleanly so the
 * file ends on a complete packet. Every wait is bounded.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** How long tcpdump may take to open the interface before the test gives up. */
const START_TIMEOUT_MS = 15_000;
/** How long tcpdump may take to flush and exit after SIGINT before it is killed. */
const STOP_TIMEOUT_MS = 10_000;
/** Quiet time before SIGINT, so that the last ACKs/FINs of the test's connections are captured. */
const SETTLE_MS = 500;
/** Snapshot length: the largest frame the tests can produce, loopback's (MTU 65536, ip-link(8))
 * or a 64 KB GSO packet, plus the 14-byte Ethernet header Linux puts on both, rounded up. Not
 * `-s 0` (262144): in immediate mode libpcap uses fixed TPACKET_V2 slots of snaplen bytes, and
 * the default 2 MiB ring then holds only 8 packets, so a 100 KB burst overruns it. */
const SNAPLEN = 65_600;
/** Kernel ring size, KiB (`-B`): 64 MiB / 64 KiB slots ≈ 1000 packets in flight before tcpdump
 * must have read them; a test burst is ~150. */
const BUFFER_KIB = 65_536;

export interface CaptureResult {
  /** tcpdump's own count of packets the kernel dropped before tcpdump read them ("N packets
   * dropped by kernel"): non-zero means the capture file is missing packets. */
  droppedByKernel: number;
  stderr: string;
}

export interface TcpdumpCapture {
  readonly file: string;
  /** Waits SETTLE_MS, sends SIGINT, waits for exit. Idempotent. */
  stop(): Promise<CaptureResult>;
  /** Kills at once (cleanup after a failure). Idempotent. */
  kill(): void;
}

export function commandExists(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore', timeout: 5_000 }).status === 0;
}

/**
 * Starts `tcpdump -i IFACE -w FILE` with a BPF filter. `-U` writes each packet as it arrives,
 * `--immediate-mode` delivers packets to tcpdump at once instead of in TPACKET_V3 blocks (without
 * it, packets of the last second may still sit in the kernel ring when SIGINT arrives and are
 * never written), `-Z root` keeps tcpdump from switching to its own user, which may not write
 * into the test's temporary directory.
 */
export async function startTcpdump(iface: string, filter: string, file: string): Promise<TcpdumpCapture> {
  const args = ['-i', iface, '-w', file, '-U', '--immediate-mode', '-s', String(SNAPLEN), '-B', String(BUFFER_KIB), '-Z', 'root', filter];
  const child = spawn('tcpdump', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    stderr += s;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  // tcpdump prints "listening on IFACE, link-type …" after pcap_activate(), when the capture
  // socket is bound: packets sent from then on are captured.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tcpdump did not start within ${START_TIMEOUT_MS} ms: ${stderr}`));
    }, START_TIMEOUT_MS);
    const check = (): void => {
      if (/listening on /.test(stderr)) {
        clearTimeout(timer);
        child.stderr!.off('data', check);
        resolve();
      }
    };
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump exited (${code}) before capturing: ${stderr}`));
    });
  });

  let stopping: Promise<CaptureResult> | null = null;
  return {
    file,
    stop: () => {
      stopping ??= (async () => {
        await sleep(SETTLE_MS);
        await terminate(child, exited, 'SIGINT', STOP_TIMEOUT_MS);
        // On exit tcpdump prints "N packets captured / N packets received by filter / N packets
        // dropped by kernel". No line (killed) counts as unknown, i.e. not known to be whole.
        const m = /(\d+) packets? dropped by kernel/.exec(stderr);
        return { droppedByKernel: m ? Number(m[1]) : -1, stderr };
      })();
      return stopping;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Sends `signal`, waits up to `timeoutMs` for exit, then SIGKILL. */
export async function terminate(
  child: ChildProcess,
  exited: Promise<unknown>,
  signal: NodeJS.Signals,
  timeoutMs: number,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}

export interface PcapStats {
  packets: number;
  /** Largest captured frame (link-layer bytes as on the wire). */
  maxFrame: number;
}

/** Counts the records of a classic pcap file (what `tcpdump -w` writes), from its record headers
 * (pcap-savefile(5): 24-byte file header, 16-byte record header with incl_len at +8, orig_len at
 * +12, in the byte order of the magic number). */
export function pcapStats(file: string): PcapStats {
  const b = readFileSync(file);
  if (b.length < 24) return { packets: 0, maxFrame: 0 };
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const u32 = (off: number): number => (le ? b.readUInt32LE(off) : b.readUInt32BE(off));
  let packets = 0;
  let maxFrame = 0;
  for (let off = 24; off + 16 <= b.length; ) {
    const incl = u32(off + 8);
    const orig = u32(off + 12);
    packets++;
    maxFrame = Math.max(maxFrame, orig);
    off += 16 + incl;
  }
  return { packets, maxFrame };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
