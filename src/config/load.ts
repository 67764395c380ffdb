/**
 * Loading the configuration file (issue 5 item 8; format in docs/configuration.md): YAML →
 * environment substitution → validation (schema.ts, cross-check.ts) → the loaded shape of
 * types.ts with every default filled. Any problem is a ConfigError whose message is one line
 * naming the file, the key path and what is wrong.
 *
 * Where the file comes from: `--config FILE`, else the `LLMTAP_CONFIG` environment variable,
 * else none (defaults). The working directory is not searched: a stray llmtap.yaml silently
 * changing what a command does would be a surprise.
 */
import { readFileSync, statSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import type { LlmtapConfig } from './types.js';
import { crossCheck, metricMessage } from './cross-check.js';
import { describeType } from './duration.js';
import { closest, ConfigError, configError, type ConfigProblem, type PathSegment } from './errors.js';
import { pathKey, substituteEnv } from './env-subst.js';
import { fileSchema } from './schema.js';

/** A configuration file is a few kilobytes; 1 MiB means the path names something else (a
 * capture, a log), which is refused before it is read into memory. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** YAML aliases expanded per document: the yaml package's own default (`maxAliasCount`), which
 * stops "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;

/** The file named by the flag, else by LLMTAP_CONFIG, else none. */
export function configPath(flag: string | null | undefined, env: NodeJS.ProcessEnv = process.env): string | null {
  if (flag !== undefined && flag !== null && flag !== '') return flag;
  const fromEnv = env['LLMTAP_CONFIG'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : null;
}

/**
 * Loads and validates the configuration. `path` null: LLMTAP_CONFIG, else defaults only.
 * Environment (below the file, above defaults, DESIGN §6): LLMTAP_FINGERPRINT_SALT.
 * Throws ConfigError (one line) on any problem.
 */
export function loadConfig(path: string | null, env: NodeJS.ProcessEnv = process.env): LlmtapConfig {
  const file = configPath(path, env);
  if (file === null) return parseConfigText('', null, env);
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_CONFIG_BYTES) throw new ConfigError(`${file}: is ${size.toLocaleString('en-US')} bytes, too large for a configuration file (limit 1 MiB)`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (code ?? 'unreadable');
    throw new ConfigError(`${file}: cannot read the configuration file (${why})`);
  }
  return parseConfigText(text, file, env);
}

/** Loads configuration from text (`file` names it in messages and in `path`; null: defaults). */
export function parseConfigText(text: string, file: string | null, env: NodeJS.ProcessEnv = process.env): LlmtapConfig {
  const label = file ?? 'configuration';
  const raw = parseYaml(text, label);
  if (raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError(`${label}: the file must be a mapping of keys (db:, attributes:, alerts:, …), not ${describeType(raw)}`);
  }
  const problems: ConfigProblem[] = [];
  const { value, fromEnv } = substituteEnv(raw ?? {}, env, problems);
  if (problems.length > 0) throw configError(label, problems);

  const parsed = fileSchema.safeParse(value);
  if (!parsed.success) {
    throw configError(label, parsed.error.issues.flatMap((i) => describeIssue(i, value, fromEnv)));
  }
  const cross = crossCheck(parsed.data);
  if (cross.length > 0) throw configError(label, cross);
  const salt = env['LLMTAP_FINGERPRINT_SALT'];
  return {
    path: file,
    ...parsed.data,
    // The file wins over the environment (DESIGN §6).
    fingerprint_salt: parsed.data.fingerprint_salt ?? (salt !== undefined && salt !== '' ? salt : null),
  };
}

function parseYaml(text: string, label: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  const err = doc.errors[0];
  if (err !== undefined) {
    // The first line only, without the position (given in front) and without the quoted source
    // lines yaml appends: they could show a secret written on the offending line.
    const what = (err.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    const pos = err.linePos?.[0];
    throw new ConfigError(`${label}${pos ? `:${pos.line}:${pos.col}` : ''}: YAML syntax error: ${what}`);
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
  } catch {
    throw new ConfigError(`${label}: YAML aliases expand too far (more than ${MAX_ALIAS_COUNT} uses); write the values out`);
  }
}

// ─────────────────────────── zod issues → one-line problems ───────────────────────────

type Issue = z.core.$ZodIssue;

/** Values never quoted in messages: header values, URLs (webhook URLs carry tokens), the salt,
 * and anything filled from an environment variable. */
function isSecretPath(path: readonly PathSegment[], fromEnv: Set<string>): boolean {
  if (fromEnv.has(pathKey(path))) return true;
  if (path.includes('headers')) return true;
  const last = path[path.length - 1];
  return last === 'url' || last === 'endpoint' || last === 'fingerprint_salt';
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let v = root;
  for (const seg of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/** The value as shown in a message, or null when it must not or cannot be shown. */
function shown(v: unknown, secret: boolean): string | null {
  if (secret) return null;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

function describeIssue(issue: Issue, root: unknown, fromEnv: Set<string>): ConfigProblem[] {
  const path = issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
  const value = valueAt(root, path);
  const secret = isSecretPath(path, fromEnv);
  const it = shown(value, secret) ?? 'the value';
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(path);
      return issue.keys.map((k) => {
        const hint = known.length > 0 ? closest(k, known) : null;
        const tail = hint !== null ? ` (did you mean "${hint}"?)` : known.length > 0 ? ` (known keys: ${known.join(', ')})` : '';
        return { path, message: `unknown key ${JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k)}${tail}` };
      });
    }
    case 'invalid_type':
      if (value === undefined) return [{ path, message: 'is required' }];
      return [{ path, message: `expected ${expected(issue.expected)}, got ${describeType(value)}${it !== 'the value' ? ` (${it})` : ''}` }];
    case 'invalid_value':
      return [{ path, message: `${it} is not one of ${issue.values.map((v) => String(v)).join(', ')}` }];
    case 'too_small':
    case 'too_big':
    case 'invalid_format':
    case 'custom': {
      if (issue.message === 'METRIC') return [{ path, message: metricMessage(secret ? undefined : value) }];
      // Our messages read "is …" / "needs …" after the value; the duration parser's are whole.
      const whole = !/^(is |must |needs |has |names |\()/.test(issue.message);
      if (whole) return [{ path, message: issue.message }];
      const subject = typeof value === 'object' && value !== null ? '' : `${it} `;
      return [{ path, message: `${subject}${issue.message}` }];
    }
    default:
      return [{ path, message: `${it} is not valid here` }];
  }
}

function expected(t: string): string {
  switch (t) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'int':
      return 'a whole number';
    default:
      return `a ${t}`;
  }
}

/** Minimal view of a zod schema's definition, to find the keys an object at a path allows. */
interface Def {
  type: string;
  innerType?: Node;
  in?: Node;
  shape?: Record<string, Node>;
  element?: Node;
  valueType?: Node;
}
interface Node {
  _zod: { def: Def };
}

function unwrap(n: Node): Node {
  let cur = n;
  for (let i = 0; i < 16; i++) {
    const d = cur._zod.def;
    const next = d.innerType ?? (d.type === 'pipe' ? d.in : undefined);
    if (next === undefined) return cur;
    cur = next;
  }
  return cur;
}

/** The keys the schema allows for the object at `path` (for "did you mean"). */
function knownKeys(path: readonly PathSegment[]): string[] {
  let node: Node | undefined = unwrap(fileSchema as unknown as Node);
  for (const seg of path) {
    if (node === undefined) return [];
    const d: Def = node._zod.def;
    const next: Node | undefined = d.shape !== undefined && typeof seg === 'string' ? d.shape[seg] : (d.element ?? d.valueType);
    node = next === undefined ? undefined : unwrap(next);
  }
  const shape = node?._zod.def.shape;
  return shape === undefined ? [] : Object.keys(shape);
}
