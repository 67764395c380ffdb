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

/** How often the API is asked for new calls while the SDKs run. */
export const POLL_MS = 50;
/** After the last SDK call, how long the calls may take to appear before the test fails: far
 * beyond the one-second design target, so only a call that never comes fails it. */
export const ARRIVAL_BOUND_MS = 30_000;

/**
 * Reads until `done` holds or the arrival bound passes, and gives the last read: what the store
 * commits in separate statements (calls, then their turns, then alerts) is read when all are in.
 */
export async function readUntil<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + ARRIVAL_BOUND_MS;
  let v = await read();
  while (!done(v) && Date.now() < deadline) {
    await sleep(POLL_MS);
    v = await read();
  }
  return v;
}

export interface Sighting {
  /** Date.now() when the API first listed it. */
  at: number;
  call: ListedCall;
}

/**
 * Runs the SDK calls while polling the API, until every call they made is listed (or the
 * arrival bound passes): each listed call with the moment it was first seen, and what the SDKs saw.
 */
export async function watchCallsArrive<V extends { id: string }>(base: string, runCalls: () => Promise<V[]>): Promise<{ seen: Sighting[]; views: V[] }> {
  const seenAt = new Map<string, Sighting>();
  let running = true;
  const poller = (async () => {
    while (running) {
      for (const c of await listCalls(base)) if (!seenAt.has(c.id)) seenAt.set(c.id, { at: Date.now(), call: c });
      await sleep(POLL_MS);
    }
  })();
  let views: V[];
  try {
    views = await runCalls();
    const deadline = Date.now() + ARRIVAL_BOUND_MS;
    const want = new Set(views.map((v) => v.id));
    while (Date.now() < deadline && [...want].some((id) => ![...seenAt.values()].some((s) => s.call.response_id === id))) await sleep(POLL_MS);
  } finally {
    running = false;
    await poller;
  }
  return { seen: [...seenAt.values()], views };
}

/** "N calls in the API a–b ms after their last response byte (median m ms; polled every P ms)". */
export function arrivalSummary(seen: readonly Sighting[]): string {
  const delays = seen.map((s) => s.at - Date.parse(s.call.timing.response_end!)).sort((a, b) => a - b);
  return `${delays.length} calls in the API ${delays[0]}–${delays[delays.length - 1]} ms after their last response byte (median ${delays[Math.floor(delays.length / 2)]} ms; polled every ${POLL_MS} ms)`;
}
