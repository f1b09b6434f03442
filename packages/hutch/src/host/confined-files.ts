/**
 * Path resolution for the files API of the host-based tiers, confined to the sandbox. A sandbox path is walked component
 * by component through the sandbox's mount table (the same table bwrap mounts), reading symlinks
 * by hand: an absolute link target restarts from the *sandbox* root and `..` stops at it, so a
 * link to `/` or `/etc` inside the workspace resolves to the sandbox's `/` or `/etc`, never the
 * host's. /proc and /dev are the sandbox's own kernel views and are not served from the host.
 * Operations then open what was resolved without following links and check, through
 * /proc/self/fd, that the opened object really lies under the mount's host root, which closes the
 * window in which a sandbox process swaps a directory for a symlink (see confined-files-ops.ts).
 */
import { lstat, readlink } from 'node:fs/promises';
import { FileNotFoundError, PathEscapeError } from '../domain/errors.js';
import { normalizeSandboxPath } from '../port/sandbox-path.js';
import { errnoOf, fileError } from './host-errors.js';
import { locate, type Located, type MountEntry } from './mount-table.js';

export { locate, virtualChildren, type Located } from './mount-table.js';

/** What the confined files API needs of a sandbox: its mount table. */
export interface ConfinedRoot {
  readonly mounts: readonly MountEntry[];
}

const MAX_LINKS = 40;

export interface Resolved {
  /** The canonical sandbox path (no symlinks, except the last component when not followed). */
  sandboxPath: string;
  located: Located;
  /** Set for host-backed paths. */
  hostPath?: string;
}

/**
 * Resolves `path` inside the sandbox. With `followLast`, a symlink in the last component is
 * followed too. Throws `PathEscapeError` for `..` in the caller's path or a link loop, and
 * `FileNotFoundError` when a directory on the way does not exist.
 */
export async function resolveSandboxPath(sandbox: ConfinedRoot, path: string, followLast: boolean): Promise<Resolved> {
  const normalized = normalizeSandboxPath(path);
  let pending = normalized.split('/').filter(Boolean);
  let resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '.') continue;
    if (name === '..') {
      // Only link targets reach here; like the kernel under a chroot, `..` stops at the root.
      resolved.pop();
      continue;
    }
    const candidate = [...resolved, name];
    const candidatePath = `/${candidate.join('/')}`;
    const isLast = pending.length === 0;
    const located = locate(sandbox.mounts, candidatePath);
    let target: string | undefined;
    if (located.kind === 'symlink') target = located.target;
    else if (located.kind === 'host') target = await hostLinkTarget(located.hostPath, normalized);
    else if (located.kind === 'missing' || located.kind === 'special') {
      if (isLast) return { sandboxPath: candidatePath, located };
      throw new FileNotFoundError(normalized);
    }
    if (target !== undefined && (!isLast || followLast)) {
      if (++links > MAX_LINKS) throw new PathEscapeError(normalized);
      if (target.startsWith('/')) resolved = [];
      pending = [...target.split('/').filter(Boolean), ...pending];
      continue;
    }
    resolved = candidate;
  }
  const sandboxPath = `/${resolved.join('/')}`;
  const located = locate(sandbox.mounts, sandboxPath);
  return { sandboxPath, located, ...(located.kind === 'host' ? { hostPath: located.hostPath } : {}) };
}

/** The link target when `hostPath` is a symlink; undefined for anything else or a missing path. */
async function hostLinkTarget(hostPath: string, sandboxPath: string): Promise<string | undefined> {
  try {
    const st = await lstat(hostPath);
    return st.isSymbolicLink() ? await readlink(hostPath) : undefined;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return undefined;
    throw fileError(err, sandboxPath);
  }
}

/** True when `real` (an opened object's real host path) lies under the mount's host root. */
export function isUnder(real: string, mountHostPath: string): boolean {
  return real === mountHostPath || real.startsWith(mountHostPath.endsWith('/') ? mountHostPath : `${mountHostPath}/`);
}
