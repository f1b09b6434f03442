/**
 * Users and paths as envd sees them (pure): the user of an RPC comes from `Authorization: Basic
 * base64("<user>:")`, of a `/files` call from the `username` query; without one, the sandbox's
 * default user (the template's, `user` for `base`). Relative paths and `~` resolve against the
 * user's home, and every path returned is absolute.
 */
import { posix } from 'node:path';

/** The user named by a Basic `Authorization` header (password ignored), if any. */
export function basicAuthUser(header: string | undefined): string | undefined {
  const match = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const user = decoded.includes(':') ? decoded.slice(0, decoded.indexOf(':')) : decoded;
  return user === '' ? undefined : user;
}

/** The home directory of `user` (the E2B templates' layout: /root, /home/<user>). */
export function homeOf(user: string): string {
  return user === 'root' ? '/root' : `/home/${user}`;
}

/** `path` as an absolute sandbox path: `~` and relative paths are taken from `home`. */
export function resolveUserPath(path: string, home: string): string {
  if (path === '' || path === '~') return home;
  if (path.startsWith('~/')) return posix.join(home, path.slice(2));
  return posix.isAbsolute(path) ? posix.normalize(path) : posix.join(home, path);
}
