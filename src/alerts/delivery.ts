/**
 * Alert delivery (issue 5 item 6): to the log (a callback: the CLI is the only module that
 * prints, DESIGN §8) and to webhooks (JSON POST of the AlertRecord plus a `text` line, the field
 * Slack-compatible receivers show).
 *
 * - Asynchronous: `deliver` only queues; the pipeline never waits on a receiver.
 * - One outbox per webhook, sent in order, one request at a time (a resolution never overtakes
 *   its firing; a dead receiver holds up only its own queue). The outbox is bounded; past the cap
 *   the oldest waiting alert is dropped and counted.
 * - Retried on network errors, timeouts, 5xx and 429, up to `max_attempts` tries, each bounded
 *   by `timeout_ms`, with exponential backoff and jitter; other statuses are final. Redirects are
 *   not followed: a redirect would carry the configured headers (tokens) to another URL.
 * - Secrets: header values are tokens and webhook URLs often are too (Slack's are); neither is
 *   ever put in a log line or an error message: a webhook is named by its configuration key and a
 *   failure by its HTTP status or its error code.
 */
import type { WebhookConfig } from '../config/types.js';
import type { AlertRecord } from '../core/record.js';
import { alertText } from './alert-text.js';

/**
 * Alerts waiting per webhook. A rule notifies at most twice per incident and once per cooldown
 * (5 min default), a budget a few times per period: 1,000 waiting notices is far beyond what a
 * configuration produces while a receiver is down through a whole retry schedule, and bounds
 * memory to ~1 MB per webhook (a payload is under 1 KB).
 */
export const MAX_OUTBOX = 1000;
/**
 * Backoff: `BACKOFF_BASE_MS · 2^(try−1)`, capped at BACKOFF_CAP_MS, with "equal jitter" (half
 * fixed, half random: AWS Architecture Blog, "Exponential Backoff And Jitter", 2015) so receivers
 * restarting together are not hit by every sender at once. With the default 5 tries the waits
 * are ~0.5, 1, 2, 4 s: a receiver restart is ridden out within about 10 s.
 */
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 30_000;
/** How long `close` waits for outboxes to drain: one default webhook timeout (10 s,
 * src/config/schema.ts) plus the first backoffs; then what is left is dropped and counted. */
export const CLOSE_TIMEOUT_MS = 15_000;

export interface DeliveryDeps {
  /** Prints one line (the CLI's log). */
  log(line: string): void;
  fetch?: typeof fetch;
  /** Waits between tries (tests inject an instant one). */
  sleep?(ms: number): Promise<void>;
  /** [0, 1), for jitter. */
  random?(): number;
}

export interface DeliveryStats {
  /** Webhook requests answered 2xx. */
  sent: number;
  /** Alerts given up on (a final status, or the last try failed). */
  failed: number;
  /** Tries after the first. */
  retries: number;
  /** Alerts dropped unsent: outbox full, or still queued when `close` timed out. */
  dropped: number;
  /** Waiting or in flight now. */
  queued: number;
  /** Lines written to the log target. */
  logged: number;
  /** Notify targets naming no configured webhook (the loader refuses these). */
  unknown_targets: number;
}

type TryResult = { ok: true } | { ok: false; retry: boolean; why: string; retryAfterMs: number | null };

interface Outbox {
  name: string;
  cfg: WebhookConfig;
  queue: AlertRecord[];
  inFlight: boolean;
  done: Promise<void> | null;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** RFC 9110 §10.2.3 Retry-After as delay-seconds (an HTTP-date is not read: it would need the
 * receiver's clock to agree with ours). */
function retryAfterMs(v: string | null): number | null {
  if (v === null || !/^\d{1,9}$/.test(v.trim())) return null;
  return Number(v.trim()) * 1000;
}

/** A failure as a code, never as a message: fetch's messages can carry the URL. */
function errorCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  if (cause && typeof cause.code === 'string' && /^[A-Z0-9_]{1,40}$/.test(cause.code)) return cause.code;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code)) return code;
  return 'network error';
}

export class AlertDelivery {
  private readonly boxes = new Map<string, Outbox>();
  private readonly counters: DeliveryStats = { sent: 0, failed: 0, retries: 0, dropped: 0, queued: 0, logged: 0, unknown_targets: 0 };
  private readonly fetchFn: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  /** Aborted when `close` gives up waiting: cuts in-flight requests and backoffs short. */
  private readonly stop = new AbortController();

  constructor(
    webhooks: Readonly<Record<string, WebhookConfig>>,
    private readonly deps: DeliveryDeps,
  ) {
    for (const [name, cfg] of Object.entries(webhooks)) this.boxes.set(name, { name, cfg, queue: [], inFlight: false, done: null });
    this.fetchFn = deps.fetch ?? fetch;
    this.sleep = deps.sleep ?? defaultSleep;
    this.random = deps.random ?? Math.random;
  }

