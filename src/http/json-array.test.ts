import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../../test/corpus.js';
import { AnomalyCounter } from '../core/anomalies.js';
import { JsonArrayStreamParser, parseJsonArrayStream, type JsonArrayOptions, type JsonItem } from './json-array.js';
import { bytes, expectSplitInvariant, type Harness } from './stream-test-helpers.test-support.js';

function harness(options?: JsonArrayOptions): () => Harness<JsonItem> {
  return () => {
    const out: JsonItem[] = [];
    const anomalies = new AnomalyCounter();
    const p = new JsonArrayStreamParser((e) => out.push(e), anomalies, options);
    return { push: (c, ts) => p.push(c, ts), end: (ts) => p.end(ts), out, anomalies };
  };
}

function arr(text: string | Uint8Array, options?: JsonArrayOptions) {
  const h = expectSplitInvariant(harness(options), typeof text === 'string' ? bytes(text) : text);
  return { values: h.out.map((i) => i.value), raws: h.out.map((i) => i.raw), anomalies: h.anomalies };
}

describe('JsonArrayStreamParser', () => {
  it('yields each element of a Gemini-style array with its raw text', () => {
    const text = '[{"candidates": [{"content": {"parts": [{"text": "Hi"}]}}]}\r\n,\r\n{"usageMetadata": {"promptTokenCount": 3}}\r\n]';
    const { values, raws, anomalies } = arr(text);
    expect(values).toEqual([{ candidates: [{ content: { parts: [{ text: 'Hi' }] } }] }, { usageMetadata: { promptTokenCount: 3 } }]);
    expect(raws[1]).toBe('{"usageMetadata": {"promptTokenCount": 3}}');
    expect(anomalies.total).toBe(0);
  });

  it('brackets, braces and quotes inside strings and escapes do not confuse it', () => {
    const text = String.raw`[{"t":"a]}\"{[b\\","u":"\\\"x\u005d"}, {"v":"]"}]`;
    const { values, anomalies } = arr(text);
    expect(values).toEqual(JSON.parse(text));
    expect(anomalies.total).toBe(0);
  });

  it('scalars, strings and nested arrays as elements', () => {
    const text = '[1, -2.5e3 ,true,false,null,"s]",[1,[2]],{}]';
    expect(arr(text).values).toEqual(JSON.parse(text));
  });

  it('empty array, whitespace everywhere, a leading BOM', () => {
    expect(arr(' [ ] ').values).toEqual([]);
    expect(arr('\uFEFF\n[\n{"a":1}\n]\n').values).toEqual([{ a: 1 }]);
    expect(arr(' [ ] ').anomalies.total).toBe(0);
  });

  it('tolerates missing and extra commas', () => {
    const { values, anomalies } = arr('[,{"a":1}{"b":2},,{"c":3},]');
    expect(values).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }]);
    expect(anomalies.total).toBe(0);
  });

  it('an interrupted stream yields the complete elements', () => {
    const { values, anomalies } = arr('[{"a":1},\n{"b":2},\n{"c":');
    expect(values).toEqual([{ a: 1 }, { b: 2 }]);
    expect(anomalies.get('json_array_unterminated')).toBe(1);
    expect(arr('[{"a":1}').anomalies.get('json_array_unterminated')).toBe(1);
    expect(arr('[{"a":1},12').values).toEqual([{ a: 1 }]); // a number cut by the end may be partial
  });

  it('a bare top-level value (an error object) is the one element', () => {
    const text = '{"error": {"code": 400, "message": "bad [request]", "status": "INVALID_ARGUMENT"}}\n';
    const { values, anomalies } = arr(text);
    expect(values).toEqual([JSON.parse(text)]);
    expect(anomalies.total).toBe(0);
    expect(arr('42').values).toEqual([42]);
  });

  it('counts invalid elements and garbage, and goes on', () => {
    const { values, anomalies } = arr('[{"a":1}, {"b":}, xyz, {"c":3}] trailing');
    expect(values).toEqual([{ a: 1 }, { c: 3 }]);
    expect(anomalies.get('json_array_invalid')).toBe(3); // the bad element, "xyz", "trailing"
    expect(arr('[{"a":]}, {"b":2}]').values).toEqual([{ b: 2 }]); // mismatched closer
  });

  it('an element carries the ts of the chunk that completed it', () => {
    const items = parseJsonArrayStream([
      { data: bytes('[{"a"'), ts: 1 },
      { data: bytes(':1}'), ts: 2 },
      { data: bytes(',\r\n{"b":"x\\'), ts: 3 },
      { data: bytes('"y"}\r\n]'), ts: 4 },
    ]);
    expect(items.map((i) => [i.value, i.ts])).toEqual([
      [{ a: 1 }, 2],
      [{ b: 'x"y' }, 4],
    ]);
  });

  it('decodes UTF-8 split across chunks', () => {
    expect(arr('[{"t":"héllo 😀 日本"}]').values).toEqual([{ t: 'héllo 😀 日本' }]);
  });

  it('drops an over-cap element and goes on with the next', () => {
    const text = `[{"a":1},{"big":"${'x'.repeat(40)}","n":[1,2]},{"b":2}]`;
    const { values, anomalies } = arr(text, { maxElementBytes: 32 });
    expect(values).toEqual([{ a: 1 }, { b: 2 }]);
    expect(anomalies.get('json_array_element_too_large')).toBe(1);
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (input, cut) => {
        const p = new JsonArrayStreamParser(() => undefined, new AnomalyCounter(), { maxElementBytes: 20 });
        p.push(input.subarray(0, cut), 1);
        p.push(input.subarray(cut), 2);
        p.end(3);
      }),
    );
  });

  it('JSON-like input gives the same items at every split', () => {
    const alphabet = ['[', ']', '{', '}', '"', '\\', ',', ':', ' ', '\r\n', '1', 'true', 'x', '"k":', 'é', '\uFEFF'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 30 }), (parts) => {
        const input = bytes(parts.join(''));
        expectSplitInvariant(harness(), input);
        expectSplitInvariant(harness({ maxElementBytes: 8 }), input);
      }),
      { numRuns: 300 },
    );
  });

  it('any JSON array, pretty-printed or not, gives its elements at every split', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { maxLength: 4 }), fc.boolean(), (value, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        const h = expectSplitInvariant(harness(), bytes(text));
        expect(h.out.map((i) => i.value)).toEqual(JSON.parse(text));
        expect(h.anomalies.total).toBe(0);
      }),
      { numRuns: 100 },
    );
  });
});

