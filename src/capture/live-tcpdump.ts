/**
 * The capture process (DESIGN §2, the way Wireshark runs dumpcap): tcpdump (or dumpcap, which
 * live-capture-tool.ts picks and speaks to; what follows is said of tcpdump), privileged on its own
 * (root, or cap_net_raw+cap_net_admin on its binary), writes pcap into a pipe; llmtap reads the
 * pipe with no privilege at all, from a thread of its own (live-tcpdump-thread.ts), so the pipe
 * is drained while the pipeline decodes. This module starts it, waits until it really captures,
 * reads its drop counters continuously (SIGUSR1, below) and stops it so that everything it
 * captured reaches the pipe. On loopback the kernel filter keeps only received copies
 * (loopbackFilter in live-tcpdump-text.ts, with its sentinel datagram).
 *
 * Drop counters: Linux tcpdump prints libpcap's pcap_stats on SIGUSR1 (tcpdump(8), "SIGUSR1";
 * BSDs use SIGINFO) and once more at exit. The counters are the kernel's own (PACKET_STATISTICS
 * of the capture socket, accumulated by libpcap), so this is what /proc or `ip -s link` cannot
 * give: drops of this capture, not of the interface. Asked once a second.
 */
import { CaptureStderr } from './live-stderr.js';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOnPath } from './find-program.js';
import { pickCaptureTool, toolSpeech, type CaptureTool } from './live-capture-tool.js';
import { findLlmtapCapture, LLMTAP_CAPTURE } from './live-llmtap-capture-text.js';
import type { TcpdumpArgs, TcpdumpCounters } from './live-tcpdump-text.js';
import { spawnThreaded, type ChildExit, type ThreadedChild } from './live-tcpdump-thread.js';

/** How long tcpdump may take to open the interface (a slow `-i any` on a host with many
 * interfaces takes ~1 s); beyond this it is reported as hanging. */
const START_TIMEOUT_MS = 15_000;
/** After SIGINT tcpdump writes what it holds and exits at once; beyond this it is killed. */
const STOP_TIMEOUT_MS = 10_000;
/** Drop counters are asked for this often: the health API and the summary are never older. */
export const STATS_EVERY_MS = 1_000;
/** After tcpdump exits, its stderr pipe closes at once; this bounds the wait if it does not. */
const STDERR_GRACE_MS = 1_000;

export class LiveCaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LiveCaptureError';
  }
}


/** Where a capture tool is: llmtap-capture where the build put it (findLlmtapCapture), the others
 * on PATH; a path or name given for the program (`tcpdump` option) is looked up as such. */
export function findCaptureProgram(tool: CaptureTool, env: NodeJS.ProcessEnv = process.env, program?: string): string | null {
  if (program !== undefined) return findOnPath(program, env['PATH']);
  return tool === LLMTAP_CAPTURE ? findLlmtapCapture(env) : findOnPath(tool, env['PATH']);
}


/** ARPHRD_LOOPBACK, include/uapi/linux/if_arp.h: the `type` sysfs gives a loopback device. */
const ARPHRD_LOOPBACK = '772';

/** A Linux loopback device (`lo`, or whatever /sys/class/net says is one). */
export function isLoopback(iface: string, sysfs = '/sys/class/net'): boolean {
  if (process.platform !== 'linux') return false;
  if (iface === 'lo') return true;
  if (iface === '' || iface.includes('/') || iface.startsWith('.')) return false;
  try {
    return readFileSync(join(sysfs, iface, 'type'), 'utf8').trim() === ARPHRD_LOOPBACK;
  } catch {
    return false;
  }
}

/** The UDP socket whose one datagram to itself is the frame libpcap's first-frame quirk drops
 * (loopbackFilter in live-tcpdump-text.ts); null when it cannot be bound (no 127.0.0.1). */
async function bindSentinel(): Promise<{ socket: Socket; port: number } | null> {
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    socket.on('error', () => undefined);
    socket.unref();
    return { socket, port: socket.address().port };
  } catch {
    socket.close();
    return null;
  }
}

export interface LiveCaptureOptions extends TcpdumpArgs {
  /** Which capture process (live-capture-tool.ts); default 'auto': llmtap-capture, tcpdump, dumpcap. */
  tool?: CaptureTool | 'auto';
  /** The capture program's path or name (default: the tool's name, looked up on PATH; llmtap-capture
   * where the build put it). It is spoken to as `tool` says: with 'auto', as llmtap-capture. */
  tcpdump?: string;
  env?: NodeJS.ProcessEnv;
}

