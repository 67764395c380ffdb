/**
 * Real captures through capture → link decode → FlowTable: every connection is closed exactly
 * once, nothing stays buffered, and the roles and byte order come out right, which real traffic
 * shows at the first bytes of each direction: a TLS handshake record (0x16 0x03) both ways, or an
 * HTTP request line from the client and a status line from the server.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../../test/corpus.js';
import { AnomalyCounter } from '../core/anomalies.js';
import { readCaptureFile } from '../capture/file-reader.js';
import { PacketDecoder } from '../capture/link.js';
import { FlowTable } from './flow-table.js';
import { closes, delivered, Dir, RecordingSinks } from './test-helpers.test-support.js';

function pcaps(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...pcaps(p));
    else if (/\.pcap(ng)?$/.test(name)) out.push(p);
  }
  return out.sort();
}

const files = corpusDir ? pcaps(corpusDir) : [];
const HTTP_METHOD = /^(GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH|CONNECT|PRI) /;

describe.skipIf(!corpusDir)('FlowTable over the corpus captures', () => {
  it.each(files.map((f) => [f.slice((corpusDir ?? '').length + 1), f]))('%s', async (_name, file) => {
    const anomalies = new AnomalyCounter();
    const sinks = new RecordingSinks();
    const table = new FlowTable(sinks.factory, anomalies);
    const decoder = new PacketDecoder(anomalies);
    let last = 0;
    await readCaptureFile(
      file,
      (pkt) => {
        last = Math.max(last, pkt.ts);
        decoder.decode(pkt, (seg) => table.onSegment(seg));
        table.advance(last);
      },
      { anomalies },
    );
    table.flush(last);
    expect(table.stats.bufferedBytes).toBe(0);
    expect(table.activeConnections).toBe(0);
    for (const rec of sinks.conns) {
      expect(closes(rec)).toHaveLength(1);
      const up = delivered(rec, Dir.ClientToServer);
      const down = delivered(rec, Dir.ServerToClient);
      if (up.length < 8 || down.length < 8 || rec.info.rolesGuessed) continue;
      if (up[0] === 0x16 && up[1] === 0x03) {
        expect(down[0]).toBe(0x16); // ServerHello follows the ClientHello
      } else {
        const head = new TextDecoder().decode(up.subarray(0, 8));
        // HTTP/1.x request first: the response starts with a status line. (h2c's "PRI *" preface
        // is answered with a binary SETTINGS frame: nothing to check as text.)
        if (HTTP_METHOD.test(head) && !head.startsWith('PRI ')) {
          expect(new TextDecoder().decode(down.subarray(0, 5))).toBe('HTTP/');
        }
      }
    }
  });
});
