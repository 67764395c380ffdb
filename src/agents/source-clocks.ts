/**
 * Capture clocks of the turn tracker, one per source (DESIGN §1: "timeouts and windows run on
 * capture time, with a watermark per source"). Sources' clocks need not agree: an old capture
 * file beside a live interface in `llmtap run`, probe hosts whose clocks drift in `llmtap
 * collect`. Each clock has what the tracker's deadlines need on that clock: its watermark, its
 * closing queue (in deadline order: the watermark only grows), its sessions in order of activity
 * (the idle sweep) and its held turns.
 *
 * Source ids come off the network (a probe's uuid), so clocks are capped: calls of sources past
 * the cap share one clock that follows the newest of all clocks (the tracker's single clock
 * before per-source clocks), and each such call is counted (`agent_sources_capped`).
 */
import type { Micros } from '../core/time.js';
import type { TurnState } from './turn-state.js';

/** 1,024 sources: `collect` serves at most 64 probes per listener and a configuration's
 * pipelines name a handful of sources; beyond this a clock is one Map entry and a few arrays. */
export const DEFAULT_MAX_SOURCES = 1_024;

export interface ClosingEntry<S> {
  turn: TurnState;
  session: S;
}

export interface SourceClock<S> {
  /** null: the shared clock of sources past the cap. */
  readonly source: string | null;
  /** Latest capture time reached on this source. */
  watermark: Micros;
  /** Its idle sessions are looked for when the watermark reaches this. */
  nextSweep: Micros;
  /** Closed turns waiting for their grace to pass, in deadline order; `head` is the first live one. */
  readonly queue: ClosingEntry<S>[];
  head: number;
  /** Its sessions in order of last activity: the oldest come first. */
  readonly sessions: Map<string, S>;
  /** Turns past their grace kept for sub-agents still at work (each is also in its session's
   * `closing`, so there are at most CLOSING_PER_SESSION per session). */
  readonly held: Map<TurnState, S>;
}

export class SourceClocks<S> {
  private readonly bySource = new Map<string, SourceClock<S>>();
  private shared: SourceClock<S> | null = null;
  /** The time every source reached (moves without a source) and the sweep schedule at it: a
   * source seen later starts there, as the single clock did. */
  private floor: Micros = 0;
  private floorNextSweep: Micros = 0;
  private newest: Micros = 0;

  constructor(
    private readonly max: number,
    private readonly sweepEveryUs: Micros,
    private readonly onCapped: () => void,
  ) {}

  /** The clock of a call's source; a source past the cap gets the shared clock (counted). */
  forCall(source: string): SourceClock<S> {
    const c = this.clockOf(source);
    if (c.source === null) this.onCapped();
    return c;
  }

  /** The clock of `source`, made if there is room, else the shared one (not counted: a tick). */
  clockOf(source: string): SourceClock<S> {
    const found = this.bySource.get(source);
    if (found !== undefined) return found;
    if (this.bySource.size >= Math.max(1, this.max)) return this.sharedClock();
    const c = this.make(source, this.floor);
    this.bySource.set(source, c);
    return c;
  }

  move(c: SourceClock<S>, now: Micros): void {
    if (now > c.watermark) c.watermark = now;
    if (now > this.newest) this.newest = now;
  }

  /** Every clock moves to at least `now`, and clocks made later start there. */
  moveAll(now: Micros): void {
    if (now > this.floor) this.floor = now;
    for (const c of this.all()) this.move(c, now);
    if (this.floor >= this.floorNextSweep) this.floorNextSweep = this.floor + this.sweepEveryUs;
  }

  /** The shared clock, moved to the newest clock (null while no source is past the cap). */
  followNewest(): SourceClock<S> | null {
    if (this.shared !== null && this.newest > this.shared.watermark) this.shared.watermark = this.newest;
    return this.shared;
  }

  *all(): IterableIterator<SourceClock<S>> {
    yield* this.bySource.values();
    if (this.shared !== null) yield this.shared;
  }

  private sharedClock(): SourceClock<S> {
    this.shared ??= this.make(null, this.newest);
    return this.shared;
  }

  private make(source: string | null, watermark: Micros): SourceClock<S> {
    return { source, watermark, nextSweep: this.floorNextSweep, queue: [], head: 0, sessions: new Map(), held: new Map() };
  }
}
