/**
 * Batches records into the store (DESIGN §6: writes are batched). The replay loop hands records
 * over synchronously; `drain()` is awaited between file reads so the queue never grows past one
 * batch or so, and a failed write (disk full, unwritable file) stops the replay with what was
 * committed before it intact.
 *
 * Agent turns (issue 4) arrive as snapshots: the tracker sends a turn again each time it grows,
 * until it is complete or incomplete. Only the last snapshot of each turn waits here, and a turn
 * is written only once every call queued before it is committed, so a stored turn never names a
 * call the database does not have yet.
 */
import type { AgentTurnRecord, AlertRecord, HttpExchangeRecord, LlmCallRecord } from '../core/record.js';
import type { HttpExchange } from '../http/types.js';
import { redactText } from '../redact/secrets.js';
import type { Store, StoredExchangeInput } from '../store/types.js';
import { buildStoredExchangeInput } from './stored-exchange.js';

/** 2,000 calls per transaction: large enough that commit cost vanishes next to the rows (DuckDB
 * commits in ~1 ms), small enough that a crash loses at most a fraction of a second of a replay. */
const BATCH_CALLS = 2_000;
/** Exchanges carry bodies (up to ~320 KiB each after capping): fewer per batch bounds memory. */
const BATCH_EXCHANGES = 500;
/**
 * And at most this much text (UTF-16 code units of bodies and event data) per batch: a batch is
 * held here, then again in DuckDB's transaction until it commits, so its size is what a fast
 * replay of big bodies holds twice. 500 exchanges of capped bodies and events could be ~1 GB;
 * 32 Mi characters is about a sixth of the text in the 200 MB bench mix.
 */
export const BATCH_EXCHANGE_CHARS = 32 * 1024 * 1024;

/** What an exchange holds in text (bodies and event data: UTF-16 code units of text, bytes of a
 * body given as bytes), the measure of a batch's memory. */
function storedChars(x: StoredExchangeInput): number {
  let n = (x.request_body?.length ?? 0) + (x.response_body?.length ?? 0);
  if (x.response_events !== null) for (const e of x.response_events) n += e.data.length;
  return n;
}
/** Turns carry their steps (~250 bytes a call): 500 turns of even 100 calls is ~12 MB at most. */
const BATCH_TURNS = 500;
/** A record waits at most this long (wall clock) for its batch to fill: a slow capture still shows
 * its calls and in-progress turns in the console within about a second. */
const MAX_WAIT_MS = 1_000;

interface PendingTurn {
  turn: AgentTurnRecord;
  /** Calls that must be committed first: every call queued before this snapshot arrived. */
  afterCalls: number;
}

/**
 * Secrets never reach the store (DESIGN §7). The tracker builds previews from content the pipeline
 * already redacted; redacting the free text once more here costs little and holds even if a
 * preview were ever taken from somewhere else.
 */
function redactTurn(t: AgentTurnRecord): AgentTurnRecord {
  const text = (s: string | null): string | null => (s === null ? null : redactText(s));
  return {
    ...t,
    user_preview: text(t.user_preview),
    final_preview: text(t.final_preview),
    loops: t.loops.map((l) => ({ ...l, arguments_preview: redactText(l.arguments_preview) })),
  };
}

export class StoreSink {
  private calls: LlmCallRecord[] = [];
  private exchanges: StoredExchangeInput[] = [];
  /** storedChars of each queued exchange, and their sum. */
  private exchangeSizes: number[] = [];
  private exchangeChars = 0;
  /** Latest snapshot per turn id, in the order they last arrived. */
  private turns = new Map<string, PendingTurn>();
  /** Latest state of each alert incident or notice (a resolution replaces its firing). */
  private alerts = new Map<string, AlertRecord>();
  alertsWritten = 0;
  /** Calls ever queued / ever committed (inserted or already stored): orders turns after calls. */
  private callsQueued = 0;
  private callsCommitted = 0;
  callsInserted = 0;
  exchangesInserted = 0;
  /** Turn snapshots written (new or changed). */
  turnsWritten = 0;
  batches = 0;
  lastError: string | null = null;

  /**
   * @param onCommitted calls newly stored by a batch, after its commit (a call already in the
   *   database, e.g. a capture replayed twice, is not reported again)
   * @param onTurnsCommitted turn snapshots written by a batch, after its commit (a snapshot equal
   *   to the stored one is not reported)
   */
  constructor(
    private readonly store: Store,
    private readonly onCommitted?: (calls: LlmCallRecord[]) => void,
    private readonly onTurnsCommitted?: (turns: AgentTurnRecord[]) => void,
    /** Wall clock in ms, for the one-second bound (tests pass their own). */
    private readonly now: () => number = () => performance.now(),
    /** Text per exchange batch (tests pass a small one). */
    private readonly batchChars: number = BATCH_EXCHANGE_CHARS,
  ) {}

  /** Wall-clock time the oldest waiting record arrived, null when nothing waits. */
  private oldestWaiting: number | null = null;

  addCall(record: LlmCallRecord, ex: HttpExchange): void {
    this.addStoredCall(record, buildStoredExchangeInput(ex, record));
  }

