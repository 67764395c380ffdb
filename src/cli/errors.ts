import { StoreError } from '../store/types.js';

/** An error the user can act on: printed as one line, exit status `code`. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** A store failure (unwritable file, full disk) is the user's to act on: one line, exit 1. */
export function asUserError(err: unknown): unknown {
  return err instanceof StoreError ? new UserError(err.message) : err;
}

/** A whole-number flag within [min, max], else `dflt` when absent; a bad value is exit 2. */
export function intFlag(v: string | undefined, flag: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UserError(`${flag} takes a whole number from ${min} to ${max} (got "${v.length > 40 ? `${v.slice(0, 40)}…` : v}")`, 2);
  }
  return n;
}
