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
