/**
 * `sandbox.workspace`: what the sandbox changed in its workspace (a codebase mounted with
 * `Sandbox.create({ workspace })`), named checkpoints, revert and commit back to the codebase
 * (docs/workspaces.md). Running, paused or stopped sandboxes only (`InvalidTransitionError`
 * otherwise); a sandbox created without a workspace answers `NotFoundError` (`not_found`).
 *
 *   const changes = await sandbox.workspace.changes();          // since the last commit
 *   await sandbox.workspace.checkpoint('before-refactor');
 *   await sandbox.workspace.revert({ all: true, to: 'before-refactor' });
 *   const { committed, skipped } = await sandbox.workspace.commit();
 */
import type { CheckpointInfo, CommitResult, WorkspaceChange } from '@hutch/protocol';
import type { CallOptions } from './connection-config.js';
import type { HttpClient } from './http-client.js';

/** Options of `workspace.changes`. */
export interface ChangesOptions extends CallOptions {
  /** A checkpoint name or `start`. @default the last commit, or the start */
  since?: string;
  /** Include unified diffs of text files. @default true */
  diff?: boolean;
}

/** What `workspace.revert` brings back: some paths (and what is below them), or everything. */
export type RevertOptions = CallOptions & { to?: string } & ({ paths: string[]; all?: never } | { all: true; paths?: never });

/** Options of `workspace.commit`: some paths (and what is below them); default all. */
export interface CommitOptions extends CallOptions {
  paths?: string[];
}

export class SandboxWorkspace {
  /** @internal Use `sandbox.workspace`. */
  constructor(
    private readonly http: HttpClient,
    private readonly sandboxPath: string,
  ) {}

  /** Paths added, modified or deleted since `since`, sorted by path, with unified diffs of text files. */
  async changes(options: ChangesOptions = {}): Promise<WorkspaceChange[]> {
    const query = { since: options.since, diff: options.diff };
    return (await this.http.json<{ changes: WorkspaceChange[] }>({ method: 'GET', path: `${this.sandboxPath}/workspace/changes`, query }, options)).changes;
  }

  /** Records the workspace under `name` (replacing a checkpoint of that name; `start` is reserved). */
  async checkpoint(name: string, options: CallOptions = {}): Promise<CheckpointInfo> {
    return this.http.json<CheckpointInfo>({ method: 'POST', path: `${this.sandboxPath}/workspace/checkpoints`, json: { name } }, options);
  }

  /** Checkpoints recorded so far, oldest first. */
  async checkpoints(options: CallOptions = {}): Promise<CheckpointInfo[]> {
    return this.http.json<CheckpointInfo[]>({ method: 'GET', path: `${this.sandboxPath}/workspace/checkpoints` }, options);
  }

  /**
   * Brings `paths` (or everything, with `all: true`) back to `to` (a checkpoint or `start`;
   * default the last commit, or the start). Returns what was reverted.
   */
  async revert(options: RevertOptions): Promise<WorkspaceChange[]> {
    if (!options.all && !options.paths?.length) throw new TypeError('revert needs `paths` (non-empty) or `all: true`.');
    const json = { ...(options.all ? {} : { paths: options.paths }), ...(options.to !== undefined ? { to: options.to } : {}) };
    return (await this.http.json<{ changes: WorkspaceChange[] }>({ method: 'POST', path: `${this.sandboxPath}/workspace/revert`, json }, options)).changes;
  }

  /**
   * Writes the changes since the last commit to the codebase, last writer wins: only paths the
   * rules make `write` (the others come back in `skipped`); nothing else in the codebase changes.
   */
  async commit(options: CommitOptions = {}): Promise<CommitResult> {
    const json = options.paths ? { paths: options.paths } : {};
    return this.http.json<CommitResult>({ method: 'POST', path: `${this.sandboxPath}/workspace/commit`, json }, options);
  }
}
