/**
 * The codebase store under `<dataDir>/codebases`: one directory per codebase (`<id>/tree`, owned
 * by the sandbox id range so a sandbox sees its files as its own, plus `meta.json`). A codebase is
 * added from a directory on the server host (a copy; local CLI / admin only, as template import)
 * or from a tar upload, which is unpacked by an unprivileged user so a hostile archive (absolute
 * names, `..`, links pointing out) can write nowhere but its staging directory. Sandboxes never
 * write here: their changes reach a codebase only through `commit`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, lchown, lstat, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { CodebaseInfo } from '@hutch/protocol';
import { BadRequestError, BackendFailureError, HutchError } from '../domain/errors.js';
import type { FileEntry } from '../domain/files.js';
import { USERNS_HOST_BASE } from '../domain/user-namespace.js';
import type { ConfinedRoot } from '../host/confined-files.js';
import { listSandboxDir, makeDir, readSandboxFile, removeSandboxPath, statSandboxPath, writeSandboxFile } from '../host/confined-files-ops.js';

export type { CodebaseInfo };

export class CodebaseNotFoundError extends HutchError {
  constructor(idOrName: string) {
    super('codebase_not_found', `Codebase "${idOrName}" was not found. List codebases to see the ones that exist.`, { codebase: idOrName });
  }
}

export const CODEBASE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** Sandbox-side nobody: unpacks uploads. */
const NOBODY = 65534;

/** Ownership of codebase files: the sandbox's root (host uid 100000). */
export const CODEBASE_OWNER = USERNS_HOST_BASE;

export class CodebaseStore {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'codebases');
  }

  private dir(id: string): string {
    return join(this.root, id);
  }

  /** Host path of a codebase's tree (for the workspace manager; never shown to callers). */
  treePath(id: string): string {
    return join(this.dir(id), 'tree');
  }

  /** The confined view of a codebase's tree: paths resolve inside it, links never leave it. */
  confined(id: string): ConfinedRoot {
    return { mounts: [{ kind: 'bind', path: '/', hostPath: this.treePath(id), writable: true }] };
  }

  async list(): Promise<CodebaseInfo[]> {
    const ids = await readdir(this.root).catch(() => [] as string[]);
    const infos: CodebaseInfo[] = [];
    for (const id of ids.filter((n) => n.startsWith('cb_'))) {
      const info = await this.readMeta(id);
      if (info) infos.push(info);
    }
    return infos.sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
  }

  /** By id or name; throws `CodebaseNotFoundError`. */
  async get(idOrName: string): Promise<CodebaseInfo> {
    if (idOrName.startsWith('cb_') && /^cb_[a-z0-9]+$/.test(idOrName)) {
      const info = await this.readMeta(idOrName);
      if (info) return info;
    }
    const found = (await this.list()).find((c) => c.name === idOrName);
    if (!found) throw new CodebaseNotFoundError(idOrName);
    return found;
  }

  /** Copies a directory of the server host in as a new codebase. */
  async addDirectory(hostPath: string, name: string): Promise<CodebaseInfo> {
    if (!hostPath.startsWith('/')) throw new BadRequestError('The directory must be an absolute path on the server host.', { field: 'path' });
    if (!(await lstat(hostPath).catch(() => undefined))?.isDirectory()) throw new BadRequestError('The directory does not exist on the server host.', { field: 'path' });
    return this.add(name, async (tree) => {
      await run(['cp', '-a', '--reflink=auto', '--no-preserve=ownership', `${hostPath}/.`, tree], 'Copying the directory');
    });
  }

  /** Unpacks a tar stream (optionally gzip'd) as a new codebase. */
  async addTar(name: string, data: AsyncIterable<Uint8Array>): Promise<CodebaseInfo> {
    return this.add(name, async (tree) => {
      await chown(tree, NOBODY, NOBODY);
      await run(['tar', '-x', '-a', '--no-same-owner', '--no-same-permissions', '--delay-directory-restore', '-f', '-', '-C', tree], 'Unpacking the archive', { uid: NOBODY, gid: NOBODY, stdin: data });
    });
  }

  private async add(name: string, fill: (tree: string) => Promise<void>): Promise<CodebaseInfo> {
    if (!CODEBASE_NAME.test(name)) throw new BadRequestError('A codebase name is 1-63 characters: lower-case letters, digits, ".", "_" and "-", starting with a letter or digit.', { field: 'name' });
    if ((await this.list()).some((c) => c.name === name)) throw new BadRequestError(`A codebase named "${name}" already exists.`, { field: 'name' });
    await mkdir(this.root, { recursive: true, mode: 0o711 });
    const id = `cb_${randomBytes(10).toString('hex')}`;
    const staging = join(this.root, `.staging-${id}`);
    const tree = join(staging, 'tree');
    try {
      await mkdir(staging, { mode: 0o711 });
      await mkdir(tree, { mode: 0o755 });
      await fill(tree);
      await normaliseTree(tree);
      const now = new Date().toISOString();
      const info: CodebaseInfo = { id, name, ...(await measure(tree)), createdAt: now, updatedAt: now };
      await writeFile(join(staging, 'meta.json'), JSON.stringify(info), { mode: 0o600 });
      await rename(staging, this.dir(id));
      return info;
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
  }

  async delete(idOrName: string): Promise<void> {
    const info = await this.get(idOrName);
    await rm(this.dir(info.id), { recursive: true, force: true });
  }

  async listFiles(idOrName: string, path: string, depth = 1): Promise<FileEntry[]> {
    const info = await this.get(idOrName);
    return listSandboxDir(this.confined(info.id), path, depth);
  }

  async stat(idOrName: string, path: string): Promise<FileEntry> {
    const info = await this.get(idOrName);
    return statSandboxPath(this.confined(info.id), path);
  }

  async readFile(idOrName: string, path: string): Promise<AsyncIterable<Uint8Array>> {
    const info = await this.get(idOrName);
    return readSandboxFile(this.confined(info.id), path);
  }

  async writeFile(idOrName: string, path: string, data: Uint8Array | AsyncIterable<Uint8Array>, mode?: number): Promise<FileEntry> {
    const info = await this.get(idOrName);
    const entry = await writeSandboxFile(this.confined(info.id), path, data, mode);
    await this.touch(info.id);
    return entry;
  }

  async mkdir(idOrName: string, path: string): Promise<FileEntry> {
    const info = await this.get(idOrName);
    const entry = await makeDir(this.confined(info.id), path, true);
    await this.touch(info.id);
    return entry;
  }

  async removeFile(idOrName: string, path: string): Promise<void> {
    const info = await this.get(idOrName);
    await removeSandboxPath(this.confined(info.id), path, true);
    await this.touch(info.id);
  }

  /** The whole tree as a tar stream (owner root, numeric). */
  async exportTar(idOrName: string): Promise<AsyncIterable<Uint8Array>> {
    const info = await this.get(idOrName);
    const child = spawn('tar', ['-c', '--numeric-owner', '--owner=0', '--group=0', '-f', '-', '-C', this.treePath(info.id), '.'], { stdio: ['ignore', 'pipe', 'ignore'] });
    return child.stdout as Readable;
  }

  /** Recomputes size and count and bumps `updatedAt` (after a write or a commit). */
  async touch(id: string): Promise<CodebaseInfo> {
    const info = await this.readMeta(id);
    if (!info) throw new CodebaseNotFoundError(id);
    const next = { ...info, ...(await measure(this.treePath(id))), updatedAt: new Date().toISOString() };
    await writeFile(join(this.dir(id), 'meta.json'), JSON.stringify(next), { mode: 0o600 });
    return next;
  }

  private async readMeta(id: string): Promise<CodebaseInfo | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir(id), 'meta.json'), 'utf8')) as CodebaseInfo;
    } catch {
      return undefined;
    }
  }
}

