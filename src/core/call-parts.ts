/**
 * The parts of a call that every stage shares (DESIGN §3): kept here, free of runtime imports, so
 * the record types can be read by the console's browser build as well as by the pipeline.
 */

export type FinishReason = 'stop' | 'length' | 'tool_call' | 'content_filter' | 'error' | 'cancelled' | 'other';

/** Normalised usage (DESIGN §3). input_tokens includes cache reads and writes; output includes
 * reasoning. null = the wire did not say and we could not estimate. */
export interface Usage {
  input_tokens: number | null;
  output_tokens: number | null;
  cache_read_tokens: number | null;
  cache_write_tokens: number | null;
  reasoning_tokens: number | null;
  /** True when any count came from our tokenizer rather than the wire. */
  estimated: boolean;
  /** The provider's usage object as sent (merged across stream events), or null. */
  raw: unknown;
}

export interface ToolCall {
  id: string | null;
  name: string;
  /** Arguments as the model produced them (JSON text), possibly partial on interrupted streams. */
  arguments?: string;
}

export interface CallError {
  type: string;
  message: string;
}
