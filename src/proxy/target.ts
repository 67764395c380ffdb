/**
 * Where a proxied request goes (issue 8 item 2). Two modes:
 *  - the LLMTrace URL scheme, `/proxy/{env}/{scheme}/{host}/{path}`: a client's base URL names the
 *    upstream (`http://127.0.0.1:8080/proxy/prod/https/api.openai.com/v1`), the env segment
 *    becomes the record's attribute `env`;
 *  - `--upstream URL`: a plain reverse proxy, every request goes to that origin (its path, if
 *    any, is prepended).
 *
 * The path after the host is forwarded byte for byte (never decoded and re-encoded): upstreams
 * give meaning to encoded bytes (Bedrock model ids `anthropic.claude…%3A0`, Vertex resource
 * names), and the query (Gemini's `?alt=sse`, `?key=`) is kept as sent.
 */

export type UpstreamScheme = 'http' | 'https';

export interface Upstream {
  scheme: UpstreamScheme;
  /** Host name or IP address, without brackets (what `net.connect` takes). */
  hostname: string;
  port: number;
  /** The Host header to send (RFC 9110 §7.2: the authority of the target URI; the port only
   * when it is not the scheme's default). */
  hostHeader: string;
  /** `scheme://host[:port]`, for messages: never a path or query (they may hold a key). */
  origin: string;
}

export interface ProxyTarget {
  upstream: Upstream;
  /** Origin-form request target to send upstream: path and query, as the client wrote them. */
  target: string;
  /** The env segment of the LLMTrace scheme; null in `--upstream` mode. */
  env: string | null;
}

/** Why a request cannot be forwarded: answered with `status` and counted as `anomaly`. The
 * message never quotes the request (its query may hold a key). */
export interface TargetError {
  status: 400 | 403 | 404;
  anomaly: 'proxy_bad_target' | 'proxy_no_route' | 'proxy_host_not_allowed';
  message: string;
}

export type TargetResult = { ok: true; value: ProxyTarget } | { ok: false; error: TargetError };

/** Env names become attribute values: short, printable, no separators. 64 characters: half of
 * MAX_ATTRIBUTE_CHARS (src/redact/attribute-value.ts); an environment name is a word like "prod". */
const ENV_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** DNS names: at most 253 characters (RFC 1035 §2.3.4), letters, digits, hyphens, dots (and the
 * underscores some internal names carry). */
const HOSTNAME_PATTERN = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;
const IPV6_PATTERN = /^[0-9A-Fa-f:.]+$/;

const DEFAULT_PORTS: Record<UpstreamScheme, number> = { http: 80, https: 443 };

const PREFIX = '/proxy/';

function bad(message: string): TargetResult {
  return { ok: false, error: { status: 400, anomaly: 'proxy_bad_target', message } };
}

/** `host`, `host:port`, `[v6]`, `[v6]:port` → the upstream, or null when malformed. */
export function parseAuthority(scheme: UpstreamScheme, authority: string): Upstream | null {
  let hostname: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(authority);
    if (!m || !IPV6_PATTERN.test(m[1]!) || !m[1]!.includes(':')) return null;
    hostname = m[1]!;
    portText = m[2];
  } else {
    const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(authority);
    if (!m || !HOSTNAME_PATTERN.test(m[1]!)) return null;
    hostname = m[1]!.toLowerCase();
    portText = m[2];
  }
  const port = portText === undefined ? DEFAULT_PORTS[scheme] : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null;
  const shownHost = hostname.includes(':') ? `[${hostname}]` : hostname;
  const hostHeader = port === DEFAULT_PORTS[scheme] ? shownHost : `${shownHost}:${port}`;
  return { scheme, hostname, port, hostHeader, origin: `${scheme}://${hostHeader}` };
}

/**
 * Splits a request target into path and query; an absolute-form target (RFC 9112 §3.2.2: what a
 * client configured with HTTP_PROXY sends for http:// URLs) is reduced to its path and query.
 */
function originForm(raw: string): string | null {
  if (raw.startsWith('/')) return raw;
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*(.*)$/.exec(raw);
  if (!m) return null;
  const rest = m[1]!;
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** `/proxy/{env}/{scheme}/{host}/{path}?query` → where it goes. */
export function parseProxyPath(rawTarget: string): TargetResult {
  const raw = originForm(rawTarget);
  if (raw === null) return bad('the request target is not a path');
  if (!raw.startsWith(PREFIX)) {
    return {
      ok: false,
      error: { status: 404, anomaly: 'proxy_no_route', message: 'expected /proxy/{env}/{scheme}/{host}/{path}, e.g. /proxy/prod/https/api.openai.com/v1/chat/completions' },
    };
  }
  const q = raw.indexOf('?');
  const pathPart = q === -1 ? raw : raw.slice(0, q);
  const query = q === -1 ? '' : raw.slice(q);
  const segments = pathPart.slice(PREFIX.length).split('/');
  const [env, scheme, authority] = segments;
  if (env === undefined || env === '' || !ENV_PATTERN.test(env)) {
    return bad('the env segment must be 1-64 letters, digits, "_", "." or "-" (e.g. prod)');
  }
  const s = scheme?.toLowerCase();
  if (s !== 'http' && s !== 'https') return bad('the scheme segment must be http or https');
  if (authority === undefined || authority === '') return bad('the host segment is missing');
  if (authority.includes('@')) return bad('the host segment must not carry user information');
  const upstream = parseAuthority(s, authority);
  if (upstream === null) return bad('the host segment is not a host name, IPv4 or [IPv6] address with an optional port');
  const path = segments.length > 3 ? `/${segments.slice(3).join('/')}` : '/';
  return { ok: true, value: { upstream, target: `${path}${query}`, env } };
}

/** `--upstream URL`: http(s), a host, an optional base path; no credentials, query or fragment. */
export function parseUpstreamUrl(text: string): { upstream: Upstream; basePath: string } | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'expected an http:// or https:// URL, e.g. https://api.openai.com';
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'http' && scheme !== 'https') return 'expected an http:// or https:// URL';
  if (url.username !== '' || url.password !== '') return 'the URL must not carry user information (send credentials as headers)';
  if (url.search !== '' || url.hash !== '') return 'the URL must not carry a query or fragment';
  const upstream = parseAuthority(scheme, url.host);
  if (upstream === null) return 'the URL host is not valid';
  const basePath = url.pathname.replace(/\/+$/, '');
  return { upstream, basePath };
}

/** The target of a request in `--upstream` mode: the base path, then the request's own target. */
export function reverseTarget(rawTarget: string, up: { upstream: Upstream; basePath: string }): TargetResult {
  const raw = originForm(rawTarget);
  if (raw === null) return bad('the request target is not a path');
  return { ok: true, value: { upstream: up.upstream, target: `${up.basePath}${raw}`, env: null } };
}
