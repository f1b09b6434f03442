/**
 * The stable error codes of the Hutch API and the one table that gives each its HTTP status.
 * Server (`errorToResponse`) and SDK (`errorFromResponse`) both read this table; a released code is
 * never renamed. Every code is documented in docs/errors.md (a test keeps the two in step).
 */
export const ERROR_CODES = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'sandbox_not_found',
  'process_not_found',
  'session_not_found',
  'snapshot_not_found',
  'template_not_found',
  'codebase_not_found',
  'file_not_found',
  'not_found',
  'invalid_transition',
  'conflict',
  'already_exists',
  'capacity_rejected',
  'capability_missing',
  'unsupported_host',
  'path_escape',
  'process_timeout',
  'template_not_ready',
  'backend_failure',
  'repair_needed',
  'journal_unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** HTTP status for each code. `Record` makes the compiler reject a code without a status. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  sandbox_not_found: 404,
  process_not_found: 404,
  session_not_found: 404,
  snapshot_not_found: 404,
  template_not_found: 404,
  codebase_not_found: 404,
  file_not_found: 404,
  not_found: 404,
  invalid_transition: 409,
  conflict: 409,
  already_exists: 409,
  capacity_rejected: 429,
  capability_missing: 422,
  unsupported_host: 503,
  path_escape: 400,
  process_timeout: 408,
  template_not_ready: 503,
  backend_failure: 502,
  repair_needed: 500,
  journal_unavailable: 503,
  internal: 500,
};

/** The JSON body of every API error. `details` carries typed, non-secret context (e.g. `{from, to}`). */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** True when `value` is one of the known codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}
