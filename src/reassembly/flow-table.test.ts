import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import { TcpFlag, type TcpSegment } from '../capture/types.js';
import { FlowTable, type ReassemblyLimits } from './flow-table.js';
import { CHUNK_OVERHEAD_BYTES } from './limits.js';
import {
  closes,
  concat,
  delivered,
  Dir,
  feedReused,
  gaps,
  RecordingSinks,
  Sender,
  text,
  type RecordedConnection,
} from './test-helpers.test-support.js';

const CLIENT = { ip: '10.0.0.2', port: 51000 };
const SERVER = { ip: '10.0.0.1', port: 443 };
const C_ISN = 1000;
const S_ISN = 5000;

function setup(limits?: Partial<ReassemblyLimits>) {
  const sinks = new RecordingSinks();
  const anomalies = new AnomalyCounter();
  const table = new FlowTable(sinks.factory, anomalies, limits);
  const c = new Sender(CLIENT, SERVER, C_ISN);
  const s = new Sender(SERVER, CLIENT, S_ISN);
  const scratch = new Uint8Array(1 << 20);
  const feed = (...segs: TcpSegment[]): void => {
    for (const seg of segs) feedReused(table, seg, scratch);
  };
  return { sinks, anomalies, table, c, s, feed };
}

function handshake(t: ReturnType<typeof setup>, ts = 0): void {
  t.feed(t.c.syn(ts), t.s.synAck(C_ISN, ts + 1), t.c.ack(S_ISN, 0, ts + 2));
}

function dataEvents(rec: RecordedConnection, dir: Dir): { text: string; ts: number }[] {
  const out: { text: string; ts: number }[] = [];
  for (const e of rec.events) if (e.kind === 'data' && e.dir === dir) out.push({ text: text(e.data), ts: e.ts });
  return out;
}

/** Index of the first differing byte, the shorter length if one is a prefix, or -1 when equal. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))) return -1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** Cut `data` into pieces at the given sorted offsets. */
function cut(data: Uint8Array, points: number[]): { off: number; bytes: Uint8Array }[] {
  const edges = [0, ...points.filter((p) => p > 0 && p < data.length), data.length];
  const out: { off: number; bytes: Uint8Array }[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    if (edges[i + 1]! > edges[i]!) out.push({ off: edges[i]!, bytes: data.subarray(edges[i]!, edges[i + 1]!) });
  }
  return out;
}

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs.slice()];
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i++) {
    const rest = [...xs.slice(0, i), ...xs.slice(i + 1)];
    for (const p of permutations(rest)) out.push([xs[i]!, ...p]);
  }
  return out;
}

