/**
 * OTLP trace export (issue 5 item 3): every call becomes a span and every final turn its
 * parent span (src/metrics/otlp/spans.ts), queued, batched and POSTed as protobuf to
 * `${endpoint}/v1/traces` (OTLP/HTTP, https://opentelemetry.io/docs/specs/otlp/#otlphttp).
 *
 * Why not the SDK's BatchSpanProcessor + OTLPTraceExporter: the processor keeps its drop count
 * private (llmtap's self-metrics must read it), runs on its own wall-clock timers with no way to
 * hold back a replay, and the exporter package pins another SDK patch release than the one the
 * metrics use. The encoding is still the maintained one: @opentelemetry/otlp-transformer's
 * ProtobufTraceSerializer over SDK-shaped ReadableSpans; only the queue and the HTTP retry are
 * ours (http-sender.ts follows the OTLP spec's retry rules).
 *
 * Bounded: at most `max_queue` spans wait (past it a span is dropped and counted); one batch of
 * at most `max_batch` is in flight; a batch is given up after the retry policy's attempts and
 * its spans counted as dropped; `close()` sends what is left until a deadline, then drops it.
 */
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { OtlpConfig } from '../../config/types.js';
import type { AgentTurnRecord, LlmCallRecord } from '../../core/record.js';
import type { RecordObserver } from '../../pipeline/observers.js';
import { DEFAULT_RETRY, OtlpHttpSender, REAL_DEPS, safeUrl, type RetryPolicy, type SenderDeps } from './http-sender.js';
import { providerName } from './semconv.js';
import { callSpan, turnSpan, type SpanOrigin } from './spans.js';

export interface OtlpExportStats {
  /** Spans waiting or in flight. */
  queued: number;
  /** Spans the receiver accepted (less those it said it rejected). */
  sent: number;
  /** Spans lost: queue full, batch given up, or still queued at the close deadline. */
  dropped: number;
  /** Batches given up (refused for good or out of attempts). */
  failedBatches: number;
  /** Request attempts after the first. */
  retries: number;
  /** Spans the receiver answered as rejected (OTLP partial success). */
  rejected: number;
  /** Records whose times could not be read (no span made). */
  invalid: number;
}

export interface OtlpExporterOptions {
  retry?: RetryPolicy;
  deps?: SenderDeps;
  /** How long `close()` keeps sending before it drops what is left. */
  closeDeadlineMs?: number;
  /** `instrumentationScope.version` (the llmtap version). */
  version?: string;
  /** One line per lost batch, safe to print (no headers, no tokens). */
  onError?(message: string): void;
}

/** 10 s: a user stopping llmtap waits no longer for a collector that does not answer. */
export const DEFAULT_CLOSE_DEADLINE_MS = 10_000;
/** Providers remembered per open turn, for the turn span's gen_ai.provider.name: 10,000 is the
 * turn tracker's session cap (DEFAULT_MAX_SESSIONS), about one open turn per session. */
const MAX_TURN_PROVIDERS = 10_000;

export class OtlpSpanExporter implements RecordObserver {
  private readonly origin: SpanOrigin;
  private readonly sender: OtlpHttpSender;
  private readonly url: string;
  private queue: ReadableSpan[] = [];
  private inFlight = 0;
  private readonly counts = { sent: 0, dropped: 0, failedBatches: 0, rejected: 0, invalid: 0 };
  private readonly turnProviders = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  /** The batch delay passed or a flush was asked: send even a batch that is not full. */
  private due = false;
  private closing = false;
  private running: Promise<void> | null = null;
  private readonly shutdown = new AbortController();
  private readonly batchDone: (() => void)[] = [];

  constructor(
    private readonly config: OtlpConfig,
    private readonly opts: OtlpExporterOptions = {},
  ) {
    this.origin = {
      resource: resourceFromAttributes({ 'service.name': config.service_name }),
      scope: { name: 'llmtap', ...(opts.version !== undefined ? { version: opts.version } : {}) },
    };
    this.url = `${config.endpoint.replace(/\/+$/, '')}/v1/traces`;
    this.sender = new OtlpHttpSender(this.url, config.headers, config.timeout_ms, opts.retry ?? DEFAULT_RETRY, opts.deps ?? REAL_DEPS);
  }

  stats(): OtlpExportStats {
    return { queued: this.queue.length + this.inFlight, retries: this.sender.retries, ...this.counts };
  }

  onCall(call: LlmCallRecord): void {
    if (!this.config.traces) return;
    if (call.turn_id !== null && !this.turnProviders.has(call.turn_id)) {
      if (this.turnProviders.size >= MAX_TURN_PROVIDERS) {
        const oldest = this.turnProviders.keys().next().value;
        if (oldest !== undefined) this.turnProviders.delete(oldest);
      }
      this.turnProviders.set(call.turn_id, providerName(call));
    }
    this.enqueue(callSpan(call, this.origin));
  }

