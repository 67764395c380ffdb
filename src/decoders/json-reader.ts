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
import { keyText, scanArray, scanObject, type ScannedArray, type Spans } from './json-scan.js';

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
  private readonly values: unknown[];

  /** The scanned arrays among the values (null: not an array); undefined for a value not
   * scanned as one yet (the members of an array's element objects are found by the scan of that
   * array, not their own arrays: those are scanned when first read). */
  private readonly elements: (ScannedArray | null | undefined)[];

  constructor(
    private readonly b: Buffer,
    private readonly spans: Spans,
    private readonly keys: readonly string[],
    elements: (ScannedArray | null)[] | null,
  ) {
    this.values = new Array<unknown>(keys.length).fill(NOT_PARSED);
    this.elements = elements ?? new Array<ScannedArray | null | undefined>(keys.length).fill(undefined);
  }

  /** Index of the key's (last) span, or -1. Objects read member by member have a handful of keys
   * (a request, a message, a tool definition): a search beats building a Map for each. */
  private indexOf(key: string): number {
    return this.keys.lastIndexOf(key);
  }

  get(key: string): unknown {
    const i = this.indexOf(key);
    if (i < 0) return undefined;
    let v = this.values[i];
    if (v === NOT_PARSED) {
      v = parseSpan(this.b, this.spans[2 * i]!, this.spans[2 * i + 1]!);
      this.values[i] = v;
    }
    return v;
  }

  array(key: string): JsonArrayReader | null {
    const i = this.indexOf(key);
    if (i < 0) return null;
    // Parsed already (someone asked for the whole value): use it.
    const v = this.values[i];
    if (v !== NOT_PARSED) return Array.isArray(v) ? valueArrayReader(v) : null;
    let elements = this.elements[i];
    if (elements === undefined) {
      // The span is a checked value already: it scans as an array when it is one.
      const s = this.spans[2 * i]!;
      elements = this.b[s] === 0x5b /* [ */ ? scanArray(this.b, s, this.spans[2 * i + 1]!) : null;
      this.elements[i] = elements;
    }
    return elements === null ? null : new SpanArrayReader(this.b, elements);
  }

  object(key: string): JsonObjectReader | null {
    const i = this.indexOf(key);
    if (i < 0) return null;
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
    private readonly scanned: ScannedArray,
  ) {
    this.length = scanned.spans.length / 2;
    this.values = new Array<unknown>(this.length).fill(NOT_PARSED);
  }

  at(i: number): unknown {
    if (!(i >= 0 && i < this.length)) return undefined;
    let v = this.values[i];
    if (v === NOT_PARSED) {
      v = parseSpan(this.b, this.scanned.spans[2 * i]!, this.scanned.spans[2 * i + 1]!);
      this.values[i] = v;
    }
    return v;
  }

  objectAt(i: number): JsonObjectReader | null {
    if (!(i >= 0 && i < this.length)) return null;
    const v = this.values[i];
    if (v !== NOT_PARSED) return isObject(v) ? jsonObjectReader(v) : null;
    const { spans, members, memberAt } = this.scanned;
    if (this.b[spans[2 * i]!] !== 0x7b /* { */) return null;
    // Its members were found when the array was scanned: only their keys are decoded here.
    const keys: string[] = [];
    const valueSpans: Spans = [];
    for (let k = memberAt[i]!; k < memberAt[i + 1]!; k += 4) {
      const key = keyText(this.b, members[k]!, members[k + 1]!);
      // As scanObject: an object with a key JSON.parse would reject is not read.
      if (key === null) return null;
      keys.push(key);
      valueSpans.push(members[k + 2]!, members[k + 3]!);
    }
    return new SpanObjectReader(this.b, valueSpans, keys, null);
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
