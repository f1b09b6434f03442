/**
 * Per-sandbox workspaces under `<dataDir>/workspaces/<sandboxId>`:
 * - `base/`: the visible part of the codebase as the rules allow it when the sandbox is created
 *   (hard links to the codebase's files, or copies across filesystems; `view` files are stand-ins
 *   nobody in the sandbox may open). Hidden entries are simply absent, so later changes to the
 *   codebase (other sandboxes' commits) never show the sandbox something its rules hide.
 * - `upper/`, `work/`, `merged/`: an overlay with `base` below; the sandbox's writes land in
 *   `upper` (copy-on-write), `merged` is what the backend binds into the sandbox (see layout.ts).
 * - `checkpoints/<name>/`: what differed from `base` at that time (`manifest.json` + `blobs/`).
 * - `meta.json`: codebase, rules, and the reference `changes` and `revert` use by default (the
 *   last commit, or the start).
 */
import { randomBytes } from 'node:crypto';
import { chmod, chown, copyFile, lchown, link, lstat, mkdir, readdir, readFile, readlink, rename, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { BadRequestError, NotFoundError } from '../domain/errors.js';
import type { CheckpointInfo, CommitResult, WorkspaceChange, WorkspaceMounts, WorkspaceRequest } from '../domain/workspace.js';
import { mountOverlay, unmountOverlay } from '../host/overlay.js';
import { placeAt, removeAt } from './apply.js';
import { CODEBASE_OWNER, type CodebaseStore } from './codebase-store.js';
import { planLayout, type TreeEntry } from './layout.js';
import { checkRule, compileRules, effectiveRules, levelOf, type PermissionRule } from './rules.js';
import { addTextDiffs, diffTrees, type ChangeDetail } from './tree-diff.js';
import { hostView, referenceView, type Manifest, type ManifestEntry } from './tree-view.js';

interface WorkspaceMeta {
  sandboxId: string;
  codebaseId: string;
  path: string;
  rules: PermissionRule[];
  createdAt: string;
  /** Checkpoint that `changes`/`revert` compare with by default (null: the start). */
  ref: string | null;
  commits: number;
}

export const CHECKPOINT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export interface ChangesOptions {
  /** A checkpoint name, or `start`; default: the last commit, or the start. */
  since?: string;
  /** Include unified diffs of text files (default true). */
  diff?: boolean;
}

export class WorkspaceManager {
  readonly root: string;

  constructor(dataDir: string, readonly codebases: CodebaseStore) {
    this.root = join(dataDir, 'workspaces');
  }

  private paths(sandboxId: string) {
    const dir = join(this.root, sandboxId);
    return { dir, base: join(dir, 'base'), upper: join(dir, 'upper'), work: join(dir, 'work'), merged: join(dir, 'merged'), checkpoints: join(dir, 'checkpoints'), tmp: join(dir, 'tmp'), meta: join(dir, 'meta.json') };
  }

  /** Builds the sandbox's base tree and overlay; returns the binds the backend mounts. */
  async prepare(sandboxId: string, request: WorkspaceRequest): Promise<WorkspaceMounts> {
    const path = posix.normalize(request.path ?? '/workspace');
    if (!path.startsWith('/') || path === '/' || path.split('/').includes('..')) throw new BadRequestError('workspace.path must be an absolute path other than /.', { field: 'workspace.path' });
    const rules = effectiveRules(request);
    for (const rule of rules) {
      const problem = checkRule(rule);
      if (problem) throw new BadRequestError(`workspace.rules: ${problem}.`, { field: 'workspace.rules' });
    }
    const codebase = await this.codebases.get(request.codebase);
    const tree = this.codebases.treePath(codebase.id);
    const layout = planLayout(await walkTree(tree), compileRules(rules));
    const p = this.paths(sandboxId);
    await mkdir(this.root, { recursive: true, mode: 0o711 });
    await mkdir(p.dir, { mode: 0o711 });
    for (const d of [p.checkpoints, p.tmp, p.work]) await mkdir(d, { mode: 0o700 });
    const rootStat = await lstat(tree);
    for (const d of [p.base, p.upper, p.merged]) {
      await mkdir(d, { mode: rootStat.mode & 0o777 });
      await chown(d, CODEBASE_OWNER, CODEBASE_OWNER);
    }
    for (const e of layout.entries) await placeBaseEntry(tree, p.base, e.path, e.type, e.placeholder);
    const meta: WorkspaceMeta = { sandboxId, codebaseId: codebase.id, path, rules, createdAt: new Date().toISOString(), ref: null, commits: 0 };
    await writeFile(p.meta, JSON.stringify(meta), { mode: 0o600 });
    await mountOverlay(p.base, { upper: p.upper, work: p.work, merged: p.merged });
    return {
      path,
      mounts: layout.mounts.map((m) => ({ path: m.path ? posix.join(path, m.path) : path, hostPath: m.path ? join(p.merged, m.path) : p.merged, writable: m.writable })),
    };
  }

  /** True when the sandbox has a workspace. */
  async has(sandboxId: string): Promise<boolean> {
    return (await this.readMeta(sandboxId)) !== undefined;
  }

  /** Unmounts and removes a sandbox's workspace (nothing to do when it has none). */
  async release(sandboxId: string): Promise<boolean> {
    const p = this.paths(sandboxId);
    if (!(await lstat(p.dir).catch(() => undefined))) return true;
    if (!(await unmountOverlay({ merged: p.merged }))) return false;
    await rm(p.dir, { recursive: true, force: true });
    return true;
  }

  /** After a restart: releases workspaces of sandboxes that are gone, remounts the others. */
  async reconcile(liveIds: ReadonlySet<string>): Promise<void> {
    for (const id of await readdir(this.root).catch(() => [] as string[])) {
      if (!liveIds.has(id)) await this.release(id);
      else {
        const p = this.paths(id);
        await mountOverlay(p.base, { upper: p.upper, work: p.work, merged: p.merged });
      }
    }
  }

  /** Changes since `since` (see `ChangesOptions`), sorted by path. */
  async changes(sandboxId: string, options: ChangesOptions = {}): Promise<WorkspaceChange[]> {
    const meta = await this.meta(sandboxId);
    const { details, reference } = await this.compare(meta, options.since === undefined ? meta.ref : options.since === 'start' ? null : options.since);
    if (options.diff !== false) await addTextDiffs(details, reference, hostView(this.paths(sandboxId).merged), this.paths(sandboxId).tmp);
    return details.map(({ before: _b, after: _a, ...change }) => change);
  }

  /** Records the current state under `name` (replacing a checkpoint of that name). */
  async checkpoint(sandboxId: string, name: string): Promise<CheckpointInfo> {
    if (!CHECKPOINT_NAME.test(name) || name === 'start') throw new BadRequestError('A checkpoint name is 1-63 letters, digits, ".", "_" or "-" (and not "start").', { field: 'name' });
    const meta = await this.meta(sandboxId);
    return this.record(meta, name);
  }

  async checkpoints(sandboxId: string): Promise<CheckpointInfo[]> {
    await this.meta(sandboxId);
    const p = this.paths(sandboxId);
    const infos: CheckpointInfo[] = [];
    for (const name of await readdir(p.checkpoints)) {
      if (name.startsWith('@')) continue;
      const info = JSON.parse(await readFile(join(p.checkpoints, name, 'info.json'), 'utf8')) as CheckpointInfo;
      infos.push(info);
    }
    return infos.sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
  }

  /**
   * Brings paths back to a checkpoint (default: the last commit, or the start). `paths` limits it
   * to those paths and what is below them; none means all. Returns what was reverted.
   */
  async revert(sandboxId: string, options: { paths?: string[]; to?: string } = {}): Promise<WorkspaceChange[]> {
    const meta = await this.meta(sandboxId);
    const merged = this.paths(sandboxId).merged;
    const { details, reference } = await this.compare(meta, options.to === undefined ? meta.ref : options.to === 'start' ? null : options.to);
    const chosen = details.filter((c) => selected(c.path, options.paths));
    for (const c of chosen) if (c.kind === 'added' || (c.kind === 'modified' && c.before?.type !== c.after?.type)) await removeAt(merged, c.path);
    for (const c of chosen) if (c.before) await placeAt(merged, c.path, c.before, () => reference.read(c.path), false);
    return chosen.map(({ before: _b, after: _a, ...change }) => change);
  }

  /**
   * Writes the changes since the last commit (or the start) to the codebase, last writer wins:
   * only paths whose rule level is `write` (others are reported skipped); nothing else in the
   * codebase is touched. Files are written beside and renamed over. Afterwards `changes` compares
   * with this commit.
   */
  async commit(sandboxId: string, options: { paths?: string[] } = {}): Promise<CommitResult> {
    const meta = await this.meta(sandboxId);
    const codebase = await this.codebases.get(meta.codebaseId);
    const tree = this.codebases.treePath(codebase.id);
    const merged = hostView(this.paths(sandboxId).merged);
    const { details } = await this.compare(meta, meta.ref);
    const rules = compileRules(meta.rules);
    const result: CommitResult = { committed: [], skipped: [] };
    const done: ChangeDetail[] = [];
    for (const c of details) {
      if (!selected(c.path, options.paths)) continue;
      const level = levelOf(rules, c.path);
      if (level !== 'write') {
        result.skipped.push({ path: c.path, reason: `the rules give this path "${level}", not "write"` });
        continue;
      }
      if (c.kind === 'deleted' || c.before?.type !== c.after?.type) await removeAt(tree, c.path);
      if (c.after) await placeAt(tree, c.path, c.after, () => merged.read(c.path), true);
      result.committed.push(c.path);
      done.push(c);
    }
    await this.codebases.touch(codebase.id);
    meta.commits++;
    const ref = `@commit-${meta.commits}`;
    await this.record(meta, ref, { from: meta.ref, only: done });
    meta.ref = ref;
    await writeFile(this.paths(sandboxId).meta, JSON.stringify(meta), { mode: 0o600 });
    return result;
  }

  /** Codebase id and sandbox path of a sandbox's workspace (throws when it has none). */
  async describe(sandboxId: string): Promise<{ codebaseId: string; path: string; rules: PermissionRule[]; ref: string | null }> {
    const meta = await this.meta(sandboxId);
    return { codebaseId: meta.codebaseId, path: meta.path, rules: meta.rules, ref: meta.ref };
  }

  private async compare(meta: WorkspaceMeta, ref: string | null): Promise<{ details: ChangeDetail[]; reference: ReturnType<typeof referenceView> }> {
    const p = this.paths(meta.sandboxId);
    const manifest = ref === null ? undefined : await this.manifest(meta.sandboxId, ref);
    const reference = referenceView(p.base, manifest, ref === null ? undefined : join(p.checkpoints, ref, 'blobs'));
    const candidates = [...(await upperPaths(p.upper)), ...Object.keys(manifest?.entries ?? {})];
    return { details: await diffTrees(reference, hostView(p.merged), candidates), reference };
  }

  /**
   * Writes checkpoint `name`: the current tree, or (`partial`) checkpoint `from` with only the
   * `only` changes applied (a commit's reference keeps what was not committed as a change).
   */
  private async record(meta: WorkspaceMeta, name: string, partial?: { from: string | null; only: ChangeDetail[] }): Promise<CheckpointInfo> {
    const p = this.paths(meta.sandboxId);
    const details = partial ? partial.only : (await this.compare(meta, null)).details;
    const previous = partial?.from ? await this.manifest(meta.sandboxId, partial.from) : undefined;
    const current = hostView(p.merged);
    const staging = join(p.checkpoints, `.staging-${randomBytes(4).toString('hex')}`);
    await mkdir(join(staging, 'blobs'), { recursive: true, mode: 0o700 });
    const entries: Record<string, ManifestEntry> = {};
    let n = 0;
    for (const [path, e] of Object.entries(previous?.entries ?? {})) {
      if (e.state === 'present' && e.blob !== undefined) {
        const blob = String(n++);
        await copyFile(join(p.checkpoints, partial!.from!, 'blobs', e.blob), join(staging, 'blobs', blob));
        entries[path] = { ...e, blob };
      } else entries[path] = e;
    }
    for (const c of details) {
      if (!c.after) {
        entries[c.path] = { state: 'absent' };
        continue;
      }
      const entry: ManifestEntry = { state: 'present', ...c.after };
      if (c.after.type === 'file') {
        entry.blob = String(n++);
        await writeFile(join(staging, 'blobs', entry.blob), await current.read(c.path), { mode: 0o600 });
      }
      entries[c.path] = entry;
    }
    const info: CheckpointInfo = { name, createdAt: new Date().toISOString(), changeCount: Object.keys(entries).length };
    await writeFile(join(staging, 'manifest.json'), JSON.stringify({ entries } satisfies Manifest));
    await writeFile(join(staging, 'info.json'), JSON.stringify(info));
    await rm(join(p.checkpoints, name), { recursive: true, force: true });
    await rename(staging, join(p.checkpoints, name));
    return info;
  }

  private async manifest(sandboxId: string, name: string): Promise<Manifest> {
    try {
      return JSON.parse(await readFile(join(this.paths(sandboxId).checkpoints, name, 'manifest.json'), 'utf8')) as Manifest;
    } catch {
      throw new NotFoundError(`Checkpoint "${name}" was not found in sandbox ${sandboxId}.`, { checkpoint: name });
    }
  }

  private async readMeta(sandboxId: string): Promise<WorkspaceMeta | undefined> {
    try {
      return JSON.parse(await readFile(this.paths(sandboxId).meta, 'utf8')) as WorkspaceMeta;
    } catch {
      return undefined;
    }
  }

  private async meta(sandboxId: string): Promise<WorkspaceMeta> {
    const meta = await this.readMeta(sandboxId);
    if (!meta) throw new NotFoundError(`Sandbox ${sandboxId} has no workspace. Create it with a workspace to use changes, checkpoints, revert and commit.`, { sandboxId });
    return meta;
  }
}

function selected(path: string, paths: string[] | undefined): boolean {
  if (!paths || paths.length === 0) return true;
  return paths.some((q) => {
    const p = q.replace(/^\/+/, '').replace(/\/+$/, '');
    return p === '' || path === p || path.startsWith(`${p}/`);
  });
}

/** Every entry of a codebase tree, parents first, links not followed. */
export async function walkTree(root: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const d of (await readdir(rel ? join(root, rel) : root, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = rel ? `${rel}/${d.name}` : d.name;
      const type = d.isFile() ? 'file' : d.isDirectory() ? 'dir' : d.isSymbolicLink() ? 'symlink' : 'other';
      out.push({ path, type, size: type === 'file' ? (await lstat(join(root, path))).size : 0 });
      if (type === 'dir') await walk(path);
    }
  };
  await walk('');
  return out;
}

/** Relative paths of every entry in the upper layer (whiteouts included): where changes can be. */
async function upperPaths(upper: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(rel ? join(upper, rel) : upper, { withFileTypes: true }).catch(() => []);
    for (const d of entries) {
      const path = rel ? `${rel}/${d.name}` : d.name;
      out.push(path);
      if (d.isDirectory()) await walk(path);
    }
  };
  await walk('');
  return out;
}

/** One entry of the base tree: a directory, a hard link (or copy), a link, or a `view` stand-in. */
async function placeBaseEntry(tree: string, base: string, rel: string, type: 'file' | 'dir' | 'symlink', placeholder: boolean): Promise<void> {
  const src = join(tree, rel);
  const dst = join(base, rel);
  const st = await lstat(src);
  if (type === 'dir') {
    await mkdir(dst, { mode: st.mode & 0o7777 });
    await chmod(dst, st.mode & 0o7777);
    await chown(dst, st.uid, st.gid);
  } else if (type === 'symlink') {
    await symlink(await readlink(src), dst);
    await lchown(dst, st.uid, st.gid);
  } else if (placeholder) {
    // Owned by host root (outside the sandbox's id range) with no permission bits: listed with its
    // size, but the sandbox cannot open it (it has no capability over ids it does not map).
    await writeFile(dst, '', { mode: 0 });
    await truncate(dst, st.size);
    await chmod(dst, 0);
  } else {
    await link(src, dst).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EXDEV') throw err;
      await copyFile(src, dst);
      await chown(dst, st.uid, st.gid);
      await chmod(dst, st.mode & 0o7777);
    });
  }
}
