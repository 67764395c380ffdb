import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AnomalyCounter } from '../core/anomalies.js';
import { applyPartialArg, parseJsonPath, PARTIAL_ARGS_MAX_DEPTH } from './gemini-partial-args.js';

describe('parseJsonPath', () => {
  it('reads dotted names, indexes and quoted keys', () => {
    expect(parseJsonPath('$.a.b')).toEqual(['a', 'b']);
    expect(parseJsonPath('$.ops[2].price')).toEqual(['ops', 2, 'price']);
    expect(parseJsonPath("$['a b'].c")).toEqual(['a b', 'c']);
    expect(parseJsonPath('$["x"]')).toEqual(['x']);
    expect(parseJsonPath('$')).toEqual([]);
  });
  it('refuses what it does not understand', () => {
    for (const p of ['', 'a.b', '$..a', '$.', '$[x]', '$[1', '$a', `$${'.a'.repeat(PARTIAL_ARGS_MAX_DEPTH + 2)}`]) expect(parseJsonPath(p)).toBeNull();
  });
});

describe('applyPartialArg', () => {
  it('builds nested values and appends streamed strings', () => {
    const root = Object.create(null) as Record<string, unknown>;
    const a = new AnomalyCounter();
    applyPartialArg(root, { jsonPath: '$.items[0].name', stringValue: 'Sparkle' }, a);
    applyPartialArg(root, { jsonPath: '$.items[0].name', stringValue: ' Day' }, a);
    applyPartialArg(root, { jsonPath: '$.items[1]', numberValue: 3 }, a);
    applyPartialArg(root, { jsonPath: '$.ok', boolValue: false }, a);
    applyPartialArg(root, { jsonPath: '$.none', nullValue: 'NULL_VALUE' }, a);
    expect(JSON.stringify(root)).toBe('{"items":[{"name":"Sparkle Day"},3],"ok":false,"none":null}');
    expect(a.total).toBe(0);
  });
  it('counts malformed entries and leaves the arguments as they were', () => {
    const root = Object.create(null) as Record<string, unknown>;
    const a = new AnomalyCounter();
    expect(applyPartialArg(root, { jsonPath: '$.x' }, a)).toBe(false);
    expect(applyPartialArg(root, { jsonPath: 'nope', stringValue: 'v' }, a)).toBe(false);
    expect(applyPartialArg(root, 'text', a)).toBe(false);
    applyPartialArg(root, { jsonPath: '$.arr[0]', numberValue: 1 }, a);
    expect(applyPartialArg(root, { jsonPath: '$.arr.key', numberValue: 1 }, a)).toBe(false);
    expect(applyPartialArg(root, { jsonPath: '$.arr[5000]', numberValue: 1 }, a)).toBe(false);
    expect(JSON.stringify(root)).toBe('{"arr":[1]}');
    expect(a.get('gemini_bad_partial_arg')).toBe(3);
    expect(a.get('gemini_partial_arg_index_cap')).toBe(1);
  });
  it('never throws and never touches Object.prototype on random paths', () => {
    const path = fc.array(fc.oneof(fc.constantFrom('.__proto__', '.constructor', '.prototype', '[0]', '[3]', "['__proto__']", '.a'), fc.string({ maxLength: 4 })), { maxLength: 6 }).map((xs) => `$${xs.join('')}`);
    fc.assert(
      fc.property(fc.array(fc.record({ jsonPath: path, stringValue: fc.string({ maxLength: 3 }) }), { maxLength: 8 }), (entries) => {
        const root = Object.create(null) as Record<string, unknown>;
        for (const e of entries) applyPartialArg(root, e, new AnomalyCounter());
        expect(() => JSON.stringify(root)).not.toThrow();
        expect(({} as Record<string, unknown>)['a']).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });
});
