import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../../test/corpus.js';
import { AnomalyCounter } from '../core/anomalies.js';
import { parseSse, SseParser, type SseEvent, type SseOptions } from './sse.js';
import { bytes, expectSplitInvariant, type Harness } from './stream-test-helpers.test-support.js';

function harness(options?: SseOptions): () => Harness<SseEvent> {
  return () => {
    const out: SseEvent[] = [];
    const anomalies = new AnomalyCounter();
    const p = new SseParser((e) => out.push(e), anomalies, options);
    return { push: (c, ts) => p.push(c, ts), end: (ts) => p.end(ts), out, anomalies };
  };
}

/** Parse `text` at every split; return events without ts, and the anomalies. */
function sse(text: string | Uint8Array, options?: SseOptions) {
  const h = expectSplitInvariant(harness(options), typeof text === 'string' ? bytes(text) : text);
  return { events: h.out.map(({ ts: _ts, ...e }) => e), anomalies: h.anomalies };
}

const msg = (data: string, more: Partial<SseEvent> = {}) => ({ event: 'message', data, id: '', retry: null, ...more });

describe('SseParser: WHATWG "Interpreting an event stream" examples', () => {
  it('joins multi-line data with LF (stock ticker example)', () => {
    expect(sse('data: YHOO\ndata: +2\ndata: 10\n\n').events).toEqual([msg('YHOO\n+2\n10')]);
  });

  it('comment, ids, an empty id resetting the last event id, two spaces keep one', () => {
    const text = ': test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n';
    expect(sse(text).events).toEqual([msg('first event', { id: '1' }), msg('second event'), msg(' third event')]);
  });

  it('empty data fields dispatch; a final line without blank line is discarded', () => {
    const { events, anomalies } = sse('data\n\ndata\ndata\n\ndata:');
    expect(events).toEqual([msg(''), msg('\n')]);
    expect(anomalies.get('sse_unterminated_event')).toBe(1);
  });

  it('"data:test" and "data: test" are the same', () => {
    expect(sse('data:test\n\ndata: test\n\n').events).toEqual([msg('test'), msg('test')]);
  });

  it('event types', () => {
    const text = 'event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n';
    expect(sse(text).events.map((e) => [e.event, e.data])).toEqual([
      ['add', '73857293'],
      ['remove', '2153'],
      ['add', '113411'],
    ]);
  });
});

describe('SseParser: line ends', () => {
  it('CR, LF and CRLF all end lines, mixed in one stream', () => {
    const text = 'data: a\r\rdata: b\r\n\r\ndata: c\n\ndata: d\rdata: e\n\r\n';
    expect(sse(text).events.map((e) => e.data)).toEqual(['a', 'b', 'c', 'd\ne']);
  });

  it('a CR ending one chunk and an LF starting the next are one line end', () => {
    const p = harness()();
    p.push(bytes('data: a\r'), 1);
    p.push(bytes('\ndata: b\r\n\r\n'), 2);
    p.end(3);
    // Two line ends would make the LF a blank line and dispatch "a" alone.
    expect(p.out).toEqual([{ ...msg('a\nb'), ts: 2 }]);
  });

  it('an empty chunk between CR and LF keeps them one line end', () => {
    const p = harness()();
    p.push(bytes('data: a\r'), 1);
    p.push(new Uint8Array(0), 2);
    p.push(bytes('\ndata: b\n\n'), 3);
    p.end(4);
    expect(p.out.map((e) => e.data)).toEqual(['a\nb']);
  });

  it('CR CR is a line end and a blank line', () => {
    expect(sse('data: x\r\r').events).toEqual([msg('x')]);
  });
});