/**
 * Gives every entry to the sandbox's root and keeps only files, directories and links (devices,
 * fifos and sockets are dropped); setuid/setgid bits are cleared.
 */
async function normaliseTree(tree: string): Promise<void> {
  const stack = [tree];
  while (stack.length) {
    const path = stack.pop()!;
    const st = await lstat(path);
    if (!st.isFile() && !st.isDirectory() && !st.isSymbolicLink()) {
      await rm(path, { force: true });
      continue;
    }
    await lchown(path, CODEBASE_OWNER, CODEBASE_OWNER);
    if (!st.isSymbolicLink()) await chmod(path, (st.mode & 0o777) | (st.isDirectory() ? 0o700 : 0o600));
    if (st.isDirectory()) for (const name of await readdir(path)) stack.push(join(path, name));
  }
}

async function measure(tree: string): Promise<{ sizeBytes: number; fileCount: number }> {
  let sizeBytes = 0;
  let fileCount = 0;
  const stack = [tree];
  while (stack.length) {
    const path = stack.pop()!;
    const st = await lstat(path);
    if (path !== tree) fileCount++;
    if (st.isFile()) sizeBytes += st.size;
    if (st.isDirectory()) for (const name of await readdir(path)) stack.push(join(path, name));
  }
  return { sizeBytes, fileCount };
}

function run(argv: string[], what: string, options: { uid?: number; gid?: number; stdin?: AsyncIterable<Uint8Array> } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: [options.stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'], cwd: '/', ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid! } : {}) });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    if (options.stdin) {
      const input = Readable.from(options.stdin);
      input.on('error', (err) => child.kill() && reject(err));
      input.pipe(child.stdin!);
      child.stdin!.on('error', () => undefined);
    }
    child.on('error', (err) => reject(new BackendFailureError(`${what} failed: ${(err as NodeJS.ErrnoException).code ?? 'spawn error'}.`, undefined, { cause: err })));
    child.on('close', (code) => {
      if (code === 0) return resolve();
      // tar's messages name archive members, never host paths outside the staging dir.
      const reason = stderr.split('\n').find((l) => l.trim() && !l.includes('/var/') && !l.includes('/tmp/')) ?? '';
      reject(new BadRequestError(`${what} failed (exit code ${code})${reason ? `: ${reason.slice(0, 200)}` : ''}.`));
    });
  });
}
