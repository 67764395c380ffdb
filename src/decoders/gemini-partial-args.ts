/**
 * Streamed function-call arguments (Gemini 3 / Vertex `streamFunctionCallArguments`): the call
 * arrives as `functionCall {name, willContinue:true}`, then `functionCall {partialArgs:[{jsonPath,
 * stringValue|numberValue|boolValue|nullValue, willContinue}]}` pieces, then an empty
 * `functionCall {}` (https://ai.google.dev/api/caching#PartialArg). A string value streams in
 * pieces at the same path. This rebuilds the arguments object from those pieces.
 */
import type { AnomalySink } from '../core/anomalies.js';
import { isObject, str } from './json.js';

type Container = Record<string, unknown> | unknown[];

/** A forged `$.a[999999999]` must not allocate a huge array. 4096 items is far beyond any
 * tool argument list a model writes in one call. */
export const PARTIAL_ARGS_MAX_INDEX = 4096;
/** jsonPath nesting beyond this is not a tool schema anyone writes; 64 bounds the walk. */
export const PARTIAL_ARGS_MAX_DEPTH = 64;

type Segment = string | number;

/** `$.a.b[0]['c d']` → ['a','b',0,'c d']; null when not of that form. */
export function parseJsonPath(path: string): Segment[] | null {
  if (!path.startsWith('$')) return null;
  const out: Segment[] = [];
  let i = 1;
  while (i < path.length) {
    if (out.length > PARTIAL_ARGS_MAX_DEPTH) return null;
    const c = path[i];
    if (c === '.') {
      let j = i + 1;
      while (j < path.length && path[j] !== '.' && path[j] !== '[') j++;
      if (j === i + 1) return null;
      out.push(path.slice(i + 1, j));
      i = j;
    } else if (c === '[') {
      const close = path.indexOf(']', i);
      if (close < 0) return null;
      const inner = path.slice(i + 1, close);
      if (/^\d+$/.test(inner)) out.push(Number(inner));
      else if (inner.length >= 2 && (inner[0] === "'" || inner[0] === '"') && inner[inner.length - 1] === inner[0])
        out.push(inner.slice(1, -1));
      else return null;
      i = close + 1;
    } else return null;
  }
  return out;
}

function partialValue(p: Record<string, unknown>): { value: unknown; isString: boolean } | null {
  if ('stringValue' in p) return { value: str(p['stringValue']) ?? '', isString: true };
  if ('numberValue' in p) return { value: p['numberValue'], isString: false };
  if ('boolValue' in p) return { value: p['boolValue'], isString: false };
  if ('nullValue' in p) return { value: null, isString: false };
  return null;
}

function child(next: Segment): Container {
  // Null-prototype objects: keys come from the wire (`__proto__` must stay a plain key).
  return typeof next === 'number' ? [] : (Object.create(null) as Record<string, unknown>);
}

function getAt(c: Container, k: Segment): unknown {
  if (Array.isArray(c)) return typeof k === 'number' ? c[k] : undefined;
  return typeof k === 'string' ? c[k] : undefined;
}

function setAt(c: Container, k: Segment, v: unknown): boolean {
  if (Array.isArray(c)) {
    if (typeof k !== 'number') return false;
    c[k] = v;
    return true;
  }
  if (typeof k !== 'string') return false;
  c[k] = v;
  return true;
}

/** Apply one `partialArgs` entry to `root`. Returns false (and counts an anomaly) when the entry
 * is malformed or would break a cap; the arguments stay as they were. */
export function applyPartialArg(root: Record<string, unknown>, entry: unknown, anomalies: AnomalySink): boolean {
  if (!isObject(entry)) return false;
  const path = parseJsonPath(str(entry['jsonPath']) ?? '');
  const pv = partialValue(entry);
  if (!path || path.length === 0 || !pv) {
    anomalies.add('gemini_bad_partial_arg');
    return false;
  }
  if (path.some((s) => typeof s === 'number' && s > PARTIAL_ARGS_MAX_INDEX)) {
    anomalies.add('gemini_partial_arg_index_cap');
    return false;
  }
  let c: Container = root;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    let next = getAt(c, k);
    if (typeof next !== 'object' || next === null) {
      next = child(path[i + 1]!);
      if (!setAt(c, k, next)) {
        anomalies.add('gemini_bad_partial_arg');
        return false;
      }
    }
    c = next as Container;
  }
  const last = path[path.length - 1]!;
  const prev = getAt(c, last);
  const value = pv.isString && typeof prev === 'string' ? prev + (pv.value as string) : pv.value;
  if (!setAt(c, last, value)) {
    anomalies.add('gemini_bad_partial_arg');
    return false;
  }
  return true;
}
