/**
 * Writes a node (directory, file, link) at a relative path of a tree, or removes one, through the
 * confined files operations: links inside the tree resolve inside it, and nothing is written
 * outside it. Used to revert the sandbox's tree (through its overlay) and to commit to a codebase.
 */
import { constants } from 'node:fs';
import { lchown, symlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { FileNotFoundError } from '../domain/errors.js';
import { USERNS_HOST_BASE } from '../domain/user-namespace.js';
import type { ConfinedRoot } from '../host/confined-files.js';
import { makeDir, moveSandboxPath, removeSandboxPath, writeSandboxFile } from '../host/confined-files-ops.js';
import { openExact, type TreeNode } from './tree-view.js';

export function confinedDir(hostDir: string): ConfinedRoot {
  return { mounts: [{ kind: 'bind', path: '/', hostPath: hostDir, writable: true }] };
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

/** Removes `rel` (recursively); a missing path is fine. */
export async function removeAt(hostDir: string, rel: string): Promise<void> {
  await removeSandboxPath(confinedDir(hostDir), `/${rel}`, true).catch((err: unknown) => {
    if (!(err instanceof FileNotFoundError)) throw err;
  });
}

/**
 * Puts `node` at `rel`: a directory (kept if there), a file with `content` (with `atomic`, written
 * beside and renamed over, so other holders of the old file keep it), or a link. Ownership follows
 * the node when it is in the sandbox id range.
 */
export async function placeAt(hostDir: string, rel: string, node: TreeNode, content: () => Promise<Buffer>, atomic: boolean): Promise<void> {
  const root = confinedDir(hostDir);
  const owned = node.uid >= USERNS_HOST_BASE && node.gid >= USERNS_HOST_BASE;
  if (node.type === 'dir') {
    await makeDir(root, `/${rel}`, true);
    const fh = await openExact(hostDir, rel, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await fh.chmod(node.mode);
      if (owned) await fh.chown(node.uid, node.gid);
    } finally {
      await fh.close();
    }
    return;
  }
  if (node.type === 'symlink') {
    await removeAt(hostDir, rel);
    await makeDir(root, `/${parentOf(rel)}`, true);
    const dir = await openExact(hostDir, parentOf(rel), constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      const at = `/proc/self/fd/${dir.fd}/${rel.split('/').pop()!}`;
      await symlink(node.target ?? '', at);
      await lchown(at, owned ? node.uid : USERNS_HOST_BASE, owned ? node.gid : USERNS_HOST_BASE);
    } finally {
      await dir.close();
    }
    return;
  }
  const data = await content();
  const target = atomic ? `${parentOf(rel) ? `${parentOf(rel)}/` : ''}.hutch-${randomBytes(6).toString('hex')}` : rel;
  await writeSandboxFile(root, `/${target}`, data, node.mode, true);
  const fh = await openExact(hostDir, target, constants.O_RDONLY);
  try {
    await fh.chmod(node.mode);
    if (owned) await fh.chown(node.uid, node.gid);
  } finally {
    await fh.close();
  }
  if (atomic) await moveSandboxPath(root, `/${target}`, `/${rel}`);
}
