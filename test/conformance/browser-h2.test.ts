/**
 * Browser HTTP/2 over TLS against tshark (issue 7, "How we will know"): Chrome's and Firefox's
 * captures in the pcap2har corpus, with their secrets embedded in the pcapng (Decryption Secrets
 * Blocks) and with the same secrets as a separate key log, go through the real replay pipeline
 * (`replayFile`: sniffing, TLS by ALPN, HTTP/2) and must yield every request tshark shows, with
 * the same method, authority, path and status, and nothing more.
 *
 * Skipped when tshark or the corpus is absent (a fresh clone has no corpus).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { headerValue, type HttpExchange } from '../../src/http/types.js';
import { replayFile } from '../../src/pipeline/replay.js';
import { PipelineStats } from '../../src/pipeline/stats.js';
import { KeyLog } from '../../src/tls/index.js';
import { corpusDir } from '../corpus.js';
import { hasTshark } from '../tls/decrypt-capture.js';

interface Case {
  pcap: string;
  /** Key log beside the capture, or null when the pcapng carries its secrets. */
  keylog: string | null;
}

const CASES: Case[] = [
  { pcap: 'chrome-http2-tls13-dsb.pcapng', keylog: null },
  { pcap: 'chrome-http2-tls13-nosecrets.pcapng', keylog: 'chrome-http2-tls13.keylog' },
  { pcap: 'firefox-tls13-facebook-dsb.pcapng', keylog: null },
  { pcap: 'firefox-tls13-facebook-nosecrets.pcapng', keylog: 'firefox-tls13-facebook.keylog' },
];

const dir = corpusDir === null ? null : join(corpusDir, 'pcap2har');
const present = dir !== null && CASES.every((c) => existsSync(join(dir, c.pcap)) && (c.keylog === null || existsSync(join(dir, c.keylog))));
const tshark = hasTshark();
const skip = !present ? 'no pcap2har corpus' : !tshark ? 'no tshark' : null;
if (skip !== null) process.stderr.write(`browser-h2 conformance skipped: ${skip}\n`);

/** tshark on the two captures takes ~1 s each; a minute means it hangs. */
const TSHARK_TIMEOUT_MS = 60_000;

/**
 * tshark's requests: one row per packet holding a HEADERS frame, with each frame's stream id and
 * type, the header count of each HEADERS frame, and all their header names and values in order
 * (fields of repeated occurrences joined by an aggregator that cannot occur in a header). The
 * firefox capture decrypts only with out-of-order reassembly (docs/design-notes.md, TLS).
 */
function tsharkRequests(pcap: string, keylog: string | null): string[] {
  const SEP = '\u0001';
  const args = ['-r', pcap, '-o', 'tcp.reassemble_out_of_order:TRUE'];
  if (keylog !== null) args.push('-o', `tls.keylog_file:${keylog}`);
  args.push(
    '-Y', 'http2.type==1', '-T', 'fields', '-E', `aggregator=${SEP}`,
    '-e', 'tcp.stream', '-e', 'http2.streamid', '-e', 'http2.type', '-e', 'http2.header.count', '-e', 'http2.header.name', '-e', 'http2.header.value',
  );
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: TSHARK_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
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
      // The request's HEADERS first, then the response's: the first value of a name is the one.
      for (let k = 0; k < n; k++, h++) s[names![h]!] ??= values![h]!;
      streams.set(key, s);
    }
  }
  return [...streams.values()].map((s) => `${s[':method']} ${s[':authority']} ${s[':path']} ${s[':status']}`).sort();
}

/** Every exchange the replay pipeline makes of the capture (LLM calls or not, as `--exchanges`). */
async function replayedRequests(pcap: string, keylog: string | null): Promise<{ requests: string[]; stats: PipelineStats }> {
  const stats = new PipelineStats();
  const exchanges: HttpExchange[] = [];
  const opts = {
    source: 'browser-h2',
    stats,
    fingerprintSalt: 'browser-h2',
    onCall: (_r: unknown, ex: HttpExchange) => void exchanges.push(ex),
    onOtherExchange: (_r: unknown, ex: HttpExchange) => void exchanges.push(ex),
  };
  if (keylog !== null) {
    const tlsKeys = new KeyLog({ anomalies: stats.anomalies });
    tlsKeys.addText(readFileSync(keylog, 'latin1'));
    await replayFile(pcap, { ...opts, tlsKeys });
  } else {
    await replayFile(pcap, opts);
  }
  const requests = exchanges.map(
    (e) => `${e.request.method} ${headerValue(e.request.headers, 'host')} ${e.request.target} ${e.response?.status ?? 'undefined'}`,
  );
  return { requests: requests.sort(), stats };
}

describe.skipIf(skip !== null)('browser HTTP/2 over TLS: same requests as tshark', () => {
  it.each(CASES.map((c) => [c.pcap, c] as const))('%s', async (_name, c) => {
    const pcap = join(dir!, c.pcap);
    const keylog = c.keylog === null ? null : join(dir!, c.keylog);
    const want = tsharkRequests(pcap, keylog);
    // The captures hold dozens of requests: a tshark that decrypted nothing must not pass.
    expect(want.length, 'requests tshark decoded').toBeGreaterThan(5);
    const { requests, stats } = await replayedRequests(pcap, keylog);
    expect(requests).toEqual(want);
    // All of it was read: nothing left undecrypted, no header state lost. (Firefox's capture
    // leaves one stream without its end, counted as h2_stream_unfinished; it still yields its
    // request, as tshark does.)
    expect([...stats.undecryptedTls.keys()]).toEqual([]);
    const lost = (n: string): boolean => n.startsWith('h2_hpack_') || n === 'h2_headers_unknown' || n === 'h2_bad_frame' || n.startsWith('tls_');
    expect(stats.anomalies.entries().filter(([n]) => lost(n))).toEqual([]);
  });

  it('without the key log the same capture gives no request and names its servers', async () => {
    const c = CASES[1]!;
    const { requests, stats } = await replayedRequests(join(dir!, c.pcap), null);
    expect(requests).toEqual([]);
    const servers = [...stats.undecryptedTls.entries()];
    expect(servers.length).toBeGreaterThan(0);
    for (const [, e] of servers) expect(Object.keys(e.reasons)).toEqual(['no_keys']);
    expect(servers.map(([name]) => name)).toContain('ajax.googleapis.com');
  });
});