describe('SseParser: fields', () => {
  it('comments and unknown fields are ignored; a field without colon has an empty value', () => {
    const text = ':comment\n: another\nfoo: bar\nDATA: no\ndata\ndata:x\n\n';
    expect(sse(text).events).toEqual([msg('\nx')]);
  });

  it('splits at the first colon only', () => {
    expect(sse('data: a: b:c\n\n').events).toEqual([msg('a: b:c')]);
  });

  it('id persists across events and is ignored when it contains NUL', () => {
    const text = 'id: 7\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\nid: 8\n\ndata: d\n\n';
    expect(sse(text).events.map((e) => [e.data, e.id])).toEqual([
      ['a', '7'],
      ['b', '7'],
      ['c', '7'],
      ['d', '8'], // set by an event that had no data
    ]);
  });

  it('retry takes ASCII digits only, and persists', () => {
    const text = 'retry: 1000\ndata: a\n\nretry: 10a\ndata: b\n\nretry:\ndata: c\n\nretry: 25\n\ndata: d\n\n';
    expect(sse(text).events.map((e) => [e.data, e.retry])).toEqual([
      ['a', 1000],
      ['b', 1000],
      ['c', 1000],
      ['d', 25],
    ]);
    expect(sse('retry: 99999999999999999999999\ndata: a\n\n').events[0]!.retry).toBeNull();
  });

  it('an event type without data is not dispatched and does not leak into the next event', () => {
    expect(sse('event: foo\n\ndata: x\n\n').events).toEqual([msg('x')]);
  });

  it('an empty event field means "message"', () => {
    expect(sse('event:\ndata: x\n\n').events).toEqual([msg('x')]);
  });

  it('the last event field wins', () => {
    expect(sse('event: a\nevent: b\ndata: x\n\n').events).toEqual([msg('x', { event: 'b' })]);
  });
});

describe('SseParser: bytes and UTF-8', () => {
  it('decodes multi-byte characters split across chunks', () => {
    expect(sse('data: héllo wörld 😀 日本\n\n').events).toEqual([msg('héllo wörld 😀 日本')]);
  });

  it('strips one leading BOM (also split across chunks), not a second', () => {
    expect(sse('\uFEFFdata: a\n\n').events).toEqual([msg('a')]);
    // A second BOM is part of the field name "\uFEFFdata", an unknown field.
    expect(sse('\uFEFF\uFEFFdata: a\n\n').events).toEqual([]);
    expect(sse('data: a\n\n\uFEFFdata: b\n\n').events).toEqual([msg('a')]);
  });

  it('replaces invalid UTF-8 with U+FFFD', () => {
    const input = Uint8Array.from([...bytes('data: a'), 0xff, 0xe2, 0x82, ...bytes('b\n\n')]);
    expect(sse(input).events).toEqual([msg('a\uFFFD\uFFFDb')]);
  });

  it('keeps NUL and other control bytes in data', () => {
    expect(sse('data: a\0\tb\n\n').events).toEqual([msg('a\0\tb')]);
  });
});

describe('SseParser: capture times', () => {
  it('an event carries the ts of the chunk holding its dispatching blank line', () => {
    const p = harness()();
    p.push(bytes('event: x\n'), 10);
    p.push(bytes('data: 1\n'), 20);
    p.push(bytes('\ndata: 2\n\ndata:'), 30);
    p.push(bytes(' 3\n'), 40);
    p.push(bytes('\n'), 50);
    p.end(60);
    expect(p.out.map((e) => [e.data, e.ts])).toEqual([
      ['1', 30],
      ['2', 30],
      ['3', 50],
    ]);
    expect(p.out[0]!.event).toBe('x');
  });

  it('parseSse takes the ts from BodyChunks', () => {
    const events = parseSse([
      { data: bytes('data: a\n'), ts: 5 },
      { data: bytes('\n'), ts: 6 },
    ]);
    expect(events).toEqual([{ ...msg('a'), ts: 6 }]);
  });
});

describe('SseParser: end of stream', () => {
  it('counts an unterminated event and does not dispatch it', () => {
    const a = new AnomalyCounter();
    expect(parseSse([{ data: bytes('data: a\n\ndata: b\n'), ts: 1 }], a).map((e) => e.data)).toEqual(['a']);
    expect(a.get('sse_unterminated_event')).toBe(1);
  });

  it('a clean end or trailing comment/blank lines count nothing', () => {
    for (const text of ['data: a\n\n', 'data: a\n\n: keepalive\n', 'data: a\r\n\r\n', '']) {
      const a = new AnomalyCounter();
      parseSse([{ data: bytes(text), ts: 1 }], a);
      expect(a.total, text).toBe(0);
    }
  });

  it('flushAtEnd dispatches the pending event with the end ts', () => {
    const a = new AnomalyCounter();
    const events = parseSse([{ data: bytes('data: a\n\nevent: e\ndata: b'), ts: 7 }], a, { flushAtEnd: true });
    expect(events).toEqual([
      { ...msg('a'), ts: 7 },
      { ...msg('b', { event: 'e' }), ts: 7 },
    ]);
    expect(a.get('sse_unterminated_event')).toBe(1);
  });
});

