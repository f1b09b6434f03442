/**
 * Read-only views of a workspace tree by relative path, never following links: the sandbox's
 * current tree (its overlay, which the sandbox may be changing while we read: every object is
 * opened with O_NOFOLLOW and checked through /proc/self/fd to be exactly the path asked for, so a
 * directory swapped for a link cannot redirect a read to host files), and a reference tree (the
 * base the sandbox started from, plus a checkpoint's recorded changes).
 */
import { constants } from 'node:fs';
import { lstat, open, readdir, readFile, readlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError } from '../domain/errors.js';

export interface TreeNode {
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  size: number;
  uid: number;
  gid: number;
  target?: string;
}

export interface TreeView {
  stat(rel: string): Promise<TreeNode | undefined>;
  /** Names directly under a directory (empty when it is not one). */
  list(rel: string): Promise<string[]>;
  /** A file's bytes. */
  read(rel: string): Promise<Buffer>;
}

function nodeOf(st: import('node:fs').Stats, target?: string): TreeNode | undefined {
  const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : undefined;
  if (!type) return undefined;
  return { type, mode: st.mode & 0o7777, size: type === 'file' ? st.size : 0, uid: st.uid, gid: st.gid, ...(target !== undefined ? { target } : {}) };
}

/** lstat of `root/rel` when every directory on the way is a real directory; else undefined. */
export async function lstatBeneath(root: string, rel: string): Promise<import('node:fs').Stats | undefined> {
  const parts = rel.split('/').filter(Boolean);
  let path = root;
  for (let i = 0; i < parts.length; i++) {
    path = join(path, parts[i]!);
    const st = await lstat(path).catch(() => undefined);
    if (!st) return undefined;
    if (i < parts.length - 1 && !st.isDirectory()) return undefined;
    if (i === parts.length - 1) return st;
  }
  return lstat(root);
}

/** Opens `root/rel` without following links and checks it is exactly that object. */
export async function openExact(root: string, rel: string, flags: number): Promise<FileHandle> {
  const expected = rel ? join(root, rel) : root;
  const fh = await open(expected, flags | constants.O_NOFOLLOW);
  const real = await readlink(`/proc/self/fd/${fh.fd}`);
  if (real !== expected) {
    await fh.close();
    throw new ConflictError(`${rel || '/'} changed while it was being read; try again.`, { path: rel });
  }
  return fh;
}

/** The live tree under `root` (a mounted overlay or any directory). */
export function hostView(root: string): TreeView {
  return {
    async stat(rel) {
      const st = await lstatBeneath(root, rel);
      if (!st) return undefined;
      return nodeOf(st, st.isSymbolicLink() ? await readlink(join(root, rel)).catch(() => '') : undefined);
    },
    async list(rel) {
      const st = await lstatBeneath(root, rel);
      if (!st?.isDirectory()) return [];
      const fh = await openExact(root, rel, constants.O_RDONLY | constants.O_DIRECTORY).catch(() => undefined);
      if (!fh) return [];
      try {
        return await readdir(`/proc/self/fd/${fh.fd}`);
      } finally {
        await fh.close();
      }
    },
    async read(rel) {
      const fh = await openExact(root, rel, constants.O_RDONLY);
      try {
        return await fh.readFile();
      } finally {
        await fh.close();
      }
    },
  };
}

/** What a checkpoint recorded for a path: gone, or its node (and content for files). */
export type ManifestEntry = { state: 'absent' } | (TreeNode & { state: 'present'; blob?: string });

export interface Manifest {
  entries: Record<string, ManifestEntry>;
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

/** The base tree with a checkpoint's entries laid over it; blobs live under `blobDir`. */
export function referenceView(base: string, manifest: Manifest | undefined, blobDir: string | undefined): TreeView {
  const baseView = hostView(base);
  const entries = manifest?.entries ?? {};
  const overridden = (rel: string): ManifestEntry | undefined => entries[rel];
  // An ancestor recorded absent or as a non-directory hides the base below it.
  const hiddenByAncestor = (rel: string): boolean => {
    for (let p = parentOf(rel); p !== ''; p = parentOf(p)) {
      const e = entries[p];
      if (e && (e.state === 'absent' || e.type !== 'dir')) return true;
    }
    return false;
  };
  const view: TreeView = {
    async stat(rel) {
      const e = overridden(rel);
      if (e) return e.state === 'absent' ? undefined : { type: e.type, mode: e.mode, size: e.size, uid: e.uid, gid: e.gid, ...(e.target !== undefined ? { target: e.target } : {}) };
      if (hiddenByAncestor(rel)) return undefined;
      return baseView.stat(rel);
    },
    async list(rel) {
      const self = await view.stat(rel);
      if (self?.type !== 'dir') return [];
      const names = new Set(overridden(rel) || hiddenByAncestor(rel) ? [] : await baseView.list(rel));
      // A directory recorded as present still shows the base's children unless they are recorded absent.
      if (overridden(rel)?.state === 'present' && !hiddenByAncestor(rel)) for (const n of await baseView.list(rel)) names.add(n);
      for (const key of Object.keys(entries)) if (parentOf(key) === rel && key !== rel) names.add(key.slice(rel ? rel.length + 1 : 0));
      const present: string[] = [];
      for (const n of names) if (await view.stat(rel ? `${rel}/${n}` : n)) present.push(n);
      return present;
    },
    async read(rel) {
      const e = overridden(rel);
      if (e && e.state === 'present' && e.blob && blobDir) return readFile(join(blobDir, e.blob));
      return baseView.read(rel);
    },
  };
  return view;
}
