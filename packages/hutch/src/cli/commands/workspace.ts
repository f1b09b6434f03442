/**
 * Workspace commands of a sandbox created with `--codebase` (docs/workspaces.md): `changes` (what
 * the sandbox added, modified or deleted, `--diff` for unified diffs; `diff` is the same with
 * diffs), `checkpoint`, `checkpoints`, `revert` (paths or `--all`, to the last commit, `start` or
 * a checkpoint) and `commit` (back to the codebase; only `write` paths, last writer wins).
 */
import type { PermissionLevel, PermissionRule, WorkspaceChange, WorkspacePreset, WorkspaceRequest } from '@hutch/sdk';
import { Option, type Command } from 'commander';
import { openSandbox } from '../context.js';
import { UsageError } from '../errors.js';
import { formatAge, formatBytes, printJson, printTable, writeAll } from '../output.js';

const MARK = { added: 'A', modified: 'M', deleted: 'D' } as const;

/** `M  src/main.py  27 B -> 28 B` per change, then the diffs when asked. */
async function printChanges(changes: WorkspaceChange[], withDiff: boolean): Promise<void> {
  const size = (n: number | null) => (n === null ? '-' : formatBytes(n));
  for (const c of changes) {
    const sizes = c.kind === 'modified' ? `${size(c.previousSize)} -> ${size(c.size)}` : size(c.kind === 'deleted' ? c.previousSize : c.size);
    await writeAll(process.stdout, `${MARK[c.kind]} ${c.path}${c.type === 'dir' ? '/' : c.type === 'symlink' ? ' @' : ''}  ${sizes}\n`);
  }
  if (!withDiff) return;
  for (const c of changes) if (c.diff) await writeAll(process.stdout, `\n${c.diff}`);
}

export function registerWorkspaceCommands(program: Command): void {
  for (const name of ['changes', 'diff'] as const) {
    program
      .command(name)
      .description(name === 'changes' ? 'list what a sandbox added (A), modified (M) and deleted (D) in its workspace' : 'show the unified diff of a sandbox\'s workspace changes')
      .argument('<id>', 'sandbox id')
      .option('--since <checkpoint>', 'compare with a checkpoint or `start` (default: the last commit, or the start)')
      .option('--diff', 'also print unified diffs of text files', name === 'diff')
      .option('--json', 'print JSON')
      .action(async (id: string, flags: { since?: string; diff: boolean; json?: boolean }, command: Command) => {
        const sandbox = await openSandbox(command, id);
        const changes = await sandbox.workspace.changes({ ...(flags.since ? { since: flags.since } : {}), diff: flags.diff || flags.json === true });
        if (flags.json) return printJson(changes);
        await printChanges(changes, flags.diff);
      });
  }

  program
    .command('checkpoint')
    .description('record a sandbox\'s workspace under a name (replacing a checkpoint of that name)')
    .argument('<id>', 'sandbox id')
    .argument('<name>', 'checkpoint name')
    .option('--json', 'print the checkpoint as JSON')
    .action(async (id: string, name: string, flags: { json?: boolean }, command: Command) => {
      const info = await (await openSandbox(command, id)).workspace.checkpoint(name);
      if (flags.json) printJson(info);
      else process.stdout.write(`${info.name} (${info.changeCount} changes since start)\n`);
    });

  program
    .command('checkpoints')
    .description('list the checkpoints of a sandbox\'s workspace')
    .argument('<id>', 'sandbox id')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { json?: boolean }, command: Command) => {
      const items = await (await openSandbox(command, id)).workspace.checkpoints();
      if (flags.json) return printJson(items);
      const now = new Date();
      printTable(['NAME', 'CHANGES', 'AGE'], items.map((c) => [c.name, String(c.changeCount), formatAge(c.createdAt, now)]));
    });

  program
    .command('revert')
    .description('bring workspace paths (or --all) back to the last commit, `start` or a checkpoint; prints what was reverted')
    .argument('<id>', 'sandbox id')
    .argument('[paths...]', 'paths relative to the workspace root (and what is below them)')
    .option('--all', 'revert every change')
    .option('--to <checkpoint>', 'a checkpoint name or `start` (default: the last commit, or the start)')
    .option('--json', 'print JSON')
    .action(async (id: string, paths: string[], flags: { all?: boolean; to?: string; json?: boolean }, command: Command) => {
      if (flags.all && paths.length > 0) throw new UsageError('give paths or --all, not both');
      if (!flags.all && paths.length === 0) throw new UsageError('give the paths to revert, or --all');
      const to = flags.to ? { to: flags.to } : {};
      const workspace = (await openSandbox(command, id)).workspace;
      const reverted = await (flags.all ? workspace.revert({ all: true, ...to }) : workspace.revert({ paths, ...to }));
      if (flags.json) return printJson(reverted);
      await printChanges(reverted, false);
    });

  program
    .command('commit')
    .description('write a sandbox\'s workspace changes (since the last commit) to its codebase: only `write` paths, last writer wins')
    .argument('<id>', 'sandbox id')
    .argument('[paths...]', 'only these paths (and what is below them); default all')
    .option('--json', 'print JSON')
    .action(async (id: string, paths: string[], flags: { json?: boolean }, command: Command) => {
      const result = await (await openSandbox(command, id)).workspace.commit(paths.length > 0 ? { paths } : {});
      if (flags.json) return printJson(result);
      for (const path of result.committed) process.stdout.write(`committed ${path}\n`);
      for (const s of result.skipped) process.stderr.write(`skipped ${s.path}: ${s.reason}\n`);
    });
}

