/**
 * What a call cost (DESIGN §3 `cost_usd`, `cost_status`), from the maintained price table of
 * @pydantic/genai-prices: it knows cache-read and cache-write rates, reasoning-token rates, tiered
 * (long-context) prices and prices that changed on a date. A model the table does not know is
 * `unpriced` with a null cost, never $0. Pricing never throws: a failure is `unpriced` plus an
 * anomaly name for the call's `anomalies`. Prices from the configuration file (`pricing.models`,
 * configured-prices.ts) are checked first; `configurePricing` builds the pricer that has them.
 */
import { createRequire } from 'node:module';
import type { ModelPrice, Provider, Usage as PriceUsage } from '@pydantic/genai-prices';
import type { PricingConfig } from '../config/types.js';
import type { Usage } from '../core/call-parts.js';
import type { LlmCallRecord } from '../core/record.js';
import { ConfiguredPrices, configuredCost } from './configured-prices.js';
import { loadPriceSnapshot, type LinearPrice, type PriceSnapshot, type SnapshotEntry } from './price-snapshot.js';
import { isTokenBilled, priceTableProvider } from './provider-ids.js';

type PricePackage = typeof import('@pydantic/genai-prices');

let pricePackage: PricePackage | null = null;

/**
 * The price package, loaded on the first lookup the build-time snapshot (price-snapshot.ts) does
 * not answer: compiling and evaluating its table costs ~35 ms of start-up (plus ~10 ms of ICU
 * collator set-up for its localeCompare), which a run whose models are all in the snapshot, or
 * that prices nothing, never pays. Loaded synchronously (pricing is synchronous) from the
 * package's CommonJS build; the snapshot is made from that same build.
 */
function prices(): PricePackage {
  pricePackage ??= createRequire(import.meta.url)('@pydantic/genai-prices') as PricePackage;
  return pricePackage;
}

function calcPrice(...args: Parameters<PricePackage['calcPrice']>): ReturnType<PricePackage['calcPrice']> {
  return prices().calcPrice(...args);
}

/** The build's snapshot, read on the first lookup (undefined: not read yet; null: none or stale). */
let buildSnapshot: PriceSnapshot | null | undefined;

export type CostStatus = LlmCallRecord['cost_status'];

export interface CallCost {
  cost_usd: number | null;
  cost_status: CostStatus;
  /** An anomaly name (`cost_<condition>`) when pricing failed on bad input, else null. */
  anomaly: string | null;
}

export interface PriceInput {
  /** Our record's provider (`openai`, `anthropic`, `google`, …). */
  provider: string;
  response_model: string | null;
  request_model: string | null;
  usage: Usage;
  /** The request's capture time, ms since the epoch: prices that changed are taken as of then. */
  atMs: number;
}

/** Longer model names are not looked up: the longest id in the bundled table (0.1.8) is 61
 * characters, so 256 leaves room for deployment prefixes while bounding regex matching on junk. */
export const MAX_MODEL_CHARS = 256;

/** Distinct (provider, model) lookups remembered. Model names come off the wire, so the cache is
 * bounded; a few thousand is far above the models one deployment calls, and when junk fills it
 * the cache is simply emptied (a lookup costs well under a millisecond). */
export const MAX_CACHED_MODELS = 4096;

/** Costs carry 12 decimals (a millionth of a micro-dollar): far below any price step, and no
 * binary-float tails (0.0062675000000000005) in records, sums or exports. */
export function roundUsd(x: number): number {
  return Math.round(x * 1e12) / 1e12;
}

/** Calls that are not billed by tokens (MCP tool servers): no price, and not "unpriced" either. */
const NOT_APPLICABLE: CallCost = { cost_usd: null, cost_status: 'not_applicable', anomaly: null };
const UNPRICED: CallCost = { cost_usd: null, cost_status: 'unpriced', anomaly: null };
const FAILED: CallCost = { cost_usd: null, cost_status: 'unpriced', anomaly: 'cost_price_failed' };
const BAD_USAGE: CallCost = { cost_usd: null, cost_status: 'unpriced', anomaly: 'cost_usage_invalid' };

/** Counts above this are not priced: 100× the largest context window on offer (10M tokens,
 * Llama 4 Scout), so only a broken count reaches it. */
export const MAX_PRICED_TOKENS = 1e9;

