/**
 * Workspaces as the engine sees them: a codebase store and a per-sandbox workspace provider
 * (`workspaces/` implements both on the host), and the `Workspaces` service that checks sandbox
 * state and serialises each sandbox's workspace operations with its lifecycle.
 */
import { CapabilityMissingError } from '../domain/errors.js';
import type { FileEntry } from '../domain/files.js';
import { assertStateIn, type SandboxState } from '../domain/sandbox-state.js';
import type { CheckpointInfo, CommitResult, WorkspaceChange, WorkspaceMounts, WorkspaceRequest } from '../domain/workspace.js';
import type { CodebaseInfo } from '../workspaces/codebase-store.js';
import type { EngineContext } from './context.js';

/** The codebase store (see workspaces/codebase-store.ts). */
export interface CodebaseCatalog {
  list(): Promise<CodebaseInfo[]>;
  /** By id or name; throws `codebase_not_found`. */
  get(idOrName: string): Promise<CodebaseInfo>;
  /** Copies a directory of the server host (local/admin use only: never exposed over the API). */
  addDirectory(hostPath: string, name: string): Promise<CodebaseInfo>;
  addTar(name: string, data: AsyncIterable<Uint8Array>): Promise<CodebaseInfo>;
  delete(idOrName: string): Promise<void>;
  listFiles(idOrName: string, path: string, depth?: number): Promise<FileEntry[]>;
  stat(idOrName: string, path: string): Promise<FileEntry>;
  readFile(idOrName: string, path: string): Promise<AsyncIterable<Uint8Array>>;
  writeFile(idOrName: string, path: string, data: Uint8Array | AsyncIterable<Uint8Array>, mode?: number): Promise<FileEntry>;
  mkdir(idOrName: string, path: string): Promise<FileEntry>;
  removeFile(idOrName: string, path: string): Promise<void>;
  exportTar(idOrName: string): Promise<AsyncIterable<Uint8Array>>;
}

/** Per-sandbox workspaces (see workspaces/workspace-manager.ts). */
export interface WorkspaceProvider {
  readonly codebases: CodebaseCatalog;
  prepare(sandboxId: string, request: WorkspaceRequest): Promise<WorkspaceMounts>;
  /** False when something (a mount) could not be removed. */
  release(sandboxId: string): Promise<boolean>;
  reconcile(liveIds: ReadonlySet<string>): Promise<void>;
  changes(sandboxId: string, options?: { since?: string; diff?: boolean }): Promise<WorkspaceChange[]>;
  checkpoint(sandboxId: string, name: string): Promise<CheckpointInfo>;
  checkpoints(sandboxId: string): Promise<CheckpointInfo[]>;
  revert(sandboxId: string, options?: { paths?: string[]; to?: string }): Promise<WorkspaceChange[]>;
  commit(sandboxId: string, options?: { paths?: string[] }): Promise<CommitResult>;
}

const FILE_STATES: SandboxState[] = ['running', 'paused', 'stopped'];

/** Workspace operations of live sandboxes (running, paused or stopped). */
export class Workspaces {
  constructor(
    private readonly ctx: EngineContext,
    private readonly provider: WorkspaceProvider | undefined,
  ) {}

  /** The codebase store; throws `capability_missing` when the server has none. */
  get codebases(): CodebaseCatalog {
    return this.require().codebases;
  }

  private require(): WorkspaceProvider {
    if (!this.provider) throw new CapabilityMissingError('workspaces', 'server', 'use codebases and workspaces (start the server with a data directory)');
    return this.provider;
  }

  private run<T>(sandboxId: string, fn: (p: WorkspaceProvider) => Promise<T>): Promise<T> {
    const provider = this.require();
    return this.ctx.locks.run(sandboxId, async () => {
      assertStateIn(this.ctx.row(sandboxId).state as SandboxState, FILE_STATES, 'use the workspace of');
      return fn(provider);
    });
  }

  /** Added, modified and deleted paths since `since` (a checkpoint, `start`; default: the last commit or the start). */
  changes(sandboxId: string, options: { since?: string; diff?: boolean } = {}): Promise<WorkspaceChange[]> {
    return this.run(sandboxId, (p) => p.changes(sandboxId, options));
  }

  checkpoint(sandboxId: string, name: string): Promise<CheckpointInfo> {
    return this.run(sandboxId, async (p) => {
      const info = await p.checkpoint(sandboxId, name);
      this.ctx.events.emit(sandboxId, 'workspace.checkpoint', { name, changeCount: info.changeCount });
      return info;
    });
  }

  checkpoints(sandboxId: string): Promise<CheckpointInfo[]> {
    return this.run(sandboxId, (p) => p.checkpoints(sandboxId));
  }

  revert(sandboxId: string, options: { paths?: string[]; to?: string } = {}): Promise<WorkspaceChange[]> {
    return this.run(sandboxId, async (p) => {
      const reverted = await p.revert(sandboxId, options);
      this.ctx.events.emit(sandboxId, 'workspace.reverted', { to: options.to ?? null, paths: reverted.length });
      return reverted;
    });
  }

  commit(sandboxId: string, options: { paths?: string[] } = {}): Promise<CommitResult> {
    return this.run(sandboxId, async (p) => {
      const result = await p.commit(sandboxId, options);
      this.ctx.events.emit(sandboxId, 'workspace.committed', { committed: result.committed.length, skipped: result.skipped.length });
      return result;
    });
  }
}
