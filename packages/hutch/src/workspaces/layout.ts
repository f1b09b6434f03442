/**
 * Pure planning of a workspace's layout: which entries of a codebase a sandbox's base tree holds,
 * and which bind mounts make them read-only or writable. The kernel enforces the result: hidden
 * entries are simply not in the base tree (so `ls`, `stat` and `open` fail with ENOENT, and no
 * `..` or symlink can reach them), `read` entries sit under read-only binds, `write` entries under
 * writable ones, and writes land in the sandbox's overlay upper layer, never in the codebase.
 *
 * Granularity (a property of mounts): a writable directory lets the sandbox create, rename and
 * delete entries in it; a `write` file inside a read-only directory can be rewritten in place but
 * not renamed or deleted; a `read` file inside a writable directory is its own read-only bind, so
 * it cannot be written, renamed or deleted. A directory that rules hide but that holds something a
 * more specific rule shows is kept (read-only), holding only what is shown.
 */
import { levelOf, type CompiledRule, type PermissionLevel } from './rules.js';

/** One entry of a codebase, as a walk (parents before children) reports it. */
export interface TreeEntry {
  /** Relative path, `/`-separated, no leading `/`. */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
}

/** An entry of the sandbox's base tree. */
export interface LayoutEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  level: Exclude<PermissionLevel, 'none'>;
  /** `view` files: a same-size file nobody in the sandbox may open stands in for the real one. */
  placeholder: boolean;
}

/** A bind over the workspace (`''` is the workspace root), in mount order (parents first). */
export interface LayoutMount {
  path: string;
  writable: boolean;
}

export interface WorkspaceLayout {
  rootLevel: PermissionLevel;
  entries: LayoutEntry[];
  mounts: LayoutMount[];
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export function planLayout(tree: readonly TreeEntry[], rules: readonly CompiledRule[]): WorkspaceLayout {
  const levels = new Map<string, PermissionLevel>();
  for (const e of tree) levels.set(e.path, e.type === 'other' ? 'none' : levelOf(rules, e.path));
  // A directory holding something visible is kept, whatever its own level.
  const keep = new Set<string>();
  for (let i = tree.length - 1; i >= 0; i--) {
    const e = tree[i]!;
    if (levels.get(e.path) !== 'none' || keep.has(e.path)) {
      keep.add(e.path);
      for (let p = parentOf(e.path); p !== ''; p = parentOf(p)) {
        if (keep.has(p)) break;
        keep.add(p);
      }
    }
  }
  const rootLevel = levelOf(rules, '');
  const rootWritable = rootLevel === 'write';
  const entries: LayoutEntry[] = [];
  const mounts: LayoutMount[] = [{ path: '', writable: rootWritable }];
  const writableOf = new Map<string, boolean>([['', rootWritable]]);
  const sorted = [...tree].filter((e) => keep.has(e.path) && e.type !== 'other').sort((a, b) => depth(a.path) - depth(b.path) || (a.path < b.path ? -1 : 1));
  const included = new Set<string>(['']);
  for (const e of sorted) {
    if (!included.has(parentOf(e.path))) continue;
    included.add(e.path);
    const own = levels.get(e.path)!;
    const level: LayoutEntry['level'] = own === 'none' ? 'read' : own;
    const type = e.type as LayoutEntry['type'];
    entries.push({ path: e.path, type, level, placeholder: level === 'view' && type === 'file' });
    const inherited = writableOf.get(parentOf(e.path))!;
    const writable = level === 'write';
    if (type === 'symlink') continue; // a link is changed through its directory
    if (writable !== inherited) mounts.push({ path: e.path, writable });
    if (type === 'dir') writableOf.set(e.path, writable);
  }
  return { rootLevel, entries, mounts };
}

function depth(path: string): number {
  return path.split('/').length;
}