interface Entry {
  /** The matched model alone, under its provider's id, to price against without a table search;
   * null for an entry from the snapshot (read from the package only if ever needed). */
  provider: Provider | null;
  tableProvider: string;
  model: string;
  /** The model's prices changed on dates (the package then picks a period by capture time). */
  dated: boolean;
  /** Set when the model has one price (no date or time-of-day variants) and no tiers. */
  linear: LinearPrice | null;
  /** Set for dated (start-date only) and tiered prices: the price periods, each linear within
   * a band of input counts; null when the table has a variant we do not model (time of day). */
  periods: PricePeriod[] | null;
}

/** One price of a dated model, from `fromMs` on (-Infinity: no constraint), with its tiers. */
interface PricePeriod {
  fromMs: number;
  /** The period's prices as the package has them; null for a snapshot period (every band read). */
  prices: ModelPrice | null;
  /** The tier starts of all its tiered prices, ascending: an input count above the k-th start
   * and up to the (k+1)-th is band k+1 (the package's rule: a tier applies above its start). */
  starts: number[];
  /** Each band's linear rates once read from the package (undefined: not read yet; null: the
   * package would not price the band's flat prices). */
  bands: (LinearPrice | null | undefined)[];
}

/**
 * Prices calls: configured prices first (`pricing.models`, first match wins, any provider), then
 * the maintained table, remembering per (provider, model) which entry applies. Build one per
 * process with the configuration (`configurePricing`) and hand it to every call.
 */
export class CallPricer {
  /** (table provider, model) → its entry, or null: not in the table. */
  private readonly entries = new Map<string, Entry | null>();
  private readonly configured: ConfiguredPrices;

  /** The snapshot to look models up in first; undefined: the build's (price-snapshot.ts). */
  private readonly snapshot: Pick<PriceSnapshot, 'get'> | null | undefined;

  constructor(pricing: PricingConfig | null = null, snapshot?: Pick<PriceSnapshot, 'get'> | null) {
    this.configured = new ConfiguredPrices(pricing);
    this.snapshot = snapshot;
  }

  price(input: PriceInput): CallCost {
    if (!isTokenBilled(input.provider)) return NOT_APPLICABLE;
    const u = input.usage;
    if (this.configured.size > 0) {
      const own = this.priceConfigured(input);
      if (own !== null) return own;
    }
    const tableProvider = priceTableProvider(input.provider);
    if (tableProvider === null) return UNPRICED;
    // Both totals are needed: pricing only one side would under-report the call.
    if (u.input_tokens === null || u.output_tokens === null) return UNPRICED;
    let entry: Entry | null = null;
    let tooLong = false;
    for (const candidate of [input.response_model, input.request_model]) {
      if (candidate === null || candidate.trim() === '') continue;
      if (candidate.length > MAX_MODEL_CHARS) {
        tooLong = true;
        continue;
      }
      entry = this.lookup(tableProvider, candidate);
      if (entry !== null) break;
    }
    if (entry === null) return tooLong ? { ...UNPRICED, anomaly: 'cost_model_name_too_long' } : UNPRICED;
    const status: CostStatus = u.estimated ? 'estimated' : 'priced';
    // The table refuses what no real usage can be; so do we, whichever path prices the call.
    if (!consistent(u)) return BAD_USAGE;
    let total: number | undefined;
    let l = entry.linear;
    if (l === null && entry.periods !== null) {
      const rates = periodRates(entry, entry.periods, input.atMs, u.input_tokens);
      if (rates === 'failed') return FAILED;
      l = rates;
    }
    if (l !== null) {
      total =
        l.base +
        l.input * u.input_tokens +
        l.cacheRead * (u.cache_read_tokens ?? 0) +
        l.cacheWrite * (u.cache_write_tokens ?? 0) +
        l.cacheWrite1hExtra * cacheWrite1hTokens(u) +
        l.output * u.output_tokens +
        l.reasoning * (u.reasoning_tokens ?? 0);
    } else {
      // Snapshot entries are complete (every band linear): the package entry is read only in case.
      const provider = entry.provider ?? this.packageEntry(entry.tableProvider, entry.model)?.provider;
      if (provider === undefined || provider === null) return FAILED;
      try {
        total = calcPrice(priceUsage(u), entry.model, { provider, timestamp: new Date(input.atMs) })?.total_price;
      } catch {
        // Invalid capture times for dated prices, and whatever else the table refuses.
        return FAILED;
      }
    }
    if (total === undefined || !Number.isFinite(total) || total < 0) return FAILED;
    return { cost_usd: roundUsd(total), cost_status: status, anomaly: null };
  }

