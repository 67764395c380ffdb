/** Caps of the HTTP/1.1 layer (DESIGN §1: every buffer has a cap; hitting one is an anomaly). */
export interface HttpLimits {
  /**
   * Start line + header fields of one message, and trailers. 256 KiB: well above what real
   * servers accept (Node 16 KiB, nginx 4 x 8 KiB, Apache 100 fields x 8 KiB), since a passive
   * observer must parse whatever the real server took, while still bounding memory.
   * Over it: `http_header_too_large`.
   */
  maxHeaderBytes: number;
  /**
   * Decoded body kept per message. 64 MiB: larger than any LLM request or response seen in the
   * corpus by two orders of magnitude (long-context requests are a few MB). Over it:
   * `http_body_truncated` (identity) / `http_decompressed_too_large` (compressed); framing goes on.
   */
  maxBodyBytes: number;
  /**
   * Requests waiting for their response on one connection. 100: pipelining depth of real clients
   * is a handful; a one-sided capture (asymmetric routing) must not queue forever. Over it the
   * oldest is emitted with no response: `http_too_many_pending`.
   */
  maxPendingRequests: number;
  /**
   * One chunk-size line with its extensions. 16 KiB: llhttp (Node) caps chunk extensions at
   * 16 KiB since CVE-2024-22019. Over it: `http_bad_chunk_size`, resynchronise.
   */
  maxChunkLineBytes: number;
  /**
   * Bytes scanned for a message start on a connection where none was ever parsed, before we
   * decide it is not HTTP (`http_not_http`). 8 MiB: joining mid-stream may land inside a large
   * request or a long SSE response; a real message start shows up well within that.
   */
  maxInitialResyncBytes: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = {
  maxHeaderBytes: 256 * 1024,
  maxBodyBytes: 64 * 1024 * 1024,
  maxPendingRequests: 100,
  maxChunkLineBytes: 16 * 1024,
  maxInitialResyncBytes: 8 * 1024 * 1024,
};

export function resolveLimits(limits?: Partial<HttpLimits>): HttpLimits {
  return { ...DEFAULT_HTTP_LIMITS, ...limits };
}
