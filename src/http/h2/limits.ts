/** Caps of the HTTP/2 layer (DESIGN §1: every buffer has a cap; hitting one is an anomaly). */
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from '../h1/limits.js';
import { DEFAULT_HPACK_LIMITS } from './hpack.js';

/**
 * The HTTP/1 limits apply as they are: maxHeaderBytes bounds a header block (HEADERS plus its
 * CONTINUATIONs) and the decoded header list, maxBodyBytes each body, maxInitialResyncBytes the
 * bytes scanned for a frame boundary. maxPendingRequests and maxChunkLineBytes have no HTTP/2
 * meaning.
 */
export interface Http2Limits extends HttpLimits {
  /**
   * Streams open at once on one connection. SETTINGS_MAX_CONCURRENT_STREAMS is unlimited by
   * default (RFC 9113 §6.5.2, which recommends no less than 100); servers advertise 100 (nghttp2,
   * Node), 128 (nginx), 250 (Go), so 1000 is well above any real peer while bounding a capture
   * that opens streams and never ends them. Over it the oldest open stream is emitted as it
   * stands: `h2_too_many_streams`.
   */
  maxOpenStreams: number;
  /** Largest HPACK dynamic table accepted (see HpackLimits.maxTableSize). */
  maxTableSize: number;
  /**
   * Ids of ended streams remembered, so late frames for them (a WINDOW_UPDATE, a RST after
   * END_STREAM) do not open a new stream on a connection joined mid-way: the same 1000.
   */
  closedStreamMemory: number;
}

export const DEFAULT_HTTP2_LIMITS: Readonly<Http2Limits> = {
  ...DEFAULT_HTTP_LIMITS,
  maxOpenStreams: 1000,
  maxTableSize: DEFAULT_HPACK_LIMITS.maxTableSize,
  closedStreamMemory: 1000,
};

export function resolveHttp2Limits(limits?: Partial<Http2Limits>): Http2Limits {
  return { ...DEFAULT_HTTP2_LIMITS, ...limits };
}
