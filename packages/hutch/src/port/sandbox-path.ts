/**
 * Pure sandbox-path handling shared by every backend's files API: normalise a caller's path to an
 * absolute sandbox path and refuse anything that could climb out (`..` components, NUL bytes).
 * Symlink resolution is the backend's job, since only it sees the sandbox's filesystem.
 */
import { PathEscapeError } from '../domain/errors.js';

/**
 * Returns the normalised absolute sandbox path for `path` (relative paths are taken from `cwd`,
 * default `/`). Throws `PathEscapeError` for any `..` component or NUL byte.
 */
export function normalizeSandboxPath(path: string, cwd = '/'): string {
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) throw new PathEscapeError(String(path));
  const joined = path.startsWith('/') ? path : `${cwd.replace(/\/+$/, '')}/${path}`;
  const parts: string[] = [];
  for (const part of joined.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw new PathEscapeError(path);
    parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/** The parent directory of a normalised sandbox path (`/` for `/`). */
export function sandboxDirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** The last component of a normalised sandbox path (`/` for `/`). */
export function sandboxBasename(path: string): string {
  return path === '/' ? '/' : path.slice(path.lastIndexOf('/') + 1);
}
