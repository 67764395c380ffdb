/**
 * The live feed (DESIGN §6): the pipeline publishes each new call once, and each agent-turn snapshot
 * as it is committed (issue 4: a turn is published again as it grows and once more when it is
 * complete or incomplete); every connected client gets it as a Server-Sent Event (WHATWG HTML
 * §9.2). The event is serialised once and the same string is written to every client.
 *
 * A client that cannot keep up is dropped, never buffered without bound: before each write the
 * client's pending output (Node's own writable buffer, which `res.write` fills when the socket is
 * slower than we are) is checked against a cap. The browser's EventSource reconnects by itself and
 * the console reloads the list, so a drop costs the client a refresh, not the server its memory.
 */
import type { AgentTurnRecord, LlmCallRecord } from '../core/record.js';
import { STORE_CAPS, type CallListItem } from '../store/types.js';

/** How a connected client is written to; `http.ServerResponse` fits via `sseClientFor`. */
export interface LiveClient {
  write(frame: string): void;
  /** Bytes written but not yet taken by the socket. */
  pendingBytes(): number;
  /** End the stream (drop); must be idempotent. */
  close(): void;
}

export interface LiveFeedOptions {
  /**
   * Pending bytes after which a client is dropped. 4 MiB holds a few thousand call rows (a row is
   * ~1–2 KB of JSON): far more than a browser that is merely busy for a moment falls behind by.
   */
  maxPendingBytes?: number;
  /** Heartbeat comment interval. 15 s keeps idle proxies (nginx's default proxy_read_timeout is 60 s) from cutting the stream. */
  heartbeatMs?: number;
  /** Concurrent clients; more get 503. 64 is generous for one console per person on one machine. */
  maxClients?: number;
}

export const LIVE_DEFAULTS = {
  maxPendingBytes: 4 * 1024 * 1024,
  heartbeatMs: 15_000,
  maxClients: 64,
} as const;

/**
 * The list row of a call, as `GET /api/v1/calls` returns it (src/store/types.ts CallListItem): the
 * live event carries the same shape, so the console can put it straight into its table.
 */
export function callListItem(record: LlmCallRecord): CallListItem {
  const { content, ...rest } = record;
  return { ...rest, output_preview: content.output_text.slice(0, STORE_CAPS.previewChars) };
}

export class LiveFeed {
  readonly maxPendingBytes: number;
  readonly heartbeatMs: number;
  readonly maxClients: number;
  private readonly clients = new Set<LiveClient>();
  private heartbeat: NodeJS.Timeout | null = null;
  private closed = false;
  /** Counters for the health page and the tests. */
  readonly stats = { published: 0, delivered: 0, dropped: 0, turns_published: 0 };

  constructor(opts: LiveFeedOptions = {}) {
    this.maxPendingBytes = opts.maxPendingBytes ?? LIVE_DEFAULTS.maxPendingBytes;
    this.heartbeatMs = opts.heartbeatMs ?? LIVE_DEFAULTS.heartbeatMs;
    this.maxClients = opts.maxClients ?? LIVE_DEFAULTS.maxClients;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Whether another client may join. */
  hasRoom(): boolean {
    return !this.closed && this.clients.size < this.maxClients;
  }

  /** Adds a client; returns the function that removes it (call it when its connection closes). */
  subscribe(client: LiveClient): () => void {
    if (this.closed) {
      client.close();
      return () => undefined;
    }
    this.clients.add(client);
    this.startHeartbeat();
    return () => this.remove(client);
  }

  /**
   * Sends a new call to every client. Never throws: a client whose write fails is dropped. Publish
   * after the store has committed the call, so a client that opens it finds it.
   */
  publish(record: LlmCallRecord): void {
    if (this.closed) return;
    this.stats.published++;
    if (this.clients.size === 0) return;
    const call = callListItem(record);
    // JSON.stringify escapes CR and LF inside strings, so the data is one line and cannot end the
    // event or inject fields (SSE line ends are CR, LF, CRLF only: WHATWG HTML §9.2.6).
    const frame = `event: call\nid: ${sseSafe(call.id)}\ndata: ${JSON.stringify(call)}\n\n`;
    this.broadcast(frame, true);
  }

  /**
   * Sends a turn snapshot (the record as GET /api/v1/turns lists it) to every client. Never
   * throws. Publish after the store has committed it, so a client that opens it finds it.
   */
  publishTurn(turn: AgentTurnRecord): void {
    if (this.closed) return;
    this.stats.turns_published++;
    if (this.clients.size === 0) return;
    const frame = `event: turn\nid: ${sseSafe(turn.id)}\ndata: ${JSON.stringify(turn)}\n\n`;
    this.broadcast(frame, true);
  }

  /** Ends every client and stops the heartbeat (server shutdown). */
  close(): void {
    this.closed = true;
    for (const c of this.clients) c.close();
    this.clients.clear();
    this.stopHeartbeat();
  }

  /** One heartbeat now (the timer calls this; exposed so tests need not wait 15 s). */
  beat(): void {
    // A comment line: EventSource ignores it, proxies see traffic.
    this.broadcast(': heartbeat\n\n', false);
  }

  private broadcast(frame: string, count: boolean): void {
    for (const c of [...this.clients]) {
      if (c.pendingBytes() + frame.length > this.maxPendingBytes) {
        this.stats.dropped++;
        this.remove(c);
        c.close();
        continue;
      }
      try {
        c.write(frame);
        if (count) this.stats.delivered++;
      } catch {
        this.stats.dropped++;
        this.remove(c);
        c.close();
      }
    }
  }

  private remove(c: LiveClient): void {
    this.clients.delete(c);
    if (this.clients.size === 0) this.stopHeartbeat();
  }

  private startHeartbeat(): void {
    if (this.heartbeat !== null || this.heartbeatMs <= 0) return;
    this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs);
    // The feed must never keep the process alive on its own.
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat === null) return;
    clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}

/** An id is one line without NUL (WHATWG HTML §9.2.6: an id with NUL is ignored). */
function sseSafe(s: string): string {
  return s.replace(/[\r\n\0]/g, '');
}