  /** Sends `alert` to each target ("log" or a webhook name). Returns at once. */
  deliver(alert: AlertRecord, targets: readonly string[]): void {
    for (const target of new Set(targets)) {
      if (target === 'log') {
        this.counters.logged++;
        this.safeLog(`alert ${alertText(alert)} (at ${alert.state === 'resolved' ? alert.resolved_at : alert.fired_at})`);
        continue;
      }
      const box = this.boxes.get(target);
      if (box === undefined) {
        this.counters.unknown_targets++;
        continue;
      }
      if (this.stop.signal.aborted) {
        this.counters.dropped++;
        continue;
      }
      if (box.queue.length >= MAX_OUTBOX) {
        box.queue.shift();
        this.counters.dropped++;
        this.counters.queued--;
      }
      box.queue.push(alert);
      this.counters.queued++;
      if (!box.inFlight) {
        box.inFlight = true;
        box.done = this.pump(box);
      }
    }
  }

  stats(): DeliveryStats {
    return { ...this.counters };
  }

  /** Waits until every outbox is empty, at most `timeoutMs`; then drops what is left. Never throws. */
  async close(timeoutMs: number = CLOSE_TIMEOUT_MS): Promise<void> {
    const pending = [...this.boxes.values()].map((b) => b.done).filter((d): d is Promise<void> => d !== null);
    if (pending.length === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const drained = Promise.all(pending).then(() => 'drained' as const);
    const outcome = await Promise.race([drained, deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.stop.abort();
      await drained;
    }
  }

  private async pump(box: Outbox): Promise<void> {
    try {
      for (;;) {
        const alert = box.queue.shift();
        if (alert === undefined) break;
        if (this.stop.signal.aborted) {
          this.counters.dropped++;
        } else {
          await this.send(box, alert);
        }
        this.counters.queued--;
      }
    } catch {
      // send() handles its own failures; nothing here may reject into the pipeline.
    } finally {
      box.inFlight = false;
    }
  }

  private async send(box: Outbox, alert: AlertRecord): Promise<void> {
    const body = JSON.stringify({ ...alert, text: alertText(alert) });
    const max = Math.max(1, box.cfg.max_attempts);
    for (let attempt = 1; ; attempt++) {
      const r = await this.tryOnce(box.cfg, body);
      if (r.ok) {
        this.counters.sent++;
        return;
      }
      if (this.stop.signal.aborted) {
        this.counters.dropped++;
        return;
      }
      if (!r.retry || attempt >= max) {
        this.counters.failed++;
        this.safeLog(`webhook "${box.name}": alert ${alert.id} (${alert.rule}, ${alert.state}) not delivered after ${attempt} ${attempt === 1 ? 'try' : 'tries'}: ${r.why}`);
        return;
      }
      this.counters.retries++;
      await this.backoff(attempt, r.retryAfterMs);
    }
  }

  private async tryOnce(cfg: WebhookConfig, body: string): Promise<TryResult> {
    const ctl = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctl.abort();
    }, cfg.timeout_ms);
    const onStop = (): void => ctl.abort();
    this.stop.signal.addEventListener('abort', onStop, { once: true });
    try {
      const res = await this.fetchFn(cfg.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'llmtap-alerts', ...cfg.headers },
        body,
        redirect: 'manual',
        signal: ctl.signal,
      });
      // Read the answer to its end so the connection can be reused; its content is not used.
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { ok: true };
      const retry = res.status === 429 || res.status >= 500;
      return { ok: false, retry, why: `HTTP ${res.status}`, retryAfterMs: retryAfterMs(res.headers.get('retry-after')) };
    } catch (err) {
      return { ok: false, retry: true, why: timedOut ? `no answer within ${cfg.timeout_ms} ms` : errorCode(err), retryAfterMs: null };
    } finally {
      clearTimeout(timer);
      this.stop.signal.removeEventListener('abort', onStop);
    }
  }

  private async backoff(attempt: number, retryAfter: number | null): Promise<void> {
    const exp = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
    const jittered = exp / 2 + this.random() * (exp / 2);
    const ms = Math.min(BACKOFF_CAP_MS, Math.max(jittered, retryAfter ?? 0));
    if (this.stop.signal.aborted) return;
    let onStop = (): void => undefined;
    const stopped = new Promise<void>((resolve) => {
      onStop = resolve;
      this.stop.signal.addEventListener('abort', onStop, { once: true });
    });
    try {
      await Promise.race([this.sleep(ms), stopped]);
    } finally {
      this.stop.signal.removeEventListener('abort', onStop);
    }
  }

  private safeLog(line: string): void {
    try {
      this.deps.log(line);
    } catch {
      // The log is the CLI's; a failing printer must not stop delivery.
    }
  }
}
