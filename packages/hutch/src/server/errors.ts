/**
 * The server's one error boundary: every error a route throws becomes `{code, message, details?}`
 * with the status from `HTTP_STATUS` (packages/protocol), the only place statuses are set.
 * - `HutchError`: its code, message and details as they are (they are written to be shown).
 * - Fastify validation errors: `bad_request`, naming the field and where it was (body, query...).
 * - Fastify's own client errors (bad JSON, wrong media type, body too large): `bad_request`.
 * - anything else: `internal` (500), logged with its stack, never echoed to the client.
 * 4xx are logged at `info`, 5xx at `error`, always with the code.
 */
import { HTTP_STATUS, type ErrorBody, type ErrorCode } from '@hutch/protocol';
import type { FastifyBaseLogger, FastifyError } from 'fastify';
import { HutchError } from '../domain/errors.js';

/** A client must authenticate (missing or wrong API key / access token). */
export class UnauthorizedError extends HutchError {
  constructor(message = 'Missing or invalid credentials. Send the API key as `Authorization: Bearer <key>` (or `X-API-Key`), or the sandbox access token as `X-Access-Token`.') {
    super('unauthorized', message);
  }
}

/** Valid credentials that do not open this route (an access token used on another sandbox). */
export class ForbiddenError extends HutchError {
  constructor(message: string) {
    super('forbidden', message);
  }
}

/** No route matches the method and path. */
export class RouteNotFoundError extends HutchError {
  constructor(method: string, path: string) {
    super('not_found', `No route ${method} ${path}. See GET /v1/openapi.json for the routes.`, { method, path });
  }
}

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
}

interface AjvIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

const LOCATIONS: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

/** The dotted field an ajv issue is about: `resources.memoryMib`, `env`, `path`... */
function fieldOf(issue: AjvIssue): string {
  const parts = (issue.instancePath ?? '').split('/').filter(Boolean).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const extra = issue.params?.missingProperty ?? issue.params?.additionalProperty;
  if (typeof extra === 'string') parts.push(extra);
  return parts.join('.');
}

function validationResponse(error: FastifyError): ErrorBody {
  const issue = (error.validation?.[0] ?? {}) as AjvIssue;
  const location = LOCATIONS[error.validationContext ?? 'body'] ?? 'body';
  const field = fieldOf(issue);
  const what = issue.keyword === 'additionalProperties' ? 'is not a known field' : issue.keyword === 'required' ? 'is required' : (issue.message ?? 'is invalid');
  const allowed = Array.isArray(issue.params?.allowedValues) ? ` (one of ${(issue.params.allowedValues as unknown[]).join(', ')})` : '';
  const name = field ? `${location} field "${field}"` : `The ${location}`;
  return { code: 'bad_request', message: `${name} ${what}${allowed}.`, details: { field: field || location, location } };
}

function isFastifyClientError(error: unknown): error is FastifyError {
  const e = error as Partial<FastifyError>;
  return typeof e?.code === 'string' && e.code.startsWith('FST_') && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500;
}

/** Maps any thrown value to the status and body the client sees. Pure: logging is `logError`'s job. */
export function errorToResponse(error: unknown): ErrorResponse {
  if (error instanceof HutchError) {
    const body: ErrorBody = { code: error.code, message: error.message };
    if (error.details !== undefined) body.details = error.details;
    return { status: HTTP_STATUS[error.code], body };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError && Array.isArray(fastifyError.validation)) return { status: HTTP_STATUS.bad_request, body: validationResponse(fastifyError) };
  if (isFastifyClientError(error)) {
    // Fastify's own messages (invalid JSON, unsupported media type, body too large) are safe to show.
    return { status: HTTP_STATUS.bad_request, body: { code: 'bad_request', message: error.message, details: { reason: error.code } } };
  }
  return { status: HTTP_STATUS.internal, body: { code: 'internal', message: 'Internal server error. The server log has the details.' } };
}

/** Logs an error the way the status says: 4xx at info (code only), 5xx at error (with the stack when unexpected). */
export function logError(log: FastifyBaseLogger, error: unknown, response: ErrorResponse): void {
  const code: ErrorCode = response.body.code;
  if (response.status < 500) log.info({ code, status: response.status }, response.body.message);
  else if (error instanceof HutchError) log.error({ code, status: response.status, err: error }, response.body.message);
  else log.error({ code, status: response.status, err: error }, 'unhandled error');
}