describe('FlowTable: in-order streams and roles', () => {
  it('delivers both directions in order, with the capture time of each packet, and closes on FIN', () => {
    const t = setup();
    handshake(t, 100);
    t.feed(t.c.data(0, 'POST /v1/messages ', 110), t.c.data(18, 'HTTP/1.1\r\n\r\n', 120));
    t.feed(t.s.data(0, 'HTTP/1.1 200 OK\r\n\r\n', 130), t.s.data(19, 'data: x\n\n', 140));
    t.feed(t.c.fin(30, 150), t.s.fin(28, 160), t.c.ack(S_ISN, 29, 170));
    const rec = t.sinks.get(0);
    expect(rec.info.id).toBe('c1');
    expect(rec.info.client).toEqual(CLIENT);
    expect(rec.info.server).toEqual(SERVER);
    expect(rec.info.rolesGuessed).toBe(false);
    expect(dataEvents(rec, Dir.ClientToServer)).toEqual([
      { text: 'POST /v1/messages ', ts: 110 },
      { text: 'HTTP/1.1\r\n\r\n', ts: 120 },
    ]);
    expect(dataEvents(rec, Dir.ServerToClient)).toEqual([
      { text: 'HTTP/1.1 200 OK\r\n\r\n', ts: 130 },
      { text: 'data: x\n\n', ts: 140 },
    ]);
    expect(closes(rec)).toEqual([{ ts: 160, reason: 'fin' }]);
    expect(t.table.activeConnections).toBe(0);
    expect(t.table.stats.connections).toBe(1);
    expect(t.table.stats.bytesDelivered).toBe(30 + 28);
    expect(t.anomalies.total).toBe(0);
  });

  it('numbers connections c1, c2, … in creation order and keeps directions apart', () => {
    const t = setup();
    const c2 = new Sender({ ip: '10.0.0.3', port: 40000 }, SERVER, 77);
    t.feed(t.c.syn(1), c2.syn(2), t.c.data(0, 'a', 3), c2.data(0, 'b', 4));
    expect(t.sinks.conns.map((r) => r.info.id)).toEqual(['c1', 'c2']);
    expect(text(delivered(t.sinks.get(0), Dir.ClientToServer))).toBe('a');
    expect(text(delivered(t.sinks.get(1), Dir.ClientToServer))).toBe('b');
    expect(t.table.activeConnections).toBe(2);
  });

  it('takes the SYN+ACK sender as the server when the SYN was not captured', () => {
    const t = setup();
    // The server here listens on an ephemeral-looking port, so only the handshake can tell.
    const cl = new Sender({ ip: '10.0.0.9', port: 443 }, { ip: '10.0.0.8', port: 50123 }, 10);
    const sv = new Sender({ ip: '10.0.0.8', port: 50123 }, { ip: '10.0.0.9', port: 443 }, 20);
    t.feed(sv.synAck(10, 1), cl.data(0, 'GET / HTTP/1.1\r\n\r\n', 2), sv.data(0, 'HTTP/1.1 204 No Content\r\n\r\n', 3));
    const rec = t.sinks.get(0);
    expect(rec.info.server).toEqual({ ip: '10.0.0.8', port: 50123 });
    expect(rec.info.rolesGuessed).toBe(false);
    // The client's stream starts at the SYN+ACK's ack, so its first byte is delivered, in order.
    expect(text(delivered(rec, Dir.ClientToServer))).toBe('GET / HTTP/1.1\r\n\r\n');
    expect(text(delivered(rec, Dir.ServerToClient))).toBe('HTTP/1.1 204 No Content\r\n\r\n');
  });

  it('guesses roles when joining mid-stream', () => {
    const cases: { src: [string, number]; dst: [string, number]; server: [string, number] }[] = [
      // Destination on a well-known port.
      { src: ['10.0.0.2', 51000], dst: ['10.0.0.1', 443], server: ['10.0.0.1', 443] },
      // Source on Ollama's port: the first packet is a response.
      { src: ['10.0.0.1', 11434], dst: ['10.0.0.2', 41000], server: ['10.0.0.1', 11434] },
      // An LLM port beats a system port.
      { src: ['10.0.0.1', 8000], dst: ['10.0.0.2', 993], server: ['10.0.0.1', 8000] },
      // A system port beats an unknown high port.
      { src: ['10.0.0.1', 22], dst: ['10.0.0.2', 40000], server: ['10.0.0.1', 22] },
      // Nothing to go by: the destination of the first packet.
      { src: ['10.0.0.1', 45000], dst: ['10.0.0.2', 46000], server: ['10.0.0.2', 46000] },
    ];
    for (const k of cases) {
      const t = setup();
      const a = new Sender({ ip: k.src[0], port: k.src[1] }, { ip: k.dst[0], port: k.dst[1] }, 123);
      t.feed(a.data(0, 'xyz', 1));
      const rec = t.sinks.get(0);
      expect(rec.info.rolesGuessed).toBe(true);
      expect(rec.info.server).toEqual({ ip: k.server[0], port: k.server[1] });
      const srcIsServer = k.server[1] === k.src[1];
      expect(text(delivered(rec, srcIsServer ? Dir.ServerToClient : Dir.ClientToServer))).toBe('xyz');
    }
  });

  it('swapRoles relabels later data, keeps buffered bytes with their sender, and tells the sink', () => {
    const t = setup();
    // Joined mid-stream, first packet from the real server: guessed wrong (both ports ephemeral).
    const sv = new Sender({ ip: '10.0.0.1', port: 45000 }, { ip: '10.0.0.2', port: 46000 }, 500);
    const cl = new Sender({ ip: '10.0.0.2', port: 46000 }, { ip: '10.0.0.1', port: 45000 }, 900);
    t.feed(sv.data(0, 'HTTP/1.1 200 OK\r\n', 1));
    const rec = t.sinks.get(0);
    expect(rec.info.client).toEqual({ ip: '10.0.0.1', port: 45000 });
    // A later server segment arrives ahead of a hole and waits.
    t.feed(sv.data(20, 'tail', 2));
    expect(t.table.swapRoles('c1')).toBe(true);
    expect(rec.info.client).toEqual({ ip: '10.0.0.2', port: 46000 });
    expect(rec.info.server).toEqual({ ip: '10.0.0.1', port: 45000 });
    expect(rec.info.rolesGuessed).toBe(false);
    t.feed(sv.data(17, 'abc', 3), cl.data(0, 'GET', 4));
    expect(rec.events[0]).toMatchObject({ kind: 'data', dir: Dir.ClientToServer });
    expect(rec.events[1]).toEqual({ kind: 'swap', client: '10.0.0.2:46000', server: '10.0.0.1:45000' });
    expect(text(delivered(rec, Dir.ServerToClient))).toBe('abctail');
    expect(text(delivered(rec, Dir.ClientToServer))).toBe('HTTP/1.1 200 OK\r\nGET');
    expect(t.table.swapRoles('c99')).toBe(false);
  });

  it('swapRoles may be called by the sink from inside onData (how the HTTP layer uses it)', () => {
    const sinks = new RecordingSinks();
    // The HTTP layer's view: a status line in the "client" direction means the guess was wrong.
    const table: FlowTable = new FlowTable(
      (info) => {
        const inner = sinks.factory(info);
        return {
          ...inner,
          onData(dir, data, ts) {
            inner.onData(dir, data, ts);
            if (dir === Dir.ClientToServer && info.rolesGuessed && text(data).startsWith('HTTP/')) table.swapRoles(info.id);
          },
        };
      },
      new AnomalyCounter(),
    );
    const sv = new Sender({ ip: '10.0.0.1', port: 45000 }, { ip: '10.0.0.2', port: 46000 }, 500);
    table.onSegment(sv.data(0, 'HTTP/', 1));
    table.onSegment(sv.data(10, 'OK\r\n', 2));
    table.onSegment(sv.data(5, '1.1 2', 3));
    table.onSegment(sv.data(14, '00', 4));
    const rec = sinks.get(0);
    expect(rec.info.server).toEqual({ ip: '10.0.0.1', port: 45000 });
    expect(text(delivered(rec, Dir.ClientToServer))).toBe('HTTP/');
    expect(text(delivered(rec, Dir.ServerToClient))).toBe('1.1 2OK\r\n00');
    expect(rec.events.filter((e) => e.kind === 'swap')).toHaveLength(1);
  });

  it('a SYN+ACK seen after a mid-stream guess corrects the roles', () => {
    const t = setup();
    const sv = new Sender({ ip: '10.0.0.1', port: 45000 }, { ip: '10.0.0.2', port: 46000 }, 500);
    t.feed(sv.data(0, 'x', 1));
    expect(t.sinks.get(0).info.server).toEqual({ ip: '10.0.0.2', port: 46000 });
    t.feed(sv.synAck(900, 2));
    expect(t.sinks.get(0).info.server).toEqual({ ip: '10.0.0.1', port: 45000 });
  });

  it('bare ACKs, FINs and RSTs of unknown flows create nothing', () => {
    const t = setup();
    t.feed(t.c.ack(S_ISN, 10, 1), t.c.fin(3, 2), t.c.rst(3, 3), t.c.seg({ data: 'x', flags: TcpFlag.RST | TcpFlag.ACK }));
    expect(t.sinks.conns).toHaveLength(0);
    expect(t.table.stats.segments).toBe(4);
  });

  it('copies payloads: the capture buffer is reused after every call', () => {
    const t = setup();
    handshake(t);
    t.feed(t.c.data(0, 'hello'), t.c.data(10, 'after'), t.c.data(5, 'world'));
    expect(text(delivered(t.sinks.get(0), Dir.ClientToServer))).toBe('helloworldafter');
  });
});

