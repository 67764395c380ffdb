/**
 * The capture reader thread (live-tcpdump-thread.ts starts it): runs tcpdump and drains its pcap
 * pipe continuously, whatever the main thread is doing. The main thread decodes synchronously,
 * and a burst of completed calls or a major GC keeps it off the event loop for tens of ms
 * (measured: event-loop delay up to 50–80 ms at 25–50k packets/s on loopback). Read from the main
 * thread, only the 64 KiB pipe (pipe(7)) sat between that stall and the kernel ring, which in
 * immediate mode holds ~1000 packets on lo (live-tcpdump-text.ts): 20 ms at 50k packets/s, then
 * kernel drops. Here the bytes wait in memory instead, packed, up to MAX_IN_FLIGHT.
 *
 * Messages (ToThread / FromThread in live-tcpdump-thread.ts): tcpdump's stdout as `data`
 * (transferred), `end` after its last byte, its stderr text, `exit`/`spawn-error`; from the
 * main thread, `kill` (a signal for tcpdump) and `ack` (bytes consumed: flow control).
 */
import { spawn } from 'node:child_process';
import { parentPort, workerData } from 'node:worker_threads';
import type { FromThread, ThreadStart, ToThread } from './live-tcpdump-thread.js';

/** Bytes posted and not yet consumed beyond which the pipe is no longer read (tcpdump then waits
 * and the kernel ring fills, its drops counted): bounds llmtap's memory when decoding falls behind
 * for good. 64 MiB is 0.5 s at 1 Gbit/s (issue 6's throughput target), ~45,000 packets of 1500
 * bytes, against ~1000 packets in tcpdump's 64 MiB immediate-mode ring. */
export const MAX_IN_FLIGHT = 64 * 1024 * 1024;
/** Reads are gathered this long before they are posted (one message per batch, not per read).
 * 2 ms is nothing next to the 1 s a call may take to show (issue 6). */
const GATHER_MS = 2;
/** A gathered batch is posted at once when it reaches this size. */
const GATHER_BYTES = 1024 * 1024;

const port = parentPort;
if (port === null) throw new Error('live-tcpdump-worker runs as a worker thread');
const start = workerData as ThreadStart;
const post = (m: FromThread, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);

const child = spawn(start.cmd, start.args, { stdio: ['ignore', 'pipe', 'pipe'], env: start.env });
let inFlight = 0;
/** Not read: too much posted and not consumed (flow control). */
let capped = false;

let gathered: Buffer[] = [];
let gatheredBytes = 0;
let timer: NodeJS.Timeout | null = null;

const flush = (): void => {
  if (timer !== null) clearTimeout(timer);
  timer = null;
  if (gatheredBytes === 0) return;
  // One fresh buffer per message, so it can be transferred (a socket's read buffers may share
  // their ArrayBuffer).
  const out = new Uint8Array(gatheredBytes);
  let at = 0;
  for (const b of gathered) {
    out.set(b, at);
    at += b.length;
  }
  gathered = [];
  inFlight += gatheredBytes;
  gatheredBytes = 0;
  post({ t: 'data', bytes: out }, [out.buffer]);
  if (inFlight > MAX_IN_FLIGHT && !capped) {
    capped = true;
    child.stdout.pause();
  }
};

child.stdout.on('data', (b: Buffer) => {
  gathered.push(b);
  gatheredBytes += b.length;
  if (gatheredBytes >= GATHER_BYTES) flush();
  else timer ??= setTimeout(flush, GATHER_MS);
});
child.stdout.once('end', () => {
  flush();
  post({ t: 'end' });
});
child.stdout.once('error', (err) => post({ t: 'stdout-error', message: err.message }));
child.stderr.setEncoding('utf8');
child.stderr.on('data', (text: string) => post({ t: 'stderr', text }));
child.stderr.once('close', () => post({ t: 'stderr-closed' }));
child.once('spawn', () => post({ t: 'spawned' }));
child.once('error', (err) => post({ t: 'spawn-error', message: err.message }));
child.once('exit', (code, signal) => post({ t: 'exit', code, signal }));

port.on('message', (m: ToThread) => {
  if (m.t === 'kill') {
    if (child.exitCode === null && child.signalCode === null) child.kill(m.signal);
  } else {
    inFlight -= m.bytes;
    if (capped && inFlight <= MAX_IN_FLIGHT / 2) {
      capped = false;
      child.stdout.resume();
    }
  }
});
// The thread lives as long as tcpdump and its pipes: the port alone does not keep it (unref after
// the listener, which refs the port).
port.unref();
