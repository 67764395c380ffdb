import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Micros } from '../core/time.js';
import type { HttpBody } from '../http/types.js';
import { forgetParsedBody, jsonObjectOf, parseJsonBody } from './decode-helpers.js';
import { MAX_SCAN_DEPTH, scanArray, scanObject } from './json-scan.js';
import { jsonObjectReader, readJsonObject, type JsonArrayReader, type JsonObjectReader } from './json-reader.js';

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every way the reader offers to read `key`, compared with the parsed value. */
function expectMemberEqual(r: JsonObjectReader, o: Record<string, unknown>, key: string): void {
  const v = o[key];
  expect(r.get(key)).toEqual(v);
  const a = r.array(key);
  if (Array.isArray(v)) {
    expect(a).not.toBeNull();
    expectArrayEqual(a!, v);
  } else {
    expect(a).toBeNull();
  }
  const sub = r.object(key);
  if (isPlainObject(v)) {
    expect(sub).not.toBeNull();
    for (const k of Object.keys(v)) expect(sub!.get(k)).toEqual(v[k]);
  } else {
    expect(sub).toBeNull();
  }
}

function expectArrayEqual(a: JsonArrayReader, v: unknown[]): void {
  expect(a.length).toBe(v.length);
  for (let i = 0; i < v.length; i++) {
    expect(a.at(i)).toEqual(v[i]);
    const o = a.objectAt(i);
    const e = v[i];
    // An element object's reader is built from the members its array's scan found: every way of
    // reading them (their own arrays and objects too) must agree with JSON.parse.
    if (isPlainObject(e)) for (const k of Object.keys(e)) expectMemberEqual(o!, e, k);
    else expect(o).toBeNull();
  }
  expect(a.at(v.length)).toBeUndefined();
  expect(a.objectAt(-1)).toBeNull();
}

/** JSON text of `v` with whitespace of every allowed kind (RFC 8259 §2) between tokens. */
const spacedJson = (v: unknown, ws: string): string =>
  JSON.stringify(v, null, 1)
    .split('\n')
    .map((line) => line.replace(/^ +/, ws))
    .join(ws.includes('\r') ? '\r\n' : '\n');

