/**
 * Test driver: a capture file through the project's reader, link decoder and FlowTable (the way
 * src/pipeline/replay.ts wires them) into TLS sinks, with recording sinks as the HTTP layer. Also
 * reads tshark's view of the same capture for comparison.
 */
import { execFileSync } from 'node:child_process';
import { AnomalyCounter } from '../../src/core/anomalies.js';
import { readCaptureFrames } from '../../src/capture/file-reader.js';
import { PacketDecoder } from '../../src/capture/link.js';
import { FlowTable } from '../../src/reassembly/flow-table.js';
import { delivered, Dir, RecordingSinks, type RecordedConnection } from '../../src/reassembly/test-helpers.test-support.js';
import type { ConnectionInfo } from '../../src/reassembly/types.js';
import { createTlsSink, type UndecryptedFacts } from '../../src/tls/tls-sink.js';
import type { KeyLog } from '../../src/tls/keylog.js';

export interface DecryptedCapture {
  /** One per connection that yielded plaintext, with the ALPN its inner sink was made for. */
  conns: { rec: RecordedConnection; alpn: string | null; up: Uint8Array; down: Uint8Array }[];
  undecrypted: { info: ConnectionInfo; facts: UndecryptedFacts }[];
  anomalies: AnomalyCounter;
}

export async function decryptCapture(file: string, keys: KeyLog): Promise<DecryptedCapture> {
  const anomalies = new AnomalyCounter();
  const inner = new RecordingSinks();
  const alpns: (string | null)[] = [];
  const undecrypted: DecryptedCapture['undecrypted'] = [];
  const flows = new FlowTable(
    (info) =>
      createTlsSink(info, {
        keys,
        anomalies,
        inner: (i, alpn) => {
          alpns.push(alpn);
          return inner.factory(i);
        },
        onUndecrypted: (i, facts) => undecrypted.push({ info: { ...i }, facts }),
      }),
    anomalies,
  );
  const decoder = new PacketDecoder(anomalies);
  let last = 0;
  await readCaptureFrames(
    file,
    (pkt) => {
      last = Math.max(last, pkt.ts);
      decoder.decodeFrame(pkt, (seg) => flows.onSegment(seg));
      flows.advance(last);
    },
    { anomalies, onSecrets: (type, data) => keys.addDsb(type, data) },
  );
  decoder.flush();
  flows.flush(last);
  return {
    conns: inner.conns.map((rec, k) => ({
      rec,
      alpn: alpns[k] ?? null,
      up: delivered(rec, Dir.ClientToServer),
      down: delivered(rec, Dir.ServerToClient),
    })),
    undecrypted,
    anomalies,
  };
}

export function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Decrypted bytes per endpoint as tshark follows them (`-z follow,tls,raw,N`). */
export interface TsharkFollow {
  /** "ip:port" of the endpoint whose bytes are the unindented lines. */
  node0: string;
  fromNode0: Uint8Array;
  fromNode1: Uint8Array;
}

export function tsharkTcpStreams(file: string): number[] {
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'tcp.stream'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return [...new Set(out.split('\n').filter((l) => l.trim() !== '').map(Number))].sort((a, b) => a - b);
}

export function tsharkFollowTls(file: string, keylog: string | null, stream: number): TsharkFollow {
  // Out-of-order reassembly is off by default in tshark 4.0: without it the firefox capture's
  // server flight (its segments arrive out of order) is not decrypted at all.
  const args = ['-r', file, '-o', 'tcp.reassemble_out_of_order:TRUE', '-q', '-z', `follow,tls,raw,${stream}`];
  if (keylog !== null) args.unshift('-o', `tls.keylog_file:${keylog}`);
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 256 * 1024 * 1024 });
  let node0 = '';
  const zero: string[] = [];
  const one: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^Node 0: (.*)$/.exec(line);
    // IPv6 endpoints are written "[::1]:443"; ours are "::1".
    if (m) node0 = m[1]!.trim().replace(/^\[(.*)\]:(\d+)$/, '$1:$2');
    if (!/^\t?[0-9a-f]+$/.test(line)) continue;
    if (line.startsWith('\t')) one.push(line.slice(1));
    else zero.push(line);
  }
  return { node0, fromNode0: Buffer.from(zero.join(''), 'hex'), fromNode1: Buffer.from(one.join(''), 'hex') };
}
