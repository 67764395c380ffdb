/**
 * Prices from the configuration file (`pricing.models`, src/config/types.ts): for models the
 * maintained table lacks (self-hosted, fine-tuned, resold) or prices wrongly for this deployment
 * (negotiated rates). Checked before the table; the first matching entry wins.
 */
import type { ModelPriceConfig, PricingConfig } from '../config/types.js';
import type { Usage } from '../core/call-parts.js';
import { matchModelGlob } from './model-glob.js';

/** Distinct (provider, model) answers remembered; the same bound and reason as the table
 * lookups of call-pricer.ts (MAX_CACHED_MODELS: names come off the wire). */
const MAX_REMEMBERED = 4096;

export class ConfiguredPrices {
  private readonly models: readonly ModelPriceConfig[];
  /** (provider, model) → index of the first matching entry, or -1. */
  private readonly matches = new Map<string, number>();

  constructor(pricing: PricingConfig | null | undefined) {
    this.models = pricing?.models ?? [];
  }

  get size(): number {
    return this.models.length;
  }

  /** The first entry whose pattern matches the model and whose provider (if it names one) is
   * the call's provider — our record's provider name, the one the console shows. */
  find(provider: string, model: string): ModelPriceConfig | null {
    if (this.models.length === 0) return null;
    const key = `${provider}\n${model}`;
    let index = this.matches.get(key);
    if (index === undefined) {
      index = this.models.findIndex((m) => (m.provider === null || m.provider === provider) && matchModelGlob(m.model, model));
      if (this.matches.size >= MAX_REMEMBERED) this.matches.clear();
      this.matches.set(key, index);
    }
    return index < 0 ? null : (this.models[index] ?? null);
  }
}

/**
 * Dollars for a call at a configured price. Our counts are totals with parts (DESIGN §3:
 * `input_tokens` includes cache reads and writes, `output_tokens` includes reasoning), so the
 * uncached input is what remains after the cache parts, and reasoning is simply output.
 * Unknown cache counts are priced as uncached input, as the table path does.
 */
export function configuredCost(price: ModelPriceConfig, u: Usage): number {
  const read = u.cache_read_tokens ?? 0;
  const write = u.cache_write_tokens ?? 0;
  const uncached = (u.input_tokens ?? 0) - read - write;
  const perToken = (perMillion: number): number => perMillion / 1e6;
  return (
    perToken(price.input_per_mtok) * uncached +
    perToken(price.cache_read_per_mtok ?? price.input_per_mtok) * read +
    perToken(price.cache_write_per_mtok ?? price.input_per_mtok) * write +
    perToken(price.output_per_mtok) * (u.output_tokens ?? 0)
  );
}
