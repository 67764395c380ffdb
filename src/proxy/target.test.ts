import { describe, expect, test } from 'vitest';
import { parseAuthority, parseProxyPath, parseUpstreamUrl, reverseTarget, type TargetResult } from './target.js';

function ok(r: TargetResult): { origin: string; hostname: string; port: number; hostHeader: string; target: string; env: string | null } {
  if (!r.ok) throw new Error(`expected a target, got ${r.error.message}`);
  const { upstream, target, env } = r.value;
  return { origin: upstream.origin, hostname: upstream.hostname, port: upstream.port, hostHeader: upstream.hostHeader, target, env };
}

function err(r: TargetResult): { status: number; anomaly: string } {
  if (r.ok) throw new Error(`expected an error, got ${r.value.upstream.origin}`);
  return { status: r.error.status, anomaly: r.error.anomaly };
}

describe('the LLMTrace URL scheme /proxy/{env}/{scheme}/{host}/{path}', () => {
  test('an OpenAI base URL: env, https on its default port, path kept', () => {
    expect(ok(parseProxyPath('/proxy/prod/https/api.openai.com/v1/chat/completions'))).toEqual({
      origin: 'https://api.openai.com',
      hostname: 'api.openai.com',
      port: 443,
      hostHeader: 'api.openai.com',
      target: '/v1/chat/completions',
      env: 'prod',
    });
  });

  test('a host with a port (Ollama) keeps the port in Host; http', () => {
    const t = ok(parseProxyPath('/proxy/team_a/http/localhost:11434/api/chat'));
    expect([t.origin, t.port, t.hostHeader, t.target]).toEqual(['http://localhost:11434', 11434, 'localhost:11434', '/api/chat']);
  });

  test('the query is kept as sent (Gemini ?alt=sse&key=…), also with no path', () => {
    expect(ok(parseProxyPath('/proxy/dev/https/generativelanguage.googleapis.com/v1beta/models/g:streamGenerateContent?alt=sse&key=AIzaX')).target).toBe(
      '/v1beta/models/g:streamGenerateContent?alt=sse&key=AIzaX',
    );
    expect(ok(parseProxyPath('/proxy/dev/http/example.com?x=1')).target).toBe('/?x=1');
    expect(ok(parseProxyPath('/proxy/dev/http/example.com')).target).toBe('/');
    expect(ok(parseProxyPath('/proxy/dev/http/example.com/')).target).toBe('/');
  });

  test('encoded bytes in the path are forwarded byte for byte, never decoded', () => {
    const path = '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke-with-response-stream';
    expect(ok(parseProxyPath(`/proxy/aws/https/bedrock-runtime.us-east-1.amazonaws.com${path}`)).target).toBe(path);
    expect(ok(parseProxyPath('/proxy/e/https/h.example/a%2Fb//c/%20d')).target).toBe('/a%2Fb//c/%20d');
  });

  test('IPv6 upstreams in brackets; the scheme segment is case-insensitive', () => {
    const t = ok(parseProxyPath('/proxy/e/HTTP/[::1]:8000/v1/messages'));
    expect([t.origin, t.hostname, t.port, t.hostHeader]).toEqual(['http://[::1]:8000', '::1', 8000, '[::1]:8000']);
  });

  test('an absolute-form target (a client using us as HTTP_PROXY) is read by its path', () => {
    expect(ok(parseProxyPath('http://127.0.0.1:8080/proxy/e/https/api.anthropic.com/v1/messages')).target).toBe('/v1/messages');
  });

  test('bad scheme, missing or malformed host, bad env: 400 proxy_bad_target', () => {
    const bad = { status: 400, anomaly: 'proxy_bad_target' };
    expect(err(parseProxyPath('/proxy/prod/ftp/example.com/x'))).toEqual(bad);
    expect(err(parseProxyPath('/proxy/prod/https'))).toEqual(bad);
    expect(err(parseProxyPath('/proxy/prod/https/'))).toEqual(bad);
    expect(err(parseProxyPath('/proxy/prod/https//v1/chat'))).toEqual(bad);
    expect(err(parseProxyPath('/proxy//https/example.com/x'))).toEqual(bad);
    expect(err(parseProxyPath('/proxy/pr%20od/https/example.com/x'))).toEqual(bad);
    expect(err(parseProxyPath('/proxy/prod/https/exa mple.com/x'))).toEqual(bad);
    expect(err(parseProxyPath('/proxy/prod/https/example.com:0/x'))).toEqual(bad);
    expect(err(parseProxyPath('/proxy/prod/https/example.com:99999/x'))).toEqual(bad);
    expect(err(parseProxyPath('/proxy/prod/https/example.com:/x'))).toEqual(bad);
    expect(err(parseProxyPath('/proxy/prod/https/[zz::1]/x'))).toEqual(bad);
    expect(err(parseProxyPath('/proxy/prod/https/ex%41mple.com/x'))).toEqual(bad);
    expect(err(parseProxyPath('*'))).toEqual(bad);
  });

  test('credentials in the host segment are refused and never echoed', () => {
    const r = parseProxyPath('/proxy/prod/https/user:sk-secret@api.openai.com/v1');
    expect(err(r)).toEqual({ status: 400, anomaly: 'proxy_bad_target' });
    expect(JSON.stringify(r)).not.toContain('sk-secret');
  });

  test('a path outside /proxy/ is no route (404)', () => {
    expect(err(parseProxyPath('/v1/chat/completions'))).toEqual({ status: 404, anomaly: 'proxy_no_route' });
    expect(err(parseProxyPath('/proxyx/a/https/b/c'))).toEqual({ status: 404, anomaly: 'proxy_no_route' });
  });
});

describe('--upstream URL (plain reverse proxy)', () => {
  test('the origin, and a base path prepended to every request target', () => {
    const up = parseUpstreamUrl('https://gateway.example.com/openai/');
    if (typeof up === 'string') throw new Error(up);
    expect([up.upstream.origin, up.basePath]).toEqual(['https://gateway.example.com', '/openai']);
    expect(ok(reverseTarget('/v1/chat/completions?x=1', up)).target).toBe('/openai/v1/chat/completions?x=1');
    const root = parseUpstreamUrl('http://127.0.0.1:8000');
    if (typeof root === 'string') throw new Error(root);
    expect(ok(reverseTarget('/v1/messages', root))).toMatchObject({ origin: 'http://127.0.0.1:8000', target: '/v1/messages', env: null });
  });

  test('refused: other schemes, credentials, queries, junk', () => {
    for (const u of ['ftp://x.example', 'https://u:p@x.example', 'https://x.example/?key=1', 'https://x.example/#f', 'not a url']) {
      expect(typeof parseUpstreamUrl(u), u).toBe('string');
    }
    expect(parseUpstreamUrl('https://u:sk-secret-1234@x.example')).not.toContain('sk-secret');
  });
});

describe('authorities', () => {
  test('the Host header omits the default port only', () => {
    expect(parseAuthority('https', 'example.com:443')?.hostHeader).toBe('example.com');
    expect(parseAuthority('http', 'example.com:443')?.hostHeader).toBe('example.com:443');
    expect(parseAuthority('http', 'Example.COM')?.hostname).toBe('example.com');
    expect(parseAuthority('http', '10.0.0.1:80')?.hostHeader).toBe('10.0.0.1');
  });
});
