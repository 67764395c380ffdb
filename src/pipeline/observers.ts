/**
 * What stands on the finished records (DESIGN §1, "main thread": metrics, OTLP export, alerts,
 * budgets) sees them through one interface, so a source (replay, live capture, proxy) wires them
 * once. Observers get records after the turn tracker labelled them and as they are written.
 */
import type { AgentTurnRecord, AnnotationRecord, LlmCallRecord } from '../core/record.js';
import type { Micros } from '../core/time.js';

export interface RecordObserver {
  /** A finished call (labelled with agent, session and turn when a profile matched). */
  onCall?(call: LlmCallRecord): void;
  /** A turn: snapshots while in progress (final false), then the final record (final true). */
  onTurn?(turn: AgentTurnRecord, final: boolean): void;
  /** A score posted through the API. */
  onAnnotation?(annotation: AnnotationRecord): void;
  /** Capture time moved on (called between reads and after each call): windows slide, rules run.
   * With a source, on that source's clock; without one, on every source's. */
  onTime?(now: Micros, source?: string): void;
  /** End of input or shutdown: send what is pending. Must not throw. */
  close?(): Promise<void>;
}

/** Fans each record out to every observer; one observer's exception is counted, not spread. */
export class Observers implements RecordObserver {
  private readonly list: RecordObserver[];
  /** Exceptions thrown by observers (a bug, never the input's fault: counted and reported). */
  failures = 0;

  constructor(list: RecordObserver[], private readonly onFailure: (err: unknown) => void = () => undefined) {
    this.list = list;
  }

  get size(): number {
    return this.list.length;
  }

  onCall(call: LlmCallRecord): void {
    for (const o of this.list) this.guard(() => o.onCall?.(call));
  }

  onTurn(turn: AgentTurnRecord, final: boolean): void {
    for (const o of this.list) this.guard(() => o.onTurn?.(turn, final));
  }

  onAnnotation(a: AnnotationRecord): void {
    for (const o of this.list) this.guard(() => o.onAnnotation?.(a));
  }

  onTime(now: Micros, source?: string): void {
    for (const o of this.list) this.guard(() => o.onTime?.(now, source));
  }

  async close(): Promise<void> {
    for (const o of this.list) {
      try {
        await o.close?.();
      } catch (err) {
        this.failures++;
        this.onFailure(err);
      }
    }
  }

  private guard(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.failures++;
      this.onFailure(err);
    }
  }
}
