/**
 * Pricing a call record that already exists (the reprice command: stored calls priced again when
 * prices or the configuration change). The same pricer as when records are built, fed from the
 * record's own fields, so a repriced call is what a fresh replay would have produced.
 */
import type { LlmCallRecord } from '../core/record.js';
import { priceCall, type CallPricer, type CostStatus } from './call-pricer.js';

/** Every anomaly the pricer can add to a call (`cost_<condition>`, see call-pricer.ts). */
export const COST_ANOMALIES: readonly string[] = ['cost_usage_invalid', 'cost_price_failed', 'cost_model_name_too_long'];

export interface RecordCost {
  cost_usd: number | null;
  cost_status: CostStatus;
  /** The record's anomalies with the previous pricing's `cost_*` names replaced by this one's. */
  anomalies: string[];
}

export type PricedFields = Pick<LlmCallRecord, 'provider' | 'response_model' | 'request_model' | 'usage' | 'timing' | 'anomalies'>;

/** Prices a stored call as of its request's capture time (`timing.request_start`). */
export function priceRecord(record: PricedFields, pricer?: CallPricer): RecordCost {
  // ISO 8601 with microseconds: Date.parse keeps the milliseconds, which is all a dated price needs.
  const atMs = Date.parse(record.timing.request_start);
  const cost = priceCall(
    { provider: record.provider, response_model: record.response_model, request_model: record.request_model, usage: record.usage, atMs },
    pricer,
  );
  const kept = record.anomalies.filter((a) => !COST_ANOMALIES.includes(a));
  if (cost.anomaly !== null && !kept.includes(cost.anomaly)) kept.push(cost.anomaly);
  return { cost_usd: cost.cost_usd, cost_status: cost.cost_status, anomalies: kept };
}
