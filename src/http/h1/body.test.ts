import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bodyBytes, contiguousBytes } from '../types.js';
import { parseSse } from '../sse.js';
import { BodyBuilder } from './body.js';

class Names {
  readonly names: string[] = [];
  add(name: string): void {
    this.names.push(name);
  }
}

/** `bytes` cut at `cuts` into packets stamped 10, 20, 30, … */
function packets(bytes: Uint8Array, cuts: number[]): { data: Uint8Array; ts: number }[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: { data: Uint8Array; ts: number }[] = [];
  let start = 0;
  for (const end of [...at, bytes.length]) {
    out.push({ data: bytes.subarray(start, end), ts: 10 * (out.length + 1) });
    start = end;
  }
  return out;
}

function build(bytes: Uint8Array, cuts: number[], o: { timed: boolean; cap: number; declared: boolean; encoding: string | null }) {
  const names = new Names();
  const b = new BodyBuilder(o.encoding, o.cap, names, o.timed);
  if (o.declared) b.expect(bytes.length);
  const pkts = packets(bytes, cuts);
  // Borrowed bytes: the caller reuses its buffer after each call (as reassembly does).
  const scratch = new Uint8Array(bytes.length);
  for (const p of pkts) {
    scratch.set(p.data);
    b.data(scratch.subarray(0, p.data.length), p.ts);
    scratch.fill(0xee);
  }
  const body = b.finish(999, bytes.length, false);
  return { body, names: names.names, pkts };
}

const shapes = fc.record({
  text: fc.uint8Array({ minLength: 0, maxLength: 3000 }),
  cuts: fc.array(fc.nat(), { maxLength: 12 }),
  cap: fc.oneof(fc.constant(1 << 20), fc.integer({ min: 1, max: 3000 })),
  declared: fc.boolean(),
});

describe('BodyBuilder: timed and untimed bodies', () => {
  it('untimed (a request) keeps the same bytes, size, truncation and anomalies as timed, as one chunk at its last packet time', () => {
    fc.assert(
      fc.property(shapes, ({ text, cuts, cap, declared }) => {
        const timed = build(text, cuts, { timed: true, cap, declared, encoding: null });
        const untimed = build(text, cuts, { timed: false, cap, declared, encoding: null });
        expect(Buffer.from(bodyBytes(untimed.body))).toEqual(Buffer.from(bodyBytes(timed.body)));
        expect(Buffer.from(bodyBytes(timed.body))).toEqual(Buffer.from(text.subarray(0, Math.min(cap, text.length))));
        expect([untimed.body.size, untimed.body.truncated, untimed.names]).toEqual([timed.body.size, timed.body.truncated, timed.names]);
        if (timed.body.size === 0) expect(untimed.body.chunks).toEqual([]);
        else {
          expect(untimed.body.chunks).toHaveLength(1);
          expect(untimed.body.chunks[0]!.ts).toBe(timed.body.chunks[timed.body.chunks.length - 1]!.ts);
        }
      }),
    );
  });

  it('timed chunks are the packets as they came, each with its own time', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), (text, cuts, declared) => {
        const { body, pkts } = build(text, cuts, { timed: true, cap: 1 << 20, declared, encoding: null });
        const sent = pkts.filter((p) => p.data.length > 0);
        expect(body.chunks.map((c) => [Buffer.from(c.data).toString('hex'), c.ts])).toEqual(sent.map((p) => [Buffer.from(p.data).toString('hex'), p.ts]));
      }),
    );
  });

  it('a gzip request body decodes to the same bytes timed or not, cap included', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 4000 }), fc.array(fc.nat(), { maxLength: 12 }), fc.integer({ min: 1, max: 5000 }), (s, cuts, cap) => {
        const plain = Buffer.from(s.repeat(3));
        const gz = zlib.gzipSync(plain);
        const timed = build(gz, cuts, { timed: true, cap, declared: true, encoding: 'gzip' });
        const untimed = build(gz, cuts, { timed: false, cap, declared: true, encoding: 'gzip' });
        expect(Buffer.from(bodyBytes(untimed.body))).toEqual(Buffer.from(bodyBytes(timed.body)));
        expect(Buffer.from(bodyBytes(timed.body))).toEqual(plain.subarray(0, Math.min(cap, plain.length)));
        expect([untimed.body.size, untimed.body.truncated, untimed.names]).toEqual([timed.body.size, timed.body.truncated, timed.names]);
        expect(untimed.body.chunks.length).toBe(plain.length === 0 ? 0 : 1);
      }),
    );
  });
});

describe('BodyBuilder: the whole body recorded for its chunks', () => {
  it('a timed body of several packets is recorded as one buffer, the chunks end to end in it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 3000 }), fc.array(fc.nat(), { minLength: 1, maxLength: 12 }), (text, cuts) => {
        const { body } = build(text, cuts, { timed: true, cap: 1 << 20, declared: false, encoding: null });
        const whole = contiguousBytes(body.chunks, body.size);
        if (body.chunks.length < 2) return;
        expect(whole).toBeDefined();
        expect(Buffer.from(whole!).equals(Buffer.from(text))).toBe(true);
        let at = 0;
        for (const c of body.chunks) {
          // Each chunk is a view of the recorded buffer at its place, not a copy.
          expect(c.data.buffer).toBe(whole!.buffer);
          expect(c.data.byteOffset).toBe(whole!.byteOffset + at);
          at += c.data.length;
        }
      }),
    );
  });

  it('a chunk list changed after the body finished is read from its chunks, not the recorded buffer', () => {
    const names = new Names();
    const b = new BodyBuilder(null, 1 << 20, names);
    for (const [i, word] of ['one', 'two', 'six'].entries()) b.data(Buffer.from(`data: ${word}\n\n`), i + 1);
    const body = b.finish(9, 33, false);
    expect(parseSse(body.chunks).map((e) => e.data)).toEqual(['one', 'two', 'six']);
    body.chunks.splice(1, 1);
    expect(parseSse(body.chunks).map((e) => e.data)).toEqual(['one', 'six']);
    expect(Buffer.from(bodyBytes({ ...body, size: 22 })).toString()).toBe('data: one\n\ndata: six\n\n');
  });
});
