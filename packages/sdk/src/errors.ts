/**
 * Typed errors of the SDK, mirroring the server's codes. Every error the server returns becomes a
 * `HutchApiError` (or a subclass for the codes callers branch on most) carrying the stable `code`,
 * the HTTP status and the server's `details`.
 */
import { HTTP_STATUS, isErrorCode, type ErrorBody, type ErrorCode } from '@hutch/protocol';

/** An error returned by the Hutch server. `code` is stable; `message` says what to do. */
export class HutchApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, status: number, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

/** The sandbox (or another named resource) does not exist. */
export class NotFoundError extends HutchApiError {}
/** The sandbox is in a state where the operation is not allowed (`details.from`, `details.to`). */
export class InvalidTransitionError extends HutchApiError {}
/** The server refused for capacity; retry later or free resources. */
export class CapacityRejectedError extends HutchApiError {}
/** The API key or access token is missing or wrong. */
export class AuthenticationError extends HutchApiError {}
/** A command ran past its timeout. */
export class TimeoutError extends HutchApiError {}

const CLASSES: Partial<Record<ErrorCode, typeof HutchApiError>> = {
  sandbox_not_found: NotFoundError,
  process_not_found: NotFoundError,
  session_not_found: NotFoundError,
  snapshot_not_found: NotFoundError,
  codebase_not_found: NotFoundError,
  file_not_found: NotFoundError,
  not_found: NotFoundError,
  invalid_transition: InvalidTransitionError,
  capacity_rejected: CapacityRejectedError,
  unauthorized: AuthenticationError,
  process_timeout: TimeoutError,
};

/** Builds the typed error for a server error body (unknown codes become `internal`). */
export function errorFromBody(body: Partial<ErrorBody> | undefined, status: number): HutchApiError {
  const code: ErrorCode = isErrorCode(body?.code) ? body.code : 'internal';
  const message = typeof body?.message === 'string' ? body.message : `The server answered HTTP ${status}.`;
  const Class = CLASSES[code] ?? HutchApiError;
  return new Class(code, message, status || HTTP_STATUS[code], body?.details);
}

/** Builds the typed error for an `error` frame inside a stream (status taken from the code table). */
export function errorFromFrame(frame: { code?: unknown; message?: unknown; details?: unknown }): HutchApiError {
  const code: ErrorCode = isErrorCode(frame.code) ? frame.code : 'internal';
  const details = typeof frame.details === 'object' && frame.details !== null ? (frame.details as Record<string, unknown>) : undefined;
  return errorFromBody({ code, message: typeof frame.message === 'string' ? frame.message : 'The stream reported an error.', ...(details ? { details } : {}) }, HTTP_STATUS[code]);
}

/** Codes of failures the SDK detects itself, without an answer from the server. */
export type ClientErrorCode = 'connection_failed' | 'request_timeout' | 'bad_response';

/** A failure on the client side of the wire: the server was not reached or answered nonsense. */
export class HutchClientError extends Error {
  readonly code: ClientErrorCode;

  constructor(code: ClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The server could not be reached (refused, DNS, reset); `url` is the server's base URL. */
export class ConnectionError extends HutchClientError {
  readonly url: string;

  constructor(url: string, options?: { cause?: unknown }) {
    const cause = options?.cause as { cause?: { code?: string; message?: string }; message?: string } | undefined;
    const why = cause?.cause?.code ?? cause?.cause?.message ?? cause?.message ?? 'unknown cause';
    super('connection_failed', `Cannot reach the Hutch server at ${url} (${why})`, options);
    this.url = url;
  }
}

/** The server did not answer within `requestTimeoutMs` (`timeoutMs` here). */
export class RequestTimeoutError extends HutchClientError {
  readonly timeoutMs: number;

  constructor(timeoutMs: number, what: string) {
    super('request_timeout', `${what} got no answer within ${timeoutMs} ms.`);
    this.timeoutMs = timeoutMs;
  }
}

/** The server answered with something the SDK cannot read (bad JSON line, stream cut short). */
export class ProtocolError extends HutchClientError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('bad_response', message, options);
  }
}

/** Reads an error response into a typed error. */
export async function errorFromResponse(response: Response): Promise<HutchApiError> {
  let body: Partial<ErrorBody> | undefined;
  try {
    body = (await response.json()) as Partial<ErrorBody>;
  } catch {
    body = undefined;
  }
  return errorFromBody(body, response.status);
}
