/**
 * Batches records into the store (DESIGN §6: writes are batched). The replay loop hands records
 * over synchronously; `drain()` is awaited between file reads so the queue never grows past one
 * batch or so, and a failed write (disk full, unwritable file) stops the replay with what was
 * committed before it intact.
 */
import type { HttpExchangeRecord, LlmCallRecord } from '../core/record.js';
import type { HttpExchange } from '../http/types.js';
import type { Store, StoredExchange } from '../store/types.js';
import { buildStoredExchange } from './stored-exchange.js';

/** 2,000 calls per transaction: large enough that commit cost vanishes next to the rows (DuckDB
 * commits in ~1 ms), small enough that a crash loses at most a fraction of a second of a replay. */
const BATCH_CALLS = 2_000;
/** Exchanges carry bodies (up to ~320 KiB each after capping): fewer per batch bounds memory. */
const BATCH_EXCHANGES = 500;

export class StoreSink {
  private calls: LlmCallRecord[] = [];
  private exchanges: StoredExchange[] = [];
  callsInserted = 0;
  exchangesInserted = 0;
  batches = 0;
  lastError: string | null = null;

  constructor(
    private readonly store: Store,
    private readonly onCommitted?: (calls: LlmCallRecord[]) => void,
  ) {}

  addCall(record: LlmCallRecord, ex: HttpExchange): void {
    this.calls.push(record);
    this.exchanges.push(buildStoredExchange(ex, record));
  }

  addOther(record: HttpExchangeRecord, ex: HttpExchange): void {
    this.exchanges.push(buildStoredExchange(ex, record));
  }

  get pending(): number {
    return this.calls.length + this.exchanges.length;
  }

  /** Write a batch when one is full. */
  async drain(): Promise<void> {
    if (this.calls.length >= BATCH_CALLS || this.exchanges.length >= BATCH_EXCHANGES) await this.flush();
  }

  /** Write everything queued: calls first, so a call is never missing while its exchange exists. */
  async flush(): Promise<void> {
    try {
      await this.writeAll();
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
      throw err;
    }
  }

  private async writeAll(): Promise<void> {
    while (this.calls.length > 0 || this.exchanges.length > 0) {
      this.batches++;
      const calls = this.calls.splice(0, BATCH_CALLS);
      const exchanges = this.exchanges.splice(0, BATCH_EXCHANGES);
      if (calls.length > 0) {
        this.callsInserted += await this.store.insertCalls(calls);
        this.onCommitted?.(calls);
      }
      if (exchanges.length > 0) this.exchangesInserted += await this.store.insertExchanges(exchanges);
    }
  }
}