describe('SseParser: event size cap', () => {
  const opts = { maxEventBytes: 32 };

  it('drops an over-cap event and resyncs at the next blank line', () => {
    const big = 'x'.repeat(40);
    const { events, anomalies } = sse(`data: a\n\ndata: ${big}\ndata: more\n\ndata: b\n\n`, opts);
    expect(events.map((e) => e.data)).toEqual(['a', 'b']);
    expect(anomalies.get('sse_event_too_large')).toBe(1);
  });

  it('counts the lines of one event together', () => {
    const { events, anomalies } = sse('data: 0123456789\ndata: 0123456789\ndata: 0123456789\n\ndata: b\n\n', opts);
    expect(events.map((e) => e.data)).toEqual(['b']);
    expect(anomalies.get('sse_event_too_large')).toBe(1);
  });

  it('an over-cap line with no line end for a long time is not kept, and the stream recovers', () => {
    const p = harness(opts)();
    p.push(bytes('data: '), 1);
    for (let k = 0; k < 1000; k++) p.push(bytes('yyyyyyyyyy'), 2);
    p.push(bytes('\n\ndata: ok\n\n'), 3);
    p.end(4);
    expect(p.out.map((e) => [e.data, e.ts])).toEqual([['ok', 3]]);
    expect(p.anomalies.get('sse_event_too_large')).toBe(1);
  });

  it('an event exactly at the cap passes', () => {
    // "data: " + 25 bytes + LF = 32 bytes.
    expect(sse(`data: ${'z'.repeat(25)}\n\n`, opts).events).toEqual([msg('z'.repeat(25))]);
  });

  it('comments do not count towards the cap', () => {
    const text = `: ${'c'.repeat(20)}\n: ${'c'.repeat(20)}\ndata: a\n\n`;
    expect(sse(text, opts).events).toEqual([msg('a')]);
  });
});

describe('SseParser: random input', () => {
  // Bytes weighted towards SSE syntax so the generator reaches every branch.
  const alphabet = ['data', 'event', 'id', 'retry', ':', ' ', '\r', '\n', 'x', '1', '\0', '\uFEFF', 'é', '😀'];
  const sseLike = fc.array(fc.constantFrom(...alphabet), { maxLength: 60 }).map((a) => bytes(a.join('')));

  it('never throws on random bytes, whatever the chunking', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300)), (input, cuts) => {
        const p = new SseParser(() => undefined, new AnomalyCounter(), { maxEventBytes: 64 });
        let prev = 0;
        for (const c of [...cuts].sort((a, b) => a - b)) {
          p.push(input.subarray(prev, Math.max(prev, c)), c);
          prev = Math.max(prev, c);
        }
        p.push(input.subarray(prev), 0);
        p.end(0);
      }),
    );
  });

  it('SSE-like input gives the same events at every split', () => {
    fc.assert(
      fc.property(sseLike, (input) => {
        expectSplitInvariant(harness(), input);
        expectSplitInvariant(harness({ maxEventBytes: 16 }), input);
      }),
      { numRuns: 300 },
    );
  });

  // parseSse reads an all-ASCII body no larger than the cap as one string (parseAsciiBody); it
  // must give what SseParser gives fed the same chunks: events, times and anomalies.
  const asciiLike = fc.array(fc.constantFrom('data', 'event', 'id', 'retry', ':', ' ', '\r', '\n', 'x', '1', '\0', 'data: {"a":1}\n', '\n\n', 'event: e\r\n'), { maxLength: 60 });
  const viaParser = (chunks: { data: Uint8Array; ts: number }[], options: SseOptions) => {
    const out: SseEvent[] = [];
    const anomalies = new AnomalyCounter();
    const p = new SseParser((e) => out.push(e), anomalies, options);
    for (const c of chunks) p.push(c.data, c.ts);
    p.end(chunks.length > 0 ? chunks[chunks.length - 1]!.ts : 0);
    return { out, anomalies: anomalies.entries() };
  };
  it('parseSse on ASCII bodies equals SseParser, whatever the chunking, adjacent or not', () => {
    fc.assert(
      fc.property(asciiLike, fc.array(fc.nat(300)), fc.boolean(), fc.boolean(), (parts, cuts, flushAtEnd, adjacent) => {
        const whole = Buffer.from(parts.join(''), 'latin1');
        const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
        const chunks: { data: Uint8Array; ts: number }[] = [];
        let prev = 0;
        for (const [k, c] of [...points, whole.length].entries()) {
          const piece = whole.subarray(prev, c);
          // Not adjacent: each piece a copy in its own buffer (an HTTP/2 or decompressed body).
          chunks.push({ data: adjacent ? piece : Buffer.from(piece), ts: 100 + k });
          prev = c;
        }
        const options: SseOptions = { flushAtEnd };
        const anomalies = new AnomalyCounter();
        const got = parseSse(chunks, anomalies, options);
        const want = viaParser(chunks, options);
        expect(got).toEqual(want.out);
        expect(anomalies.entries()).toEqual(want.anomalies);
      }),
      { numRuns: 500 },
    );
  });

  it('parseSse on a body larger than the cap, or not ASCII, still equals SseParser', () => {
    for (const text of ['data: é\n\n', `data: ${'x'.repeat(40)}\n\ndata: y\n\n`, '\uFEFFdata: z\n\n']) {
      const chunks = [{ data: Buffer.from(text, 'utf8'), ts: 7 }];
      const options: SseOptions = { maxEventBytes: 32 };
      const anomalies = new AnomalyCounter();
      const got = parseSse(chunks, anomalies, options);
      const want = viaParser(chunks, options);
      expect(got).toEqual(want.out);
      expect(anomalies.entries()).toEqual(want.anomalies);
    }
  });
});

