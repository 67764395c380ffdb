/**
 * Read-only access to a JSON object member by member, for request bodies: the decoders and the
 * request view read a handful of members of a 50–200 KB agent request (model, stream, tool
 * names, system, the first and last few messages), so the body is scanned once for its
 * structure (json-scan.ts) and only the members read are decoded and parsed, each once.
 * Parsing an agent request whole was the costliest step of a replay (issue 2's speed bar).
 *
 * Two implementations behind one interface: over the bytes (`readJsonObject`), and over a value
 * JSON.parse already built (`jsonObjectReader`: the registry's pass 2 parses whole bodies, and
 * a body the scanner declines is parsed whole as before). Values come from JSON.parse either way,
 * so readers give what `JSON.parse(text)[key]` gives. Never throws.
 */
import { asBuffer } from '../http/stream-text.js';
import { isObject, obj, type JsonObject } from './json.js';
import { scanObject, type Spans } from './json-scan.js';

export interface JsonObjectReader {
  /** The member's value (undefined when absent), as JSON.parse gives it; a duplicated key's
   * last value, as JSON.parse does. Parsed once, then shared: read it, never change it. */
  get(key: string): unknown;
  /** The member's value as an array read element by element; null when it is not an array. */
  array(key: string): JsonArrayReader | null;
  /** The member's value as an object read member by member; null when it is not an object. */
  object(key: string): JsonObjectReader | null;
}

export interface JsonArrayReader {
  readonly length: number;
  /** Element i (undefined beyond the end), parsed once. */
  at(i: number): unknown;
  /** Element i as an object reader; null when it is not an object. */
  objectAt(i: number): JsonObjectReader | null;
}

/** A reader over a JSON object that is already a value. */
export function jsonObjectReader(o: JsonObject): JsonObjectReader {
  return {
    get: (key) => (Object.hasOwn(o, key) ? o[key] : undefined),
    array: (key) => {
      const v = Object.hasOwn(o, key) ? o[key] : undefined;
      return Array.isArray(v) ? valueArrayReader(v) : null;
    },
    object: (key) => {
      const v = Object.hasOwn(o, key) ? o[key] : undefined;
      return isObject(v) ? jsonObjectReader(v) : null;
    },
  };
}

function valueArrayReader(a: unknown[]): JsonArrayReader {
  return {
    length: a.length,
    at: (i) => a[i],
    objectAt: (i) => {
      const o = obj(a[i]);
      return o === null ? null : jsonObjectReader(o);
    },
  };
}

/** Parses one value span; undefined when it does not parse (its string contents were never
 * checked by the scanner: see json-scan.ts). */
function parseSpan(b: Buffer, s: number, e: number): unknown {
  try {
    return JSON.parse(b.toString('utf8', s, e)) as unknown;
  } catch {
    return undefined;
  }
}

const NOT_PARSED: unique symbol = Symbol('not parsed');

class SpanObjectReader implements JsonObjectReader {
  /** Key → index of its (last) span. */
  private readonly index = new Map<string, number>();
  private readonly values: unknown[];

  constructor(
    private readonly b: Buffer,
    private readonly spans: Spans,
    keys: readonly string[],
    private readonly elements: readonly (Spans | null)[],
  ) {
    for (let i = 0; i < keys.length; i++) this.index.set(keys[i]!, i);
    this.values = new Array<unknown>(keys.length).fill(NOT_PARSED);
  }

  get(key: string): unknown {
    const i = this.index.get(key);
    if (i === undefined) return undefined;
    let v = this.values[i];
    if (v === NOT_PARSED) {
      v = parseSpan(this.b, this.spans[2 * i]!, this.spans[2 * i + 1]!);
      this.values[i] = v;
    }
    return v;
  }

  array(key: string): JsonArrayReader | null {
    const i = this.index.get(key);
    if (i === undefined) return null;
    // Parsed already (someone asked for the whole value): use it.
    const v = this.values[i];
    if (v !== NOT_PARSED) return Array.isArray(v) ? valueArrayReader(v) : null;
    const elements = this.elements[i];
    return elements === null || elements === undefined ? null : new SpanArrayReader(this.b, elements);
  }

  object(key: string): JsonObjectReader | null {
    const i = this.index.get(key);
    if (i === undefined) return null;
    const v = this.values[i];
    if (v !== NOT_PARSED) return isObject(v) ? jsonObjectReader(v) : null;
    const s = this.spans[2 * i]!;
    if (this.b[s] !== 0x7b /* { */) return null;
    return readJsonObject(this.b, s, this.spans[2 * i + 1]!);
  }
}

class SpanArrayReader implements JsonArrayReader {
  readonly length: number;
  private readonly values: unknown[];

  constructor(
    private readonly b: Buffer,
    private readonly spans: Spans,
  ) {
    this.length = spans.length / 2;
    this.values = new Array<unknown>(this.length).fill(NOT_PARSED);
  }

  at(i: number): unknown {
    if (!(i >= 0 && i < this.length)) return undefined;
    let v = this.values[i];
    if (v === NOT_PARSED) {
      v = parseSpan(this.b, this.spans[2 * i]!, this.spans[2 * i + 1]!);
      this.values[i] = v;
    }
    return v;
  }

  objectAt(i: number): JsonObjectReader | null {
    if (!(i >= 0 && i < this.length)) return null;
    const v = this.values[i];
    if (v !== NOT_PARSED) return isObject(v) ? jsonObjectReader(v) : null;
    const s = this.spans[2 * i]!;
    if (this.b[s] !== 0x7b /* { */) return null;
    return readJsonObject(this.b, s, this.spans[2 * i + 1]!);
  }
}

/**
 * A reader over the JSON object that is the whole of `bytes[start, end)` (UTF-8, whitespace
 * around it allowed), or null when the scanner does not take it (not one complete object by its
 * checks, or nested too deep): the caller then parses the text whole, as before.
 */
export function readJsonObject(bytes: Uint8Array, start = 0, end = bytes.length): JsonObjectReader | null {
  const b = asBuffer(bytes);
  const o = scanObject(b, start, end);
  return o === null ? null : new SpanObjectReader(b, o.spans, o.keys, o.elements);
}