  /** A configured price for the response model, else the request model (both checked before
   * the table: an override of "gpt-4o" must also win when the response names a dated
   * snapshot the table knows); null when no entry matches. */
  private priceConfigured(input: PriceInput): CallCost | null {
    for (const candidate of [input.response_model, input.request_model]) {
      if (candidate === null || candidate.trim() === '' || candidate.length > MAX_MODEL_CHARS) continue;
      const price = this.configured.find(input.provider, candidate);
      if (price === null) continue;
      const u = input.usage;
      if (u.input_tokens === null || u.output_tokens === null) return UNPRICED;
      if (!consistent(u)) return BAD_USAGE;
      const total = configuredCost(price, u);
      if (!Number.isFinite(total) || total < 0) return FAILED;
      return { cost_usd: roundUsd(total), cost_status: u.estimated ? 'estimated' : 'priced', anomaly: null };
    }
    return null;
  }

  private lookup(tableProvider: string, model: string): Entry | null {
    const key = `${tableProvider}\n${model}`;
    const cached = this.entries.get(key);
    if (cached !== undefined) return cached;
    let known: SnapshotEntry | undefined;
    if (this.snapshot !== undefined) known = this.snapshot?.get(tableProvider, model);
    else known = (buildSnapshot ??= loadPriceSnapshot())?.get(tableProvider, model);
    const entry = known !== undefined ? snapshotEntry(tableProvider, model, known) : this.packageEntry(tableProvider, model);
    if (this.entries.size >= MAX_CACHED_MODELS) this.entries.clear();
    this.entries.set(key, entry);
    return entry;
  }

  /** The entry the package gives (a search through its table). */
  packageEntry(tableProvider: string, model: string): Entry | null {
    let entry: Entry | null = null;
    try {
      const found = calcPrice({}, model, { providerId: tableProvider });
      if (found !== null) {
        // The matched model alone (it may come from a fallback provider, e.g. Azure → OpenAI), so
        // later calls skip the search through the whole table. The provider id is kept: the
        // table's special cases are keyed on it.
        const p = found.provider;
        const provider: Provider = { id: p.id, name: p.name, api_pattern: p.api_pattern, models: [found.model] };
        const linear = linearPrice(provider, model);
        const dated = Array.isArray(found.model.prices);
        entry = { provider, tableProvider, model, dated, linear, periods: linear === null ? pricePeriods(provider) : null };
      }
    } catch {
      entry = null;
    }
    return entry;
  }
}

/** A snapshot entry as a lookup entry (its own copy: bands are read-only once complete). */
function snapshotEntry(tableProvider: string, model: string, e: SnapshotEntry): Entry {
  return {
    provider: null,
    tableProvider,
    model,
    dated: e.dated,
    linear: e.linear,
    periods: e.periods === null ? null : e.periods.map((p) => ({ fromMs: p.fromMs ?? -Infinity, prices: null, starts: p.starts, bands: p.bands })),
  };
}

/**
 * What the snapshot keeps of the package's entry for (tableProvider, model): every rate the
 * pricer could read from the package for it, each read as a call would read it. Null when the
 * package does not know the model, or when some price of it is not linear (time-of-day prices,
 * a band the package would not price flat): those stay on the package.
 */
export function snapshotOf(tableProvider: string, model: string): SnapshotEntry | null {
  const entry = new CallPricer().packageEntry(tableProvider, model);
  if (entry === null) return null;
  if (entry.linear !== null) return { dated: entry.dated, linear: entry.linear, periods: null };
  if (entry.periods === null) return null;
  const periods: NonNullable<SnapshotEntry['periods']> = [];
  for (const period of entry.periods) {
    const bands: LinearPrice[] = [];
    for (let band = 0; band <= period.starts.length; band++) {
      const rates = bandRates(entry, period, band);
      if (rates === null) return null;
      bands.push(rates);
    }
    periods.push({ fromMs: period.fromMs === -Infinity ? null : period.fromMs, starts: period.starts, bands });
  }
  return { dated: entry.dated, linear: null, periods };
}

