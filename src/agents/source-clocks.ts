/**
 * Capture clocks, one per source (DESIGN §1: "timeouts and windows run on capture time, with a
 * watermark per source"). Sources' clocks need not agree: an old capture file beside a live
 * interface in `llmtap run`, probe hosts whose clocks drift in `llmtap collect`. The turn
 * tracker (its deadlines), the live metric windows and the alert rules each keep one clock per
 * source here, with what they need on that clock beside its watermark.
 *
 * Source ids come off the network (a probe's uuid), so clocks are capped: calls of sources past
 * the cap share one clock that follows the newest of all clocks (the single clock before
 * per-source clocks), and each such call is counted by the owner (`agent_sources_capped`,
 * `metrics_sources_capped`, `alert_sources_capped`).
 */
import type { Micros } from '../core/time.js';
import type { TurnState } from './turn-state.js';

/** 1,024 sources: `collect` serves at most 64 probes per listener and a configuration's
 * pipelines name a handful of sources; beyond this a clock is one Map entry and a few arrays. */
export const DEFAULT_MAX_SOURCES = 1_024;

/** What every per-source clock has. */
export interface Watermarked {
  /** null: the shared clock of sources past the cap. */
  readonly source: string | null;
  /** Latest capture time reached on this source. */
  watermark: Micros;
}

/**
 * The clocks by source, at most `max` of them, then one shared clock. A clock made later starts
 * at the time every source reached (`moveAll`, the "floor"), as one clock for all sources would
 * have it; the shared clock starts at, and follows, the newest of all clocks.
 */
export abstract class SourceClockMap<C extends Watermarked> {
  private readonly bySource = new Map<string, C>();
  private shared: C | null = null;
  /** The time every source reached (moves without a source); null until it first moves. */
  protected floorAt: Micros | null = null;
  /** The sweep schedule at the floor: a clock made later takes it (owners that sweep their
   * clocks' state every `sweepEveryUs` start a new clock's schedule where one clock's would be). */
  protected floorNextSweep: Micros = 0;
  private newestAt: Micros | null = null;

  constructor(
    private readonly max: number,
    private readonly onCapped: () => void,
    private readonly sweepEveryUs: Micros = Number.POSITIVE_INFINITY,
  ) {}

  /** A new clock at `watermark` (the floor for a source's own clock, the newest for the shared). */
  protected abstract make(source: string | null, watermark: Micros): C;

  /** The time every source reached, null before `moveAll`. */
  get floor(): Micros | null {
    return this.floorAt;
  }

  /** The newest time of all clocks, null before any moved. */
  get newest(): Micros | null {
    return this.newestAt;
  }

  /** The clock of a call's source; a source past the cap gets the shared clock (counted). */
  forCall(source: string): C {
    const c = this.clockOf(source);
    if (c.source === null) this.onCapped();
    return c;
  }

  /** The clock of `source`, made if there is room, else the shared one (not counted: a tick). */
  clockOf(source: string): C {
    const found = this.bySource.get(source);
    if (found !== undefined) return found;
    if (this.bySource.size >= Math.max(1, this.max)) return this.sharedClock();
    const c = this.make(source, this.floorAt ?? 0);
    this.bySource.set(source, c);
    return c;
  }

  move(c: C, now: Micros): void {
    if (now > c.watermark) c.watermark = now;
    if (this.newestAt === null || now > this.newestAt) this.newestAt = now;
  }

  /** Every clock moves to at least `now`, and clocks made later start there. */
  moveAll(now: Micros): void {
    if (this.floorAt === null || now > this.floorAt) this.floorAt = now;
    for (const c of this.all()) this.move(c, now);
    if (this.floorAt >= this.floorNextSweep) this.floorNextSweep = this.floorAt + this.sweepEveryUs;
  }

  /** The shared clock as it is (null while no source is past the cap). */
  peekShared(): C | null {
    return this.shared;
  }

  /** The shared clock, moved to the newest clock (null while no source is past the cap). */
  followNewest(): C | null {
    if (this.shared !== null && this.newestAt !== null && this.newestAt > this.shared.watermark) this.shared.watermark = this.newestAt;
    return this.shared;
  }

  *all(): IterableIterator<C> {
    yield* this.bySource.values();
    if (this.shared !== null) yield this.shared;
  }

  private sharedClock(): C {
    this.shared ??= this.make(null, this.newestAt ?? 0);
    return this.shared;
  }
}

export interface ClosingEntry<S> {
  turn: TurnState;
  session: S;
}

/** A clock of the turn tracker: what its deadlines need on that clock. */
export interface SourceClock<S> extends Watermarked {
  /** Its idle sessions are looked for when the watermark reaches this. */
  nextSweep: Micros;
  /** Closed turns waiting for their grace to pass, in deadline order (the watermark only grows);
   * `head` is the first live one. */
  readonly queue: ClosingEntry<S>[];
  head: number;
  /** Its sessions in order of last activity: the oldest come first. */
  readonly sessions: Map<string, S>;
  /** Turns past their grace kept for sub-agents still at work (each is also in its session's
   * `closing`, so there are at most CLOSING_PER_SESSION per session). */
  readonly held: Map<TurnState, S>;
}

/** The turn tracker's clocks: a clock made later also takes the sweep schedule at the floor. */
export class SourceClocks<S> extends SourceClockMap<SourceClock<S>> {
  constructor(max: number, sweepEveryUs: Micros, onCapped: () => void) {
    super(max, onCapped, sweepEveryUs);
  }

  protected make(source: string | null, watermark: Micros): SourceClock<S> {
    return { source, watermark, nextSweep: this.floorNextSweep, queue: [], head: 0, sessions: new Map(), held: new Map() };
  }
}
