/**
 * Real TLS byte streams (from corpus captures, through reassembly) fed to the TLS sink split in two
 * at every offset of one direction: the same plaintext every time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../../src/core/anomalies.js';
import { readCaptureFrames } from '../../src/capture/file-reader.js';
import { PacketDecoder } from '../../src/capture/link.js';
import { FlowTable } from '../../src/reassembly/flow-table.js';
import { delivered, Dir, RecordingSinks } from '../../src/reassembly/test-helpers.test-support.js';
import { KeyLog } from '../../src/tls/keylog.js';
import { createTlsSink } from '../../src/tls/tls-sink.js';
import { corpusDir } from '../corpus.js';

async function tcpStreams(file: string): Promise<{ up: Uint8Array; down: Uint8Array }> {
  const anomalies = new AnomalyCounter();
  const sinks = new RecordingSinks();
  const flows = new FlowTable(sinks.factory, anomalies);
  const decoder = new PacketDecoder(anomalies);
  let last = 0;
  await readCaptureFrames(file, (f) => {
    last = Math.max(last, f.ts);
    decoder.decodeFrame(f, (seg) => flows.onSegment(seg));
  });
  flows.flush(last);
  return { up: delivered(sinks.get(0), Dir.ClientToServer), down: delivered(sinks.get(0), Dir.ServerToClient) };
}

function decrypt(keys: KeyLog, up: Uint8Array[], down: Uint8Array[]): { up: string; down: string; anomalies: [string, number][] } {
  const anomalies = new AnomalyCounter();
  const inner = new RecordingSinks();
  const sink = createTlsSink({ id: 'c', client: { ip: '127.0.0.1', port: 1 }, server: { ip: '127.0.0.1', port: 2 }, rolesGuessed: false }, { keys, anomalies, inner: (i) => inner.factory(i) });
  // The client's hello first, then the server's bytes, then the rest of the client's.
  sink.onData(Dir.ClientToServer, up[0]!, 0);
  down.forEach((d, k) => sink.onData(Dir.ServerToClient, d, 1 + k));
  up.slice(1).forEach((d, k) => sink.onData(Dir.ClientToServer, d, 10 + k));
  sink.onClose(20, 'fin');
  const c = inner.conns[0];
  const hex = (d: Dir): string => (c === undefined ? '' : Buffer.from(delivered(c, d)).toString('hex'));
  return { up: hex(Dir.ClientToServer), down: hex(Dir.ServerToClient), anomalies: anomalies.entries() };
}

const CASES = [
  ['illustrated-tls13/capture.pcap', 'illustrated-tls13/keylog.txt'],
  ['snet-tls-keylog/TLS1_2_ECDHE-RSA-CHACHA20-POLY1305_auth.pcap', 'snet-tls-keylog/TLS1_2_ECDHE-RSA-CHACHA20-POLY1305_auth.keylog'],
  ['snet-tls-keylog/TLS1_ECDHE-RSA-AES128-SHA.pcap', 'snet-tls-keylog/TLS1_ECDHE-RSA-AES128-SHA.keylog'],
] as const;

describe.skipIf(corpusDir === null)('TLS sink over real streams: split invariance', () => {
  it.each(CASES)('%s', async (pcap, keylog) => {
    const { up, down } = await tcpStreams(join(corpusDir!, pcap));
    const keys = new KeyLog();
    keys.addText(readFileSync(join(corpusDir!, keylog), 'latin1'));
    // The ClientHello record is the first record of the client stream.
    const helloEnd = 5 + ((up[3]! << 8) | up[4]!);
    const whole = decrypt(keys, [up.subarray(0, helloEnd), up.subarray(helloEnd)], [down]);
    expect(whole.up.length + whole.down.length).toBeGreaterThan(0);
    expect(whole.anomalies).toEqual([]);
    for (let k = 0; k <= down.length; k++) {
      expect(decrypt(keys, [up.subarray(0, helloEnd), up.subarray(helloEnd)], [down.subarray(0, k), down.subarray(k)]), `server split at ${k}`).toEqual(whole);
    }
    for (let k = helloEnd; k <= up.length; k++) {
      expect(decrypt(keys, [up.subarray(0, helloEnd), up.subarray(helloEnd, k), up.subarray(k)], [down]), `client split at ${k}`).toEqual(whole);
    }
  });
});
