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