describe.skipIf(!corpusDir)('JsonArrayStreamParser: recorded Gemini streamGenerateContent bodies', () => {
  const files = corpusDir
    ? [
        ...readdirSync(join(corpusDir, 'louter/gemini'))
          .filter((n) => n.endsWith('.jsonarray.json'))
          .map((n) => `louter/gemini/${n}`),
        ...readdirSync(join(corpusDir, 'langchainjs-google-common'))
          .filter((n) => /^llm-.*\.json$/.test(n))
          .map((n) => `langchainjs-google-common/${n}`),
      ].sort()
    : [];

  it('finds the recorded bodies', () => {
    expect(files.length).toBeGreaterThan(3);
  });

  it.each(files)('%s', (name) => {
    const body = readFileSync(join(corpusDir!, name));
    const a = new AnomalyCounter();
    const items = parseJsonArrayStream([{ data: body, ts: 1 }], a);
    const whole = JSON.parse(body.toString('utf8')) as unknown;
    expect(Array.isArray(whole)).toBe(true);
    expect(items.map((i) => i.value)).toEqual(whole);
    expect(a.total).toBe(0);
    // The same at a few hundred split offsets.
    const step = Math.max(1, Math.floor(body.length / 300)) | 1;
    for (let k = 0; k <= body.length; k += step) {
      const split = parseJsonArrayStream([
        { data: body.subarray(0, k), ts: 1 },
        { data: body.subarray(k), ts: 1 },
      ]);
      expect(split).toEqual(items);
    }
  });
});
