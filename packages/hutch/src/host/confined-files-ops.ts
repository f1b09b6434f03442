/**
 * The files API operations of the host-based tiers (process, container) (read, write, list, stat, mkdir, move, remove,
 * watch) on top of `resolveSandboxPath`. Every host object is opened with O_NOFOLLOW and checked
 * through /proc/self/fd to lie under its mount's host root before it is used; directory-relative
 * operations go through `/proc/self/fd/<dirfd>/<name>`, so a sandbox process racing the API by
 * swapping a directory for a symlink cannot redirect it to host files. Only what the mount table
 * marks writable can be changed, as inside the sandbox.
 */
import { constants, existsSync, watch as fsWatch, type Stats } from 'node:fs';
import { lstat, mkdir as fsMkdir, open, readdir, readlink, rename, rm, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { BadRequestError, FileNotFoundError, PathEscapeError } from '../domain/errors.js';
import type { FileEntry, FileEvent, FileType } from '../domain/files.js';
import { USERNS_HOST_BASE as HOST_ID_BASE } from '../domain/user-namespace.js';
import { normalizeSandboxPath, sandboxBasename, sandboxDirname } from '../port/sandbox-path.js';
import { isUnder, resolveSandboxPath, virtualChildren, type ConfinedRoot, type Resolved } from './confined-files.js';
import { errnoOf, fileError, readOnlyError } from './host-errors.js';

type HostResolved = Resolved & { located: { kind: 'host'; hostPath: string; mountHostPath: string; writable: boolean } };

function requireHost(r: Resolved, path: string): HostResolved {
  if (r.located.kind === 'host') return r as HostResolved;
  if (r.located.kind === 'virtual') throw new BadRequestError(`${path} is a directory of the sandbox's read-only root.`, { path });
  throw new FileNotFoundError(path);
}

function requireWritable(r: Resolved, path: string): HostResolved {
  const host = requireHost(r, path);
  if (!host.located.writable) throw readOnlyError(path);
  return host;
}

/** Opens `r` (no symlink follow) and verifies the object is inside its mount. */
async function openVerified(r: HostResolved, flags: number, path: string, mode?: number): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(r.located.hostPath, flags | constants.O_NOFOLLOW, mode);
  } catch (err) {
    throw fileError(err, path);
  }
  const real = await readlink(`/proc/self/fd/${fh.fd}`);
  if (!isUnder(real, r.located.mountHostPath)) {
    await fh.close();
    throw new PathEscapeError(path);
  }
  return fh;
}

/** Runs `fn(dirPrefix)` with the verified parent directory of `path` open. */
async function inParent<T>(sandbox: ConfinedRoot, path: string, writable: boolean, fn: (dirPrefix: string, name: string) => Promise<T>): Promise<T> {
  const normalized = normalizeSandboxPath(path);
  if (normalized === '/') throw new BadRequestError('The sandbox root cannot be changed.');
  const parent = await resolveSandboxPath(sandbox, sandboxDirname(normalized), true);
  const host = writable ? requireWritable(parent, normalized) : requireHost(parent, normalized);
  const dir = await openVerified(host, constants.O_RDONLY | constants.O_DIRECTORY, sandboxDirname(normalized));
  try {
    return await fn(`/proc/self/fd/${dir.fd}`, sandboxBasename(normalized));
  } finally {
    await dir.close();
  }
}

function typeOf(st: Stats): FileType {
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
}

function entryOf(path: string, st: Stats, target?: string): FileEntry {
  return {
    name: sandboxBasename(path),
    path,
    type: typeOf(st),
    size: st.isFile() ? st.size : 0,
    mode: st.mode & 0o7777,
    modifiedAt: st.mtime.toISOString(),
    ...(target !== undefined ? { symlinkTarget: target } : {}),
  };
}

function virtualEntry(path: string): FileEntry {
  return { name: sandboxBasename(path), path, type: 'dir', size: 0, mode: 0o755, modifiedAt: new Date(0).toISOString() };
}

/** Streams a file's bytes. */
export async function readSandboxFile(sandbox: ConfinedRoot, path: string): Promise<AsyncIterable<Uint8Array>> {
  const r = requireHost(await resolveSandboxPath(sandbox, path, true), path);
  const fh = await openVerified(r, constants.O_RDONLY, path);
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new BadRequestError(`${normalizeSandboxPath(path)} is not a regular file.`, { path });
  }
  return (async function* () {
    try {
      for await (const chunk of fh.createReadStream({ autoClose: false, highWaterMark: 64 * 1024 })) yield chunk as Buffer;
    } finally {
      await fh.close();
    }
  })();
}

