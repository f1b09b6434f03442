/**
 * Hutch errors in the shapes E2B clients branch on (one place for both planes):
 * - control plane: `{code: <HTTP status>, message}`. The SDK reads the body's numeric `code` (404 →
 *   `SandboxNotFoundError` or `false`, 409 → `false` for pause), so it always equals the status.
 * - envd RPC: Connect error codes (`not_found`, `invalid_argument`...), which the SDK maps to its
 *   error classes (`FileNotFoundError`, `InvalidArgumentError`...).
 * - envd REST (`/files`): `{code: <status>, message}` like envd's own.
 * - a sandbox that is gone or paused: 502 `{sandboxId, message: "The sandbox was not found", code: 502}`,
 *   which the SDK reads as "not running" (`isRunning()` false, `TimeoutError` elsewhere).
 * Statuses come from @hutch/protocol's `HTTP_STATUS`; unknown errors become 500 with a generic
 * message (never echoed).
 */
import { Code, ConnectError } from '@connectrpc/connect';
import { HTTP_STATUS, type ErrorCode } from '@hutch/protocol';
import type { FastifyBaseLogger } from 'fastify';
import { HutchError } from '../../domain/errors.js';
import { errorToResponse, logError } from '../errors.js';

export interface E2bErrorBody {
  code: number;
  message: string;
}

export interface E2bErrorResponse {
  status: number;
  body: E2bErrorBody;
}

/** A Hutch error (or anything thrown) as an E2B API / envd REST error. */
export function toE2bError(error: unknown): E2bErrorResponse {
  const native = errorToResponse(error);
  return { status: native.status, body: { code: native.status, message: native.body.message } };
}

/** An E2B error with an explicit status (for checks done in the E2B layer itself). */
export function e2bError(status: number, message: string): E2bErrorResponse {
  return { status, body: { code: status, message } };
}

/** Logs like the native boundary does (4xx at info, 5xx at error). */
export function logE2bError(log: FastifyBaseLogger, error: unknown): void {
  logError(log, error, errorToResponse(error));
}

/** The 502 body E2B's edge sends for a sandbox that is not running (killed, paused or unknown). */
export function sandboxNotFoundBody(sandboxId: string): { sandboxId: string; message: string; code: number } {
  return { sandboxId, message: 'The sandbox was not found', code: 502 };
}

/** The 502 body E2B's edge sends when nothing listens on the requested port. */
export function portNotOpenBody(sandboxId: string, port: number): { sandboxId: string; port: number; message: string; code: number } {
  return { sandboxId, port, message: 'The sandbox is running but port is not open', code: 502 };
}

const CONNECT_CODES: Partial<Record<ErrorCode, Code>> = {
  bad_request: Code.InvalidArgument,
  path_escape: Code.InvalidArgument,
  unauthorized: Code.Unauthenticated,
  forbidden: Code.PermissionDenied,
  file_not_found: Code.NotFound,
  process_not_found: Code.NotFound,
  sandbox_not_found: Code.NotFound,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  invalid_transition: Code.FailedPrecondition,
  conflict: Code.FailedPrecondition,
  capacity_rejected: Code.ResourceExhausted,
  capability_missing: Code.Unimplemented,
  process_timeout: Code.DeadlineExceeded,
};

/** Any thrown value as a ConnectError; unknown errors become `internal` with a generic message. */
export function toConnectError(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof HutchError) return new ConnectError(error.message, CONNECT_CODES[error.code] ?? (HTTP_STATUS[error.code] >= 500 ? Code.Internal : Code.Unknown), undefined, undefined, error);
  return new ConnectError('Internal server error. The server log has the details.', Code.Internal, undefined, undefined, error);
}
