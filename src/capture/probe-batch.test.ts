import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import { PacketDecoder } from './link.js';
import {
  checkProbeBatch,
  PROBE_BATCH_HEADER,
  PROBE_MAX_BATCH_BYTES,
  PROBE_MAX_FRAME,
  PROBE_MAX_PACKETS,
  PROBE_PACKET_HEADER,
  ProbeBatchEncoder,
  readProbeBatch,
  uuidBytes,
  uuidText,
} from './probe-batch.js';
import { ethernet, ipv4, mplsStack, tcp, text } from './test-builders.test-support.js';
import { LinkType, TcpFlag, type CapturedFrame } from './types.js';

const PROBE = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const ID = uuidBytes(PROBE)!;

interface Got {
  ts: number;
  origLen: number;
  linkType: number;
  data: number[];
}

function read(b: Uint8Array): { header: ReturnType<typeof readProbeBatch>; frames: Got[]; anomalies: [string, number][] } {
  const anomalies = new AnomalyCounter();
  const frames: Got[] = [];
  const header = readProbeBatch(b, anomalies, (f: CapturedFrame) =>
    frames.push({ ts: f.ts, origLen: f.origLen, linkType: f.linkType, data: [...f.buf.subarray(f.start, f.end)] }),
  );
  return { header, frames, anomalies: anomalies.entries() };
}

/** A batch written by hand from the format's description (not by the encoder under test). */
function handBatch(o: { version?: number; count?: number; packets: { sec: number; usec: number; data: number[]; caplen?: number; len?: number }[] }): Uint8Array {
  const out: number[] = [];
  const u16 = (v: number): void => void out.push(v >>> 8, v & 0xff);
  const u32 = (v: number): void => void out.push(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  u16(o.version ?? 2);
  u16(o.count ?? o.packets.length);
  u32(0xa1b2c3d4);
  out.push(...ID);
  for (const p of o.packets) {
    u16(p.data.length);
    u32(p.sec);
    u32(p.usec);
    u32(p.caplen ?? p.data.length);
    u32(p.len ?? p.caplen ?? p.data.length);
    out.push(...p.data);
  }
  return Uint8Array.from(out);
}

const threePackets = handBatch({
  packets: [
    { sec: 1_700_000_000, usec: 1, data: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 8, 0, 0x45] },
    { sec: 1_700_000_000, usec: 999_999, data: [], len: 60 },
    { sec: 1_700_000_001, usec: 0, data: [9, 9, 9], caplen: 1500, len: 1514 },
  ],
});

