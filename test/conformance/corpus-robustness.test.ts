/**
 * Untrusted input (issue 2): every capture in the corpus, and truncated, reordered, duplicated and
 * bit-flipped variants of each, replays without an exception. The only error allowed is the clear
 * CaptureError for a file that is no longer a capture (a flipped magic number).
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureError, CaptureParser } from '../../src/capture/file-reader.js';
import { replayFile } from '../../src/pipeline/replay.js';
import { pcapBytes, type PcapRecord } from '../gen/pcap-writer.js';
import { Rng } from '../gen/rng.js';
import { corpusDir } from '../corpus.js';

function captures(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...captures(p));
    else if (/\.(pcap|pcapng)$/.test(name) && statSync(p).size < 8_000_000) out.push(p);
  }
  return out;
}

/** Packets of a capture, all on its first interface's link type (variants are written as pcap). */
function packetsOf(bytes: Uint8Array): { linkType: number; packets: PcapRecord[] } {
  const packets: PcapRecord[] = [];
  let linkType = 1;
  const parser = new CaptureParser({
    onPacket: (p) => {
      linkType = p.linkType;
      packets.push({ ts: p.ts, data: p.data.slice(), origLen: p.origLen });
    },
  });
  parser.push(bytes);
  parser.end();
  return { linkType, packets };
}

async function replaySurvives(path: string): Promise<number> {
  let calls = 0;
  try {
    await replayFile(path, { source: 't', fingerprintSalt: 's', onCall: () => calls++ });
  } catch (err) {
    if (!(err instanceof CaptureError)) throw err;
  }
  return calls;
}

describe.skipIf(!corpusDir)('every corpus capture and its damaged variants replay without an exception', () => {
  const files = corpusDir ? captures(corpusDir) : [];
  const tmp = mkdtempSync(join(tmpdir(), 'llmtap-robust-'));

  it('finds the corpus captures', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  for (const file of files) {
    const name = file.slice((corpusDir ?? '').length + 1);
    it(name, async () => {
      const bytes = readFileSync(file);
      await replaySurvives(file);
      const r = new Rng(bytes.length);
      const rng = (): number => r.u32() / 2 ** 32;
      const write = (suffix: string, data: Uint8Array): string => {
        const p = join(tmp, `${name.replace(/\W/g, '_')}.${suffix}`);
        writeFileSync(p, data);
        return p;
      };
      // Truncated at several points, including inside the first records.
      for (const frac of [0.1, 0.37, 0.5, 0.83, 0.99]) {
        await replaySurvives(write(`cut${frac}`, bytes.subarray(0, Math.floor(bytes.length * frac))));
      }
      // Bit flips anywhere in the file (header included): 1 in 500 bytes.
      for (let round = 0; round < 3; round++) {
        const flipped = Uint8Array.from(bytes);
        for (let i = 0; i < Math.max(1, flipped.length / 500); i++) {
          const at = Math.floor(rng() * flipped.length);
          flipped[at]! ^= 1 << Math.floor(rng() * 8);
        }
        await replaySurvives(write(`flip${round}`, flipped));
      }
      const { linkType, packets } = packetsOf(bytes);
      if (packets.length < 2) return;
      // Reordered: adjacent swaps and a shuffle; duplicated: every packet twice, then a random third.
      const swapped = packets.slice();
      for (let i = 0; i + 1 < swapped.length; i += 2) [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
      const shuffled = packets.slice().sort(() => rng() - 0.5);
      const doubled = packets.flatMap((p) => (rng() < 0.3 ? [p, p, p] : [p, p]));
      const fmt = { kind: 'pcap' as const, linkType, snaplen: 262_144 };
      const base = await replaySurvives(write('plain', pcapBytes(packets, fmt)));
      await replaySurvives(write('shuffled', pcapBytes(shuffled, fmt)));
      // Exact duplicates are retransmissions: TCP reassembly drops them and the calls are the same.
      expect(await replaySurvives(write('doubled', pcapBytes(doubled, fmt)))).toBe(base);
      // Adjacent swaps are reordering TCP repairs: the same calls again.
      expect(await replaySurvives(write('swapped', pcapBytes(swapped, fmt)))).toBe(base);
    });
  }
});