/** Every file under `dir` whose name ends with `suffix`. */
function findFiles(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findFiles(p, suffix));
    else if (name.endsWith(suffix)) out.push(p);
  }
  return out.sort();
}

describe.skipIf(!corpusDir)('SseParser: recorded SSE bodies', () => {
  const files = corpusDir ? findFiles(corpusDir, '.sse') : [];

  it('finds the recorded bodies', () => {
    expect(files.length).toBeGreaterThan(50);
  });

  it.each(files.map((f) => [relative(corpusDir!, f), f]))('%s', (_name, file) => {
    const body = readFileSync(file);
    const anomalies = new AnomalyCounter();
    const events = parseSse([{ data: body, ts: 1 }], anomalies);
    expect(events.length).toBeGreaterThan(0);
    const text = body.toString('utf8');
    // Fixtures that drop the final blank line are the only expected anomaly: the last event is
    // then not dispatched (WHATWG), and flushAtEnd recovers it.
    const terminated = /(\r\n|\r|\n)(\r\n|\r|\n)$/.test(text);
    expect(anomalies.entries()).toEqual(terminated ? [] : [['sse_unterminated_event', 1]]);
    const all = terminated ? events : parseSse([{ data: body, ts: 1 }], undefined, { flushAtEnd: true });
    if (/data: ?\[DONE\]\s*$/.test(text)) expect(all.at(-1)!.data).toBe('[DONE]');
    // Every data payload other than [DONE] is JSON in these recordings.
    for (const e of all) if (e.data !== '[DONE]') expect(() => JSON.parse(e.data) as unknown, e.data).not.toThrow();
    if (file.includes('anthropic-sdk-')) {
      // Anthropic names each event, and the name repeats the payload's `type`.
      for (const e of all) expect(e.event).toBe((JSON.parse(e.data) as { type: string }).type);
      expect(all[0]!.event).toBe('message_start');
      expect(all.at(-1)!.event).toBe('message_stop');
    }
    // Split invariance on real bytes, at ~300 offsets per file (every offset would take minutes on
    // the 80 KB files; the random and hand-written inputs above cover every offset).
    const whole = parseSse([{ data: body, ts: 0 }], undefined, { flushAtEnd: true });
    const step = Math.max(1, Math.floor(body.length / 300)) | 1;
    for (let k = 0; k <= body.length; k += step) {
      const split = parseSse(
        [
          { data: body.subarray(0, k), ts: 0 },
          { data: body.subarray(k), ts: 0 },
        ],
        undefined,
        { flushAtEnd: true },
      );
      expect(split).toEqual(whole);
    }
  });
});
