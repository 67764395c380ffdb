import { describe, expect, it } from 'vitest';
import type { CapturedFrame, TcpSegment } from '../capture/types.js';
import { BatchWriter, readBatch } from './batch.js';
import { ItemKind } from './messages.js';

function frame(ts: number, bytes: number[], pad = 3): CapturedFrame {
  // The frame sits inside a larger buffer, as the capture reader hands it over.
  const buf = new Uint8Array(pad + bytes.length + pad).fill(0xee);
  buf.set(bytes, pad);
  return { ts, linkType: 1, iface: 2, buf, start: pad, end: pad + bytes.length, origLen: bytes.length + 10 };
}

type Seen = [string, number, number, number, number[]];

function read(w: BatchWriter): Seen[] {
  const { meta, bytes, segments } = w.take();
  // Through structured clone, as postMessage delivers it.
  const msg = structuredClone({ meta, bytes, segments }, { transfer: [meta.buffer as ArrayBuffer, bytes.buffer as ArrayBuffer] });
  const seen: Seen[] = [];
  readBatch(msg.meta, msg.bytes, msg.segments, {
    frame: (no, src, f) => seen.push(['frame', no, src, f.ts, [...f.buf.subarray(f.start, f.end), f.linkType, f.iface, f.origLen]]),
    segment: (no, src, s) => seen.push(['seg', no, src, s.ts, [...s.payload, s.srcPort, s.dstPort, s.seq, s.ack, s.flags]]),
    marker: (kind, no, src, ts) => seen.push([kind === ItemKind.Expire ? 'expire' : 'advance', no, src, ts, []]),
  });
  return seen;
}

const seg: TcpSegment = { ts: 7, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 5, dstPort: 6, seq: 100, ack: 200, flags: 0x18, payload: new Uint8Array([9, 8, 7]) };

describe('BatchWriter / readBatch', () => {
  it('hands a worker every item of a round in order, bytes intact, buffers transferred', () => {
    const w = new BatchWriter();
    w.addFrame(1, 0, frame(1000, [1, 2, 3]));
    w.addMarker(ItemKind.Expire, 1, 0, 1000);
    w.addSegment(2, 1, seg);
    const big = Array.from({ length: 200_000 }, (_, i) => i & 0xff); // grows the buffer
    w.addFrame(3, 0, frame(2000, big));
    w.addFrame(4, 0, frame(3000, []));
    w.addMarker(ItemKind.AdvanceTo, 4, 1, 5000);
    expect(w.packets).toBe(4);
    const seen = read(w);
    expect(seen.map((s) => s.slice(0, 4))).toEqual([
      ['frame', 1, 0, 1000],
      ['expire', 1, 0, 1000],
      ['seg', 2, 1, 7],
      ['frame', 3, 0, 2000],
      ['frame', 4, 0, 3000],
      ['advance', 4, 1, 5000],
    ]);
    expect(seen[0]![4]).toEqual([1, 2, 3, 1, 2, 13]);
    expect(seen[2]![4]).toEqual([9, 8, 7, 5, 6, 100, 200, 0x18]);
    expect(seen[3]![4].slice(0, 200_000)).toEqual(big);
    // The writer starts afresh: the next round holds only what comes next.
    expect(w.itemCount).toBe(0);
    w.addFrame(5, 0, frame(4000, [4]));
    expect(read(w).map((s) => s[1])).toEqual([5]);
  });

  it('drops a full round’s packets and keeps its markers (a live source behind its workers)', () => {
    const w = new BatchWriter();
    w.addFrame(1, 0, frame(1, [1]));
    w.addMarker(ItemKind.Expire, 1, 0, 1);
    w.addSegment(2, 0, seg);
    w.addMarker(ItemKind.Expire, 2, 0, 2);
    expect(w.dropPackets()).toBe(2);
    expect(w.byteLength).toBe(0);
    w.addFrame(3, 0, frame(3, [3]));
    expect(read(w).map((s) => [s[0], s[1]])).toEqual([
      ['expire', 1],
      ['expire', 2],
      ['frame', 3],
    ]);
  });
});
