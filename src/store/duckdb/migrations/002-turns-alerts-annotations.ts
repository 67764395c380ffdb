/**
 * Version 2: room for agent turns (issue 4), alerts (issue 5+) and annotations. Minimal columns:
 * the issues that fill them add columns by migration; the record as JSON carries the rest.
 */
import type { Migration } from './types.js';

export const migration002: Migration = {
  version: 2,
  name: 'turns, alerts, annotations',
  up: [
    `CREATE TABLE turns (
      id VARCHAR PRIMARY KEY,
      session_id VARCHAR,
      agent VARCHAR,
      start_time TIMESTAMP NOT NULL,
      end_time TIMESTAMP,
      status VARCHAR,
      record VARCHAR NOT NULL
    )`,
    `CREATE TABLE alerts (
      id VARCHAR PRIMARY KEY,
      rule VARCHAR NOT NULL,
      fired_at TIMESTAMP NOT NULL,
      resolved_at TIMESTAMP,
      severity VARCHAR,
      record VARCHAR NOT NULL
    )`,
    `CREATE TABLE annotations (
      id VARCHAR PRIMARY KEY,
      target_kind VARCHAR NOT NULL,
      target_id VARCHAR NOT NULL,
      created_at TIMESTAMP NOT NULL,
      author VARCHAR,
      text VARCHAR NOT NULL
    )`,
  ],
};
