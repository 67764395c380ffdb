/**
 * `llmtap probe -i IFACE --send tcp://HOST:PORT`: captures on this host with the same tcpdump
 * child as `llmtap capture` (DESIGN §2: tcpdump holds the privilege) and ships the packets to a
 * collecting llmtap (`llmtap collect`) in cloud-probe batches over ZeroMQ PUSH (issue 6 item 4).
 * Nothing is decoded here: the probe stays light on the host it watches.
 *
 * Batches close at 65,535 packets, at 1 MiB, or every FLUSH_MS. Frames of other link types are
 * rewritten as Ethernet (probe-ethernet.ts). The probe's id is a UUID made once and kept in a
 * state file, so a restarted probe is the same source (`--probe-id` sets it).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CAPTURE_TOOLS, parseCaptureTool } from '../capture/live-capture-tool.js';
import { LiveCaptureError, startLiveCapture, type LiveCapture } from '../capture/live-tcpdump.js';
import { PCAP_MAX_SNAPLEN } from '../capture/capture-parser.js';
import { defaultSnaplen } from '../capture/live-tcpdump-text.js';
import { PROBE_MAX_FRAME, ProbeBatchEncoder, uuidBytes } from '../capture/probe-batch.js';
import { EthernetRewriter } from '../capture/probe-ethernet.js';
import { splitTcpFrame } from '../capture/probe-split.js';
import { ProbeSender } from '../capture/probe-sender.js';
import { checkProbeEndpoint } from '../capture/probe-source.js';
import { readCaptureStream } from '../capture/stream-reader.js';
import { AnomalyCounter } from '../core/anomalies.js';
import { intFlag, UserError } from './errors.js';

export interface ProbeCommandOptions {
  interface: string;
  send: string;
  bpfFilter?: string;
  snaplen?: string;
  bufferSize?: string;
  /** `--capture-tool tcpdump|dumpcap|auto` (live-capture-tool.ts); default auto. */
  captureTool?: string;
  probeId?: string;
  quiet?: boolean;
}

/** A batch waits at most this long for more packets: calls reach the collector well within
 * the one-second target (issue 6), and an idle probe sends nothing. */
export const FLUSH_MS = 100;

export async function runProbe(o: ProbeCommandOptions): Promise<void> {
  const target = checkProbeEndpoint(o.send);
  if (target === null || target.host === '*' || target.port === '*') {
    throw new UserError(`--send ${o.send}: expected tcp://HOST:PORT of a collector (llmtap collect --listen-probes)`, 2);
  }
  // Whole packets by default: an oversize TCP packet is re-segmented to fit a batch
  // (probe-split.ts), which needs all of it.
  const snaplen = intFlag(o.snaplen, '--snaplen', defaultSnaplen(o.interface), 64, PCAP_MAX_SNAPLEN);
  const bufferKib = o.bufferSize === undefined ? undefined : intFlag(o.bufferSize, '--buffer-size', 0, 1, 4 * 1024 * 1024);
  const idText = o.probeId ?? stableProbeId(defaultStateDir(process.env));
  const id = uuidBytes(idText);
  if (id === null) throw new UserError(`--probe-id ${idText}: expected a UUID (8-4-4-4-12 hex digits)`, 2);
  const filter = withoutOwnTraffic(o.bpfFilter, target.host, target.port);
  const tool = parseCaptureTool(o.captureTool);
  if (tool === null) throw new UserError(`--capture-tool ${o.captureTool ?? ''}: expected ${CAPTURE_TOOLS.join(', ')} or auto`, 2);

  let live: LiveCapture;
  try {
    live = await startLiveCapture({ iface: o.interface, snaplen, filter, tool, ...(bufferKib !== undefined ? { bufferKib } : {}) });
  } catch (err) {
    if (err instanceof LiveCaptureError) throw new UserError(err.message);
    throw err;
  }
  let sender: ProbeSender;
  try {
    sender = new ProbeSender(o.send);
  } catch (err) {
    await live.stop();
    throw new UserError(`cannot send to ${o.send}: ${(err as Error).message}`);
  }
  const probeId = idText.toLowerCase();
  if (!o.quiet) process.stderr.write(`llmtap: probe ${probeId} capturing on ${o.interface}, sending to ${o.send}; Ctrl-C to stop\n`);

  const encoder = new ProbeBatchEncoder(id);
  const rewriter = new EthernetRewriter();
  const skipped = new AnomalyCounter();
  let packets = 0;
  const send = (batch: Uint8Array | null, count: number): void => {
    if (batch !== null) sender.send(batch, count);
  };
  const flush = (): void => {
    const n = encoder.pending;
    send(encoder.seal(), n);
  };
  let split = 0;
  const add = (ts: number, head: Uint8Array | null, b: Uint8Array, start: number, end: number, origLen: number): void => {
    const before = encoder.pending;
    const sealed = encoder.add(ts, head, b, start, end, origLen);
    if (sealed !== null) send(sealed, before);
  };
  const timer = setInterval(flush, FLUSH_MS);
  const stop = (): void => void live.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await readCaptureStream(
      live.bytes,
      (f) => {
        packets++;
        const eth = rewriter.toEthernet(f.linkType, f.buf, f.start, f.end);
        if (eth === null) {
          skipped.add(rewriter.why);
          return;
        }
        const headLen = eth.head?.length ?? 0;
        if (headLen + f.end - eth.start > PROBE_MAX_FRAME && f.origLen === f.end - f.start) {
          const whole = new Uint8Array(headLen + f.end - eth.start);
          if (eth.head !== null) whole.set(eth.head, 0);
          whole.set(f.buf.subarray(eth.start, f.end), headLen);
          const pieces = splitTcpFrame(whole, PROBE_MAX_FRAME);
          if (pieces !== null) {
            split++;
            for (const p of pieces) add(f.ts, null, p, 0, p.length, p.length);
            return;
          }
        }
        add(f.ts, eth.head, f.buf, eth.start, f.end, f.origLen);
      },
      { name: `${live.tool} -i ${o.interface}`, anomalies: skipped },
    );
  } catch (err) {
    await live.stop();
    throw new UserError(err instanceof Error ? err.message : String(err));
  } finally {
    clearInterval(timer);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  flush();
  await sender.close();
  const died = await live.ended;
  if (!o.quiet) process.stderr.write(probeSummary(probeId, o.interface, packets, live, sender, { cut: encoder.framesCut, split }, skipped));
  if (died !== null) throw new UserError(died);
}

