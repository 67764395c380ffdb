import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import { pcapBytes } from '../../test/gen/pcap-writer.js';
import { CaptureError } from './capture-error.js';
import { CaptureParser, PCAP_MAX_SNAPLEN, type CaptureFileSummary } from './capture-parser.js';
import { concat, dsb, epb, idb, pb, pcapFile, shb, spb, text, unknownBlock } from './test-builders.test-support.js';
import { LinkType } from './types.js';

interface Seen {
  packets: { ts: number; linkType: number; iface: number; data: string; origLen: number }[];
  secrets: { type: number; data: string }[];
  summary: CaptureFileSummary;
  anomalies: [string, number][];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Parses `bytes` pushed in the given chunk sizes (the last chunk takes the rest). */
function parse(bytes: Uint8Array, cuts: number[] = []): Seen {
  const anomalies = new AnomalyCounter();
  const packets: Seen['packets'] = [];
  const secrets: Seen['secrets'] = [];
  const parser = new CaptureParser({
    name: 'x.pcap',
    anomalies,
    onPacket: (p) => packets.push({ ts: p.ts, linkType: p.linkType, iface: p.iface, data: hex(p.data), origLen: p.origLen }),
    onSecrets: (type, data) => secrets.push({ type, data: hex(data) }),
  });
  // The same input through onFrame (the replay's path: one reused frame, no view per packet)
  // must give the same packets; every test below checks both.
  const frames: Seen['packets'] = [];
  const frameObjects = new Set<object>();
  const framer = new CaptureParser({
    onFrame: (f) => {
      frameObjects.add(f);
      frames.push({ ts: f.ts, linkType: f.linkType, iface: f.iface, data: hex(f.buf.subarray(f.start, f.end)), origLen: f.origLen });
    },
  });
  let at = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    parser.push(bytes.subarray(at, c));
    framer.push(bytes.subarray(at, c));
    at = c;
  }
  parser.push(bytes.subarray(at));
  framer.push(bytes.subarray(at));
  const summary = parser.end();
  expect(framer.end()).toEqual(summary);
  expect(frames).toEqual(packets);
  expect(frameObjects.size).toBe(packets.length > 0 ? 1 : 0);
  return { packets, secrets, summary, anomalies: anomalies.entries() };
}

function oneByteAtATime(bytes: Uint8Array): Seen {
  return parse(bytes, Array.from({ length: bytes.length }, (_, i) => i));
}

const A = text('first packet payload');
const B = text('second, a bit longer packet payload bytes');
const C = text('3');

describe('pcap', () => {
  for (const le of [true, false]) {
    for (const nanos of [false, true]) {
      it(`${le ? 'little' : 'big'}-endian, ${nanos ? 'ns' : 'µs'} timestamps`, () => {
        const file = pcapFile({ le, nanos, linkType: LinkType.LINUX_SLL }, [
          { sec: 1_700_000_000, frac: nanos ? 123_456_789 : 123_456, data: A },
          { sec: 1_700_000_001, frac: nanos ? 999_999_999 : 999_999, data: B, origLen: 1500 },
        ]);
        const seen = parse(file);
        expect(seen.summary).toEqual({
          format: 'pcap',
          packets: 2,
          bytes: file.length,
          truncatedAt: null,
          stoppedAt: null,
          interfaces: [{ linkType: LinkType.LINUX_SLL, tsResolution: nanos ? 1e9 : 1e6, snapLen: 262144 }],
        });
        // ns are truncated to µs, never rounded up.
        expect(seen.packets).toEqual([
          { ts: 1_700_000_000_123_456, linkType: 113, iface: 0, data: hex(A), origLen: A.length },
          { ts: 1_700_000_001_999_999, linkType: 113, iface: 0, data: hex(B), origLen: 1500 },
        ]);
        expect(seen.anomalies).toEqual([]);
      });
    }
  }

  it('reads what the shared test writer writes, in both byte orders and resolutions', () => {
    const recs = [
      { ts: 1_750_000_000_000_001, nanos: 999, data: A },
      { ts: 1_750_000_000_500_000, data: B },
    ];
    for (const bigEndian of [false, true]) {
      for (const nanos of [false, true]) {
        const seen = parse(pcapBytes(recs, { kind: 'pcap', linkType: LinkType.RAW, nanos, bigEndian }));
        expect(seen.packets.map((p) => [p.ts, p.linkType, p.data])).toEqual(recs.map((r) => [r.ts, LinkType.RAW, hex(r.data)]));
      }
    }
  });

  it('keeps only the 16-bit link type when upper bits carry the FCS length', () => {
    const file = pcapFile({ linkType: LinkType.ETHERNET | (1 << 26) | (4 << 28) }, [{ sec: 1, frac: 0, data: A }]);
    expect(parse(file).packets[0]!.linkType).toBe(LinkType.ETHERNET);
  });

  it('stops at a record larger than any pcap snaplen, keeping what came before', () => {
    const good = pcapFile({ linkType: 1 }, [{ sec: 1, frac: 0, data: A }]);
    // A record header claiming PCAP_MAX_SNAPLEN + 1 bytes, then a valid-looking record.
    const bad = pcapFile({ linkType: 1 }, [{ sec: 2, frac: 0, data: new Uint8Array(PCAP_MAX_SNAPLEN + 1) }]).subarray(24, 24 + 16 + 100);
    const seen = parse(concat(good, bad));
    expect(seen.packets).toHaveLength(1);
    expect(seen.summary.stoppedAt).toBe(good.length);
    expect(seen.summary.truncatedAt).toBeNull();
    expect(seen.anomalies).toEqual([['pcap_oversized_record', 1]]);
  });

  it('accepts a record of exactly the largest snaplen', () => {
    const big = new Uint8Array(PCAP_MAX_SNAPLEN).fill(7);
    const seen = parse(pcapFile({ linkType: 1 }, [{ sec: 1, frac: 0, data: big }, { sec: 2, frac: 0, data: C }]), [100, 200_000]);
    expect(seen.packets.map((p) => p.data.length / 2)).toEqual([PCAP_MAX_SNAPLEN, 1]);
  });
});

