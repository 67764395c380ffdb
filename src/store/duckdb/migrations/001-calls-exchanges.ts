/**
 * Version 1: calls and raw exchanges. Typed columns for everything filtered, sorted or aggregated
 * (issue 3 item 3); the record itself as JSON text for detail, so fields added to the record later
 * (DESIGN §3: "more may be added, none renamed") are stored without a migration.
 *
 * Indexes: DuckDB keeps an ART index for the PRIMARY KEY (it is what makes INSERT OR IGNORE
 * idempotent and getCall a point lookup). Other lookups rely on zone maps (per-row-group min/max):
 * rows are inserted in request_start order per batch, so time-range filters skip row groups.
 * Extra ART indexes would slow ingest and DuckDB does not use them for range scans.
 */
import type { Migration } from './types.js';

export const migration001: Migration = {
  version: 1,
  name: 'calls and exchanges',
  up: [
    `CREATE TABLE calls (
      id VARCHAR PRIMARY KEY,
      request_start TIMESTAMP NOT NULL,
      response_end TIMESTAMP,
      source VARCHAR NOT NULL,
      provider VARCHAR NOT NULL,
      api VARCHAR NOT NULL,
      operation VARCHAR NOT NULL,
      stream BOOLEAN NOT NULL,
      request_model VARCHAR,
      response_model VARCHAR,
      model VARCHAR,
      status_code INTEGER,
      is_error BOOLEAN NOT NULL,
      error_type VARCHAR,
      error_message VARCHAR,
      finish_reason VARCHAR,
      input_tokens BIGINT,
      output_tokens BIGINT,
      cache_read_tokens BIGINT,
      cache_write_tokens BIGINT,
      reasoning_tokens BIGINT,
      usage_estimated BOOLEAN NOT NULL,
      cost_usd DOUBLE,
      ttfb_ms DOUBLE,
      ttft_ms DOUBLE,
      tpot_ms DOUBLE,
      e2e_ms DOUBLE,
      output_tokens_per_second DOUBLE,
      client_ip VARCHAR NOT NULL,
      server_ip VARCHAR NOT NULL,
      server_host VARCHAR,
      agent VARCHAR,
      session_id VARCHAR,
      turn_id VARCHAR,
      api_key_fingerprint VARCHAR,
      output_text VARCHAR NOT NULL,
      reasoning_text VARCHAR NOT NULL,
      record VARCHAR NOT NULL
    )`,
    `CREATE TABLE exchanges (
      id VARCHAR PRIMARY KEY,
      call_id VARCHAR,
      kind VARCHAR NOT NULL,
      reason VARCHAR,
      source VARCHAR NOT NULL,
      connection_id VARCHAR NOT NULL,
      client_ip VARCHAR NOT NULL,
      client_port INTEGER NOT NULL,
      server_ip VARCHAR NOT NULL,
      server_port INTEGER NOT NULL,
      server_host VARCHAR,
      method VARCHAR NOT NULL,
      target VARCHAR NOT NULL,
      status_code INTEGER,
      request_headers VARCHAR NOT NULL,
      response_headers VARCHAR NOT NULL,
      request_bytes BIGINT NOT NULL,
      response_bytes BIGINT NOT NULL,
      request_body VARCHAR,
      response_body VARCHAR,
      request_body_size BIGINT NOT NULL,
      response_body_size BIGINT NOT NULL,
      request_body_truncated BOOLEAN NOT NULL,
      response_body_truncated BOOLEAN NOT NULL,
      response_events VARCHAR,
      response_events_total INTEGER NOT NULL,
      response_events_truncated BOOLEAN NOT NULL,
      bodies_expired BOOLEAN NOT NULL,
      request_start TIMESTAMP NOT NULL,
      request_end TIMESTAMP,
      response_start TIMESTAMP,
      response_end TIMESTAMP,
      anomalies VARCHAR NOT NULL
    )`,
  ],
};