/** Writes a file from bytes or a stream; new files and dirs belong to the sandbox's root. */
export async function writeSandboxFile(sandbox: ConfinedRoot, path: string, data: Uint8Array | AsyncIterable<Uint8Array>, mode = 0o644, parents = true): Promise<FileEntry> {
  const normalized = normalizeSandboxPath(path);
  if (parents) await makeDir(sandbox, sandboxDirname(normalized), true);
  const r = requireWritable(await resolveSandboxPath(sandbox, normalized, true), normalized);
  const fh = await openVerified(r, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, normalized, mode);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new BadRequestError(`${normalized} is not a regular file.`, { path: normalized });
    if (st.uid < HOST_ID_BASE) await fh.chown(HOST_ID_BASE, HOST_ID_BASE);
    if (data instanceof Uint8Array) await fh.write(data);
    else for await (const chunk of data) await fh.write(chunk);
    return entryOf(r.sandboxPath, await fh.stat());
  } finally {
    await fh.close();
  }
}

/** Creates a directory (and its parents with `parents`). */
export async function makeDir(sandbox: ConfinedRoot, path: string, parents: boolean): Promise<FileEntry> {
  const normalized = normalizeSandboxPath(path);
  const existing = await resolveSandboxPath(sandbox, normalized, true).catch((err) => {
    if (parents && err instanceof FileNotFoundError) return undefined;
    throw err;
  });
  if (existing && existing.located.kind === 'virtual') return virtualEntry(normalized);
  if (existing?.hostPath) {
    const st = await lstat(existing.hostPath).catch(() => undefined);
    if (st?.isDirectory()) {
      if (parents) return entryOf(existing.sandboxPath, st);
      throw fileError(Object.assign(new Error('exists'), { code: 'EEXIST' }), normalized);
    }
  }
  if (parents && normalized !== '/') await makeDir(sandbox, sandboxDirname(normalized), true);
  return inParent(sandbox, normalized, true, async (dir, name) => {
    try {
      await fsMkdir(`${dir}/${name}`, { mode: 0o755 });
      const fh = await open(`${dir}/${name}`, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      try {
        await fh.chown(HOST_ID_BASE, HOST_ID_BASE);
        return entryOf(normalized, await fh.stat());
      } finally {
        await fh.close();
      }
    } catch (err) {
      throw fileError(err, normalized);
    }
  });
}

/** lstat-like: a symlink is reported as such, with its target. */
export async function statSandboxPath(sandbox: ConfinedRoot, path: string): Promise<FileEntry> {
  const normalized = normalizeSandboxPath(path);
  const r = await resolveSandboxPath(sandbox, normalized, false);
  if (r.located.kind === 'virtual') return virtualEntry(normalized);
  if (r.located.kind === 'symlink') return { ...virtualEntry(normalized), type: 'symlink', mode: 0o777, symlinkTarget: r.located.target };
  if (r.located.kind === 'special') return virtualEntry(normalized);
  const host = requireHost(r, normalized);
  try {
    const st = await lstat(host.located.hostPath);
    return entryOf(normalized, st, st.isSymbolicLink() ? await readlink(host.located.hostPath) : undefined);
  } catch (err) {
    throw fileError(err, normalized);
  }
}

/** Lists a directory down to `depth` levels (1 = direct children). Links are not descended. */
export async function listSandboxDir(sandbox: ConfinedRoot, path: string, depth = 1): Promise<FileEntry[]> {
  const normalized = normalizeSandboxPath(path);
  const r = await resolveSandboxPath(sandbox, normalized, true);
  const base = r.sandboxPath;
  const out: FileEntry[] = [];
  if (r.located.kind === 'virtual') {
    for (const { name } of virtualChildren(sandbox.mounts, base)) {
      const child = base === '/' ? `/${name}` : `${base}/${name}`;
      const entry = await statSandboxPath(sandbox, child).catch(() => undefined);
      if (!entry) continue;
      out.push({ ...entry, path: normalized === base ? child : `${normalized}/${name}` });
      if (depth > 1 && entry.type === 'dir') out.push(...(await listSandboxDir(sandbox, child, depth - 1).catch(() => [])));
    }
    return out;
  }
  const host = requireHost(r, normalized);
  const dir = await openVerified(host, constants.O_RDONLY | constants.O_DIRECTORY, normalized);
  try {
    for (const d of await readdir(`/proc/self/fd/${dir.fd}`, { withFileTypes: true })) {
      const child = `${normalized === '/' ? '' : normalized}/${d.name}`;
      const hostChild = `/proc/self/fd/${dir.fd}/${d.name}`;
      const st = await lstat(hostChild).catch(() => undefined);
      if (!st) continue;
      out.push(entryOf(child, st, st.isSymbolicLink() ? await readlink(hostChild) : undefined));
      if (depth > 1 && st.isDirectory()) out.push(...(await listSandboxDir(sandbox, child, depth - 1)));
    }
  } catch (err) {
    throw fileError(err, normalized);
  } finally {
    await dir.close();
  }
  return out;
}

/** Renames within the writable parts (a link is moved, not followed). */
export async function moveSandboxPath(sandbox: ConfinedRoot, from: string, to: string): Promise<FileEntry> {
  const src = normalizeSandboxPath(from);
  const dst = normalizeSandboxPath(to);
  await inParent(sandbox, src, true, (srcDir, srcName) =>
    inParent(sandbox, dst, true, async (dstDir, dstName) => {
      try {
        await rename(`${srcDir}/${srcName}`, `${dstDir}/${dstName}`);
      } catch (err) {
        if (errnoOf(err) === 'EXDEV') throw new BadRequestError('Moving between different mounts of the sandbox is not supported; copy instead.', { from: src, to: dst });
        throw fileError(err, errnoOf(err) === 'ENOENT' ? src : dst);
      }
    }),
  );
  return statSandboxPath(sandbox, dst);
}

/** Removes a file, link or (with `recursive`) a directory tree. */
export async function removeSandboxPath(sandbox: ConfinedRoot, path: string, recursive: boolean): Promise<void> {
  const normalized = normalizeSandboxPath(path);
  const r = await resolveSandboxPath(sandbox, normalized, false);
  if (r.located.kind !== 'host') throw r.located.kind === 'missing' ? new FileNotFoundError(normalized) : readOnlyError(normalized);
  if (r.located.hostPath === r.located.mountHostPath) throw new BadRequestError(`${normalized} is a mount point and cannot be removed.`, { path: normalized });
  await inParent(sandbox, normalized, true, async (dir, name) => {
    const target = `${dir}/${name}`;
    try {
      const st = await lstat(target);
      if (!st.isDirectory()) await unlink(target);
      else if (!recursive) await rmdir(target);
      // rm does not follow links inside the tree; the caller freezes the sandbox meanwhile.
      else await rm(target, { recursive: true, force: false });
    } catch (err) {
      throw fileError(err, normalized);
    }
  });
}

/** Yields changes under a directory until the signal aborts or the consumer stops. */
export async function* watchSandboxDir(sandbox: ConfinedRoot, path: string, recursive: boolean, signal?: AbortSignal): AsyncGenerator<FileEvent> {
  const normalized = normalizeSandboxPath(path);
  const r = requireHost(await resolveSandboxPath(sandbox, normalized, true), normalized);
  const dir = await openVerified(r, constants.O_RDONLY | constants.O_DIRECTORY, normalized);
  const hostDir = await readlink(`/proc/self/fd/${dir.fd}`);
  await dir.close();
  const queue: FileEvent[] = [];
  let wake: (() => void) | undefined;
  let failure: unknown;
  const watcher = fsWatch(hostDir, { recursive, signal }, (event, filename) => {
    if (!filename) return;
    const sandboxPath = `${normalized === '/' ? '' : normalized}/${filename.toString()}`;
    // A 'rename' is a create when the name now exists, a remove otherwise.
    const type = event === 'change' ? 'write' : existsSync(`${hostDir}/${filename.toString()}`) ? 'create' : 'remove';
    queue.push({ type, path: sandboxPath });
    wake?.();
  });
  watcher.on('error', (err) => {
    failure = err;
    wake?.();
  });
  try {
    for (;;) {
      signal?.throwIfAborted();
      if (failure && (failure as { name?: string }).name !== 'AbortError') throw fileError(failure, normalized);
      const next = queue.shift();
      if (next) {
        yield next;
        continue;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
      wake = undefined;
    }
  } finally {
    watcher.close();
  }
}
