/**
 * `collect` feeds several sources (one per probe) into one worker pool: each worker keeps a
 * pipeline per source, connections are numbered per source, and the end of input flushes the
 * sources in order. Checked against in-thread pipelines fed the same frames in the same order.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCaptureFrames } from '../../src/capture/file-reader.js';
import type { CapturedFrame } from '../../src/capture/types.js';
import { createCapturePipeline } from '../../src/pipeline/replay.js';
import { PipelineStats } from '../../src/pipeline/stats.js';
import { buildStoredExchange } from '../../src/pipeline/stored-exchange.js';
import { ParallelCapture } from '../../src/workers/parallel-pipeline.js';
import { repoRoot } from '../corpus.js';
import { ensureBuilt } from '../e2e/replay-cli.js';

/** The capture's frames, copied (the reader's are valid only during its callback). */
async function framesOf(path: string): Promise<CapturedFrame[]> {
  const out: CapturedFrame[] = [];
  await readCaptureFrames(path, (f) => out.push({ ...f, buf: f.buf.slice(f.start, f.end), start: 0, end: f.end - f.start }));
  return out;
}

/** Two probes' frames interleaved in arrival order: probe A, then B shifted by 0.3 s. */
function interleaved(frames: CapturedFrame[]): { probe: 0 | 1; f: CapturedFrame }[] {
  const a = frames.map((f) => ({ probe: 0 as const, f }));
  const b = frames.map((f) => ({ probe: 1 as const, f: { ...f, ts: f.ts + 300_000 } }));
  return [...a, ...b].sort((x, y) => x.f.ts - y.f.ts || x.probe - y.probe);
}

const SALT = 'probe-test';

beforeAll(() => ensureBuilt(), 300_000);

describe('several sources on one worker pool (collect)', () => {
  it('gives the records, stored exchanges and connection ids of one in-thread pipeline per source', async () => {
    const input = interleaved(await framesOf(join(repoRoot, 'examples', 'demo.pcap')));

    const expected: string[] = [];
    const stats = new PipelineStats();
    const base = { fingerprintSalt: SALT, stats };
    const inThread = ['probe-a', 'probe-b'].map((source) =>
      createCapturePipeline({ ...base, source, onCall: (r, ex) => expected.push(JSON.stringify([r, buildStoredExchange(ex, r).connection_id])) }),
    );
    for (const { probe, f } of input) inThread[probe]!.onFrame(f);
    for (const p of inThread) p.finish({ format: 'pcap', packets: 0, bytes: 0, truncatedAt: null, stoppedAt: null, interfaces: [] }, 0);

    for (const workers of [2, 3]) {
      const got: string[] = [];
      const par = new ParallelCapture({
        workers,
        live: true,
        init: { fingerprintSalt: SALT, attributes: [], pricing: { models: [] }, storedExchanges: true, keyLog: null },
        outputs: { onCall: (r, stored) => got.push(JSON.stringify([r, stored?.connection_id])) },
      });
      const sources = [par.source('probe-a'), par.source('probe-b')];
      input.forEach(({ probe, f }, i) => {
        sources[probe]!.onFrame(f);
        if (i % 50 === 49) void par.afterChunk();
      });
      await par.finish();
      expect(got.length).toBe(42);
      expect(got).toEqual(expected);
      expect(par.stats.calls).toBe(stats.calls);
      expect(par.stats.connections).toBe(18);
    }
  }, 120_000);
});