describe('probe batch parser', () => {
  it('reads the header and every packet of a hand-written batch', () => {
    const r = read(threePackets);
    expect(r.anomalies).toEqual([]);
    expect(r.header).toEqual({ version: 2, count: 3, keybit: 0xa1b2c3d4, probeId: PROBE });
    expect(r.frames).toEqual([
      { ts: 1_700_000_000_000_001, origLen: 15, linkType: LinkType.ETHERNET, data: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 8, 0, 0x45] },
      { ts: 1_700_000_000_999_999, origLen: 60, linkType: LinkType.ETHERNET, data: [] },
      { ts: 1_700_000_001_000_000, origLen: 1514, linkType: LinkType.ETHERNET, data: [9, 9, 9] },
    ]);
  });

  it('takes an empty batch (cloud-probe flushes one at exit) and delivers nothing', () => {
    expect(read(handBatch({ packets: [] }))).toMatchObject({ header: { count: 0, probeId: PROBE }, frames: [], anomalies: [] });
  });

  it('drops the whole batch at every truncation offset, delivering nothing', () => {
    for (let cut = 0; cut < threePackets.length; cut++) {
      const r = read(threePackets.subarray(0, cut));
      expect(r.header, `cut at ${cut}`).toBeNull();
      expect(r.frames, `cut at ${cut}`).toEqual([]);
      // Ending exactly between packets is a count the bytes do not hold; anywhere else, a cut packet.
      const boundaries = [PROBE_BATCH_HEADER, PROBE_BATCH_HEADER + PROBE_PACKET_HEADER + 15, PROBE_BATCH_HEADER + 2 * PROBE_PACKET_HEADER + 15];
      const boundary = boundaries.includes(cut);
      expect(r.anomalies, `cut at ${cut}`).toEqual([[boundary ? 'probe_count_mismatch' : 'probe_batch_truncated', 1]]);
    }
  });

  it.each([
    ['a version-1 (8-byte header) batch', handBatch({ version: 1, packets: [] }), 'probe_bad_version'],
    ['a count larger than the packets', handBatch({ count: 4, packets: [{ sec: 1, usec: 0, data: [1] }] }), 'probe_count_mismatch'],
    ['a count smaller than the packets', handBatch({ count: 1, packets: [{ sec: 1, usec: 0, data: [1] }, { sec: 1, usec: 0, data: [2] }] }), 'probe_count_mismatch'],
    ['a byte after the counted packets', Uint8Array.from([...handBatch({ packets: [{ sec: 1, usec: 0, data: [1] }] }), 0]), 'probe_count_mismatch'],
    ['data longer than caplen', handBatch({ packets: [{ sec: 1, usec: 0, data: [1, 2], caplen: 1 }] }), 'probe_bad_caplen'],
    ['caplen longer than the wire length', handBatch({ packets: [{ sec: 1, usec: 0, data: [1, 2], caplen: 10, len: 9 }] }), 'probe_bad_caplen'],
    ['microseconds of a whole second', handBatch({ packets: [{ sec: 1, usec: 1_000_000, data: [1] }] }), 'probe_bad_timestamp'],
    ['more than the size cap', new Uint8Array(PROBE_MAX_BATCH_BYTES + 1), 'probe_batch_too_large'],
  ])('drops %s whole and names why', (_name, batch, problem) => {
    const r = read(batch);
    expect(r).toEqual({ header: null, frames: [], anomalies: [[problem, 1]] });
  });

  it('never throws on garbage, and what it accepts adds up to the batch size', () => {
    const header = fc.record({ count: fc.integer({ min: 0, max: 4 }), body: fc.uint8Array({ maxLength: 200 }) }).map(({ count, body }) => {
      const b = new Uint8Array(PROBE_BATCH_HEADER + body.length);
      b[1] = 2;
      b[3] = count;
      b.set(body, PROBE_BATCH_HEADER);
      return b;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), header), (b) => {
        const r = read(b);
        if (r.header === null) {
          expect(r.frames).toEqual([]);
          expect(r.anomalies).toHaveLength(1);
        } else {
          const used = PROBE_BATCH_HEADER + r.frames.reduce((a, f) => a + PROBE_PACKET_HEADER + f.data.length, 0);
          expect(used).toBe(b.length);
          expect(r.frames).toHaveLength(r.header.count);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('hands over a VLAN-tagged, MPLS-labelled frame (as cloud-probe sends) that decodes to its TCP segment', () => {
    const seg = tcp({ sport: 40000, dport: 8000, seq: 1, flags: TcpFlag.PSH | TcpFlag.ACK, payload: text('POST /v1/chat/completions HTTP/1.1\r\n') });
    const frame = ethernet(0x8847, mplsStack([77], ipv4({ src: [10, 0, 0, 1], dst: [10, 0, 0, 2] }, seg)), { tags: [[0x8100, 5]] });
    const batch = handBatch({ packets: [{ sec: 1_700_000_000, usec: 5, data: [...frame] }] });
    const anomalies = new AnomalyCounter();
    const decoder = new PacketDecoder(anomalies);
    const got: string[] = [];
    readProbeBatch(batch, anomalies, (f) => decoder.decodeFrame(f, (s) => got.push(`${s.ts} ${s.srcIp}:${s.srcPort}>${s.dstIp}:${s.dstPort} ${Buffer.from(s.payload).toString('latin1')}`)));
    expect(anomalies.entries()).toEqual([]);
    expect(got).toEqual(['1700000000000005 10.0.0.1:40000>10.0.0.2:8000 POST /v1/chat/completions HTTP/1.1\r\n']);
  });
});

describe('probe batch encoder', () => {
  it('writes what the parser reads back, with a synthesised header before the bytes', () => {
    const enc = new ProbeBatchEncoder(ID, 7);
    const src = Uint8Array.from([0, 0, 9, 8, 7, 0]);
    expect(enc.add(1_700_000_000_123_456, null, src, 2, 5, 60)).toBeNull();
    expect(enc.add(1_700_000_001_000_000, Uint8Array.from([0xee, 0xff]), src, 2, 4, 2)).toBeNull();
    const batch = enc.seal()!;
    expect(enc.seal()).toBeNull();
    expect(read(batch)).toEqual({
      header: { version: 2, count: 2, keybit: 7, probeId: PROBE },
      frames: [
        { ts: 1_700_000_000_123_456, origLen: 60, linkType: LinkType.ETHERNET, data: [9, 8, 7] },
        { ts: 1_700_000_001_000_000, origLen: 4, linkType: LinkType.ETHERNET, data: [0xee, 0xff, 9, 8] },
      ],
      anomalies: [],
    });
  });

  it('cuts a frame beyond 65,535 bytes, keeping caplen and wire length, and counts it', () => {
    const enc = new ProbeBatchEncoder(ID);
    const big = new Uint8Array(70_000).fill(3);
    enc.add(1_000_000, null, big, 0, big.length, big.length);
    const batch = enc.seal()!;
    const r = read(batch);
    expect(enc.framesCut).toBe(1);
    expect(r.frames[0]!.data.length).toBe(PROBE_MAX_FRAME);
    expect(r.frames[0]!.origLen).toBe(70_000);
    // caplen (bytes 10..14 of the packet header) says what was captured, not what fits.
    expect(new DataView(batch.buffer, batch.byteOffset).getUint32(PROBE_BATCH_HEADER + 10)).toBe(70_000);
  });

  it('starts a new batch at the byte target and at 65,535 packets, losing no frame', () => {
    const target = PROBE_BATCH_HEADER + PROBE_PACKET_HEADER + PROBE_MAX_FRAME + 100;
    const bySize = new ProbeBatchEncoder(ID, 0, target);
    const frame = new Uint8Array(40_000);
    expect(bySize.add(1, null, frame, 0, frame.length, frame.length)).toBeNull();
    const first = bySize.add(2, null, frame, 0, frame.length, frame.length);
    expect(first).not.toBeNull();
    expect(first!.length).toBeLessThanOrEqual(target);
    expect(read(first!).frames.map((f) => f.ts)).toEqual([1]);
    expect(read(bySize.seal()!).frames.map((f) => f.ts)).toEqual([2]);

    const byCount = new ProbeBatchEncoder(ID, 0, 2 * 1024 * 1024);
    const tiny = new Uint8Array(1);
    const sealed: Uint8Array[] = [];
    for (let i = 0; i < PROBE_MAX_PACKETS + 2; i++) {
      const s = byCount.add(i, null, tiny, 0, 1, 1);
      if (s !== null) sealed.push(s);
    }
    sealed.push(byCount.seal()!);
    expect(sealed.map((b) => checkProbeBatch(b)).map((c) => (c.ok ? c.header.count : c.problem))).toEqual([PROBE_MAX_PACKETS, 2]);
  });
});

describe('probe uuid', () => {
  it('round-trips the canonical text and refuses what is not a UUID', () => {
    expect(uuidText(ID, 0)).toBe(PROBE);
    expect(uuidBytes(PROBE.toUpperCase())).toEqual(ID);
    for (const bad of ['', 'not-a-uuid', `${PROBE}0`, PROBE.replace(/-/g, '')]) expect(uuidBytes(bad)).toBeNull();
  });
});
