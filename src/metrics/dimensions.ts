/**
 * One vocabulary for "by what" (metric labels, alert filters, budget scopes, cost breakdowns):
 * the built-in dimensions of a call (src/config/types.ts BUILTIN_DIMENSIONS, `process` among
 * them for eBPF sources), or a configured attribute by name.
 */
import type { LlmCallRecord } from '../core/record.js';
import { BUILTIN_DIMENSIONS, type BuiltinDimension } from '../config/types.js';

export function isBuiltinDimension(name: string): name is BuiltinDimension {
  return (BUILTIN_DIMENSIONS as readonly string[]).includes(name);
}

/** The call's value for one dimension, or null when it has none (no agent, no key, attribute absent). */
export function dimensionValue(call: LlmCallRecord, dim: string): string | null {
  switch (dim) {
    case 'provider':
      return call.provider;
    case 'api':
      return call.api;
    case 'model':
      return call.response_model ?? call.request_model;
    case 'server':
      // The name the client asked for (Host/SNI) when known: that is what an operator calls it.
      // Else the address alone, as the store groups it (its rows keep no server port).
      return call.server.host ?? call.server.ip;
    case 'agent':
      return call.agent;
    case 'client':
      return call.client.ip;
    case 'key':
      return call.api_key_fingerprint;
    case 'source':
      return call.source;
    case 'process':
      // The program's name (`comm`), not `comm[pid]`: a pid is new at every restart and every
      // worker, so a label per pid would grow the series without bound (metrics.max_series folds
      // them into __other__) and split one program's spend across restarts. The pid stays on the
      // record, the store (`pid` filter) and the console. Captured calls have no process.
      return call.process?.comm ?? null;
    default:
      return call.attributes[dim] ?? null;
  }
}

/** True when the call has every filter's value (an empty filter matches everything). */
export function matchesFilters(call: LlmCallRecord, filters: Record<string, string>): boolean {
  for (const [dim, want] of Object.entries(filters)) {
    if (dimensionValue(call, dim) !== want) return false;
  }
  return true;
}
