/**
 * The h2c captures under the corpus (cleartext HTTP/2 with prior knowledge on port 8097) give the
 * same requests as tshark: method, authority, path and status of every stream.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { headerValue } from '../../src/http/types.js';
import { corpusDir } from '../corpus.js';
import { exchangesOf } from './capture-replay.js';

const tshark = (() => {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const FILES = ['h2c-prior-knowledge.pcap', 'h2c-prior-knowledge.pcapng', 'http1-mixed-traffic.pcapng'];

/**
 * tshark's view: one row per packet with its frames' stream ids and types, the header count of
 * each HEADERS frame, and the header names and values of all of them in order.
 */
function tsharkRequests(file: string): string[] {
  const SEP = '\u0001';
  const out = execFileSync(
    'tshark',
    ['-r', file, '-d', 'tcp.port==8097,http2', '-Y', 'http2.type==1', '-T', 'fields', '-E', `aggregator=${SEP}`,
      '-e', 'tcp.stream', '-e', 'http2.streamid', '-e', 'http2.type', '-e', 'http2.header.count', '-e', 'http2.header.name', '-e', 'http2.header.value'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const streams = new Map<string, Record<string, string>>();
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [conn, ids, types, counts, names, values] = line.split('\t').map((f) => f.split(SEP));
    let h = 0;
    let block = 0;
    for (let i = 0; i < types!.length; i++) {
      if (types![i] !== '1') continue;
      const n = Number(counts![block++]);
      const key = `${conn![0]}/${ids![i]}`;
      const s = streams.get(key) ?? {};
      for (let k = 0; k < n; k++, h++) s[names![h]!] ??= values![h]!;
      streams.set(key, s);
    }
  }
  return [...streams.values()].map((s) => `${s[':method']} ${s[':authority']} ${s[':path']} ${s[':status']}`).sort();
}

describe.skipIf(!corpusDir || !tshark)('h2c captures against tshark', () => {
  for (const name of FILES) {
    it(`${name}: same requests as tshark`, async () => {
      const file = join(corpusDir!, 'pcap_file_ex', name);
      if (!existsSync(file)) return;
      const want = tsharkRequests(file);
      expect(want.length).toBeGreaterThan(10);
      const { exchanges, anomalies } = await exchangesOf(file);
      const got = exchanges
        .filter((e) => e.request.version === 'HTTP/2')
        .map((e) => `${e.request.method} ${headerValue(e.request.headers, 'host')} ${e.request.target} ${e.response?.status}`)
        .sort();
      expect(got).toEqual(want);
      expect(anomalies.entries().filter(([n]) => n.startsWith('h2_'))).toEqual([]);
    });
  }
});
