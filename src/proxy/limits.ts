/** Caps and timeouts of the proxy (DESIGN §1: everything that grows with input has a cap). */
export interface ProxyLimits {
  /**
   * Client connections open at once. 1024: the usual `ulimit -n` soft limit, and each proxied
   * connection holds two sockets plus one pipeline connection whose buffers the HTTP layer caps
   * (src/http/h1/limits.ts). Beyond it Node closes new connections at once (server.maxConnections)
   * and they are counted (`proxy_too_many_connections`).
   */
  maxConnections: number;
  /**
   * Request or response head, bytes. 16 KiB: Node's own default (`--max-http-header-size`), what
   * the SDKs' servers accept too (nginx: 4 × 8 KiB); LLM API heads are ~1 KiB. Over it Node
   * answers 431 (client side) or the upstream response fails as `bad_response` (502).
   */
  maxHeaderBytes: number;
  /**
   * Connecting to the upstream (TCP and TLS), ms. 30 s: Go's http.DefaultTransport dial timeout,
   * the figure most gateways copy; a healthy upstream connects in milliseconds.
   */
  connectTimeoutMs: number;
  /**
   * Upstream silence (no byte) before the call is given up, ms. 600 s: the default request
   * timeout of the OpenAI and Anthropic SDKs (10 minutes): a non-streamed long generation sends
   * nothing until it is done, and the proxy must not cut a call its client still waits for.
   */
  upstreamIdleTimeoutMs: number;
  /**
   * Receiving a request head from the client, ms. 60 s: Node's default `headersTimeout`
   * (slowloris protection).
   */
  headersTimeoutMs: number;
  /**
   * Receiving a whole request from the client, ms. 300 s: Node's default `requestTimeout`; a
   * few-MB prompt takes well under a second on any link that can use an LLM API.
   */
  requestTimeoutMs: number;
  /**
   * An idle keep-alive client connection is closed after this, ms. 5 s: Node's default; longer
   * than undici's 4 s client keep-alive (the SDKs' fetch), so the client, not the proxy, closes
   * first and never reuses a socket the proxy is closing.
   */
  keepAliveTimeoutMs: number;
  /** Idle upstream sockets kept per host for reuse. 256: Node's http.Agent default maxFreeSockets. */
  maxFreeSockets: number;
}

export const DEFAULT_PROXY_LIMITS: Readonly<ProxyLimits> = {
  maxConnections: 1024,
  maxHeaderBytes: 16 * 1024,
  connectTimeoutMs: 30_000,
  upstreamIdleTimeoutMs: 600_000,
  headersTimeoutMs: 60_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 5_000,
  maxFreeSockets: 256,
};
