/**
 * `llmtap reprice --db PATH [--config FILE] [--from … --to … --model … --provider …] [--dry-run]`
 * (issue 5 item 4): price the stored calls again when prices change (a newer price table, price
 * overrides or custom models in the configuration), then sum their turns again. Prints what
 * changed; with --dry-run, what would.
 */
import { existsSync } from 'node:fs';
import { configurePricing, type CallPricer } from '../cost/call-pricer.js';
import { priceRecord } from '../cost/record-pricer.js';
import type { CallFilter, CallRepricer, RepriceResult } from '../store/types.js';
import { parseTime } from '../api/schemas.js';
import { resolveConfig, type ConfigOption } from './config-options.js';
import { asUserError, UserError } from './errors.js';
import { DEFAULT_DB_PATH } from './serving.js';

export interface RepriceCommandOptions extends ConfigOption {
  db?: string;
  from?: string;
  to?: string;
  /** Commander collects repeated --model / --provider flags into lists. */
  model?: string[];
  provider?: string[];
  dryRun?: boolean;
  quiet?: boolean;
}

export interface RepriceDeps {
  /** The price function; default: the configured pricer (`pricing` of --config) over the price table. */
  price?: CallRepricer;
  /** A pricer to use instead of the one built from the configuration. */
  pricer?: CallPricer;
  /** Where the summary goes (default stderr; the CLI is the only module that prints). */
  write?: (line: string) => void;
}

function time(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = parseTime(v);
  if (t === null) throw new UserError(`${flag}: not a time (ISO 8601, e.g. 2026-01-15T10:00:00Z, or epoch milliseconds): ${v.slice(0, 64)}`);
  return t;
}

/** The calls the flags select. */
export function repriceFilter(o: RepriceCommandOptions): CallFilter {
  const f: CallFilter = {};
  const from = time('--from', o.from);
  const to = time('--to', o.to);
  if (from !== undefined) f.from = from;
  if (to !== undefined) f.to = to;
  if (from !== undefined && to !== undefined && from > to) throw new UserError('--from is after --to');
  if (o.model && o.model.length > 0) f.model = o.model;
  if (o.provider && o.provider.length > 0) f.provider = o.provider;
  return f;
}

/** Price and store; resolves to the counts (also printed unless quiet). */
export async function runReprice(o: RepriceCommandOptions, deps: RepriceDeps = {}): Promise<RepriceResult> {
  const config = await resolveConfig({ ...(o.config !== undefined ? { config: o.config } : {}), ...(o.db !== undefined ? { db: o.db } : {}) });
  const db = config.db ?? DEFAULT_DB_PATH;
  if (!existsSync(db)) throw new UserError(`no database at ${db}`);
  const filter = repriceFilter(o);
  const pricer = deps.pricer ?? configurePricing(config.pricing);
  const price: CallRepricer = deps.price ?? ((call) => priceRecord(call, pricer));
  const { openStore } = await import('../store/index.js');
  let result: RepriceResult;
  try {
    const store = await openStore({ path: db, retention: false });
    try {
      result = await store.repriceCalls(price, filter, { dryRun: o.dryRun === true });
    } finally {
      await store.close();
    }
  } catch (err) {
    throw asUserError(err);
  }
  if (o.quiet !== true) (deps.write ?? ((l: string) => process.stderr.write(`${l}\n`)))(formatReprice(result, db));
  return result;
}

const usd = (v: number | null): string => (v === null ? 'unpriced' : `$${v.toFixed(6).replace(/0{1,4}$/, '')}`);

export function formatReprice(r: RepriceResult, db: string): string {
  const verb = r.dry_run ? 'would change' : 'changed';
  return [
    `llmtap: repriced ${r.scanned} calls in ${db}${r.dry_run ? ' (dry run: nothing written)' : ''}`,
    `  ${verb} ${r.changed}, unchanged ${r.unchanged}; now priced ${r.now_priced}, now unpriced ${r.now_unpriced}`,
    `  total ${usd(r.cost_before_usd)} → ${usd(r.cost_after_usd)}; turns summed again ${r.turns_updated}`,
  ].join('\n');
}
