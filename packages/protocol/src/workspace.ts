/**
 * Wire types of codebases and sandbox workspaces (docs/workspaces.md): what a create request asks
 * for (`WorkspaceRequest`), what the codebase store reports (`CodebaseInfo`) and what the changes,
 * checkpoint and commit routes return.
 */

/** `none`: absent. `view`: listed, unreadable. `read`: read-only. `write`: writable. */
export type PermissionLevel = 'none' | 'view' | 'read' | 'write';

/** A path rule; matching and order are described in docs/workspaces.md. */
export interface PermissionRule {
  /** Relative to the codebase root: `src/`, `*.pem`, `docs/**`, `README.md`. */
  pattern: string;
  /** Default: `glob` when the pattern has `*` or `?`, `directory` when it ends with `/`, else `file`. */
  type?: 'glob' | 'directory' | 'file';
  level: PermissionLevel;
  /** Higher wins (default 0). */
  priority?: number;
}

/** Rule sets to start from: `agent-safe` (read all, hide secrets), `read-only`, `full`. */
export type WorkspacePreset = 'agent-safe' | 'read-only' | 'full';

/** The `workspace` of a create request. */
export interface WorkspaceRequest {
  /** Codebase id or name. */
  codebase: string;
  /** Where it appears in the sandbox (absolute; default `/workspace`). */
  path?: string;
  /** Default `agent-safe` when no rules are given; the preset's rules come first. */
  preset?: WorkspacePreset;
  rules?: PermissionRule[];
}

export interface CodebaseInfo {
  id: string;
  name: string;
  sizeBytes: number;
  /** Files, directories and links. */
  fileCount: number;
  createdAt: string;
  updatedAt: string;
}

/** One path that differs between a reference (start, last commit or a checkpoint) and now. */
export interface WorkspaceChange {
  /** Relative to the workspace root (`src/a.ts`). */
  path: string;
  kind: 'added' | 'modified' | 'deleted';
  type: 'file' | 'dir' | 'symlink';
  /** Size now (null when deleted). */
  size: number | null;
  /** Size in the reference (null when added). */
  previousSize: number | null;
  /** Unified diff (text files only; absent for binary or large files, or when not asked for). */
  diff?: string;
}

export interface CheckpointInfo {
  name: string;
  createdAt: string;
  /** Changes since the sandbox started, at the time of the checkpoint. */
  changeCount: number;
}

export interface CommitResult {
  committed: string[];
  /** Changes not written, with the reason (e.g. the path's rule level is not `write`). */
  skipped: Array<{ path: string; reason: string }>;
}
