/**
 * Every TLS capture of the corpus with its key log decrypts to the same application bytes, per
 * direction, as tshark shows with the same keys (issue 7, "How we will know"). Key logs given as a
 * file (snet-tls-keylog, illustrated-tls12/13, pcap2har *-nosecrets + .keylog) and embedded in
 * the pcapng (pcap2har *-dsb: tshark reads the embedded secrets itself).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../corpus.js';
import { KeyLog } from '../../src/tls/keylog.js';
import { decryptCapture, hasTshark, tsharkFollowTls, tsharkTcpStreams } from './decrypt-capture.js';

interface Case {
  name: string;
  pcap: string;
  /** Key log file, or null when the keys are inside the pcapng. */
  keylog: string | null;
}

function cases(): Case[] {
  if (corpusDir === null) return [];
  const out: Case[] = [];
  const snet = join(corpusDir, 'snet-tls-keylog');
  if (existsSync(snet)) {
    for (const f of readdirSync(snet).sort()) {
      if (!f.endsWith('.pcap')) continue;
      out.push({ name: `snet-tls-keylog/${f}`, pcap: join(snet, f), keylog: join(snet, f.replace(/\.pcap$/, '.keylog')) });
    }
  }
  for (const d of ['illustrated-tls12', 'illustrated-tls13']) {
    const dir = join(corpusDir, d);
    if (existsSync(dir)) out.push({ name: `${d}/capture.pcap`, pcap: join(dir, 'capture.pcap'), keylog: join(dir, 'keylog.txt') });
  }
  const p2h = join(corpusDir, 'pcap2har');
  if (existsSync(p2h)) {
    for (const f of readdirSync(p2h).sort()) {
      const m = /^(.*)-nosecrets\.pcapng$/.exec(f);
      if (m) out.push({ name: `pcap2har/${f}`, pcap: join(p2h, f), keylog: join(p2h, `${m[1]!}.keylog`) });
      if (f.endsWith('-dsb.pcapng')) out.push({ name: `pcap2har/${f}`, pcap: join(p2h, f), keylog: null });
    }
  }
  return out;
}

const all = cases();
const tshark = hasTshark();

describe.skipIf(all.length === 0 || !tshark)('TLS corpus: same application bytes as tshark', () => {
  it.each(all.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const keys = new KeyLog();
    if (c.keylog !== null) keys.addText(readFileSync(c.keylog, 'latin1'));
    const result = await decryptCapture(c.pcap, keys);
    expect(result.undecrypted).toEqual([]);
    expect(result.anomalies.get('tls_decrypt_failed')).toBe(0);
    const streams = tsharkTcpStreams(c.pcap);
    expect(result.conns.length).toBe(streams.length);
    for (const stream of streams) {
      const ref = tsharkFollowTls(c.pcap, c.keylog, stream);
      expect(ref.fromNode0.length + ref.fromNode1.length, 'tshark decrypted something').toBeGreaterThan(0);
      const conn = result.conns.find(
        (x) => `${x.rec.info.client.ip}:${x.rec.info.client.port}` === ref.node0 || `${x.rec.info.server.ip}:${x.rec.info.server.port}` === ref.node0,
      );
      expect(conn, `connection of tshark stream ${stream} (${ref.node0})`).toBeDefined();
      const node0IsClient = `${conn!.rec.info.client.ip}:${conn!.rec.info.client.port}` === ref.node0;
      const fromClient = node0IsClient ? ref.fromNode0 : ref.fromNode1;
      const fromServer = node0IsClient ? ref.fromNode1 : ref.fromNode0;
      // Reassembly closes a connection at the first RST and drops what the other side still had
      // in flight (firefox-tls13-facebook: the server's GOAWAY arrives after the client's RST);
      // tshark shows those bytes. Then ours must be exactly tshark's up to that point.
      const rst = conn!.rec.events.some((e) => e.kind === 'close' && e.reason === 'rst');
      for (const [label, ours, theirs] of [['client', conn!.up, fromClient], ['server', conn!.down, fromServer]] as const) {
        const same = rst ? Buffer.from(theirs).subarray(0, ours.length) : Buffer.from(theirs);
        expect(Buffer.from(ours).equals(same), `${label} bytes (${ours.length} vs tshark ${theirs.length})`).toBe(true);
        expect(ours.length, `${label} bytes decrypted`).toBeGreaterThan(rst ? theirs.length - 1024 : theirs.length - 1);
      }
    }
  });
});
