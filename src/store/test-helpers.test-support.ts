/** Temp databases for the store's tests: a fresh directory per store, removed after the run. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { LlmCallRecord } from '../core/record.js';
import { openStore } from './index.js';
import { syntheticCall } from './synthetic-records.js';
import type { Store, StoreOptions } from './types.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'llmtap-store-'));
  dirs.push(d);
  return d;
}

export function tempDbPath(): string {
  return join(tempDir(), 'llmtap.duckdb');
}

export async function tempStore(opts: Partial<StoreOptions> = {}): Promise<Store> {
  return openStore({ path: tempDbPath(), retention: false, ...opts });
}

/** 2026-01-01T00:00:00Z in µs. */
export const T0 = Date.UTC(2026, 0, 1) * 1000;

export function calls(n: number, stepUs = 1_000_000, start = T0): LlmCallRecord[] {
  return Array.from({ length: n }, (_, i) => syntheticCall(i, { start, stepUs }));
}

/** Linear-interpolation quantile (numpy default, DuckDB quantile_cont): the JS reference. */
export function quantile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}
