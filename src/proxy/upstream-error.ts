/**
 * Upstream failures as the client sees them (issue 8 item 2: "survives upstream failures with a
 * clear 502"): a status, a JSON body naming the upstream origin and what failed, and an anomaly
 * name to count. Built from the error's code only: Node's messages are not quoted, and the
 * request's path and query (which may hold a key, Gemini's `?key=`) never appear.
 */

export type UpstreamFailure = 'refused' | 'dns' | 'tls' | 'reset' | 'timeout' | 'unreachable' | 'bad_response' | 'failed';

const DESCRIPTIONS: Record<UpstreamFailure, string> = {
  refused: 'connection refused',
  dns: 'host name not resolved',
  tls: 'TLS handshake or certificate check failed',
  reset: 'connection reset by the upstream',
  timeout: 'no answer in time',
  unreachable: 'network unreachable',
  bad_response: 'the upstream sent an invalid HTTP response',
  failed: 'request failed',
};

/** Node's error codes for TLS failures: its own (`ERR_TLS_*`, `ERR_SSL_*`) and OpenSSL's
 * certificate verification results (X509_V_ERR_* names as Node reports them). */
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH|ERR_OSSL_)/;
/** Error codes are short upper-case identifiers; anything else is not shown. */
const CODE_SHAPE = /^[A-Z][A-Z0-9_]{1,63}$/;

export function errorCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CODE_SHAPE.test(code) ? code : null;
}

export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const code = errorCode(err);
  if (code === null) return 'failed';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_FAIL' || code === 'EAI_NODATA') return 'dns';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') return 'reset';
  if (code === 'ETIMEDOUT' || code === 'LLMTAP_UPSTREAM_TIMEOUT') return 'timeout';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EHOSTDOWN' || code === 'ENETDOWN') return 'unreachable';
  if (code.startsWith('HPE_')) return 'bad_response';
  if (TLS_CODE.test(code)) return 'tls';
  return 'failed';
}

export interface FailureAnswer {
  /** 504 for a timeout (RFC 9110 §15.6.5, Gateway Timeout), else 502 (§15.6.3, Bad Gateway). */
  status: 502 | 504;
  anomaly: `proxy_upstream_${UpstreamFailure}`;
  body: string;
}

/**
 * The answer to a request whose upstream failed before any response byte. The body carries both
 * error shapes the SDKs read: OpenAI's `error.message` and Anthropic's `type: "error"` envelope.
 */
export function failureAnswer(err: unknown, origin: string): FailureAnswer {
  const kind = classifyUpstreamError(err);
  const code = errorCode(err);
  const what = `${DESCRIPTIONS[kind]}${code !== null && code !== 'LLMTAP_UPSTREAM_TIMEOUT' ? ` (${code})` : ''}`;
  return {
    status: kind === 'timeout' ? 504 : 502,
    anomaly: `proxy_upstream_${kind}`,
    body: JSON.stringify({
      type: 'error',
      error: { type: 'proxy_upstream_error', code: `upstream_${kind}`, message: `llmtap proxy: upstream ${origin}: ${what}`, upstream: origin },
    }),
  };
}

/** An error of our own making for the proxy's timeouts, classified as 'timeout'. */
export function timeoutError(): Error {
  return Object.assign(new Error('upstream timeout'), { code: 'LLMTAP_UPSTREAM_TIMEOUT' });
}
