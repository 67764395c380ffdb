import type { Micros } from '../core/time.js';
import type { HttpExchange, HttpRequest } from '../http/types.js';
import type { RequestView } from './request-view.js';

export type { CallError, FinishReason, ToolCall, Usage } from '../core/call-parts.js';
import type { CallError, FinishReason, ToolCall, Usage } from '../core/call-parts.js';

/** What a wire-API decoder knows about one call: pure function of the exchange. */
export interface DecodedCall {
  provider: string;
  api: string;
  operation: string;
  stream: boolean;
  request_model: string | null;
  response_model: string | null;
  response_id: string | null;
  error: CallError | null;
  finish_reason: FinishReason | null;
  finish_reason_raw: string | null;
  usage: Usage;
  tool_calls: ToolCall[];
  /** Names of the tools offered in the request. */
  tools_offered: string[];
  /** Capture times of the first and last events that carried generated content (streams only). */
  first_token: Micros | null;
  last_token: Micros | null;
  /** Generated text and reasoning text, as a person would read them. */
  output_text: string;
  reasoning_text: string;
  /** Decoder-level anomalies, e.g. `sse_invalid_json`, `anthropic_stream_interrupted`. */
  anomalies: string[];
  /** What the turn tracker needs of the request's conversation (DESIGN §5), set by the registry
   * from the request JSON the decoder parsed; null when the body is not a JSON object. */
  request_view?: RequestView | null;
  /** The transport's session id (MCP `Mcp-Session-Id`), or absent. */
  session_id?: string | null;
}

/** A wire-API decoder (DESIGN §3). Never throws; returns null when the exchange is not an LLM call
 * of its API after all (e.g. count_tokens). */
export interface WireDecoder {
  readonly api: string;
  readonly provider: string;
  /** Pass 1: method + path + headers. */
  matchRoute(req: HttpRequest): boolean;
  /** Pass 2: the parsed JSON request body's shape (for gateways and proxies with other paths). */
  matchBody(req: HttpRequest, body: unknown): boolean;
  decode(ex: HttpExchange): DecodedCall | null;
}