/** The workspace flags of `create`. */
export interface WorkspaceFlags {
  codebase?: string;
  preset?: WorkspacePreset;
  rule?: PermissionRule[];
  workspacePath?: string;
}

/** Adds `--codebase`, `--preset`, `--rule` and `--workspace-path` to a command. */
export function withWorkspaceFlags(command: Command): Command {
  return command
    .option('--codebase <codebase>', 'mount this codebase (id or name) copy-on-write at /workspace')
    .addOption(new Option('--preset <preset>', 'rules to start from (default agent-safe when no --rule)').choices(['agent-safe', 'read-only', 'full']))
    .option('--rule <pattern=level[@priority]>', 'a path rule, e.g. src/=write, "*.log=none", docs/plan.md=view@10 (repeatable)', (value: string, previous: PermissionRule[] = []) => [...previous, parseRule(value)])
    .option('--workspace-path <path>', 'where the codebase appears in the sandbox (default /workspace)');
}

/** The create request's `workspace`, or undefined when no `--codebase` was given. */
export function workspaceFromFlags(flags: WorkspaceFlags): WorkspaceRequest | undefined {
  if (!flags.codebase) {
    if (flags.preset || flags.rule || flags.workspacePath) throw new UsageError('--preset, --rule and --workspace-path need --codebase');
    return undefined;
  }
  return { codebase: flags.codebase, ...(flags.workspacePath ? { path: flags.workspacePath } : {}), ...(flags.preset ? { preset: flags.preset } : {}), ...(flags.rule ? { rules: flags.rule } : {}) };
}

const LEVELS: PermissionLevel[] = ['none', 'view', 'read', 'write'];

/** `pattern=level` or `pattern=level@priority` (split at the last `=`, so patterns may hold one). */
export function parseRule(text: string): PermissionRule {
  const eq = text.lastIndexOf('=');
  const match = eq > 0 ? /^(none|view|read|write)(?:@(-?\d+))?$/.exec(text.slice(eq + 1)) : null;
  if (!match) throw new UsageError(`invalid rule "${text}" (use pattern=level or pattern=level@priority; levels: ${LEVELS.join(', ')})`);
  return { pattern: text.slice(0, eq), level: match[1] as PermissionLevel, ...(match[2] !== undefined ? { priority: Number(match[2]) } : {}) };
}
