import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import { PacketDecoder } from './link.js';
import { PROBE_MAX_FRAME } from './probe-batch.js';
import { splitTcpFrame } from './probe-split.js';
import { ethernet, ipv4, ipv6, tcp, v6addr } from './test-builders.test-support.js';
import { LinkType, TcpFlag } from './types.js';

/** A payload whose every byte says where it is, so a misplaced piece shows. */
function payload(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
}

function segments(frames: Uint8Array[]): { seq: number; flags: number; payload: Uint8Array }[] {
  const anomalies = new AnomalyCounter();
  const d = new PacketDecoder(anomalies);
  const out: { seq: number; flags: number; payload: Uint8Array }[] = [];
  for (const f of frames) d.decode({ ts: 1, linkType: LinkType.ETHERNET, iface: 0, data: f, origLen: f.length }, (s) => out.push({ seq: s.seq, flags: s.flags, payload: s.payload.slice() }));
  expect(anomalies.entries()).toEqual([]);
  return out;
}

const FLAGS = TcpFlag.ACK | TcpFlag.PSH | TcpFlag.FIN;

describe('re-segmenting oversize TCP frames', () => {
  it.each([
    ['IPv4 on loopback (65,549-byte frame)', (p: Uint8Array) => ethernet(0x0800, ipv4({ src: [127, 0, 0, 1], dst: [127, 0, 0, 1] }, tcp({ sport: 1, dport: 2, seq: 0xffffff00, flags: FLAGS, payload: p }))), 65_535 - 40],
    ['IPv6', (p: Uint8Array) => ethernet(0x86dd, ipv6({ src: v6addr('::1'), dst: v6addr('::1') }, tcp({ sport: 1, dport: 2, seq: 0xffffff00, flags: FLAGS, payload: p }))), 65_535 - 20],
  ])('%s: pieces that fit, carrying the same bytes at the right sequence numbers', (_name, build, size) => {
    const data = payload(size);
    const frame = build(data);
    expect(frame.length).toBeGreaterThan(PROBE_MAX_FRAME);
    const pieces = splitTcpFrame(frame, PROBE_MAX_FRAME)!;
    expect(pieces.length).toBe(2);
    for (const p of pieces) expect(p.length).toBeLessThanOrEqual(PROBE_MAX_FRAME);
    const segs = segments(pieces);
    // Sequence numbers wrap around 2^32 like the stream's.
    expect(segs[1]!.seq).toBe((0xffffff00 + segs[0]!.payload.length) >>> 0);
    expect(Buffer.concat(segs.map((s) => s.payload)).equals(Buffer.from(data))).toBe(true);
    expect(segs.map((s) => s.flags)).toEqual([TcpFlag.ACK, FLAGS]);
  });

  it('leaves frames that fit, and refuses what it cannot re-segment honestly', () => {
    const small = ethernet(0x0800, ipv4({ src: [1, 1, 1, 1], dst: [2, 2, 2, 2] }, tcp({ sport: 1, dport: 2, seq: 0, flags: TcpFlag.ACK, payload: payload(100) })));
    expect(splitTcpFrame(small, PROBE_MAX_FRAME)).toBeNull();
    const big = payload(65_535 - 40);
    const seg = tcp({ sport: 1, dport: 2, seq: 0, flags: TcpFlag.ACK, payload: big });
    const vlan = ethernet(0x0800, ipv4({ src: [1, 1, 1, 1], dst: [2, 2, 2, 2] }, seg), { tags: [[0x8100, 3]] });
    expect(splitTcpFrame(vlan, PROBE_MAX_FRAME)).toBeNull();
    const fragment = ethernet(0x0800, ipv4({ src: [1, 1, 1, 1], dst: [2, 2, 2, 2], mf: true }, seg));
    expect(splitTcpFrame(fragment, PROBE_MAX_FRAME)).toBeNull();
    const udp = ethernet(0x0800, ipv4({ src: [1, 1, 1, 1], dst: [2, 2, 2, 2], proto: 17 }, seg));
    expect(splitTcpFrame(udp, PROBE_MAX_FRAME)).toBeNull();
    // The IP length says more than the frame holds: the capture was snapped.
    const snapped = ethernet(0x0800, ipv4({ src: [1, 1, 1, 1], dst: [2, 2, 2, 2], totalLength: 65_535 }, seg.subarray(0, seg.length - 10)));
    expect(splitTcpFrame(snapped, PROBE_MAX_FRAME)).toBeNull();
  });
});
