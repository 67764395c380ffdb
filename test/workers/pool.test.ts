/**
 * The worker pool's failure and backpressure behaviour, with stand-in worker scripts (a worker
 * that throws, one that dies, one that answers slowly) so each case is certain to happen.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ethernet, ipv4, tcp } from '../../src/capture/test-builders.test-support.js';
import type { CapturedFrame } from '../../src/capture/types.js';
import { ParallelCapture, type ParallelOptions } from '../../src/workers/parallel-pipeline.js';
import { replayFileParallel } from '../../src/workers/parallel-replay.js';
import { repoRoot } from '../corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'llmtap-pool-'));

/** A stand-in worker script: `onMessage` is the body of its message handler (m: the message). */
function script(name: string, onMessage: string, atStart = ''): URL {
  const path = join(dir, `${name}.mjs`);
  writeFileSync(
    path,
    `import { parentPort } from 'node:worker_threads';
${atStart}
const stats = { tcpSegments: 0, exchanges: 0, calls: 0, otherExchanges: 0, connections: 0, inFlight: 0, anomalies: [] };
const reply = (m) => {
  parentPort.postMessage(m.type === 'finish'
    ? { type: 'done', round: -1, through: Infinity, emissions: [], stats, buffers: [] }
    : { type: 'done', round: m.round, through: m.through, emissions: [], stats, buffers: [] });
  if (m.type === 'finish') parentPort.close();
};
parentPort.on('message', (m) => { ${onMessage} });
`,
  );
  return pathToFileURL(path);
}

const options = (entry: URL, o: Partial<ParallelOptions> = {}): ParallelOptions => ({
  workers: 2,
  entry,
  init: { fingerprintSalt: 's', attributes: [], pricing: { models: [] }, storedExchanges: false, keyLog: null },
  outputs: { onCall: () => undefined },
  ...o,
});

/** Full-size frames of `flows` connections, as the capture reader hands them over. */
function frames(n: number, flows = 16): CapturedFrame[] {
  return Array.from({ length: n }, (_, i) => {
    const data = ethernet(0x0800, ipv4({ src: [10, 0, 0, 1], dst: [10, 0, 0, 2] }, tcp({ sport: 40000 + (i % flows), dport: 80, seq: i * 1400, flags: 0x18, payload: new Uint8Array(1400) })));
    return { ts: 1_000_000 + i * 100, linkType: 1, iface: 0, buf: data, start: 0, end: data.length, origLen: data.length };
  });
}

describe('worker pool', () => {
  it('a worker that throws stops the replay with an error naming it, instead of hanging', async () => {
    const entry = script('throws', `throw new Error('decoder bug in worker');`);
    await expect(replayFileParallel(join(repoRoot, 'examples', 'demo.pcap'), { ...options(entry), source: 'demo' })).rejects.toThrow(/worker [12] of 2 failed: decoder bug in worker/);
  }, 30_000);

  it('a worker that dies before the end of input is an error too', async () => {
    const entry = script('dies', `process.exit(3);`);
    await expect(replayFileParallel(join(repoRoot, 'examples', 'demo.pcap'), { ...options(entry), source: 'demo' })).rejects.toThrow(/worker [12] of 2 (exited \(code 3\)|failed)/);
  }, 30_000);

  it('a file waits for the workers: rounds in flight stay under the cap however fast frames come', async () => {
    const entry = script('slow', `setTimeout(() => reply(m), 5);`);
    const cap = 3;
    const p = new ParallelCapture(options(entry, { maxInFlight: cap, roundBytes: 16 * 1024 }));
    const src = p.source('slow');
    let most = 0;
    const all = frames(3000);
    // A "read" of 100 frames (~150 KB, ~10 rounds) between waits, as the file reader does.
    for (let i = 0; i < all.length; i++) {
      src.onFrame(all[i]!);
      most = Math.max(most, p.inFlight);
      if (i % 100 === 99) await p.afterChunk();
    }
    await p.finish();
    // The cap, plus the rounds one read posts before the reader waits.
    expect(most).toBeLessThanOrEqual(cap + Math.ceil((100 * 1454) / (16 * 1024)));
    expect(p.stats.packets).toBe(all.length);
    expect(p.stats.pipelineDrops).toBe(0);
  }, 60_000);

  it('a live source does not wait: a full queue drops the round’s packets and counts them', async () => {
    const entry = script('stuck', `setTimeout(() => reply(m), 200);`);
    const p = new ParallelCapture(options(entry, { maxInFlight: 2, roundBytes: 16 * 1024, live: true }));
    const src = p.source('live');
    const all = frames(2000);
    let busyAfterRead = 0;
    for (let i = 0; i < all.length; i++) {
      src.onFrame(all[i]!);
      if (i % 100 === 99) {
        await p.afterChunk();
        // The read goes on while the workers are still at the cap: nothing waited for room.
        if (p.inFlight >= 2) busyAfterRead++;
      }
    }
    await p.finish();
    expect(p.stats.pipelineDrops).toBeGreaterThan(0);
    expect(p.stats.pipelineDrops).toBeLessThan(all.length);
    expect(p.stats.anomalies.get('pipeline_queue_full')).toBe(p.stats.pipelineDrops);
    expect(busyAfterRead).toBeGreaterThan(0);
  }, 60_000);
});
