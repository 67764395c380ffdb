import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../../test/corpus.js';
import { AnomalyCounter } from '../core/anomalies.js';
import { NdjsonParser, parseNdjson, type JsonItem, type NdjsonOptions } from './ndjson.js';
import { bytes, expectSplitInvariant, type Harness } from './stream-test-helpers.test-support.js';

function harness(options?: NdjsonOptions): () => Harness<JsonItem> {
  return () => {
    const out: JsonItem[] = [];
    const anomalies = new AnomalyCounter();
    const p = new NdjsonParser((e) => out.push(e), anomalies, options);
    return { push: (c, ts) => p.push(c, ts), end: (ts) => p.end(ts), out, anomalies };
  };
}

function ndjson(text: string | Uint8Array, options?: NdjsonOptions) {
  const h = expectSplitInvariant(harness(options), typeof text === 'string' ? bytes(text) : text);
  return { values: h.out.map((i) => i.value), raws: h.out.map((i) => i.raw), anomalies: h.anomalies };
}

describe('NdjsonParser', () => {
  it('one value per line, LF or CRLF, blank lines skipped', () => {
    const { values, raws, anomalies } = ndjson('{"a":1}\n\r\n  \n{"b":"x y"}\r\n[1,2]\n"s"\n');
    expect(values).toEqual([{ a: 1 }, { b: 'x y' }, [1, 2], 's']);
    expect(raws).toEqual(['{"a":1}', '{"b":"x y"}', '[1,2]', '"s"']);
    expect(anomalies.total).toBe(0);
  });

  it('parses a final line without LF at end, with the end ts', () => {
    const p = harness()();
    p.push(bytes('{"a":1}\n{"b"'), 10);
    p.push(bytes(':2}'), 20);
    p.end(30);
    expect(p.out).toEqual([
      { value: { a: 1 }, ts: 10, raw: '{"a":1}' },
      { value: { b: 2 }, ts: 30, raw: '{"b":2}' },
    ]);
  });

  it('an item carries the ts of the chunk holding its LF', () => {
    const items = parseNdjson([
      { data: bytes('{"a":'), ts: 1 },
      { data: bytes('1}'), ts: 2 },
      { data: bytes('\n{"b":2}\n'), ts: 3 },
    ]);
    expect(items.map((i) => [i.value, i.ts])).toEqual([
      [{ a: 1 }, 3],
      [{ b: 2 }, 3],
    ]);
  });

  it('counts and skips invalid lines, handing their text to onInvalid', () => {
    const invalid: [string, number][] = [];
    const a = new AnomalyCounter();
    const items = parseNdjson([{ data: bytes('{"a":1}\nnot json\n{"b":\n{"c":3}\n'), ts: 5 }], a, {
      onInvalid: (raw, ts) => invalid.push([raw, ts]),
    });
    expect(items.map((i) => i.value)).toEqual([{ a: 1 }, { c: 3 }]);
    expect(a.get('ndjson_invalid_json')).toBe(2);
    expect(invalid).toEqual([
      ['not json', 5],
      ['{"b":', 5],
    ]);
  });

  it('decodes UTF-8 split across chunks and strips a leading BOM', () => {
    expect(ndjson('\uFEFF{"t":"héllo 😀 日本"}\n').values).toEqual([{ t: 'héllo 😀 日本' }]);
  });

  it('drops an over-cap line and recovers at the next LF', () => {
    const { values, anomalies } = ndjson(`{"a":1}\n{"big":"${'x'.repeat(40)}"}\n{"b":2}\n`, { maxLineBytes: 32 });
    expect(values).toEqual([{ a: 1 }, { b: 2 }]);
    expect(anomalies.get('ndjson_line_too_large')).toBe(1);
  });

  it('an over-cap final line without LF is dropped', () => {
    const { values, anomalies } = ndjson(`{"a":1}\n"${'x'.repeat(40)}"`, { maxLineBytes: 32 });
    expect(values).toEqual([{ a: 1 }]);
    expect(anomalies.get('ndjson_line_too_large')).toBe(1);
  });

  it('empty body: nothing, no anomaly', () => {
    const a = new AnomalyCounter();
    expect(parseNdjson([], a)).toEqual([]);
    expect(a.total).toBe(0);
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (input, cut) => {
        const p = new NdjsonParser(() => undefined, new AnomalyCounter(), { maxLineBytes: 20 });
        p.push(input.subarray(0, cut), 1);
        p.push(input.subarray(cut), 2);
        p.end(3);
      }),
    );
  });

  it('NDJSON-like input gives the same items at every split', () => {
    const alphabet = ['{"a":1}', '[', ']', '"x"', '\n', '\r\n', ' ', '1', ',', 'é', '\uFEFF'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 30 }), (parts) => {
        const input = bytes(parts.join(''));
        expectSplitInvariant(harness(), input);
        expectSplitInvariant(harness({ maxLineBytes: 8 }), input);
      }),
      { numRuns: 300 },
    );
  });
});

function findFiles(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findFiles(p, suffix));
    else if (name.endsWith(suffix)) out.push(p);
  }
  return out.sort();
}

describe.skipIf(!corpusDir)('NdjsonParser: recorded bodies (Ollama, Cohere v1)', () => {
  const files = corpusDir ? findFiles(corpusDir, '.ndjson') : [];

  it('finds the recorded bodies', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files.map((f) => [relative(corpusDir!, f), f]))('%s', (_name, file) => {
    const body = readFileSync(file);
    const a = new AnomalyCounter();
    const items = parseNdjson([{ data: body, ts: 1 }], a);
    expect(a.total).toBe(0);
    const lines = body.toString('utf8').split('\n').filter((l) => l.trim() !== '');
    expect(items.map((i) => i.value)).toEqual(lines.map((l) => JSON.parse(l) as unknown));
    // Both APIs mark the last item as the end of the stream.
    const last = items.at(-1)!.value as { done?: boolean; is_finished?: boolean };
    expect(last.done ?? last.is_finished).toBe(true);
  });
});
