import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCaptureFrames } from './file-reader.js';
import { readCaptureStream } from './stream-reader.js';
import { repoRoot } from '../../test/corpus.js';

const DEMO = join(repoRoot, 'examples', 'demo.pcap');

async function* chunksOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < bytes.length; off += size) yield bytes.slice(off, off + size);
}

async function framesOf(read: (onFrame: (f: { ts: number; start: number; end: number; buf: Uint8Array }) => void) => Promise<unknown>): Promise<string[]> {
  const out: string[] = [];
  await read((f) => out.push(`${f.ts}:${Buffer.from(f.buf.subarray(f.start, f.end)).toString('base64')}`));
  return out;
}

describe('readCaptureStream', () => {
  test('a pipe-sized stream gives the same frames as the file reader, however it is cut', async () => {
    const bytes = readFileSync(DEMO);
    const fromFile = await framesOf((f) => readCaptureFrames(DEMO, f));
    expect(fromFile.length).toBeGreaterThan(100);
    // 65536: a Linux pipe's capacity (pipe(7)); 1 and 7: every record split everywhere.
    for (const size of [65_536, 4_096, 7]) {
      const afterChunk: number[] = [];
      const fromStream = await framesOf((f) => readCaptureStream(chunksOf(bytes, size), f, { name: 'demo', afterChunk: () => void afterChunk.push(1) }));
      expect(fromStream, `chunks of ${size}`).toEqual(fromFile);
      expect(afterChunk.length).toBe(Math.ceil(bytes.length / size));
    }
  });

  test('a stream that is not a capture is one clear error', async () => {
    await expect(readCaptureStream(chunksOf(new TextEncoder().encode('hello, not a pcap'), 5), () => undefined, { name: 'tcpdump -i lo' })).rejects.toThrow(/tcpdump -i lo/);
    await expect(readCaptureStream(chunksOf(new Uint8Array(0), 5), () => undefined, { name: 'tcpdump -i lo' })).rejects.toThrow('tcpdump -i lo is empty');
  });
});
