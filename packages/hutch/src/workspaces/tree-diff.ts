/**
 * What differs between a reference tree and the sandbox's current tree, as added / modified /
 * deleted paths, with a unified diff for text files. The overlay's upper layer tells where to
 * look (every path that differs from the base has an entry there); the trees themselves decide.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorkspaceChange } from '../domain/workspace.js';
import type { TreeNode, TreeView } from './tree-view.js';

/** A change plus both nodes (for revert and commit). */
export interface ChangeDetail extends WorkspaceChange {
  before: TreeNode | undefined;
  after: TreeNode | undefined;
}

/** Files larger than this get no text diff. */
export const MAX_DIFF_INPUT_BYTES = 1024 * 1024;
/** Diffs longer than this are cut (with a marker line). */
export const MAX_DIFF_BYTES = 256 * 1024;

function join2(rel: string, name: string): string {
  return rel ? `${rel}/${name}` : name;
}

/** Compares `before` and `after` at `candidates` (relative paths) and below where needed. */
export async function diffTrees(before: TreeView, after: TreeView, candidates: Iterable<string>): Promise<ChangeDetail[]> {
  const out = new Map<string, ChangeDetail>();
  const seen = new Set<string>();
  const record = (path: string, kind: WorkspaceChange['kind'], b: TreeNode | undefined, a: TreeNode | undefined) => {
    const node = (a ?? b)!;
    out.set(path, { path, kind, type: node.type, size: a ? a.size : null, previousSize: b ? b.size : null, before: b, after: a });
  };
  const visit = async (rel: string): Promise<void> => {
    if (seen.has(rel)) return;
    seen.add(rel);
    const b = await before.stat(rel);
    const a = await after.stat(rel);
    if (!b && !a) return;
    if (!b) {
      if (rel) record(rel, 'added', b, a);
      if (a!.type === 'dir') for (const n of await after.list(rel)) await visit(join2(rel, n));
      return;
    }
    if (!a) {
      if (rel) record(rel, 'deleted', b, a);
      if (b.type === 'dir') for (const n of await before.list(rel)) await visit(join2(rel, n));
      return;
    }
    if (a.type !== b.type) {
      record(rel, 'modified', b, a);
      if (b.type === 'dir') for (const n of await before.list(rel)) await visit(join2(rel, n));
      if (a.type === 'dir') for (const n of await after.list(rel)) await visit(join2(rel, n));
      return;
    }
    if (a.type === 'file') {
      if (a.mode !== b.mode || a.size !== b.size || !(await before.read(rel)).equals(await after.read(rel))) record(rel, 'modified', b, a);
    } else if (a.type === 'symlink') {
      if (a.target !== b.target) record(rel, 'modified', b, a);
    } else {
      // Names on one side only (an opaque or renamed directory hides them from the upper layer).
      const beforeNames = new Set(await before.list(rel));
      const afterNames = new Set(await after.list(rel));
      for (const n of new Set([...beforeNames, ...afterNames])) if (!(beforeNames.has(n) && afterNames.has(n))) await visit(join2(rel, n));
    }
  };
  const sorted = [...new Set(candidates)].sort();
  for (const rel of sorted) {
    // Parents first: a candidate under a path that is gone or changed type is handled by its parent.
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) await visit(parts.slice(0, i).join('/'));
  }
  return [...out.values()].sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

function isText(data: Buffer): boolean {
  return !data.subarray(0, 8192).includes(0);
}

/** Adds `diff` (unified, `a/`/`b/` labels) to text file changes. `tmpDir` holds scratch files. */
export async function addTextDiffs(changes: ChangeDetail[], before: TreeView, after: TreeView, tmpDir: string): Promise<void> {
  const scratch = await mkdtemp(join(tmpDir, 'diff-'));
  try {
    for (const c of changes) {
      const b = c.before?.type === 'file' ? c.before : undefined;
      const a = c.after?.type === 'file' ? c.after : undefined;
      if (!a && !b) continue;
      if ((a?.size ?? 0) > MAX_DIFF_INPUT_BYTES || (b?.size ?? 0) > MAX_DIFF_INPUT_BYTES) continue;
      const left = b ? await before.read(c.path) : Buffer.alloc(0);
      const right = a ? await after.read(c.path) : Buffer.alloc(0);
      if (!isText(left) || !isText(right) || left.equals(right)) continue;
      await writeFile(join(scratch, 'a'), left);
      await writeFile(join(scratch, 'b'), right);
      const text = await unifiedDiff(join(scratch, 'a'), join(scratch, 'b'), b ? `a/${c.path}` : '/dev/null', a ? `b/${c.path}` : '/dev/null');
      c.diff = text.length > MAX_DIFF_BYTES ? `${text.slice(0, MAX_DIFF_BYTES)}\n\\ diff cut at ${MAX_DIFF_BYTES} bytes\n` : text;
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function unifiedDiff(left: string, right: string, leftLabel: string, rightLabel: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('diff', ['-u', '--label', leftLabel, '--label', rightLabel, left, right], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      // diff exits 1 when the files differ.
      if (err && (err as { code?: unknown }).code !== 1) return reject(err);
      resolve(stdout);
    });
  });
}
