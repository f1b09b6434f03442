/**
 * The fake backend's in-memory filesystem: one per sandbox, JSON-serialisable so that a fake world
 * can be persisted and shared. Symlinks resolve inside the sandbox (absolute targets are taken from
 * the sandbox root), so nothing can point outside it.
 */
import { AlreadyExistsError, BadRequestError, FileNotFoundError } from '../../domain/errors.js';
import type { FileEntry, FileEvent } from '../../domain/files.js';
import { normalizeSandboxPath, sandboxBasename, sandboxDirname } from '../../port/sandbox-path.js';

export interface FakeNode {
  type: 'file' | 'dir' | 'symlink';
  /** base64 file content */
  data?: string;
  target?: string;
  mode: number;
  mtime: string;
}

export type FakeTree = Record<string, FakeNode>;

export function emptyTree(now: string): FakeTree {
  const dir = (): FakeNode => ({ type: 'dir', mode: 0o755, mtime: now });
  return { '/': dir(), '/workspace': dir(), '/tmp': { type: 'dir', mode: 0o1777, mtime: now }, '/etc': dir() };
}

export class FakeFs {
  constructor(
    readonly tree: FakeTree,
    private readonly now: () => string,
    private readonly onEvent: (event: FileEvent) => void,
  ) {}

  /** Resolves symlinks in every component, inside the sandbox. Throws FileNotFoundError. */
  resolve(path: string, followLast = true, depth = 0): string {
    if (depth > 40) throw new BadRequestError(`Too many levels of symbolic links at ${path}.`);
    const parts = normalizeSandboxPath(path).split('/').filter(Boolean);
    let current = '/';
    for (let i = 0; i < parts.length; i++) {
      const next = current === '/' ? `/${parts[i]}` : `${current}/${parts[i]}`;
      const node = this.tree[next];
      const isLast = i === parts.length - 1;
      if (node?.type === 'symlink' && (!isLast || followLast)) {
        const target = node.target!.startsWith('/') ? node.target! : `${current}/${node.target}`;
        current = this.resolve(safeNormalize(target), true, depth + 1);
      } else current = next;
    }
    return current;
  }

  node(path: string): FakeNode {
    const node = this.tree[this.resolve(path)];
    if (!node) throw new FileNotFoundError(path);
    return node;
  }

  entry(path: string, resolved = this.resolve(path, false)): FileEntry {
    const node = this.tree[resolved];
    if (!node) throw new FileNotFoundError(path);
    const entry: FileEntry = {
      name: sandboxBasename(resolved),
      path: resolved,
      type: node.type,
      size: node.type === 'file' ? Buffer.from(node.data ?? '', 'base64').length : 0,
      mode: node.mode,
      modifiedAt: node.mtime,
    };
    if (node.target !== undefined) entry.symlinkTarget = node.target;
    return entry;
  }

  read(path: string): Buffer {
    const node = this.node(path);
    if (node.type !== 'file') throw new BadRequestError(`${path} is a directory, not a file.`);
    return Buffer.from(node.data ?? '', 'base64');
  }

  write(path: string, data: Buffer, mode = 0o644, parents = true): FileEntry {
    const target = this.resolve(path);
    const parent = sandboxDirname(target);
    if (!this.tree[parent]) {
      if (!parents) throw new FileNotFoundError(parent);
      this.mkdir(parent, true);
    }
    if (this.tree[parent]!.type !== 'dir') throw new BadRequestError(`${parent} is not a directory.`);
    const existed = this.tree[target];
    if (existed?.type === 'dir') throw new BadRequestError(`${path} is a directory.`);
    this.tree[target] = { type: 'file', data: data.toString('base64'), mode: existed?.mode ?? mode, mtime: this.now() };
    this.onEvent({ type: existed ? 'write' : 'create', path: target });
    return this.entry(target, target);
  }

  mkdir(path: string, parents: boolean): FileEntry {
    const target = this.resolve(path);
    if (this.tree[target]) {
      if (parents && this.tree[target]!.type === 'dir') return this.entry(target, target);
      throw new AlreadyExistsError(`${path}`, { path });
    }
    const parent = sandboxDirname(target);
    if (!this.tree[parent]) {
      if (!parents) throw new FileNotFoundError(parent);
      this.mkdir(parent, true);
    }
    this.tree[target] = { type: 'dir', mode: 0o755, mtime: this.now() };
    this.onEvent({ type: 'create', path: target });
    return this.entry(target, target);
  }

  symlink(target: string, link: string): void {
    const at = this.resolve(link, false);
    if (this.tree[at]) throw new AlreadyExistsError(link, { path: link });
    this.tree[at] = { type: 'symlink', target, mode: 0o777, mtime: this.now() };
    this.onEvent({ type: 'create', path: at });
  }

  list(path: string, depth: number): FileEntry[] {
    const dir = this.resolve(path);
    if (this.tree[dir]?.type !== 'dir') throw new FileNotFoundError(path);
    const prefix = dir === '/' ? '/' : `${dir}/`;
    return Object.keys(this.tree)
      .filter((p) => p !== dir && p.startsWith(prefix) && p.slice(prefix.length).split('/').length <= depth)
      .sort()
      .map((p) => this.entry(p, p));
  }

  move(from: string, to: string): FileEntry {
    const src = this.resolve(from, false);
    if (!this.tree[src]) throw new FileNotFoundError(from);
    const dst = this.resolve(to, false);
    if (!this.tree[sandboxDirname(dst)]) throw new FileNotFoundError(sandboxDirname(to));
    for (const p of Object.keys(this.tree)) {
      if (p === src || p.startsWith(`${src}/`)) {
        this.tree[dst + p.slice(src.length)] = this.tree[p]!;
        delete this.tree[p];
      }
    }
    this.onEvent({ type: 'rename', path: dst });
    return this.entry(dst, dst);
  }

  remove(path: string, recursive: boolean): void {
    const target = this.resolve(path, false);
    if (!this.tree[target]) throw new FileNotFoundError(path);
    if (target === '/') throw new BadRequestError('Refusing to remove the sandbox root.');
    const children = Object.keys(this.tree).filter((p) => p.startsWith(`${target}/`));
    if (children.length > 0 && !recursive) throw new BadRequestError(`${path} is a non-empty directory; pass recursive to remove it.`);
    for (const p of [target, ...children]) delete this.tree[p];
    this.onEvent({ type: 'remove', path: target });
  }
}

/** Normalises a symlink target; `..` inside a link target is clamped at the sandbox root. */
function safeNormalize(target: string): string {
  const parts: string[] = [];
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}