describe('readJsonObject against JSON.parse', () => {
  it('reads every member of any JSON object as JSON.parse does', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.constantFrom('', ' ', '\t', '  \r'), (o, ws) => {
        for (const text of [JSON.stringify(o), spacedJson(o, ws)]) {
          const parsed = JSON.parse(text) as Record<string, unknown>;
          const r = readJsonObject(utf8(text));
          expect(r).not.toBeNull();
          for (const k of Object.keys(parsed)) expectMemberEqual(r!, parsed, k);
          expect(r!.get('\u0000absent')).toBeUndefined();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('decodes escaped keys, keeps the last of duplicated keys, and keeps __proto__ as a member', () => {
    const text = '{"mod\\u0065l":"a","x":1,"x":[2],"__proto__":{"p":1},"\\"q\\\\":"\\ud83d\\ude00"}';
    const r = readJsonObject(utf8(text))!;
    const parsed = JSON.parse(text) as Record<string, unknown>;
    for (const k of ['model', 'x', '__proto__', '"q\\']) expectMemberEqual(r, parsed, k);
    expect(r.get('x')).toEqual([2]);
  });

  it('reads element objects member by member as JSON.parse does, and declines one with a bad key', () => {
    const text = '{"tools":[{"type":"function","function":{"name":"a","parameters":{"x":[1,{"y":[]}]}}},{"name":"b","name":"c"},[{"n":1}],3,{}],"m":[{"\\x":1},{"ok":[{"k":"v"}]}]}';
    const parsed = JSON.parse(text.replace('"\\x"', '"x"')) as Record<string, unknown>;
    const r = readJsonObject(utf8(text))!;
    expectMemberEqual(r, parsed, 'tools');
    const tools = r.array('tools')!;
    expect(tools.objectAt(0)!.object('function')!.get('name')).toBe('a');
    expect(tools.objectAt(0)!.object('function')!.array('parameters')).toBeNull();
    expect(tools.objectAt(1)!.get('name')).toBe('c');
    expect(tools.objectAt(2)).toBeNull();
    expect(tools.objectAt(4)!.get('x')).toBeUndefined();
    const m = r.array('m')!;
    // `"\x"` is no JSON string: that element is not read as an object (scanObject declines it too).
    expect(m.objectAt(0)).toBeNull();
    const ok = m.objectAt(1)!.array('ok')!;
    expect(ok.objectAt(0)!.get('k')).toBe('v');
    expect(m.objectAt(1)!.array('ok')!.at(0)).toEqual({ k: 'v' });
  });

  it('decodes invalid UTF-8 as the whole-body decode does (U+FFFD)', () => {
    const bytes = Buffer.concat([utf8('{"a\u00e9":"x'), Buffer.from([0xff, 0xc3]), utf8('y","b":"'), Buffer.from([0xe2, 0x82]), utf8('"}')]);
    const parsed = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    const r = readJsonObject(bytes)!;
    for (const k of Object.keys(parsed)) expect(r.get(k)).toEqual(parsed[k]);
  });

  it('reads a span of a larger buffer (a body inside a capture buffer)', () => {
    const text = 'xx{"a":[1,{"b":2}]}yy';
    const b = utf8(text);
    expect(readJsonObject(b, 2, text.length - 2)!.array('a')!.objectAt(1)!.get('b')).toBe(2);
    expect(readJsonObject(b)).toBeNull();
    // A view that is not a Buffer (bodies are Uint8Array views).
    expect(readJsonObject(new Uint8Array(b.buffer, b.byteOffset + 2, text.length - 4))!.get('a')).toEqual([1, { b: 2 }]);
  });

  it('rejects every strict prefix of a JSON object, as JSON.parse does', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }), fc.nat(), (o, cut) => {
        const text = JSON.stringify(o);
        const b = utf8(text);
        const at = cut % b.length;
        expect(readJsonObject(b, 0, at)).toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * Arbitrary text, and JSON mangled by splicing in structural characters: never a throw, and the
 * scanner agrees with JSON.parse on whether it is a JSON object. The one thing it does not check
 * is the inside of strings, so where the text has no backslash and no control character (nothing
 * a string could hold that JSON.parse would refuse), it must agree exactly.
 */
/** Backslash or a C0 control character (what only a string's inside may make invalid). */
const hasBackslashOrControl = (t: string): boolean => [...t].some((c) => c === '\\' || c.charCodeAt(0) < 0x20);

describe('readJsonObject on garbage', () => {
  const jsonish = fc.constantFrom(...'{}[]",:0123456789.eE+- \n\ttrufalsn\\x\u00e9\u0001'.split(''));
  const mangled = fc
    .tuple(fc.dictionary(fc.string(), fc.jsonValue()), fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.string({ unit: jsonish, maxLength: 3 })), { maxLength: 4 }))
    .map(([o, edits]) => {
      let t = JSON.stringify(o);
      for (const [at, del, ins] of edits) {
        const i = at % (t.length + 1);
        t = t.slice(0, i) + ins + t.slice(i + del);
      }
      return t;
    });
  const texts = fc.oneof(mangled, fc.string({ unit: jsonish }), fc.string(), fc.string({ unit: 'binary' }));

  it('never throws, and agrees with JSON.parse on what is an object', () => {
    fc.assert(
      fc.property(texts, (text) => {
        let parsed: unknown;
        let ok = true;
        try {
          parsed = JSON.parse(text);
        } catch {
          ok = false;
        }
        const r = readJsonObject(utf8(text));
        if (ok && isPlainObject(parsed)) {
          expect(r).not.toBeNull();
          for (const k of Object.keys(parsed)) expectMemberEqual(r!, parsed, k);
        } else if (!hasBackslashOrControl(text.trim())) {
          expect(r).toBeNull();
        }
        // Whatever was accepted reads without throwing.
        if (r !== null) for (const k of ['a', '', 'model']) r.get(k);
      }),
      { numRuns: 3000 },
    );
  });

  it('does not take what JSON.parse takes but is not an object', () => {
    for (const t of ['[]', '"x"', '1', 'null', ' true ', '[{"a":1}]']) expect(readJsonObject(utf8(t))).toBeNull();
    for (const t of ['{"a":01}', '{"a":-}', '{"a":1.}', '{"a":1e}', '{"a":tru}', '{"a":nulll}', '{"a" 1}', '{"a":1 "b":2}', '{a:1}', '{"a":1}x', '{"a":[1,]}', '{"a":{"b":1,}}', '{"a":"\\"}', '{"a":[}']) {
      expect(() => JSON.parse(t)).toThrow();
      expect(readJsonObject(utf8(t))).toBeNull();
    }
  });
});

describe('bounded work', () => {
  it('declines nesting deeper than MAX_SCAN_DEPTH without throwing (the caller parses whole)', () => {
    const nested = (n: number): string => `{"a":${'['.repeat(n)}1${']'.repeat(n)}}`;
    // The object and its member's array are levels of their own: MAX_SCAN_DEPTH counts below them.
    const deep = nested(MAX_SCAN_DEPTH + 2);
    expect(() => JSON.parse(deep)).not.toThrow();
    expect(readJsonObject(utf8(deep))).toBeNull();
    const justEnough = nested(MAX_SCAN_DEPTH + 1);
    expect(readJsonObject(utf8(justEnough))).not.toBeNull();
  });

  it('scans hostile shapes (long runs of openers, backslashes, quotes) in one pass', () => {
    const mb = 1 << 20;
    expect(scanObject(utf8('{"a":' + '['.repeat(mb)), 0, mb + 5)).toBeNull();
    const slashes = utf8(`{"a":"${'\\\\'.repeat(mb / 2)}\\"${'\\"'.repeat(mb / 4)}"}`);
    expect(readJsonObject(slashes)!.get('a')).toBe(JSON.parse(slashes.toString()).a);
    expect(scanArray(utf8('['.repeat(10) + '"'.repeat(mb)), 0, 10 + mb)).toBeNull();
  });
});

describe('jsonObjectReader (over a parsed value)', () => {
  it('reads own members only, arrays and objects as the span reader does', () => {
    const o = JSON.parse('{"m":"x","a":[{"n":1},2],"o":{"k":[]}}') as Record<string, unknown>;
    const r = jsonObjectReader(o);
    for (const k of ['m', 'a', 'o']) expectMemberEqual(r, o, k);
    expect(r.get('toString')).toBeUndefined();
    expect(r.array('m')).toBeNull();
  });
});

describe('jsonObjectOf (a body read once per exchange)', () => {
  const body = (text: string): HttpBody => {
    const data = utf8(text);
    return { chunks: [{ data, ts: 0 as Micros }], size: data.length, wireBytes: data.length, contentEncoding: null, truncated: false, incomplete: false };
  };

  it('parses whole what the scanner declines, and reads a BOM-prefixed body', () => {
    const deep = `{"model":"m","a":${'['.repeat(MAX_SCAN_DEPTH + 2)}1${']'.repeat(MAX_SCAN_DEPTH + 2)}}`;
    expect(jsonObjectOf(body(deep))!.get('model')).toBe('m');
    expect(jsonObjectOf(body('\ufeff{"model":"b"}'))!.get('model')).toBe('b');
    expect(jsonObjectOf(body('{"model":'))).toBeNull();
    expect(jsonObjectOf(body('[1]'))).toBeNull();
    expect(jsonObjectOf(body(''))).toBeNull();
    forgetParsedBody();
  });

  it('reads the value already parsed whole (registry pass 2) instead of scanning again', () => {
    const b = body('{"model":"m","messages":[{"role":"user"}]}');
    const whole = parseJsonBody(b) as { messages: unknown[] };
    expect(jsonObjectOf(b)!.array('messages')!.at(0)).toBe(whole.messages[0]);
    forgetParsedBody();
  });
});
