/**
 * Host failures of the host-based tiers (errno, exit status, stderr) → Hutch errors. Messages name the
 * sandbox path the caller gave, never a host path.
 */
import { AlreadyExistsError, BackendFailureError, BadRequestError, FileNotFoundError, HutchError, PathEscapeError } from '../domain/errors.js';

/** The errno code (`ENOENT`, ...) of a Node system error, or undefined. */
export function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** Translates a filesystem error on `sandboxPath` into a Hutch error (HutchErrors pass through). */
export function fileError(err: unknown, sandboxPath: string): HutchError {
  if (err instanceof HutchError) return err;
  switch (errnoOf(err)) {
    case 'ENOENT':
      return new FileNotFoundError(sandboxPath);
    case 'EEXIST':
      return new AlreadyExistsError(sandboxPath, { path: sandboxPath });
    case 'ENOTEMPTY':
      return new BadRequestError(`${sandboxPath} is a non-empty directory; pass recursive to remove it.`, { path: sandboxPath });
    case 'EISDIR':
      return new BadRequestError(`${sandboxPath} is a directory, not a file.`, { path: sandboxPath });
    case 'ENOTDIR':
      return new BadRequestError(`A component of ${sandboxPath} is not a directory.`, { path: sandboxPath });
    case 'ELOOP':
      return new PathEscapeError(sandboxPath);
    case 'EROFS':
    case 'EPERM':
    case 'EACCES':
      return readOnlyError(sandboxPath);
    case 'ENOSPC':
    case 'EDQUOT':
      return new BadRequestError(`No space left for ${sandboxPath} in the sandbox.`, { path: sandboxPath });
    default:
      return new BackendFailureError(`The files operation on ${sandboxPath} failed (${errnoOf(err) ?? 'unknown error'}).`, { path: sandboxPath }, { cause: err });
  }
}

/** Writing outside /workspace and /tmp: the root is read-only. */
export function readOnlyError(sandboxPath: string): HutchError {
  return new BadRequestError(`${sandboxPath} is on the sandbox's read-only root; write under /workspace or /tmp.`, { path: sandboxPath, readOnly: true });
}

/** A host command the backend ran failed. `stderr` is trimmed and never includes the env. */
export function commandFailed(what: string, detail: { exitCode?: number | null; signal?: string | null; stderr?: string }, cause?: unknown): BackendFailureError {
  const tail = (detail.stderr ?? '').trim().split('\n').slice(-3).join(' | ').slice(0, 400);
  return new BackendFailureError(`${what} failed${detail.exitCode != null ? ` (exit ${detail.exitCode})` : ''}${detail.signal ? ` (signal ${detail.signal})` : ''}${tail ? `: ${tail}` : ''}.`, { exitCode: detail.exitCode ?? null }, { cause });
}