describe('FlowTable: reordering, duplicates, overlaps', () => {
  const stream = new TextEncoder().encode('The quick brown fox jumps over the lazy dog, again.');

  it('gives the same bytes for the stream split at every offset, and one byte at a time', () => {
    for (let at = 0; at <= stream.length; at++) {
      const t = setup();
      handshake(t);
      for (const p of cut(stream, [at])) t.feed(t.c.data(p.off, p.bytes));
      expect(delivered(t.sinks.get(0), Dir.ClientToServer)).toEqual(stream);
    }
    const t = setup();
    handshake(t);
    for (let i = 0; i < stream.length; i++) t.feed(t.c.data(i, stream.subarray(i, i + 1)));
    expect(delivered(t.sinks.get(0), Dir.ClientToServer)).toEqual(stream);
    expect(t.sinks.get(0).events).toHaveLength(stream.length);
  });

  it('delivers the original bytes for every order of 6 segments', () => {
    const pieces = cut(stream, [5, 13, 20, 31, 40]);
    for (const order of permutations(pieces)) {
      const t = setup();
      handshake(t);
      order.forEach((p, i) => t.feed(t.c.data(p.off, p.bytes, 10 + i)));
      const rec = t.sinks.get(0);
      expect(delivered(rec, Dir.ClientToServer)).toEqual(stream);
      expect(gaps(rec)).toEqual([]);
      expect(t.table.stats.bufferedBytes).toBe(0);
    }
  });

  it('stamps bytes released by a filled hole with the time of the segment that filled it', () => {
    const t = setup();
    handshake(t);
    t.feed(t.c.data(10, 'KLMNO', 20), t.c.data(5, 'FGHIJ', 30), t.c.data(0, 'ABCDE', 40));
    expect(dataEvents(t.sinks.get(0), Dir.ClientToServer)).toEqual([
      { text: 'ABCDE', ts: 40 },
      { text: 'FGHIJ', ts: 40 },
      { text: 'KLMNO', ts: 40 },
    ]);
  });

  it('drops exact retransmits', () => {
    const t = setup();
    handshake(t);
    t.feed(t.c.data(0, 'abc'), t.c.data(0, 'abc'), t.c.data(6, 'ghi'), t.c.data(6, 'ghi'), t.c.data(3, 'def'), t.c.data(3, 'def'));
    expect(text(delivered(t.sinks.get(0), Dir.ClientToServer))).toBe('abcdefghi');
    expect(t.table.stats.duplicateSegments).toBe(3);
    expect(t.anomalies.total).toBe(0);
  });

  it('resolves partial overlaps: only new bytes are delivered, the first copy wins', () => {
    const t = setup();
    handshake(t);
    // Buffered: [4,8) "EFGH" and [12,16) "MNOP". Then [2,14) with different bytes in the overlaps.
    t.feed(t.c.data(0, 'AB'), t.c.data(4, 'EFGH'), t.c.data(12, 'MNOP'));
    t.feed(t.c.data(2, 'CDxxxxIJKLyy'));
    expect(text(delivered(t.sinks.get(0), Dir.ClientToServer))).toBe('ABCDEFGHIJKLMNOP');
    expect(t.anomalies.get('tcp_overlap_conflict')).toBe(1);
    expect(t.table.stats.overlapConflicts).toBe(1);
  });

  it('overlaps with identical bytes are not a conflict', () => {
    const t = setup();
    handshake(t);
    t.feed(t.c.data(4, 'EFGH'), t.c.data(2, 'CDEFGHIJ'), t.c.data(0, 'ABCD'));
    expect(text(delivered(t.sinks.get(0), Dir.ClientToServer))).toBe('ABCDEFGHIJ');
    expect(t.anomalies.get('tcp_overlap_conflict')).toBe(0);
  });

  it('a segment straddling the delivered edge delivers only its new tail', () => {
    const t = setup();
    handshake(t);
    t.feed(t.c.data(0, 'abcdef'), t.c.data(3, 'defghi'));
    expect(dataEvents(t.sinks.get(0), Dir.ClientToServer).map((e) => e.text)).toEqual(['abcdef', 'ghi']);
  });

  it('handles sequence numbers wrapping past 2^32, in order and out of order', () => {
    const isn = 0xffff_fff0; // data starts at 2^32 - 15 and wraps after 15 bytes
    const data = new TextEncoder().encode('0123456789abcdefghijklmnopqrstuvwxyz');
    const pieces = cut(data, [7, 15, 16, 22, 30]);
    for (const order of [pieces, [...pieces].reverse(), [pieces[2]!, pieces[0]!, pieces[4]!, pieces[1]!, pieces[5]!, pieces[3]!]]) {
      const t = setup();
      const c = new Sender(CLIENT, SERVER, isn, 0xffff_ffff + 1);
      const s = new Sender(SERVER, CLIENT, 0xffff_ffff, isn + 1);
      t.feed(c.syn(1), s.synAck(isn, 2));
      for (const p of order) t.feed(c.data(p.off, p.bytes, 3));
      // The server acknowledges everything: the ack number itself has wrapped.
      t.feed(s.ack(isn, data.length, 4));
      t.feed(s.data(0, 'server bytes across the wrap too', 5));
      const rec = t.sinks.get(0);
      expect(delivered(rec, Dir.ClientToServer)).toEqual(data);
      expect(text(delivered(rec, Dir.ServerToClient))).toBe('server bytes across the wrap too');
      expect(gaps(rec)).toEqual([]);
    }
  });

  it('property: any reordering and duplication of a segmented stream delivers it exactly (both directions)', () => {
    const arbStream = fc.uint8Array({ minLength: 1, maxLength: 400 });
    const arbCase = fc.record({
      up: arbStream,
      down: arbStream,
      upCuts: fc.array(fc.nat(400), { maxLength: 25 }),
      downCuts: fc.array(fc.nat(400), { maxLength: 25 }),
      // Extra copies of random ranges (retransmits with different segmentation).
      extras: fc.array(fc.record({ up: fc.boolean(), a: fc.nat(400), len: fc.integer({ min: 1, max: 60 }) }), { maxLength: 10 }),
      cIsn: fc.nat(0xffff_ffff),
      sIsn: fc.nat(0xffff_ffff),
      seed: fc.nat(),
    });
    fc.assert(
      fc.property(arbCase, (k) => {
        const t = setup();
        // Data segments acknowledge only the peer's SYN: never beyond a hole.
        const c = new Sender(CLIENT, SERVER, k.cIsn, k.sIsn + 1);
        const s = new Sender(SERVER, CLIENT, k.sIsn, k.cIsn + 1);
        const segs: TcpSegment[] = [];
        for (const p of cut(k.up, [...k.upCuts].sort((x, y) => x - y))) segs.push(c.data(p.off, p.bytes));
        for (const p of cut(k.down, [...k.downCuts].sort((x, y) => x - y))) segs.push(s.data(p.off, p.bytes));
        for (const e of k.extras) {
          const src = e.up ? k.up : k.down;
          const a = e.a % src.length;
          const piece = src.subarray(a, Math.min(src.length, a + e.len));
          segs.push((e.up ? c : s).data(a, piece));
        }
        // Deterministic shuffle from the seed.
        let x = k.seed | 1;
        for (let i = segs.length - 1; i > 0; i--) {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0;
          const j = x % (i + 1);
          [segs[i], segs[j]] = [segs[j]!, segs[i]!];
        }
        segs.forEach((seg, i) => (seg.ts = i));
        t.feed(c.syn(0), s.synAck(k.cIsn, 0), ...segs);
        t.table.flush(segs.length);
        const rec = t.sinks.get(0);
        expect(delivered(rec, Dir.ClientToServer)).toEqual(k.up);
        expect(delivered(rec, Dir.ServerToClient)).toEqual(k.down);
        expect(gaps(rec)).toEqual([]);
        // Delivery times never go backwards within a direction.
        for (const dir of [Dir.ClientToServer, Dir.ServerToClient]) {
          const ts = dataEvents(rec, dir).map((e) => e.ts);
          expect(ts).toEqual([...ts].sort((p, q) => p - q));
        }
        expect(t.anomalies.get('tcp_overlap_conflict')).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('FlowTable: holes that never fill', () => {
  it('a lost segment becomes one onGap of its size at end of input; the rest is delivered', () => {
    const t = setup();
    handshake(t);
    t.feed(t.c.data(0, 'aaaa', 10), t.c.data(4, 'bbbbbb', 11) /* lost: */, t.c.data(17, 'dddd', 13), t.c.data(21, 'ee', 14));
    t.feed(t.c.data(10, 'ccccccc', 12)); // arrives: only [10,17) — then lose [23,30)
    t.feed(t.c.data(30, 'ffff', 16));
    const rec = t.sinks.get(0);
    expect(text(delivered(rec, Dir.ClientToServer))).toBe('aaaabbbbbbcccccccddddee');
    expect(gaps(rec)).toEqual([]);
    t.table.flush(100);
    expect(gaps(rec, Dir.ClientToServer)).toEqual([{ bytes: 7, ts: 16 }]);
    expect(text(delivered(rec, Dir.ClientToServer, 0x2e))).toBe('aaaabbbbbbcccccccddddee.......ffff');
    expect(closes(rec)).toEqual([{ ts: 100, reason: 'eof' }]);
    expect(t.anomalies.get('tcp_gap')).toBe(1);
    expect(t.table.stats.gapBytes).toBe(7);
    expect(t.table.stats.bufferedBytes).toBe(0);
  });

  it('an ACK beyond the hole means the capture lost it: gap now, data after it delivered', () => {
    const t = setup();
    handshake(t);
    t.feed(t.s.data(0, 'HTTP/1.1 200 OK\r\n', 10));
    // [17, 27) lost by the capture; the client got it and acknowledges everything.
    t.feed(t.s.data(27, 'data: 2\n\n', 12), t.s.data(36, 'data: 3\n\n', 13));
    expect(gaps(t.sinks.get(0))).toEqual([]);
    t.feed(t.c.ack(S_ISN, 45, 14));
    const rec = t.sinks.get(0);
    expect(gaps(rec, Dir.ServerToClient)).toEqual([{ bytes: 10, ts: 12 }]);
    expect(dataEvents(rec, Dir.ServerToClient)).toEqual([
      { text: 'HTTP/1.1 200 OK\r\n', ts: 10 },
      { text: 'data: 2\n\n', ts: 12 },
      { text: 'data: 3\n\n', ts: 13 },
    ]);
    expect(t.anomalies.get('tcp_gap')).toBe(1);
    expect(t.table.activeConnections).toBe(1);
  });

  it('an ACK seen before the data beyond the hole still resolves the hole when that data arrives', () => {
    const t = setup();
    handshake(t);
    t.feed(t.s.data(0, 'abc', 10), t.c.ack(S_ISN, 8, 11), t.s.data(8, 'ijk', 12));
    expect(gaps(t.sinks.get(0), Dir.ServerToClient)).toEqual([{ bytes: 5, ts: 12 }]);
    expect(text(delivered(t.sinks.get(0), Dir.ServerToClient))).toBe('abcijk');
  });

  it('an ACK into the middle of a hole skips only what was acknowledged', () => {
    const t = setup();
    handshake(t);
    t.feed(t.s.data(0, 'ab', 10), t.s.data(10, 'kl', 11), t.c.ack(S_ISN, 6, 12));
    const rec = t.sinks.get(0);
    expect(gaps(rec)).toEqual([{ bytes: 4, ts: 12 }]);
    // The rest of the hole is retransmitted and fills normally.
    t.feed(t.s.data(6, 'ghij', 13));
    expect(text(delivered(rec, Dir.ServerToClient))).toBe('abghijkl');
    expect(gaps(rec)).toHaveLength(1);
  });

  it('ACKs that do not pass the hole change nothing', () => {
    const t = setup();
    handshake(t);
    t.feed(t.s.data(0, 'ab', 10), t.s.data(5, 'fg', 11), t.c.ack(S_ISN, 2, 12), t.c.ack(S_ISN, 1, 13));
    expect(gaps(t.sinks.get(0))).toEqual([]);
    t.feed(t.s.data(2, 'cde', 14));
    expect(text(delivered(t.sinks.get(0), Dir.ServerToClient))).toBe('abcdefg');
  });

  it('the per-direction cap gives up the hole: anomaly, gap, bounded buffer', () => {
    const t = setup({ maxOooBytesPerDir: 100 });
    handshake(t);
    t.feed(t.c.data(0, 'x'.repeat(10), 1));
    // Lose [10, 20), then send 15 segments of 10 bytes.
    for (let i = 0; i < 15; i++) {
      t.feed(t.c.data(20 + i * 10, String.fromCharCode(65 + i).repeat(10), 2 + i));
      // At most 100 bytes in at most 10 chunks stay buffered after any segment.
      expect(t.table.stats.bufferedBytes).toBeLessThanOrEqual(100 + 10 * CHUNK_OVERHEAD_BYTES);
    }
    const rec = t.sinks.get(0);
    expect(t.anomalies.get('tcp_ooo_buffer_full')).toBe(1);
    expect(gaps(rec)).toEqual([{ bytes: 10, ts: 2 }]);
    expect(delivered(rec, Dir.ClientToServer)).toHaveLength(160);
  });

  it('the per-direction segment-count cap holds against floods of tiny segments', () => {
    const t = setup({ maxOooSegmentsPerDir: 50 });
    handshake(t);
    // Every other byte, never filling: each segment is its own chunk.
    for (let i = 0; i < 1000; i++) t.feed(t.c.data(1 + 2 * i, 'z', 1));
    expect(t.anomalies.get('tcp_ooo_buffer_full')).toBeGreaterThan(0);
    expect(t.table.stats.peakBufferedBytes).toBeLessThanOrEqual(51 * (1 + CHUNK_OVERHEAD_BYTES));
  });

  it('the total budget across connections holds: anomaly, never more than the cap', () => {
    const t = setup({ maxBufferedBytes: 10_000, maxOooBytesPerDir: 1_000_000 });
    for (let k = 0; k < 20; k++) {
      const c = new Sender({ ip: '10.0.1.' + k, port: 50000 }, SERVER, 0);
      t.feed(c.syn(1));
      for (let i = 0; i < 10; i++) t.feed(c.data(1 + i * 100, new Uint8Array(99).fill(k), 2));
      expect(t.table.stats.bufferedBytes).toBeLessThanOrEqual(10_000);
    }
    expect(t.anomalies.get('tcp_reassembly_memory_full')).toBeGreaterThan(0);
    expect(t.table.stats.peakBufferedBytes).toBeLessThanOrEqual(10_000 + 99 + CHUNK_OVERHEAD_BYTES);
    t.table.flush(3);
    expect(t.table.stats.bufferedBytes).toBe(0);
  });
});

describe('FlowTable: FIN, RST, idle, port reuse, eviction', () => {
  it('a FIN that overtakes data is delivered after it', () => {
    const t = setup();
    handshake(t);
    t.feed(t.c.fin(6, 5), t.s.fin(0, 6), t.c.data(3, 'def', 7));
    expect(closes(t.sinks.get(0))).toEqual([]);
    t.feed(t.c.data(0, 'abc', 8));
    const rec = t.sinks.get(0);
    expect(text(delivered(rec, Dir.ClientToServer))).toBe('abcdef');
    expect(closes(rec)).toEqual([{ ts: 8, reason: 'fin' }]);
  });

  it('a FIN with data and a half-close: closes only when both directions finished', () => {
    const t = setup();
    handshake(t);
    t.feed(t.c.data(0, 'req', 1, TcpFlag.ACK | TcpFlag.FIN));
    expect(closes(t.sinks.get(0))).toEqual([]);
    t.feed(t.s.data(0, 'resp', 2), t.s.fin(4, 3));
    expect(text(delivered(t.sinks.get(0), Dir.ServerToClient))).toBe('resp');
    expect(closes(t.sinks.get(0))).toEqual([{ ts: 3, reason: 'fin' }]);
  });

  it('data past the FIN is dropped and counted', () => {
    const t = setup();
    handshake(t);
    t.feed(t.c.data(5, 'zzz', 1), t.c.fin(3, 2), t.c.data(0, 'abcdef', 3));
    expect(text(delivered(t.sinks.get(0), Dir.ClientToServer))).toBe('abc');
    expect(t.anomalies.get('tcp_data_after_fin')).toBe(2);
  });

  it('a FIN behind a lost segment is reached when the peer acknowledges it', () => {
    const t = setup();
    handshake(t);
    t.feed(t.s.data(0, 'ab', 1), t.s.fin(5, 2), t.c.fin(0, 3));
    expect(closes(t.sinks.get(0))).toEqual([]);
    t.feed(t.c.ack(S_ISN, 6, 4)); // acks [2,5) and the FIN
    const rec = t.sinks.get(0);
    expect(gaps(rec)).toEqual([{ bytes: 3, ts: 4 }]);
    expect(closes(rec)).toEqual([{ ts: 4, reason: 'fin' }]);
  });

  it('RST closes at once, after delivering what is buffered (with its gap), and only once', () => {
    const t = setup();
    handshake(t);
    t.feed(t.s.data(0, 'ab', 1), t.s.data(4, 'ef', 2), t.c.rst(0, 3));
    const rec = t.sinks.get(0);
    expect(text(delivered(rec, Dir.ServerToClient))).toBe('abef');
    expect(gaps(rec)).toEqual([{ bytes: 2, ts: 2 }]);
    expect(closes(rec)).toEqual([{ ts: 3, reason: 'rst' }]);
    // Late packets of the dead connection are swallowed.
    t.feed(t.s.data(2, 'cd', 4), t.s.rst(6, 5), t.c.data(0, 'late', 6));
    expect(closes(rec)).toHaveLength(1);
    expect(t.sinks.conns).toHaveLength(1);
    expect(t.table.activeConnections).toBe(0);
    t.table.flush(10);
    expect(closes(rec)).toHaveLength(1);
  });

  it('expires idle connections on capture time, and only idle ones', () => {
    const idle = 60_000_000;
    const t = setup({ idleTimeoutUs: idle });
    const other = new Sender({ ip: '10.0.0.7', port: 40000 }, SERVER, 1);
    handshake(t, 0);
    t.feed(other.syn(0), t.c.data(0, 'ab', 1_000_000), t.c.data(4, 'ef', 2_000_000));
    for (let now = 0; now <= idle; now += 500_000) {
      t.table.advance(now);
      if (now % 10_000_000 === 0) t.feed(other.data(0, 'k', now));
    }
    expect(closes(t.sinks.get(0))).toEqual([]);
    for (let now = idle; now <= idle + 5_000_000; now += 500_000) t.table.advance(now);
    const rec = t.sinks.get(0);
    // Closed with the last packet's time; its buffered bytes delivered after a gap first.
    expect(closes(rec)).toEqual([{ ts: 2_000_000, reason: 'idle' }]);
    expect(gaps(rec)).toEqual([{ bytes: 2, ts: 2_000_000 }]);
    expect(closes(t.sinks.get(1))).toEqual([]);
    expect(t.table.activeConnections).toBe(1);
    expect(t.table.stats.closedIdle).toBe(1);
    // The 4-tuple is free again: new traffic makes a new (mid-stream) connection.
    t.feed(t.c.data(6, 'gh', idle + 6_000_000));
    expect(t.sinks.conns).toHaveLength(3);
    expect(t.sinks.get(2).info.rolesGuessed).toBe(true);
  });

  it('a flow whose connection expired right after its last segment gets a new connection', () => {
    // Nothing in between: the table's last-flow shortcut must not hand the data to the old one.
    const t = setup({ idleTimeoutUs: 1_000_000 });
    handshake(t, 0);
    t.feed(t.c.data(0, 'ab', 10));
    t.table.advance(5_000_000);
    t.feed(t.c.data(2, 'cd', 5_000_001));
    expect(t.sinks.conns.map((r) => r.info.id)).toEqual(['c1', 'c2']);
    expect(text(delivered(t.sinks.get(0), Dir.ClientToServer))).toBe('ab');
    expect(closes(t.sinks.get(0))).toEqual([{ ts: 10, reason: 'idle' }]);
    expect(text(delivered(t.sinks.get(1), Dir.ClientToServer))).toBe('cd');
  });

  it('a flow evicted between two of its segments gets a new connection', () => {
    const t = setup({ maxConnections: 1 });
    const other = new Sender({ ip: '10.0.0.7', port: 40000 }, SERVER, 1);
    t.feed(t.c.data(0, 'ab', 1), other.syn(2), t.c.data(2, 'cd', 3));
    expect(t.sinks.conns.map((r) => r.info.id)).toEqual(['c1', 'c2', 'c3']);
    expect(text(delivered(t.sinks.get(0), Dir.ClientToServer))).toBe('ab');
    expect(text(delivered(t.sinks.get(2), Dir.ClientToServer))).toBe('cd');
  });

  it('advance copes with big jumps in capture time', () => {
    const t = setup({ idleTimeoutUs: 1_000_000 });
    handshake(t, 1_700_000_000_000_000);
    t.table.advance(1_700_000_000_000_000);
    t.table.advance(1_800_000_000_000_000);
    expect(closes(t.sinks.get(0))).toEqual([{ ts: 1_700_000_000_000_002, reason: 'idle' }]);
  });

  it('port reuse: a new SYN after close starts a new connection', () => {
    const t = setup();
    handshake(t);
    t.feed(t.c.data(0, 'one'), t.c.fin(3), t.s.fin(0));
    const c2 = new Sender(CLIENT, SERVER, 777_777);
    const s2 = new Sender(SERVER, CLIENT, 888_888);
    t.feed(c2.syn(10), s2.synAck(777_777, 11), c2.data(0, 'two', 12));
    expect(t.sinks.conns.map((r) => r.info.id)).toEqual(['c1', 'c2']);
    expect(closes(t.sinks.get(0))).toEqual([{ ts: 0, reason: 'fin' }]);
    expect(text(delivered(t.sinks.get(1), Dir.ClientToServer))).toBe('two');
    expect(t.anomalies.get('tcp_port_reuse_unclosed')).toBe(0);
  });

  it('port reuse seen from the SYN+ACK alone (the new SYN was not captured)', () => {
    const t = setup();
    handshake(t);
    t.feed(t.c.fin(0, 1), t.s.fin(0, 2));
    const s2 = new Sender(SERVER, CLIENT, 888_888);
    const c2 = new Sender(CLIENT, SERVER, 777_777);
    t.feed(s2.synAck(777_777, 10), c2.data(0, 'two', 11));
    expect(t.sinks.conns).toHaveLength(2);
    expect(t.sinks.get(1).info.client).toEqual(CLIENT);
    expect(text(delivered(t.sinks.get(1), Dir.ClientToServer))).toBe('two');
  });

  it('a retransmitted SYN is not a new connection, a SYN with a new ISN on an open one is', () => {
    const t = setup();
    handshake(t);
    t.feed(t.c.syn(1), t.c.data(0, 'abc', 2));
    expect(t.sinks.conns).toHaveLength(1);
    const c2 = new Sender(CLIENT, SERVER, 4242);
    t.feed(c2.syn(3), c2.data(0, 'new', 4));
    expect(closes(t.sinks.get(0))).toEqual([{ ts: 3, reason: 'eof' }]);
    expect(t.anomalies.get('tcp_port_reuse_unclosed')).toBe(1);
    expect(text(delivered(t.sinks.get(1), Dir.ClientToServer))).toBe('new');
    expect(t.table.activeConnections).toBe(1);
  });

  it('SYN payload (TCP Fast Open) starts after the SYN sequence number', () => {
    const t = setup();
    t.feed(t.c.seg({ seq: C_ISN, flags: TcpFlag.SYN, data: 'GET /', ts: 1 }), t.c.data(5, ' HTTP/1.1', 2));
    expect(text(delivered(t.sinks.get(0), Dir.ClientToServer))).toBe('GET / HTTP/1.1');
  });

  it('a full table evicts the most idle connection with an anomaly', () => {
    const t = setup({ maxConnections: 3 });
    const senders = [0, 1, 2, 3, 4].map((k) => new Sender({ ip: '10.0.2.' + k, port: 50000 }, SERVER, 0));
    t.feed(senders[0]!.syn(0), senders[1]!.syn(10), senders[2]!.syn(20));
    t.feed(senders[0]!.data(0, 'keepalive', 25)); // c1 is now the most recently active
    t.feed(senders[3]!.syn(30), senders[4]!.syn(40)); // evict c2 (last seen 10), then c3 (20)
    const reasons = t.sinks.conns.map((r) => closes(r).map((c) => c.reason).join());
    expect(reasons).toEqual(['', 'evicted', 'evicted', '', '']);
    expect(t.table.activeConnections).toBe(3);
    expect(t.anomalies.get('tcp_flow_table_full')).toBe(2);
    expect(t.table.stats.closedEvicted).toBe(2);
  });

  it('a full table drops lingering closed connections before live ones, without an anomaly', () => {
    const t = setup({ maxConnections: 2 });
    handshake(t, 0);
    t.feed(t.c.fin(0, 1), t.s.fin(0, 2)); // c1 closed, lingering
    const o = new Sender({ ip: '10.0.4.1', port: 50000 }, SERVER, 0);
    const p = new Sender({ ip: '10.0.4.2', port: 50000 }, SERVER, 0);
    t.feed(o.syn(3), p.syn(4));
    expect(t.anomalies.get('tcp_flow_table_full')).toBe(0);
    expect(t.table.activeConnections).toBe(2);
    expect(closes(t.sinks.get(0))).toEqual([{ ts: 2, reason: 'fin' }]);
  });

  it('eviction prefers a connection with older traffic over one created earlier but active', () => {
    const t = setup({ maxConnections: 2 });
    const a = new Sender({ ip: '10.0.3.1', port: 50000 }, SERVER, 0);
    const b = new Sender({ ip: '10.0.3.2', port: 50000 }, SERVER, 0);
    const c = new Sender({ ip: '10.0.3.3', port: 50000 }, SERVER, 0);
    t.feed(a.syn(0), b.syn(5_000_000), a.data(0, 'fresh', 9_000_000), c.syn(10_000_000));
    expect(closes(t.sinks.get(0))).toEqual([]);
    expect(closes(t.sinks.get(1))).toEqual([{ ts: 5_000_000, reason: 'evicted' }]);
  });

  it('flush closes everything with eof exactly once', () => {
    const t = setup();
    handshake(t);
    const o = new Sender({ ip: '10.0.0.7', port: 40000 }, SERVER, 1);
    t.feed(o.data(0, 'x'));
    t.table.flush(99);
    t.table.flush(100);
    expect(t.sinks.conns.map((r) => closes(r))).toEqual([[{ ts: 99, reason: 'eof' }], [{ ts: 99, reason: 'eof' }]]);
    expect(t.table.activeConnections).toBe(0);
  });
});

describe('FlowTable: hostile input', () => {
  it('random segments never throw, close at most once, and keep memory accounting exact', () => {
    const arbSeg = fc.record({
      fromClient: fc.boolean(),
      other: fc.nat(3),
      seq: fc.oneof(fc.nat(0xffff_ffff), fc.integer({ min: 990, max: 1100 })),
      ack: fc.oneof(fc.nat(0xffff_ffff), fc.integer({ min: 4990, max: 5100 })),
      flags: fc.nat(0x3f),
      len: fc.nat(40),
      fill: fc.nat(255),
      dt: fc.nat(200_000_000),
      advance: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(arbSeg, { maxLength: 80 }), (segs) => {
        const t = setup({ maxOooBytesPerDir: 64, maxOooSegmentsPerDir: 4, maxBufferedBytes: 2_000, maxConnections: 3 });
        let ts = 0;
        for (const g of segs) {
          ts += g.dt;
          const cl = { ip: '10.0.0.' + (2 + g.other), port: 50000 + g.other };
          const seg = (g.fromClient ? new Sender(cl, SERVER, 0) : new Sender(SERVER, cl, 0)).seg({
            seq: g.seq,
            ack: g.ack,
            flags: g.flags,
            data: new Uint8Array(g.len).fill(g.fill),
            ts,
          });
          t.feed(seg);
          if (g.advance) t.table.advance(ts);
          expect(t.table.stats.bufferedBytes).toBeGreaterThanOrEqual(0);
          expect(t.table.stats.bufferedBytes).toBeLessThanOrEqual(2_000);
          expect(t.table.activeConnections).toBeLessThanOrEqual(3);
        }
        t.table.flush(ts);
        expect(t.table.stats.bufferedBytes).toBe(0);
        for (const rec of t.sinks.conns) expect(closes(rec)).toHaveLength(1);
        expect(t.table.activeConnections).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('a large reordered stream is reassembled exactly (fast-check, many segments)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2000 }), fc.nat(), (nSegs, seed) => {
        const t = setup();
        handshake(t);
        const pieces: { off: number; bytes: Uint8Array }[] = [];
        let off = 0;
        let x = seed | 1;
        const rand = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
        for (let i = 0; i < nSegs; i++) {
          const len = 1 + (rand() % 1460);
          const b = new Uint8Array(len);
          for (let j = 0; j < len; j++) b[j] = (off + j) & 0xff;
          pieces.push({ off, bytes: b });
          off += len;
        }
        // Local reordering, as networks do: swap neighbours within a window of 8.
        const order = pieces.slice();
        for (let i = 0; i < order.length; i++) {
          const j = Math.min(order.length - 1, i + (rand() % 8));
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        for (const p of order) t.feed(t.c.data(p.off, p.bytes));
        const got = delivered(t.sinks.get(0), Dir.ClientToServer);
        // Compared as one Buffer: a deep equal over megabytes is slow.
        expect(firstDifference(got, concat(pieces.map((p) => p.bytes)))).toBe(-1);
        expect(t.table.stats.bufferedBytes).toBe(0);
      }),
      { numRuns: 30 },
    );
  });
});
