/**
 * The state of `llmtap top` and what changes it: refreshes on a timer (with back-off while the API
 * cannot be read), keys, and a selected call's detail. The screen is a pure function of this
 * state (view-model.ts); timers and the clock are injected so tests run without waiting.
 */
import type { FetchProblem, TopApi } from './api-client.js';
import type { CallDetailAnswer } from './api-client.js';
import { pollOnce, type TopData } from './poll.js';

export interface TopState {
  /** What the status line names (no userinfo, no token). */
  base: string;
  /** The window asked for, or null once the server said it has no such window (its default then). */
  window: string | null;
  /** Last good answers; kept while the API is unreachable so the screen does not go blank. */
  data: TopData | null;
  /** Why the last refresh failed; null when it succeeded. */
  problem: FetchProblem | null;
  /** Wall-clock ms of the last good refresh, and of the next attempt while failing. */
  lastOkAt: number | null;
  retryAt: number | null;
  /** Refreshes failed in a row. */
  failures: number;
  /** Id of the selected call (kept on the same call as new ones arrive above it). */
  selectedId: string | null;
  /** The detail pane: open on a call id, its answer once fetched, and how far it is scrolled. */
  detail: { id: string; answer: CallDetailAnswer | null; problem: FetchProblem | null; scroll: number } | null;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface ControllerOptions {
  api: TopApi;
  /** Refresh period, ms. */
  intervalMs: number;
  window: string | null;
  callLimit: number;
  clock?: Clock;
}

/** Longest wait between attempts while the API cannot be read: a restarted llmtap is picked up
 * within 10 s, and a dead one costs one request per 10 s. */
export const MAX_RETRY_MS = 10_000;

export type Key = 'up' | 'down' | 'pageUp' | 'pageDown' | 'home' | 'end' | 'enter' | 'back';

export class TopController {
  private state: TopState;
  private readonly listeners = new Set<() => void>();
  private readonly clock: Clock;
  private timer: unknown = null;
  private closed = false;
  private inFlight = false;

  constructor(private readonly o: ControllerOptions) {
    this.clock = o.clock ?? realClock;
    this.state = {
      base: o.api.base,
      window: o.window,
      data: null,
      problem: null,
      lastOkAt: null,
      retryAt: null,
      failures: 0,
      selectedId: null,
      detail: null,
    };
  }

  get(): TopState {
    return this.state;
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    void this.refresh();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** One refresh now; the next one is scheduled from its outcome. */
  async refresh(): Promise<void> {
    if (this.closed || this.inFlight) return;
    this.inFlight = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    const r = await pollOnce(this.o.api, { window: this.state.window, callLimit: this.o.callLimit });
    this.inFlight = false;
    if (this.closed) return;
    const now = this.clock.now();
    if (r.ok) {
      const calls = r.value.calls;
      const keep = this.state.selectedId !== null && calls.some((c) => c.id === this.state.selectedId);
      this.set({
        window: r.window,
        data: r.value,
        problem: null,
        lastOkAt: now,
        retryAt: null,
        failures: 0,
        selectedId: keep ? this.state.selectedId : (calls[0]?.id ?? null),
      });
      this.schedule(this.o.intervalMs);
    } else {
      const failures = this.state.failures + 1;
      const wait = Math.min(MAX_RETRY_MS, this.o.intervalMs * 2 ** (failures - 1));
      this.set({ window: r.window, problem: r.problem, failures, retryAt: now + wait });
      this.schedule(wait);
    }
  }

  key(k: Key): void {
    const d = this.state.detail;
    if (d !== null) {
      if (k === 'back' || k === 'enter') this.set({ detail: null });
      else if (k === 'up' || k === 'down' || k === 'pageUp' || k === 'pageDown' || k === 'home') {
        const step = k === 'up' ? -1 : k === 'down' ? 1 : k === 'pageUp' ? -10 : k === 'pageDown' ? 10 : -d.scroll;
        this.set({ detail: { ...d, scroll: Math.max(0, d.scroll + step) } });
      }
      return;
    }
    const calls = this.state.data?.calls ?? [];
    if (calls.length === 0) return;
    const at = Math.max(0, calls.findIndex((c) => c.id === this.state.selectedId));
    const move = (to: number): void => this.set({ selectedId: calls[Math.max(0, Math.min(calls.length - 1, to))]!.id });
    switch (k) {
      case 'up':
        return move(at - 1);
      case 'down':
        return move(at + 1);
      case 'pageUp':
        return move(at - 10);
      case 'pageDown':
        return move(at + 10);
      case 'home':
        return move(0);
      case 'end':
        return move(calls.length - 1);
      case 'enter':
        return void this.openDetail(calls[at]!.id);
      case 'back':
        return;
    }
  }

  private async openDetail(id: string): Promise<void> {
    this.set({ selectedId: id, detail: { id, answer: null, problem: null, scroll: 0 } });
    const r = await this.o.api.call(id);
    // The user may have closed it, or opened another, meanwhile.
    if (this.closed || this.state.detail?.id !== id) return;
    this.set({ detail: { ...this.state.detail, answer: r.ok ? r.value : null, problem: r.ok ? null : r.problem } });
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = this.clock.setTimeout(() => void this.refresh(), ms);
  }

  private set(patch: Partial<TopState>): void {
    this.state = { ...this.state, ...patch };
    for (const fn of this.listeners) fn();
  }
}
