/**
 * Environment variables in configuration values, for secrets that must not sit in the file
 * (webhook and OTLP tokens): `${NAME}` is replaced by the variable's value, `${NAME:-fallback}`
 * by the fallback when the variable is unset or empty (the shell's meaning of `:-`), and `$${`
 * writes a literal `${`. Only string values are substituted, never keys; the result stays a
 * string. A variable that is not set (and has no fallback) is an error naming it.
 */
import type { ConfigProblem, PathSegment } from './errors.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface Substituted {
  value: unknown;
  /** Paths (formatted with `\0` between segments) whose value came in part from the environment:
   * never quoted in error messages. */
  fromEnv: Set<string>;
}

export function pathKey(path: readonly PathSegment[]): string {
  return path.join('\0');
}

export function substituteEnv(root: unknown, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): Substituted {
  const fromEnv = new Set<string>();
  const walk = (v: unknown, path: PathSegment[]): unknown => {
    if (typeof v === 'string') {
      if (!v.includes('$')) return v;
      const r = substituteString(v, env);
      if ('problem' in r) {
        problems.push({ path, message: r.problem });
        return v;
      }
      if (r.used) fromEnv.add(pathKey(path));
      return r.text;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, [...path, k]);
      return out;
    }
    return v;
  };
  return { value: walk(root, []), fromEnv };
}

type StringResult = { text: string; used: boolean } | { problem: string };

export function substituteString(s: string, env: NodeJS.ProcessEnv): StringResult {
  let out = '';
  let used = false;
  let i = 0;
  while (i < s.length) {
    const at = s.indexOf('$', i);
    if (at < 0) {
      out += s.slice(i);
      break;
    }
    out += s.slice(i, at);
    if (s.startsWith('$${', at)) {
      out += '${';
      i = at + 3;
      continue;
    }
    if (s[at + 1] !== '{') {
      out += '$';
      i = at + 1;
      continue;
    }
    const end = s.indexOf('}', at + 2);
    if (end < 0) return { problem: 'unterminated "${" (write $${ for a literal "${")' };
    const inner = s.slice(at + 2, end);
    const sep = inner.indexOf(':-');
    const name = sep < 0 ? inner : inner.slice(0, sep);
    if (!NAME.test(name)) return { problem: `"\${${name.slice(0, 40)}}" is not an environment variable reference (names are letters, digits and _)` };
    const value = env[name];
    if (sep >= 0) {
      out += value === undefined || value === '' ? inner.slice(sep + 2) : value;
    } else {
      if (value === undefined) return { problem: `environment variable ${name} is not set (write \${${name}:-fallback} for a fallback)` };
      out += value;
    }
    used = true;
    i = end + 1;
  }
  return { text: out, used };
}
