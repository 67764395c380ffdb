/**
 * `--allow-host PATTERN` (repeatable): which upstreams `/proxy/{env}/{scheme}/{host}/…` URLs may
 * name. Without a list the proxy forwards to any host a client names, which is an open proxy
 * (server-side request forgery: a client reaches whatever the proxy's host can, cloud metadata
 * endpoints and internal services included) as soon as someone else can reach the port; so off
 * loopback the command refuses to start without one (proxy-command.ts), and `--allow-host '*'`
 * is how a user opts in knowingly.
 *
 * A pattern is a host glob with an optional port: `api.openai.com`, `*.openai.azure.com`,
 * `localhost:11434`, `10.0.0.7`, `[::1]:8000`, `*`. `*` matches any run of characters, dots
 * included (`*.openai.azure.com` matches `a.b.openai.azure.com`, not `openai.azure.com`);
 * matching ignores case (DNS names do, RFC 4343). Without a port any port matches.
 * A name is matched as written, not as resolved: a pattern that admits a name also admits
 * whatever that name resolves to (docs/proxy.md).
 */
import { isLoopbackAddress } from '../api/security.js';
import type { Upstream } from './target.js';

export interface HostPattern {
  /** The pattern as given, for messages. */
  text: string;
  /** Lowercase host glob. */
  host: string;
  port: number | null;
}

/** Patterns on one command line; a list longer than this is a mistake, not a configuration
 * (an allow-list is a handful of providers). */
export const MAX_ALLOW_HOSTS = 256;

/** Host glob characters: DNS name characters, IPv4 dots, and `*`. */
const HOST_GLOB = /^[A-Za-z0-9_*.-]{1,253}$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

/**
 * `*` glob match, iterative: on a mismatch it goes back only to the last `*` (the classic
 * wildcard algorithm), so a pattern of many stars costs O(pattern × name), never the exponential
 * backtracking a regular expression built from it could take.
 */
export function globMatch(glob: string, name: string): boolean {
  let g = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    if (g < glob.length && glob[g] !== '*' && glob[g] === name[n]) {
      g++;
      n++;
    } else if (g < glob.length && glob[g] === '*') {
      star = g++;
      mark = n;
    } else if (star !== -1) {
      g = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob[g] === '*') g++;
  return g === glob.length;
}

/** One pattern, or the reason it is not one (for a usage error naming the flag). */
export function parseHostPattern(text: string): HostPattern | string {
  const t = text.trim();
  let host: string;
  let portText: string | undefined;
  if (t.startsWith('[')) {
    const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(t);
    if (m === null || !IPV6.test(m[1]!) || !m[1]!.includes(':')) return `"${text}" is not [IPv6] or [IPv6]:PORT`;
    host = m[1]!.toLowerCase();
    portText = m[2];
  } else {
    const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(t);
    if (m === null || !HOST_GLOB.test(m[1]!)) return `"${text}" is not a host name, address or glob (letters, digits, ".", "-", "*") with an optional :PORT`;
    host = m[1]!.toLowerCase();
    portText = m[2];
  }
  const port = portText === undefined ? null : Number(portText);
  if (port !== null && (port < 1 || port > 65535)) return `"${text}": the port must be 1-65535`;
  return { text: t, host, port };
}

/** All patterns, or the first error. */
export function parseHostPatterns(texts: readonly string[]): HostPattern[] | string {
  if (texts.length > MAX_ALLOW_HOSTS) return `at most ${MAX_ALLOW_HOSTS} patterns`;
  const out: HostPattern[] = [];
  for (const t of texts) {
    const p = parseHostPattern(t);
    if (typeof p === 'string') return p;
    out.push(p);
  }
  return out;
}

/** The upstream is one a pattern admits. A trailing dot (the absolute form of a DNS name) is the
 * same name. */
export function hostAllowed(patterns: readonly HostPattern[], upstream: Pick<Upstream, 'hostname' | 'port'>): boolean {
  const name = upstream.hostname.toLowerCase().replace(/\.$/, '');
  return patterns.some((p) => (p.port === null || p.port === upstream.port) && globMatch(p.host, name));
}

export type AllowListDecision = { ok: true; allowHosts: HostPattern[] | null } | { ok: false; error: string };

/**
 * What `/proxy/` mode forwards to, from the `--allow-host` values and the address the proxy
 * listens on: the patterns when there are some; any host (null) on a loopback address without
 * them, as before the flag existed (only this machine's users can reach the port); refused off
 * loopback without them (an open proxy). Loopback as the API decides it (api/security.ts: a
 * host name other than localhost could resolve anywhere, so it is not loopback).
 */
export function decideAllowList(texts: readonly string[], listenHost: string): AllowListDecision {
  const patterns = parseHostPatterns(texts);
  if (typeof patterns === 'string') return { ok: false, error: `--allow-host: ${patterns}` };
  if (patterns.length > 0) return { ok: true, allowHosts: patterns };
  if (isLoopbackAddress(listenHost)) return { ok: true, allowHosts: null };
  return {
    ok: false,
    error:
      `--listen ${listenHost} is not loopback: /proxy/ URLs would let anyone who reaches the port make requests to any host (an open proxy); ` +
      "name the upstreams with --allow-host (repeatable, e.g. --allow-host api.openai.com --allow-host '*.openai.azure.com'), " +
      "or pass --allow-host '*' to allow any host knowingly",
  };
}

/** The list admits every host (`*` alone, any port). */
export function admitsAnyHost(patterns: readonly HostPattern[]): boolean {
  return patterns.some((p) => p.host === '*' && p.port === null);
}