/**
 * Tiered and dated prices, priced as the package does (it took ~40 µs a call for them) but
 * from remembered rates: the package picks the last period whose start date the capture time
 * has reached (the first period when none has), and within it a tiered price's rate is that of
 * the highest tier whose start the input count exceeds. Both choices made, the price is
 * linear, so each (period, band) has its rates read once from the package, by pricing flat
 * prices (the band's rates) exactly as an untiered model's. A time-of-day variant or a price
 * shape we do not know leaves the model on the package (null).
 */
function pricePeriods(provider: Provider): PricePeriod[] | null {
  const info = provider.models[0];
  if (info === undefined) return null;
  const conditional = Array.isArray(info.prices) ? info.prices : [{ prices: info.prices }];
  const periods: PricePeriod[] = [];
  for (const c of conditional) {
    let fromMs = -Infinity;
    if (c.constraint !== undefined) {
      if (c.constraint.type !== 'start_date') return null;
      fromMs = Date.parse(c.constraint.start_date);
      if (Number.isNaN(fromMs)) return null;
    }
    const starts = new Set<number>();
    for (const v of Object.values(c.prices)) {
      if (v === undefined || typeof v === 'number') continue;
      if (typeof v !== 'object' || !Array.isArray(v.tiers)) return null;
      for (const t of v.tiers) {
        if (!Number.isSafeInteger(t.start) || t.start < 0) return null;
        starts.add(t.start);
      }
    }
    const sorted = [...starts].sort((a, b) => a - b);
    periods.push({ fromMs, prices: c.prices, starts: sorted, bands: new Array<LinearPrice | null | undefined>(sorted.length + 1).fill(undefined) });
  }
  return periods.length > 0 ? periods : null;
}

/** The rates for a call at `atMs` with `inputTokens`; 'failed' where the package throws (a
 * capture time that is no date, for dated prices). */
function periodRates(entry: Entry, periods: PricePeriod[], atMs: number, inputTokens: number): LinearPrice | null | 'failed' {
  let period = periods[0];
  if (entry.dated) {
    // The package compares Date objects: the time is clipped as `new Date` clips it.
    const t = new Date(atMs).getTime();
    if (Number.isNaN(t)) return 'failed';
    for (let i = periods.length - 1; i >= 0; i--) {
      const p = periods[i];
      if (p !== undefined && (p.fromMs === -Infinity || t >= p.fromMs)) {
        period = p;
        break;
      }
    }
  }
  if (period === undefined) return null;
  let band = 0;
  while (band < period.starts.length && inputTokens > (period.starts[band] ?? Infinity)) band++;
  return bandRates(entry, period, band);
}

/** The linear rates of one band of a period, read from the package once. */
function bandRates(entry: Entry, period: PricePeriod, band: number): LinearPrice | null {
  let rates = period.bands[band];
  if (rates === undefined) {
    // A snapshot period has every band: this is never reached for one.
    if (period.prices === null || entry.provider === null) return null;
    // A count inside the band: 0 for the first, one above the band's lower start otherwise.
    const inBand = band === 0 ? 0 : (period.starts[band - 1] ?? 0) + 1;
    const flat: ModelPrice = {};
    for (const [key, v] of Object.entries(period.prices)) {
      if (v === undefined || typeof v === 'number') {
        flat[key] = v;
        continue;
      }
      let rate = v.base;
      for (const t of [...v.tiers].sort((a, b) => a.start - b.start)) if (inBand > t.start) rate = t.price;
      flat[key] = rate;
    }
    const p = entry.provider;
    const info = p.models[0];
    rates = info === undefined ? null : linearPrice({ ...p, models: [{ ...info, prices: flat }] }, entry.model);
    period.bands[band] = rates;
  }
  return rates;
}

/** Non-negative counts up to MAX_PRICED_TOKENS whose parts fit in their totals (cache reads +
 * writes ≤ input, reasoning ≤ output: the package README, "Cached input tokens"). */
function consistent(u: Usage): boolean {
  const ok = (n: number | null): boolean => n === null || (n >= 0 && n <= MAX_PRICED_TOKENS);
  if (!ok(u.input_tokens) || !ok(u.output_tokens) || !ok(u.cache_read_tokens) || !ok(u.cache_write_tokens) || !ok(u.reasoning_tokens)) {
    return false;
  }
  const cache = (u.cache_read_tokens ?? 0) + (u.cache_write_tokens ?? 0);
  return cache <= (u.input_tokens ?? 0) && (u.reasoning_tokens ?? 0) <= (u.output_tokens ?? 0);
}