/** A two-section pcapng: a big-endian section with three interfaces of different link types and
 * resolutions, then a little-endian section whose interface ids start again at 0. */
function multiSection(): Uint8Array {
  const be = false;
  const le = true;
  return concat(
    shb(be),
    idb(be, LinkType.ETHERNET), // µs (no if_tsresol)
    idb(be, LinkType.LINUX_SLL2, { tsresol: 9 }), // ns
    idb(be, LinkType.RAW, { tsresol: 0x80 | 20, tsoffset: 1_000 }), // 2^-20 s, +1000 s
    epb(be, 0, 1_700_000_000_123_456n, A),
    unknownBlock(be, 0x0bad, 10),
    epb(be, 1, 1_700_000_000_987_654_321n, B, 4000),
    epb(be, 2, (1_700_000_000n << 20n) + (1n << 19n), C), // 1_700_000_000.5 s + 1000 s
    dsb(be, 0x544c534b, text('CLIENT_RANDOM 00 11\n')),
    pb(be, 0, 1_700_000_002_000_000n, A),
    shb(le),
    idb(le, LinkType.NULL, { tsresol: 3 }), // ms
    spb(le, B), // SPB: no timestamp, iface 0 of this section
    epb(le, 0, 1_700_000_003_250n, C),
  );
}

