/**
 * Every pcap/pcapng of the third-party corpus read end to end (file reader → packet decoder) and
 * checked against what TShark reports for the same file (test/fixtures/capture-expect.json,
 * computed once with TShark so CI does not need it): packet count, first and last timestamps,
 * captured bytes, and the TCP segments and payload bytes found under the link layer.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import { corpusDir, repoRoot } from '../../test/corpus.js';
import { readCaptureFile } from './file-reader.js';
import { assertSupportedLinkType, PacketDecoder } from './link.js';

interface Expect {
  format: 'pcap' | 'pcapng';
  packets: number;
  firstTs: number;
  lastTs: number;
  capturedBytes: number;
  tcpSegments: number;
  tcpPayloadBytes: number;
}

const expectations = (
  JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/capture-expect.json'), 'utf8')) as { files: Record<string, Expect> }
).files;

describe.skipIf(!corpusDir)('corpus captures match TShark', () => {
  for (const [rel, want] of Object.entries(expectations)) {
    const path = join(corpusDir ?? '', rel);
    it.skipIf(!existsSync(path))(rel, async () => {
      const anomalies = new AnomalyCounter();
      const decoder = new PacketDecoder(anomalies);
      let first: number | null = null;
      let last = 0;
      let capturedBytes = 0;
      let tcpSegments = 0;
      let tcpPayloadBytes = 0;
      const secrets: number[] = [];
      const summary = await readCaptureFile(
        path,
        (p) => {
          first ??= p.ts;
          last = p.ts;
          capturedBytes += p.data.length;
          decoder.decode(p, (s) => {
            tcpSegments++;
            tcpPayloadBytes += s.payload.length;
          });
        },
        { anomalies, onSecrets: (type) => secrets.push(type), onInterface: (i) => assertSupportedLinkType(i.linkType) },
      );
      expect({
        format: summary.format,
        packets: summary.packets,
        firstTs: first,
        lastTs: last,
        capturedBytes,
        tcpSegments,
        tcpPayloadBytes,
      }).toEqual(want);
      expect(summary.truncatedAt).toBeNull();
      expect(anomalies.entries()).toEqual([]);
      // pcap2har ships each browser capture with and without its Decryption Secrets Block.
      if (rel.endsWith('-dsb.pcapng')) expect(secrets).toContain(0x544c534b);
      if (rel.endsWith('-nosecrets.pcapng')) expect(secrets).toEqual([]);
    });
  }
});