function probeSummary(
  id: string,
  iface: string,
  packets: number,
  live: LiveCapture,
  sender: ProbeSender,
  frames: { cut: number; split: number },
  skipped: AnomalyCounter,
): string {
  const n = (x: number | null): string => (x === null ? 'unknown' : x.toLocaleString('en-US'));
  const c = live.counters();
  const s = sender.counters;
  const lines = [
    `llmtap probe ${id} on ${iface}`,
    `  ${n(packets)} packets captured; sent ${n(s.packetsSent)} packets in ${n(s.batchesSent)} batches (${(s.bytesSent / 1e6).toFixed(1)} MB)`,
    `  drops: kernel ${n(c.kernel)}, interface ${n(c.interface)}, send queue ${n(s.packetsDropped)} packets in ${n(s.batchesDropped)} batches (collector slow or unreachable)`,
  ];
  if (frames.split > 0) lines.push(`  ${n(frames.split)} TCP packets over 65,535 bytes re-segmented to fit the batch format (loopback, GRO/TSO)`);
  if (frames.cut > 0) lines.push(`  ${n(frames.cut)} frames cut to 65,535 bytes (the batch format's limit; see docs/probes.md)`);
  if (skipped.total > 0) lines.push(`  not sent: ${skipped.entries().map(([k, v]) => `${k} ${n(v)}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The user's filter, and never the probe's own batches: on an interface that carries them the
 * probe would capture what it sends, and send it again. An IP literal collector excludes that
 * host and port; a name excludes the port (tcpdump runs with -n: no lookups).
 */
export function withoutOwnTraffic(filter: string | undefined, host: string, port: string): string {
  const literal = /^[0-9.]+$/.test(host) || host.startsWith('[');
  const own = literal ? `not (host ${host.replace(/^\[|\]$/g, '')} and tcp port ${port})` : `not tcp port ${port}`;
  return filter === undefined || filter.trim() === '' ? own : `(${filter}) and ${own}`;
}

/** $LLMTAP_STATE_DIR, else $XDG_STATE_HOME/llmtap, else ~/.local/state/llmtap (XDG Base Directory spec). */
export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  if (env['LLMTAP_STATE_DIR']) return env['LLMTAP_STATE_DIR'];
  return join(env['XDG_STATE_HOME'] || join(homedir(), '.local', 'state'), 'llmtap');
}

/** The probe id kept in `dir/probe-id`, made (a random UUID, RFC 9562 v4) the first time. */
export function stableProbeId(dir: string): string {
  const file = join(dir, 'probe-id');
  try {
    const text = readFileSync(file, 'utf8').trim();
    if (uuidBytes(text) !== null) return text.toLowerCase();
    throw new UserError(`${file} does not hold a UUID: remove it to make a new probe id, or pass --probe-id`);
  } catch (err) {
    if (err instanceof UserError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const id = randomUUID();
  try {
    mkdirSync(dirname(file), { recursive: true });
    // 'wx': two probes starting at once do not both write; the loser reads the winner's id.
    writeFileSync(file, `${id}\n`, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return stableProbeId(dir);
    throw new UserError(`cannot keep the probe id in ${file}: ${(err as Error).message} (pass --probe-id, or set LLMTAP_STATE_DIR)`);
  }
  return id;
}