describe('pcapng', () => {
  const expected = [
    { ts: 1_700_000_000_123_456, linkType: LinkType.ETHERNET, iface: 0, data: hex(A), origLen: A.length },
    { ts: 1_700_000_000_987_654, linkType: LinkType.LINUX_SLL2, iface: 1, data: hex(B), origLen: 4000 },
    { ts: 1_700_001_000_500_000, linkType: LinkType.RAW, iface: 2, data: hex(C), origLen: 1 },
    { ts: 1_700_000_002_000_000, linkType: LinkType.ETHERNET, iface: 0, data: hex(A), origLen: A.length },
    // The SPB takes the last known time; CapturedPacket.iface counts across sections.
    { ts: 1_700_000_002_000_000, linkType: LinkType.NULL, iface: 3, data: hex(B), origLen: B.length },
    { ts: 1_700_000_003_250_000, linkType: LinkType.NULL, iface: 3, data: hex(C), origLen: 1 },
  ];

  it('sections of both byte orders, several interfaces with their own link types and resolutions', () => {
    const file = multiSection();
    const seen = parse(file);
    expect(seen.packets).toEqual(expected);
    expect(seen.secrets).toEqual([{ type: 0x544c534b, data: hex(text('CLIENT_RANDOM 00 11\n')) }]);
    expect(seen.summary).toEqual({
      format: 'pcapng',
      packets: 6,
      bytes: file.length,
      truncatedAt: null,
      stoppedAt: null,
      interfaces: [
        { linkType: LinkType.ETHERNET, tsResolution: 1e6, snapLen: 0 },
        { linkType: LinkType.LINUX_SLL2, tsResolution: 1e9, snapLen: 0 },
        { linkType: LinkType.RAW, tsResolution: 2 ** 20, snapLen: 0 },
        { linkType: LinkType.NULL, tsResolution: 1e3, snapLen: 0 },
      ],
    });
    expect(seen.anomalies).toEqual([]);
  });

  it('reads what the shared test writer writes (ns interface, secrets)', () => {
    const recs = [
      { ts: 1_750_000_000_000_001, nanos: 999, data: A, iface: 1 },
      { ts: 1_750_000_000_500_000, data: B, iface: 0 },
    ];
    for (const bigEndian of [false, true]) {
      const file = pcapBytes(recs, { kind: 'pcapng', bigEndian, interfaces: [{ linkType: 1 }, { linkType: 276, nanos: true }] });
      const seen = parse(file);
      expect(seen.packets.map((p) => [p.ts, p.linkType, p.iface, p.data])).toEqual([
        [1_750_000_000_000_001, 276, 1, hex(A)],
        [1_750_000_000_500_000, 1, 0, hex(B)],
      ]);
    }
  });

  it('counts a packet for an undeclared interface and goes on', () => {
    const seen = parse(concat(shb(true), idb(true, 1), epb(true, 5, 1n, A), epb(true, 0, 2n, B)));
    expect(seen.packets.map((p) => p.data)).toEqual([hex(B)]);
    expect(seen.anomalies).toEqual([['pcapng_unknown_interface', 1]]);
  });

  it('skips a section of an unknown major version', () => {
    const file = concat(shb(true, 2), idb(true, 1), epb(true, 0, 1n, A), shb(false), idb(false, 1), epb(false, 0, 2n, B));
    const seen = parse(file);
    expect(seen.packets.map((p) => p.data)).toEqual([hex(B)]);
    expect(seen.anomalies).toEqual([['pcapng_unsupported_version', 1]]);
  });

  it('stops at a block length that breaks the framing', () => {
    const good = concat(shb(true), idb(true, 1), epb(true, 0, 1n, A));
    const bad = epb(true, 0, 2n, B);
    bad[4] = 13; // not a multiple of 4
    const seen = parse(concat(good, bad, epb(true, 0, 3n, C)));
    expect(seen.packets).toHaveLength(1);
    expect(seen.summary.stoppedAt).toBe(good.length);
    expect(seen.anomalies).toEqual([['pcapng_bad_block_length', 1]]);
  });

  it('skips a packet whose captured length overruns its block', () => {
    const bad = epb(true, 0, 2n, B);
    bad[20] = 0xff; // captured length 255+ > block
    const seen = parse(concat(shb(true), idb(true, 1), bad, epb(true, 0, 3n, C)));
    expect(seen.packets.map((p) => p.data)).toEqual([hex(C)]);
    expect(seen.anomalies).toEqual([['pcapng_bad_caplen', 1]]);
  });

  it('skips a block over the 16 MiB cap without buffering it, then goes on', () => {
    const anomalies = new AnomalyCounter();
    const got: string[] = [];
    const parser = new CaptureParser({ anomalies, onPacket: (p) => got.push(hex(p.data)) });
    parser.push(concat(shb(true), idb(true, 1), epb(true, 0, 1n, A)));
    const size = 17 * 1024 * 1024;
    // Header of a huge custom block, split across pushes, then 1 MiB zero chunks.
    const head = new Uint8Array(8);
    new DataView(head.buffer).setUint32(0, 0x00000bad, true);
    new DataView(head.buffer).setUint32(4, size, true);
    parser.push(head.subarray(0, 5));
    parser.push(head.subarray(5));
    const zeros = new Uint8Array(1024 * 1024);
    let left = size - 8;
    while (left > 0) {
      const n = Math.min(left, zeros.length);
      parser.push(zeros.subarray(0, n));
      left -= n;
    }
    parser.push(epb(true, 0, 2n, B));
    const summary = parser.end();
    expect(got).toEqual([hex(A), hex(B)]);
    expect(anomalies.entries()).toEqual([['pcapng_oversized_block', 1]]);
    expect(summary.truncatedAt).toBeNull();
  });

  it('notes a trailing block length that disagrees with the leading one', () => {
    const b = epb(true, 0, 2n, B);
    b[b.length - 4] = 0;
    const seen = parse(concat(shb(true), idb(true, 1), b));
    expect(seen.packets).toHaveLength(1);
    expect(seen.anomalies).toEqual([['pcapng_block_length_mismatch', 1]]);
  });

  it('reports interfaces as they are declared, so the CLI can refuse a link type', () => {
    const declared: number[] = [];
    const parser = new CaptureParser({ onPacket: () => undefined, onInterface: (i) => declared.push(i.linkType) });
    parser.push(multiSection());
    parser.end();
    expect(declared).toEqual([1, 276, 101, 0]);
  });
});

