/**
 * A build-time snapshot of what call-pricer.ts reads from @pydantic/genai-prices for the model
 * names the table lists (ids and exact-match names, under every provider we map): the linear
 * rates it derives from the package, computed by the pricer's own code at build time
 * (price-snapshot-gen.ts, `npm run build:tables`). A run whose models are all in it never loads
 * the package (~45 ms of start-up); any other name goes to the package as before.
 *
 * The package stays the source of truth: the snapshot is regenerated from the installed package
 * at every build, and is ignored unless it was made from this very package (version and size of
 * its CommonJS build) and is newer than the compiled pricer (a tsc build without the table step
 * then simply prices from the package).
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A price that is linear in our usage: dollars per token of each count (the parts as the
 * difference from the total's rate) plus a per-request constant. */
export interface LinearPrice {
  base: number;
  input: number;
  cacheRead: number;
  cacheWrite: number;
  /** What a 1-hour cache write costs above a plain (5-minute) one; 0 where the table has no
   * 1-hour rate. */
  cacheWrite1hExtra: number;
  output: number;
  reasoning: number;
}

/** What the pricer needs of one (table provider, model) entry, with every band already read. */
export interface SnapshotEntry {
  dated: boolean;
  linear: LinearPrice | null;
  /** Dated or tiered prices: each period from `fromMs` (null: no start), its tier starts and
   * the rates of each of its bands (starts.length + 1 of them). */
  periods: { fromMs: number | null; starts: number[]; bands: LinearPrice[] }[] | null;
}

/** The package a snapshot was made from. */
export interface PackageIdentity {
  version: string;
  /** Bytes of the package's CommonJS build, the file the pricer loads. */
  bytes: number;
}

/** A snapshot as built: the package it was made from and its entries, by the pricer's cache key
 * `${tableProvider}\n${model}`. */
export interface PriceSnapshotFile {
  package: PackageIdentity;
  entries: Record<string, SnapshotEntry>;
}

export const SNAPSHOT_FILE = 'price-snapshot.txt';

/** A line's key fields never hold these: they separate fields and lines. */
const SEPARATORS = /[\t\n\r]/;

/**
 * The file: a JSON header line ({"package": …}), then one line per entry, `provider TAB model TAB
 * entry-JSON`. A run looks up a handful of models: each is found by a string search and only its
 * line is parsed (parsing all 2,500 entries up front took ~8 ms).
 */
export function serializeSnapshot(snap: PriceSnapshotFile): string {
  const lines = [JSON.stringify({ package: snap.package })];
  for (const [key, entry] of Object.entries(snap.entries)) {
    const [provider, model] = key.split('\n');
    if (provider === undefined || model === undefined || SEPARATORS.test(provider) || SEPARATORS.test(model)) continue;
    lines.push(`${provider}\t${model}\t${JSON.stringify(entry)}`);
  }
  return lines.join('\n') + '\n';
}

/** The entries of a snapshot file's text, found on demand. */
export class PriceSnapshot {
  constructor(private readonly text: string) {}

  /** The entry for (table provider, model name as the call carries it), if the snapshot has it. */
  get(provider: string, model: string): SnapshotEntry | undefined {
    if (SEPARATORS.test(provider) || SEPARATORS.test(model)) return undefined;
    const start = this.text.indexOf(`\n${provider}\t${model}\t`);
    if (start < 0) return undefined;
    const json = start + provider.length + model.length + 3;
    const end = this.text.indexOf('\n', json);
    try {
      return JSON.parse(this.text.slice(json, end < 0 ? undefined : end)) as SnapshotEntry;
    } catch {
      return undefined;
    }
  }

  /** The package the snapshot was made from (its header line), or null when unreadable. */
  package(): PackageIdentity | null {
    try {
      const header = JSON.parse(this.text.slice(0, this.text.indexOf('\n'))) as { package?: PackageIdentity };
      return header.package ?? null;
    } catch {
      return null;
    }
  }
}

/** The installed package's identity, or null when it cannot be read. */
export function installedPackage(): PackageIdentity | null {
  try {
    const main = createRequire(import.meta.url).resolve('@pydantic/genai-prices');
    const manifest = JSON.parse(readFileSync(join(dirname(main), '..', 'package.json'), 'utf8')) as { version?: unknown };
    if (typeof manifest.version !== 'string') return null;
    return { version: manifest.version, bytes: statSync(main).size };
  } catch {
    return null;
  }
}

/**
 * The snapshot next to this module; null when there is none, when it is older than the compiled
 * pricer, or when it was made from another package than the one installed. Never throws: a bad
 * snapshot only means pricing from the package.
 */
export function loadPriceSnapshot(file: URL = new URL(`./${SNAPSHOT_FILE}`, import.meta.url)): PriceSnapshot | null {
  try {
    if (statSync(file).mtimeMs < statSync(new URL('./call-pricer.js', file)).mtimeMs) return null;
    const snap = new PriceSnapshot(readFileSync(file, 'utf8'));
    const made = snap.package();
    const pkg = installedPackage();
    if (made === null || pkg === null || made.version !== pkg.version || made.bytes !== pkg.bytes) return null;
    return snap;
  } catch {
    return null;
  }
}
