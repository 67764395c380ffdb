/**
 * Counts the HTTP layers keep for the pipeline's live view (DESIGN §4 "active calls"): one object
 * shared by every connection of a pipeline. A file of its own, free of Node types, because the
 * console's typecheck reaches it through the health API's types.
 */
export interface HttpGauges {
  /** Exchanges whose request has begun and which are not emitted yet: requests in flight. */
  inFlight: number;
}
