/**
 * What the live and probe end-to-end tests read back from the API: the calls listed so far (one
 * page of up to 500, more than any of these tests makes).
 */
import { expect } from 'vitest';

export interface ListedCall {
  id: string;
  response_id: string | null;
  source: string;
  timing: { response_end: string | null };
}

export async function listCalls(base: string): Promise<ListedCall[]> {
  const res = await fetch(`${base}/api/v1/calls?limit=500`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: ListedCall[] }).items;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
