/**
 * Every error the API answers is `{error: {code, message}}` with a fitting status. User input never
 * produces a 500: validation happens at the edge (schemas.ts) and anything that slips through is a
 * bug reported as `internal` without details (the details might echo captured content).
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden_host'
  | 'not_found'
  | 'method_not_allowed'
  | 'not_implemented'
  | 'payload_too_large'
  | 'unavailable'
  | 'internal';

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** Thrown by route handlers; the error handler turns it into the JSON body and status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

export const badRequest = (message: string): ApiError => new ApiError(400, 'bad_request', message);
export const notFound = (message: string): ApiError => new ApiError(404, 'not_found', message);
