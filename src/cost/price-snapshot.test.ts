import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Usage } from '../core/call-parts.js';
import { CallPricer } from './call-pricer.js';
import { buildPriceSnapshot } from './price-snapshot-build.js';
import { installedPackage, loadPriceSnapshot, PriceSnapshot, serializeSnapshot, SNAPSHOT_FILE, type PriceSnapshotFile } from './price-snapshot.js';
import { pricedProviders, priceTableProvider } from './provider-ids.js';

function usage(p: Partial<Usage>): Usage {
  return { input_tokens: null, output_tokens: null, cache_read_tokens: null, cache_write_tokens: null, reasoning_tokens: null, estimated: false, raw: null, ...p };
}

/** Usages that reach every rate: plain, cached reads and writes (1-hour ones too), reasoning,
 * and counts on both sides of the long-context tiers (200k, 128k, 272k …). */
const USAGES: Usage[] = [
  usage({ input_tokens: 1_000, output_tokens: 200 }),
  usage({ input_tokens: 50_000, cache_read_tokens: 30_000, cache_write_tokens: 10_000, output_tokens: 2_000, reasoning_tokens: 500 }),
  usage({ input_tokens: 300_000, cache_read_tokens: 100_000, cache_write_tokens: 20_000, output_tokens: 4_000, raw: { cache_creation: { ephemeral_1h_input_tokens: 5_000 } } }),
  usage({ input_tokens: 1_500_000, output_tokens: 1, estimated: true }),
];

/** Capture times around the table's price changes, and one that is no date. */
const TIMES = [Date.parse('2023-06-01T00:00:00Z'), Date.parse('2025-07-01T12:00:00Z'), Date.parse('2026-11-01T00:00:00Z'), Number.NaN];

const snap = buildPriceSnapshot();

describe('price snapshot', () => {
  it('is made from the installed package and holds the models calls name', () => {
    expect(snap).not.toBeNull();
    expect(snap!.package).toEqual(installedPackage());
    for (const key of ['anthropic\nclaude-sonnet-4-5-20250929', 'openai\ngpt-4o-2024-08-06', 'openai\ngpt-5-codex', 'google\ngemini-2.5-flash']) {
      expect(snap!.entries[key]).toBeDefined();
    }
  });

  it('prices every call it knows exactly as the package does, to the bit (through the file format)', () => {
    const keys = Object.keys(snap!.entries);
    const fromSnapshot = new CallPricer(null, new PriceSnapshot(serializeSnapshot(snap!)));
    const fromPackage = new CallPricer(null, null);
    let compared = 0;
    for (const provider of pricedProviders()) {
      const table = priceTableProvider(provider)!;
      for (const key of keys) {
        if (!key.startsWith(`${table}\n`)) continue;
        const model = key.slice(table.length + 1);
        for (const u of USAGES) {
          for (const atMs of TIMES) {
            const input = { provider, response_model: model, request_model: model, usage: u, atMs };
            expect(fromSnapshot.price(input), `${provider} ${model} at ${atMs}`).toEqual(fromPackage.price(input));
            compared++;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(10_000);
  });
});

describe('loadPriceSnapshot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmtap-price-snapshot-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, SNAPSHOT_FILE);
  const pricer = join(dir, 'call-pricer.js');
  const write = (s: PriceSnapshotFile | string, ageS: number): void => {
    writeFileSync(pricer, '');
    writeFileSync(file, typeof s === 'string' ? s : serializeSnapshot(s));
    // The pricer compiled `ageS` seconds after the snapshot was written (negative: before).
    const now = Date.now() / 1000;
    utimesSync(file, now, now);
    utimesSync(pricer, now + ageS, now + ageS);
  };
  const small = (): PriceSnapshotFile => ({ package: snap!.package, entries: { 'openai\ngpt-4o': snap!.entries['openai\ngpt-4o']! } });

  it('reads a snapshot of the installed package that is newer than the pricer', () => {
    write(small(), -10);
    const loaded = loadPriceSnapshot(pathToFileURL(file));
    expect(loaded?.get('openai', 'gpt-4o')).toEqual(snap!.entries['openai\ngpt-4o']);
    // Only whole names: not a prefix, not another provider's, not one spanning lines.
    expect(loaded?.get('openai', 'gpt-4')).toBeUndefined();
    expect(loaded?.get('azure', 'gpt-4o')).toBeUndefined();
    expect(loaded?.get('openai', 'gpt-4o\t{}\nopenai')).toBeUndefined();
  });

  it('ignores a snapshot older than the compiled pricer (a build that skipped the table step)', () => {
    write(small(), 10);
    expect(loadPriceSnapshot(pathToFileURL(file))).toBeNull();
  });

  it('ignores a snapshot of another version or build of the package', () => {
    write({ ...small(), package: { ...snap!.package, version: '0.0.1' } }, -10);
    expect(loadPriceSnapshot(pathToFileURL(file))).toBeNull();
    write({ ...small(), package: { ...snap!.package, bytes: snap!.package.bytes + 1 } }, -10);
    expect(loadPriceSnapshot(pathToFileURL(file))).toBeNull();
  });

  it('never throws: a missing or broken file is no snapshot', () => {
    write('{"package": \nopenai\tgpt-4o\t{}\n', -10);
    expect(loadPriceSnapshot(pathToFileURL(file))).toBeNull();
    expect(loadPriceSnapshot(pathToFileURL(join(dir, 'none.json')))).toBeNull();
  });
});