  addOther(record: HttpExchangeRecord, ex: HttpExchange): void {
    this.addStoredOther(buildStoredExchangeInput(ex, record));
  }

  /** A call whose stored exchange was built elsewhere (a worker thread builds it beside the
   * exchange, so only that form crosses to the main thread). */
  addStoredCall(record: LlmCallRecord, stored: StoredExchangeInput): void {
    this.oldestWaiting ??= this.now();
    this.calls.push(record);
    this.callsQueued++;
    this.queueExchange(stored);
  }

  addStoredOther(stored: StoredExchangeInput): void {
    this.oldestWaiting ??= this.now();
    this.queueExchange(stored);
  }

  private queueExchange(stored: StoredExchangeInput): void {
    const n = storedChars(stored);
    this.exchanges.push(stored);
    this.exchangeSizes.push(n);
    this.exchangeChars += n;
  }

  /** The next batch of exchanges, taken off the queue: up to BATCH_EXCHANGES of them and the text
   * cap (always at least one, whatever its size). */
  private takeExchanges(): StoredExchangeInput[] {
    let count = 0;
    let chars = 0;
    while (count < this.exchanges.length && count < BATCH_EXCHANGES) {
      const n = this.exchangeSizes[count]!;
      if (count > 0 && chars + n > this.batchChars) break;
      chars += n;
      count++;
    }
    this.exchangeSizes.splice(0, count);
    this.exchangeChars -= chars;
    return this.exchanges.splice(0, count);
  }

  /** A turn snapshot; a later snapshot of the same turn id replaces it if both are still waiting. */
  addTurn(turn: AgentTurnRecord): void {
    this.oldestWaiting ??= this.now();
    this.turns.delete(turn.id);
    this.turns.set(turn.id, { turn: redactTurn(turn), afterCalls: this.callsQueued });
  }

  /** An alert from the alerting observer: stored after the calls that made it fire. */
  addAlert(alert: AlertRecord): void {
    this.oldestWaiting ??= this.now();
    this.alerts.delete(alert.id);
    this.alerts.set(alert.id, alert);
  }

  get pending(): number {
    return this.calls.length + this.exchanges.length + this.turns.size + this.alerts.size;
  }

  /** Write a batch when one is full, or when its oldest record has waited long enough. */
  async drain(): Promise<void> {
    const full =
      this.calls.length >= BATCH_CALLS ||
      this.exchanges.length >= BATCH_EXCHANGES ||
      this.exchangeChars >= this.batchChars ||
      this.turns.size >= BATCH_TURNS;
    if (full || (this.oldestWaiting !== null && this.now() - this.oldestWaiting >= MAX_WAIT_MS)) {
      await this.flush();
    }
  }

  /** Write everything queued: calls first, so a call is never missing while its exchange or turn exists. */
  async flush(): Promise<void> {
    try {
      await this.writeAll();
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
      throw err;
    }
  }

  private async writeAll(): Promise<void> {
    for (;;) {
      const turns = this.readyTurns();
      if (this.calls.length === 0 && this.exchanges.length === 0 && turns.length === 0) {
        await this.writeAlerts();
        // Turns still waiting for their calls stay queued; they are no older than those calls.
        this.oldestWaiting = this.turns.size > 0 ? this.now() : null;
        return;
      }
      this.batches++;
      const calls = this.calls.splice(0, BATCH_CALLS);
      const exchanges = this.takeExchanges();
      if (calls.length > 0) {
        const ids = new Set(await this.store.insertCallsReturningIds(calls));
        this.callsCommitted += calls.length;
        this.callsInserted += ids.size;
        if (ids.size > 0) this.onCommitted?.(ids.size === calls.length ? calls : calls.filter((c) => ids.has(c.id)));
      }
      if (exchanges.length > 0) this.exchangesInserted += await this.store.insertExchanges(exchanges);
      // Taken before the calls above were written, so every one of them waited on calls already
      // committed before this batch or in it.
      if (turns.length > 0) await this.writeTurns(turns);
    }
  }

  /** Up to a batch of waiting turns whose calls are all committed, taken off the queue. */
  private readyTurns(): AgentTurnRecord[] {
    const out: AgentTurnRecord[] = [];
    // Calls in this.calls are written before these turns, in the same round.
    const committedThisRound = this.callsCommitted + Math.min(this.calls.length, BATCH_CALLS);
    for (const [id, p] of this.turns) {
      if (out.length >= BATCH_TURNS) break;
      if (p.afterCalls > committedThisRound) continue;
      out.push(p.turn);
      this.turns.delete(id);
    }
    return out;
  }

  /** Few (an alert is a rare event): one upsert each, in the order they were raised. */
  private async writeAlerts(): Promise<void> {
    for (const [id, alert] of this.alerts) {
      await this.store.insertAlert(alert);
      this.alerts.delete(id);
      this.alertsWritten++;
    }
  }

  private async writeTurns(turns: AgentTurnRecord[]): Promise<void> {
    const written = new Set(await this.store.upsertTurns(turns));
    this.turnsWritten += written.size;
    if (written.size > 0) this.onTurnsCommitted?.(turns.filter((t) => written.has(t.id)));
  }
}
