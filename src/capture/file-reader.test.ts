import { mkdtempSync, rmSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import { openCaptureFile, pcapBytes } from '../../test/gen/pcap-writer.js';
import { CaptureError, READ_CHUNK, readCaptureFile, readCaptureFrames } from './file-reader.js';
import { assertSupportedLinkType } from './link.js';
import { concat, dsb, idb, shb, text } from './test-builders.test-support.js';

const dir = mkdtempSync(join(tmpdir(), 'llmtap-capture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

describe('readCaptureFile', () => {
  it('streams a file larger than its read buffer, records straddling every read boundary', async () => {
    // Odd-sized frames so records fall across the 4 MiB read boundaries at varying offsets.
    const path = join(dir, 'big.pcap');
    const w = openCaptureFile(path, { kind: 'pcap', linkType: 1 });
    const n = 9000;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const data = new Uint8Array(600 + ((i * 37) % 1400)).fill(i & 0xff);
      sum += data.length;
      w.writePacket({ ts: 1_700_000_000_000_000 + i, data });
    }
    w.close();
    let count = 0;
    let bytes = 0;
    let ordered = true;
    let fillOk = true;
    const progress: number[] = [];
    const summary = await readCaptureFile(
      path,
      (p) => {
        if (p.ts !== 1_700_000_000_000_000 + count) ordered = false;
        if (p.data[0] !== (count & 0xff) || p.data[p.data.length - 1] !== (count & 0xff)) fillOk = false;
        count++;
        bytes += p.data.length;
      },
      { onProgress: (done, total) => progress.push(done / total) },
    );
    expect(summary.bytes).toBeGreaterThan(2 * READ_CHUNK);
    expect(summary).toMatchObject({ format: 'pcap', packets: n, truncatedAt: null, stoppedAt: null });
    expect([count, bytes, ordered, fillOk]).toEqual([n, sum, true, true]);
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress[progress.length - 1]).toBe(1);
  });

  it('readCaptureFrames hands the same packets as frames (the replay path), across read boundaries', async () => {
    const path = join(dir, 'frames.pcap');
    const w = openCaptureFile(path, { kind: 'pcap', linkType: 1 });
    const n = 9000;
    for (let i = 0; i < n; i++) w.writePacket({ ts: 1_000_000 + i, data: new Uint8Array(700 + ((i * 53) % 1300)).fill(i & 0xff) });
    w.close();
    const viaPackets: string[] = [];
    const viaFrames: string[] = [];
    const one = await readCaptureFile(path, (p) => viaPackets.push(`${p.ts} ${p.origLen} ${p.data.length} ${p.data[0]} ${p.data[p.data.length - 1]}`));
    const two = await readCaptureFrames(path, (f) => viaFrames.push(`${f.ts} ${f.origLen} ${f.end - f.start} ${f.buf[f.start]} ${f.buf[f.end - 1]}`));
    expect(two).toEqual(one);
    expect(one.bytes).toBeGreaterThan(2 * READ_CHUNK);
    expect(viaFrames).toHaveLength(n);
    expect(viaFrames).toEqual(viaPackets);
  });

  it('a truncated file is not an error: every complete packet, and where the partial one began', async () => {
    const whole = pcapBytes([
      { ts: 1_000_000, data: text('one') },
      { ts: 2_000_000, data: text('two') },
    ]);
    const path = file('cut.pcap', whole.subarray(0, whole.length - 2));
    const got: string[] = [];
    const summary = await readCaptureFile(path, (p) => got.push(Buffer.from(p.data).toString()));
    expect(got).toEqual(['one']);
    expect(summary.truncatedAt).toBe(24 + 16 + 3);
  });

  it('hands pcapng decryption secrets to onSecrets', async () => {
    const path = file('dsb.pcapng', concat(shb(true), dsb(true, 0x544c534b, text('CLIENT_RANDOM aa bb\n')), idb(true, 1)));
    const secrets: string[] = [];
    const summary = await readCaptureFile(path, () => undefined, { onSecrets: (_t, d) => secrets.push(Buffer.from(d).toString()) });
    expect(secrets).toEqual(['CLIENT_RANDOM aa bb\n']);
    expect(summary.interfaces).toEqual([{ linkType: 1, tsResolution: 1e6, snapLen: 0 }]);
  });

  it('counts anomalies into the sink it is given', async () => {
    const bytes = concat(shb(true), idb(true, 1));
    const anomalies = new AnomalyCounter();
    await readCaptureFile(file('mismatch.pcapng', bytes.map((b, i) => (i === bytes.length - 4 ? 0 : b))), () => undefined, { anomalies });
    expect(anomalies.get('pcapng_block_length_mismatch')).toBe(1);
  });

  it('an interface check that throws aborts the read with its message', async () => {
    const path = file('radiotap.pcap', pcapBytes([{ ts: 1, data: text('x') }], { kind: 'pcap', linkType: 127 }));
    await expect(readCaptureFile(path, () => undefined, { onInterface: (i) => assertSupportedLinkType(i.linkType) })).rejects.toThrow(
      new CaptureError('unsupported link type 127'),
    );
  });

  describe('one-line errors', () => {
    it('missing file', async () => {
      const p = join(dir, 'nope.pcap');
      await expect(readCaptureFile(p, () => undefined)).rejects.toThrow(new CaptureError(`no such file: ${p}`));
    });

    it('empty file', async () => {
      const p = file('empty.pcap', new Uint8Array(0));
      await expect(readCaptureFile(p, () => undefined)).rejects.toThrow(new CaptureError(`${p} is empty`));
    });

    it('not a capture file', async () => {
      const p = file('notes.txt', text('hello world'));
      await expect(readCaptureFile(p, () => undefined)).rejects.toThrow(new CaptureError(`${p} is not a pcap or pcapng file (starts with 0x68656c6c)`));
    });

    it('a directory', async () => {
      const p = join(dir, 'adir');
      mkdirSync(p);
      await expect(readCaptureFile(p, () => undefined)).rejects.toThrow(CaptureError);
    });

    it.skipIf(process.getuid?.() === 0)('unreadable file', async () => {
      const p = file('secret.pcap', pcapBytes([]));
      chmodSync(p, 0o000);
      await expect(readCaptureFile(p, () => undefined)).rejects.toThrow(new CaptureError(`cannot read ${p}: permission denied`));
    });
  });
});
