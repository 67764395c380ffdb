import { describe, expect, test } from 'vitest';
import { classifyUpstreamError, failureAnswer, timeoutError } from './upstream-error.js';

const withCode = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code });

describe('upstream failures', () => {
  test('classified by Node error code', () => {
    const cases: [string, string][] = [
      ['ECONNREFUSED', 'refused'],
      ['ENOTFOUND', 'dns'],
      ['EAI_AGAIN', 'dns'],
      ['ECONNRESET', 'reset'],
      ['EPIPE', 'reset'],
      ['ETIMEDOUT', 'timeout'],
      ['EHOSTUNREACH', 'unreachable'],
      ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
      ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
      ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls'],
      ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls'],
      ['HPE_INVALID_CONSTANT', 'bad_response'],
      ['EWHATEVER', 'failed'],
    ];
    for (const [code, kind] of cases) expect(classifyUpstreamError(withCode(code)), code).toBe(kind);
    expect(classifyUpstreamError(new Error('no code'))).toBe('failed');
    expect(classifyUpstreamError(null)).toBe('failed');
    expect(classifyUpstreamError(timeoutError())).toBe('timeout');
  });

  test('502 with a JSON body both SDK error shapes read, naming the upstream and the failure', () => {
    const a = failureAnswer(withCode('ECONNREFUSED'), 'https://api.openai.com');
    expect(a.status).toBe(502);
    expect(a.anomaly).toBe('proxy_upstream_refused');
    const body = JSON.parse(a.body) as { type: string; error: { type: string; code: string; message: string; upstream: string } };
    expect(body.type).toBe('error');
    expect(body.error.code).toBe('upstream_refused');
    expect(body.error.upstream).toBe('https://api.openai.com');
    expect(body.error.message).toBe('llmtap proxy: upstream https://api.openai.com: connection refused (ECONNREFUSED)');
  });

  test('a timeout is 504 (RFC 9110 §15.6.5)', () => {
    expect(failureAnswer(timeoutError(), 'http://h:1').status).toBe(504);
    expect(failureAnswer(timeoutError(), 'http://h:1').anomaly).toBe('proxy_upstream_timeout');
  });

  test("Node's message is never quoted (it may carry a path with a key); odd codes are not shown", () => {
    const a = failureAnswer(withCode('ENOTFOUND', 'getaddrinfo ENOTFOUND h /v1?key=AIzaSECRET'), 'https://h');
    expect(a.body).not.toContain('AIzaSECRET');
    const odd = failureAnswer(withCode('sk-ant-api-0123456789abcdef'), 'https://h');
    expect(odd.body).not.toContain('sk-ant');
    expect(odd.anomaly).toBe('proxy_upstream_failed');
  });
});
