/**
 * One OTLP/HTTP export request with the spec's retry rules
 * (https://opentelemetry.io/docs/specs/otlp/#otlphttp-response, "Retryable Response Codes" and
 * "OTLP/HTTP Throttling"): retry only 429, 502, 503 and 504 and network failures; honour a
 * `Retry-After` header (RFC 9110 §10.2.3: delay-seconds or an HTTP-date); otherwise back off
 * exponentially with jitter; every other status is final (a 400 will not get better).
 *
 * Headers may carry tokens: they go on the request and nowhere else. Failure reasons are built
 * here from status codes and error codes only, with the URL stripped of userinfo and query.
 */

/** Retry timing. Defaults are those of the OpenTelemetry JS exporters (otlp-exporter-base
 * retrying-transport: 5 attempts, 1 s initial backoff growing 1.5× to at most 5 s, ±20 %
 * jitter), so llmtap behaves towards a collector as the SDKs do. */
export interface RetryPolicy {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  multiplier: number;
  /** Fraction of the backoff added or removed at random (0.2: ±20 %). */
  jitter: number;
  /** Longest `Retry-After` obeyed: a receiver asking for an hour would stall the queue for an
   * hour; a minute keeps it moving (the queue's bound still limits memory meanwhile). */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 5,
  initialBackoffMs: 1000,
  maxBackoffMs: 5000,
  multiplier: 1.5,
  jitter: 0.2,
  maxRetryAfterMs: 60_000,
};

/** What the sender needs from the world; tests inject their own. */
export interface SenderDeps {
  fetch: typeof fetch;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  random(): number;
  /** Wall clock, ms since the epoch (an HTTP-date `Retry-After` is absolute). */
  nowMs(): number;
}

export const REAL_DEPS: SenderDeps = {
  fetch: (input, init) => fetch(input, init),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    }),
  random: Math.random,
  nowMs: Date.now,
};

export type PostOutcome =
  | { ok: true; attempts: number; body: Uint8Array }
  | { ok: false; attempts: number; reason: string };

/** Bytes of a success response read (an ExportTraceServiceResponse is a few bytes; a partial
 * success message a few hundred). More is not an OTLP answer and is not read. */
const MAX_RESPONSE_BYTES = 64 * 1024;

const RETRYABLE = new Set([429, 502, 503, 504]);

/** The URL as it may be shown: no userinfo (it can hold a token), no query. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** Milliseconds a `Retry-After` value asks for, or null when it says nothing usable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (!Number.isFinite(at)) return null;
  return Math.max(0, at - nowMs);
}

/**
 * fetch refuses a URL with userinfo (WHATWG Fetch: "Request cannot be constructed from a URL that
 * includes credentials"), yet `http://user:token@collector:4318` is a common way to write an
 * endpoint: its credentials become a Basic Authorization header (RFC 7617), unless the
 * configuration sets one, and leave the URL.
 */
export function splitCredentials(url: string, headers: Record<string, string>): { url: string; headers: Record<string, string> } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { url, headers };
  }
  if (u.username === '' && u.password === '') return { url, headers };
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  const hasAuth = Object.keys(headers).some((k) => k.toLowerCase() === 'authorization');
  const basic = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  return { url: u.toString(), headers: hasAuth ? headers : { ...headers, authorization: basic } };
}

export class OtlpHttpSender {
  /** Attempts after the first, over all requests. */
  retries = 0;
  private readonly url: string;
  private readonly headers: Record<string, string>;

  constructor(
    url: string,
    headers: Record<string, string>,
    private readonly timeoutMs: number,
    private readonly policy: RetryPolicy = DEFAULT_RETRY,
    private readonly deps: SenderDeps = REAL_DEPS,
  ) {
    ({ url: this.url, headers: this.headers } = splitCredentials(url, headers));
  }

  /** Posts `body` until it is accepted, refused for good, out of attempts, or `abort` fires. */
  async post(body: Uint8Array, abort: AbortSignal): Promise<PostOutcome> {
    let backoff = this.policy.initialBackoffMs;
    for (let attempt = 1; ; attempt++) {
      if (abort.aborted) return { ok: false, attempts: attempt - 1, reason: 'shut down before it was sent' };
      const r = await this.once(body, abort);
      if (r.ok) return { ok: true, attempts: attempt, body: r.body };
      if (!r.retryable || attempt >= this.policy.maxAttempts || abort.aborted) {
        return { ok: false, attempts: attempt, reason: `${r.reason} (${attempt} attempt${attempt > 1 ? 's' : ''} to ${safeUrl(this.url)})` };
      }
      const asked = parseRetryAfter(r.retryAfter, this.deps.nowMs());
      const jittered = backoff * (1 + this.policy.jitter * (2 * this.deps.random() - 1));
      const wait = asked !== null ? Math.min(asked, this.policy.maxRetryAfterMs) : jittered;
      backoff = Math.min(this.policy.maxBackoffMs, backoff * this.policy.multiplier);
      this.retries++;
      await this.deps.sleep(Math.max(0, wait), abort);
    }
  }

  private async once(
    body: Uint8Array,
    abort: AbortSignal,
  ): Promise<{ ok: true; body: Uint8Array } | { ok: false; retryable: boolean; reason: string; retryAfter: string | null }> {
    const signal = AbortSignal.any([abort, AbortSignal.timeout(this.timeoutMs)]);
    try {
      const res = await this.deps.fetch(this.url, {
        method: 'POST',
        headers: { ...this.headers, 'content-type': 'application/x-protobuf' },
        body,
        signal,
      });
      if (res.status >= 200 && res.status < 300) return { ok: true, body: await readCapped(res) };
      await res.body?.cancel().catch(() => undefined);
      return { ok: false, retryable: RETRYABLE.has(res.status), reason: `HTTP ${res.status}`, retryAfter: res.headers.get('retry-after') };
    } catch (err) {
      // Never the error's message: undici's can quote the request. Its code says enough.
      const reason = abort.aborted ? 'shut down while sending' : signal.aborted ? `no answer within ${this.timeoutMs} ms` : `network error ${errorCode(err)}`;
      return { ok: false, retryable: true, reason, retryAfter: null };
    }
  }
}

function errorCode(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  const code = cause?.code ?? (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z_0-9]{1,40}$/.test(code) ? code : '(unknown)';
}

async function readCapped(res: Response): Promise<Uint8Array> {
  const reader = res.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let n = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    n += value.byteLength;
    if (n > MAX_RESPONSE_BYTES) {
      await reader.cancel().catch(() => undefined);
      return new Uint8Array(0);
    }
  }
  return Buffer.concat(parts);
}