/**
 * The package prices a call in ~15 µs (it re-derives its unit hierarchy every time); a model with
 * one untiered price is linear in our five counts, so its rates are read once from the package by
 * pricing a million tokens of each count, and a call then costs a few multiplications. Tiered
 * (long-context) and dated prices are linear too once their period and band are chosen
 * (pricePeriods); only time-of-day prices keep going through the package.
 */
function linearPrice(provider: Provider, model: string): LinearPrice | null {
  const info = provider.models[0];
  if (info === undefined || Array.isArray(info.prices)) return null;
  if (Object.values(info.prices).some((v) => v !== undefined && typeof v !== 'number')) return null;
  const M = 1e6;
  const at = (usage: PriceUsage): number => {
    const r = calcPrice(usage, model, { provider });
    if (r === null || !Number.isFinite(r.total_price)) throw new Error('no price');
    return r.total_price;
  };
  try {
    const base = at({ input_tokens: 0, output_tokens: 0 });
    const input = at({ input_tokens: M, output_tokens: 0 }) - base;
    const output = at({ input_tokens: 0, output_tokens: M }) - base;
    const cacheWrite = (at({ input_tokens: M, cache_write_tokens: M, output_tokens: 0 }) - base - input) / M;
    const cacheWrite1h = (at({ input_tokens: M, cache_write_tokens: M, cache_write_1h_tokens: M, output_tokens: 0 }) - base - input) / M;
    return {
      base,
      input: input / M,
      cacheRead: (at({ input_tokens: M, cache_read_tokens: M, output_tokens: 0 }) - base - input) / M,
      cacheWrite,
      cacheWrite1hExtra: cacheWrite1h - cacheWrite,
      output: output / M,
      reasoning: (at({ input_tokens: 0, output_tokens: M, output_reasoning_tokens: M }) - base - output) / M,
    };
  } catch {
    return null;
  }
}

/** Our usage → the table's: `input_tokens` includes cache reads and writes and `output_tokens`
 * includes reasoning in both (DESIGN §3; the package README, "Cached input tokens"), so the
 * parts are passed as parts of those totals and the table applies their own rates. */
function priceUsage(u: Usage): PriceUsage {
  const out: PriceUsage = { input_tokens: u.input_tokens ?? 0, output_tokens: u.output_tokens ?? 0 };
  if (u.cache_read_tokens !== null && u.cache_read_tokens > 0) out['cache_read_tokens'] = u.cache_read_tokens;
  if (u.cache_write_tokens !== null && u.cache_write_tokens > 0) out['cache_write_tokens'] = u.cache_write_tokens;
  const write1h = cacheWrite1hTokens(u);
  if (write1h > 0) out['cache_write_1h_tokens'] = write1h;
  if (u.reasoning_tokens !== null && u.reasoning_tokens > 0) out['output_reasoning_tokens'] = u.reasoning_tokens;
  return out;
}

/**
 * Anthropic's 1-hour cache writes, a part of `cache_write_tokens` priced at 2× input instead of
 * the 5-minute write's 1.25× (https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#pricing).
 * Our usage has one write count, so the split is read from the provider's usage object
 * (`usage.cache_creation.ephemeral_1h_input_tokens`, the field @pydantic/genai-prices' own
 * Anthropic extractor maps to `cache_write_1h_tokens`). A value that does not fit inside the
 * write count is ignored: the writes are then priced at the 5-minute rate, as before.
 */
export function cacheWrite1hTokens(u: Usage): number {
  const writes = u.cache_write_tokens;
  if (writes === null || writes <= 0 || typeof u.raw !== 'object' || u.raw === null) return 0;
  const creation = (u.raw as Record<string, unknown>)['cache_creation'];
  if (typeof creation !== 'object' || creation === null) return 0;
  const n = (creation as Record<string, unknown>)['ephemeral_1h_input_tokens'];
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0 || n > writes) return 0;
  return n;
}

const shared = new CallPricer();

/** A pricer with the configured prices (`pricing` of the configuration file), to be built once
 * at start and handed to every record (RecordOptions.pricer) and to the reprice command. */
export function configurePricing(pricing: PricingConfig | null): CallPricer {
  return pricing === null || pricing.models.length === 0 ? shared : new CallPricer(pricing);
}

/** Prices one call; without a pricer, with the process-wide table-only pricer (its lookup cache
 * is shared by every call). */
export function priceCall(input: PriceInput, pricer: CallPricer = shared): CallCost {
  return pricer.price(input);
}