export interface LiveCapture {
  /** The pcap byte stream (tcpdump's stdout). Ends after stop() or when tcpdump dies. */
  readonly bytes: AsyncIterable<Uint8Array>;
  /** "EN10MB (Ethernet)", "LINUX_SLL2 (Linux cooked v2)", … as tcpdump announced it. */
  readonly linkType: string | null;
  readonly tcpdumpPath: string;
  /** The program that captures. */
  readonly tool: CaptureTool;
  /** How late a captured packet may reach the pipe (0 for tcpdump's immediate mode, dumpcap's
   * 250 ms block timeout): an idle capture clock must stay this much further behind. */
  readonly deliveryLagMs: number;
  /** The latest counters tcpdump reported (null fields before its first report; with dumpcap,
   * only `captured` until it stopped). */
  counters(): TcpdumpCounters;
  /** SIGINT: tcpdump writes what it captured, prints its final counters and exits; resolves
   * then. Idempotent. */
  stop(): Promise<void>;
  /** Resolves when tcpdump exited: null when it was stopped or ended cleanly, else why it died
   * (one line). */
  readonly ended: Promise<string | null>;
}

/** Starts tcpdump and resolves once it captures ("listening on …"); a LiveCaptureError saying
 * how to fix it when it cannot. */
export async function startLiveCapture(o: LiveCaptureOptions): Promise<LiveCapture> {
  const env = o.env ?? process.env;
  const picked = pickCaptureTool(o.tool ?? 'auto', (tool) => findCaptureProgram(tool, env, o.tcpdump));
  if (typeof picked === 'string') throw new LiveCaptureError(picked);
  const { tool, path: tcpdumpPath } = picked;
  const speech = toolSpeech(tool);
  // Run and read from a thread of its own: the pipe is drained while the main thread decodes
  // (live-tcpdump-worker.ts says why).
  const sentinel = speech.loopbackSentinel && o.loopbackSentinelPort === undefined && isLoopback(o.iface) ? await bindSentinel() : null;
  const args = speech.args(sentinel === null ? o : { ...o, loopbackSentinelPort: sentinel.port });
  const child = spawnThreaded(tcpdumpPath, args, env);
  const counters: TcpdumpCounters = { captured: null, received: null, kernel: null, interface: null, ...(tool === 'dumpcap' ? { process: null } : {}) };
  let onListening: (() => void) | null = null;
  const stderr = new CaptureStderr(speech, counters, () => onListening?.());
  child.onStderr((text: string) => stderr.push(text));
  let stopping = false;
  // tcpdump's last words (an error, the final counters) are read before its exit is reported.
  // Not the end of stdout: only the pipeline's reader consumes that.
  const exit = child.exit.then(async (r) => {
    await Promise.race([child.stderrClosed, sleep(STDERR_GRACE_MS)]);
    return r;
  });
  const failure = (r: ChildExit): string => {
    if (r.spawnError !== null) return `cannot run ${tcpdumpPath}: ${r.spawnError.message}`;
    const said = stderr.said();
    if (said.trim() !== '') return speech.explain(said, { iface: o.iface, path: tcpdumpPath });
    return `${tool} exited (${r.signal ?? `status ${String(r.code)}`}) without saying why`;
  };

  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new LiveCaptureError(`${tool} did not start capturing on ${o.iface} within ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    onListening = () => {
      clearTimeout(timer);
      resolve();
    };
    if (stderr.listening !== null) onListening();
    void exit.then((r) => {
      clearTimeout(timer);
      reject(new LiveCaptureError(failure(r)));
    });
  });
  try {
    await started;
  } finally {
    // The filter is set by now ("listening on" comes after it): the sentinel is the first frame.
    if (sentinel !== null) sentinel.socket.send(Uint8Array.of(0), sentinel.port, '127.0.0.1', () => sentinel.socket.close());
  }

  // SIGUSR1 only once tcpdump announced it listens: its handler is installed by then (before,
  // the default action would kill it). Linux only: elsewhere the signal is not tcpdump's. dumpcap
  // has no such signal (its drops come at exit, live-dumpcap-text.ts).
  const statsSignal = speech.statsSignal;
  const poll = statsSignal !== null ? setInterval(() => void child.kill(statsSignal), STATS_EVERY_MS) : null;
  poll?.unref();
  const ended = exit.then((r) => {
    if (poll !== null) clearInterval(poll);
    if (stopping || (r.code === 0 && r.spawnError === null)) return null;
    return failure(r);
  });
  let stopped: Promise<void> | null = null;
  return {
    bytes: child.stdout,
    linkType: stderr.listening === null ? null : speech.linkType(stderr.listening),
    tcpdumpPath,
    tool,
    deliveryLagMs: speech.deliveryLagMs,
    counters: () => ({ ...counters }),
    ended,
    stop: () => {
      stopped ??= (async () => {
        stopping = true;
        if (poll !== null) clearInterval(poll);
        if (speech.stopDelayMs > 0 && !child.exited) await Promise.race([exit, sleep(speech.stopDelayMs)]);
        await terminate(child, exit, STOP_TIMEOUT_MS);
      })();
      return stopped;
    },
  };
}

async function terminate(child: ThreadedChild, exited: Promise<unknown>, timeoutMs: number): Promise<void> {
  if (child.exited) return;
  child.kill('SIGINT');
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (late) {
    child.kill('SIGKILL');
    await exited;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
