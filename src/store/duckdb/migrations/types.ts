/** A schema migration: applied once, in version order, inside one transaction. */
export interface Migration {
  /** 1, 2, 3, … without gaps; recorded in `schema_migrations`. */
  version: number;
  name: string;
  /** DDL statements, run in order. Never edit a released migration: add the next one. */
  up: readonly string[];
}