  onTurn(turn: AgentTurnRecord, final: boolean): void {
    // A span is immutable once sent: only the final record makes one.
    if (!this.config.traces || !final) return;
    const provider = this.turnProviders.get(turn.id) ?? null;
    this.turnProviders.delete(turn.id);
    this.enqueue(turnSpan(turn, provider, this.origin));
  }

  /**
   * Backpressure for sources that can wait (a replay, between file reads): resolves once the
   * queue is at most half full, or as soon as a batch fails (a dead receiver must not stall
   * the replay: the queue bound and its drop count take over), or at close.
   */
  async drain(): Promise<void> {
    const failedAtStart = this.counts.failedBatches;
    while (!this.closing && this.queue.length > this.config.max_queue / 2 && this.counts.failedBatches === failedAtStart) {
      const done = new Promise<void>((resolve) => this.batchDone.push(resolve));
      this.due = true;
      this.kick();
      await done;
    }
  }

  /** Sends what is queued, until the deadline; later records are dropped and counted. */
  async close(): Promise<void> {
    if (this.closing) return this.running ?? undefined;
    this.closing = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.kick();
    const deadline = this.opts.closeDeadlineMs ?? DEFAULT_CLOSE_DEADLINE_MS;
    // A wall-clock bound on shutdown (not the injectable retry sleep: tests skip backoff waits
    // but still need the deadline to be a deadline).
    const stopWaiting = new AbortController();
    const work = this.running ?? Promise.resolve();
    const timedOut = await Promise.race([work.then(() => false), REAL_DEPS.sleep(deadline, stopWaiting.signal).then(() => true)]);
    stopWaiting.abort();
    if (timedOut) {
      // Abort the request in flight and every backoff wait: the loop then drops the rest fast.
      this.shutdown.abort();
      await this.running;
      const left = this.queue.length;
      this.counts.dropped += left;
      this.queue = [];
      this.opts.onError?.(`OTLP export to ${safeUrl(this.url)}: gave up at the ${deadline} ms close deadline; spans not sent are counted as dropped`);
    }
  }

  private enqueue(span: ReadableSpan | null): void {
    if (span === null) {
      this.counts.invalid++;
      return;
    }
    if (this.closing || this.queue.length >= this.config.max_queue) {
      this.counts.dropped++;
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= this.config.max_batch) this.kick();
    else this.startTimer();
  }

  /** A batch that is not full goes out `batch_delay_ms` after its first span was queued. */
  private startTimer(): void {
    if (this.timer !== null || this.closing) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.due = true;
      this.kick();
    }, this.config.batch_delay_ms);
    // The close() flush sends what is left: a pending batch delay must not keep Node alive.
    this.timer.unref();
  }

  private kick(): void {
    if (this.running !== null) return;
    this.running = this.run().finally(() => {
      this.running = null;
      // Records queued while the last batch was in flight: a full batch goes now, the rest
      // after the batch delay.
      if (this.queue.length >= this.config.max_batch) this.kick();
      else if (this.queue.length > 0) this.startTimer();
    });
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0 && (this.queue.length >= this.config.max_batch || this.due || this.closing)) {
      const batch = this.queue.splice(0, Math.max(1, this.config.max_batch));
      this.inFlight = batch.length;
      try {
        await this.send(batch);
      } finally {
        this.inFlight = 0;
        for (const w of this.batchDone.splice(0)) w();
      }
    }
    this.due = false;
  }

  private async send(batch: ReadableSpan[]): Promise<void> {
    let body: Uint8Array | undefined;
    try {
      body = ProtobufTraceSerializer.serializeRequest(batch);
    } catch {
      body = undefined;
    }
    if (body === undefined) {
      this.fail(batch.length, 'the spans could not be encoded');
      return;
    }
    const out = await this.sender.post(body, this.shutdown.signal);
    if (!out.ok) {
      this.fail(batch.length, out.reason);
      return;
    }
    let rejected = 0;
    try {
      rejected = Math.max(0, Math.min(batch.length, Number(ProtobufTraceSerializer.deserializeResponse(out.body).partialSuccess?.rejectedSpans ?? 0)));
    } catch {
      // An empty or non-OTLP body from a 2xx: taken as full success (spec: partial_success unset).
    }
    this.counts.rejected += rejected;
    this.counts.sent += batch.length - rejected;
  }

  private fail(spans: number, reason: string): void {
    this.counts.failedBatches++;
    this.counts.dropped += spans;
    if (!this.shutdown.signal.aborted) this.opts.onError?.(`OTLP export: ${spans} spans dropped: ${reason}`);
  }
}
