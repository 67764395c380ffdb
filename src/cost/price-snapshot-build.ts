/**
 * The price snapshot (price-snapshot.ts) of the installed @pydantic/genai-prices: for each
 * price-table provider we map and each model name the table lists (model ids and exact-match
 * names of every provider), what the pricer itself reads from the package for that name.
 * price-snapshot-gen.ts writes it at every build.
 */
import { createRequire } from 'node:module';
import { snapshotOf } from './call-pricer.js';
import { installedPackage, type PriceSnapshotFile, type SnapshotEntry } from './price-snapshot.js';
import { priceTableProviders } from './provider-ids.js';

type PricePackage = typeof import('@pydantic/genai-prices');
type MatchLogic = NonNullable<ReturnType<PricePackage['findProvider']>>['models'][number]['match'];

/** The names a match clause spells out (`equals`, and the literal of `starts_with` and
 * `contains`, under any `or` / `and`): the names calls really carry, dated snapshots included. */
function exactNames(m: MatchLogic, out: Set<string>): void {
  if ('equals' in m) out.add(m.equals);
  if ('starts_with' in m) out.add(m.starts_with);
  if ('contains' in m) out.add(m.contains);
  if ('or' in m) for (const x of m.or) exactNames(x, out);
  if ('and' in m) for (const x of m.and) exactNames(x, out);
}

/** Every model name the table lists under the providers we price. */
export function tableModelNames(pkg: PricePackage, providers: string[]): string[] {
  const names = new Set<string>();
  for (const id of providers) {
    for (const model of pkg.findProvider({ providerId: id })?.models ?? []) {
      names.add(model.id);
      exactNames(model.match, names);
    }
  }
  return [...names].sort();
}

/** The snapshot of the installed package (null when its identity cannot be read). */
export function buildPriceSnapshot(): PriceSnapshotFile | null {
  const identity = installedPackage();
  if (identity === null) return null;
  const pkg = createRequire(import.meta.url)('@pydantic/genai-prices') as PricePackage;
  const providers = priceTableProviders();
  const entries: Record<string, SnapshotEntry> = {};
  for (const name of tableModelNames(pkg, providers)) {
    for (const provider of providers) {
      const entry = snapshotOf(provider, name);
      if (entry !== null) entries[`${provider}\n${name}`] = entry;
    }
  }
  return { package: identity, entries };
}