describe('chunking', () => {
  const files: [string, Uint8Array][] = [
    ['pcap', pcapFile({ linkType: 1, le: false, nanos: true }, [{ sec: 5, frac: 1, data: A }, { sec: 6, frac: 2, data: B }, { sec: 7, frac: 3, data: C }])],
    ['pcapng', multiSection()],
  ];
  for (const [name, file] of files) {
    it(`${name}: the same result whatever the split, at every offset and byte by byte`, () => {
      const whole = parse(file);
      for (let cut = 0; cut <= file.length; cut++) expect(parse(file, [cut])).toEqual(whole);
      expect(oneByteAtATime(file)).toEqual(whole);
    });

    it(`${name}: random splits give the same result (property)`, () => {
      const whole = parse(file);
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: file.length }), { maxLength: 20 }), (cuts) => {
          expect(parse(file, cuts)).toEqual(whole);
        }),
      );
    });

    it(`${name}: a file cut anywhere yields every complete packet and where the cut record began`, () => {
      const whole = parse(file);
      // Offsets where a record (after the headers) begins, from parsing the prefixes.
      for (let len = 0; len < file.length; len++) {
        const prefix = file.subarray(0, len);
        if (len < 4) {
          expect(() => parse(prefix)).toThrow(CaptureError);
          continue;
        }
        const seen = parse(prefix);
        // Exactly the packets that fit, in order.
        expect(seen.packets).toEqual(whole.packets.slice(0, seen.packets.length));
        expect(seen.summary.stoppedAt).toBeNull();
        if (seen.summary.truncatedAt === null) {
          // Only at a record boundary: re-parsing more of the file must not lose packets.
          expect(parse(file.subarray(0, len + 1)).summary.truncatedAt).toBe(len);
        } else {
          expect(seen.summary.truncatedAt).toBeLessThan(len);
          // Cutting at the reported offset loses nothing more and is clean.
          if (seen.summary.truncatedAt >= 4) expect(parse(file.subarray(0, seen.summary.truncatedAt)).packets).toEqual(seen.packets);
        }
      }
    });
  }
});

describe('not a capture', () => {
  const run = (b: Uint8Array): void => {
    const p = new CaptureParser({ name: 'f.bin', onPacket: () => undefined });
    p.push(b);
    p.end();
  };

  it('an empty input', () => {
    expect(() => run(new Uint8Array(0))).toThrow(new CaptureError('f.bin is empty'));
  });

  it('text', () => {
    expect(() => run(text('GET / HTTP/1.1\r\n'))).toThrow(new CaptureError('f.bin is not a pcap or pcapng file (starts with 0x47455420)'));
  });

  it('a gzip-compressed capture gets a hint', () => {
    expect(() => run(Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0))).toThrow(/starts with 0x1f8b0800\): it is gzip-compressed, gunzip it first/);
  });

  it('fewer than 4 bytes', () => {
    expect(() => run(Uint8Array.of(0xd4, 0xc3))).toThrow(new CaptureError('f.bin is not a pcap or pcapng file (starts with 0xd4c3)'));
  });
});

describe('random bytes (property)', () => {
  const headers: Uint8Array[] = [
    pcapFile({ linkType: 1 }, []),
    pcapFile({ linkType: 1, le: false, nanos: true }, []),
    concat(shb(true), idb(true, 1)),
    concat(shb(false), idb(false, 1, { tsresol: 0x80 | 60 })),
  ];

  it('after a valid header, never throws and never hangs, whatever the bytes and splits', () => {
    fc.assert(
      fc.property(fc.constantFrom(...headers), fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(700), { maxLength: 6 }), (head, body, cuts) => {
        const file = concat(head, body);
        const seen = parse(file, cuts.map((c) => Math.min(c, file.length)));
        expect(seen.summary.packets).toBe(seen.packets.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('pcapng blocks with random bodies and plausible lengths never throw', () => {
    const blockArb = fc.record({ type: fc.constantFrom(1, 2, 3, 6, 10, 0x0a0d0d0a, 77), body: fc.uint8Array({ maxLength: 64 }) }).map(({ type, body }) => {
      const len = 12 + Math.ceil(body.length / 4) * 4;
      const b = new Uint8Array(len);
      const v = new DataView(b.buffer);
      v.setUint32(0, type, true);
      v.setUint32(4, len, true);
      b.set(body, 8);
      v.setUint32(len - 4, len, true);
      return b;
    });
    fc.assert(
      fc.property(fc.array(blockArb, { maxLength: 12 }), (blocks) => {
        parse(concat(shb(true), ...blocks));
      }),
      { numRuns: 2000 },
    );
  });

  it('any bytes at all: either parsed or a CaptureError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          parse(b);
        } catch (err) {
          expect(err).toBeInstanceOf(CaptureError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
