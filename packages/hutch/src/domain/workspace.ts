/**
 * Workspaces: a codebase mounted into a sandbox under path rules, copy-on-write. What a caller
 * asks for (`WorkspaceRequest`), what a backend mounts (`WorkspaceMounts`) and what the diff API
 * reports (`WorkspaceChange`).
 */
import type { CheckpointInfo, CommitResult, WorkspaceChange } from '@hutch/protocol';

/** `none`: absent. `view`: listed and stat-able, unreadable. `read`. `write`. */
export const PERMISSION_LEVELS = ['none', 'view', 'read', 'write'] as const;
export type PermissionLevel = (typeof PERMISSION_LEVELS)[number];
export const RULE_TYPES = ['glob', 'directory', 'file'] as const;
export type RuleType = (typeof RULE_TYPES)[number];

/** A path rule; see workspaces/rules.ts and docs/workspaces.md for matching and order. */
export interface PermissionRule {
  pattern: string;
  /** Default: `glob` when the pattern has `*` or `?`, `directory` when it ends with `/`, else `file`. */
  type?: RuleType;
  level: PermissionLevel;
  /** Higher wins (default 0). */
  priority?: number;
}

export const PRESETS = ['agent-safe', 'read-only', 'full'] as const;
export type PresetName = (typeof PRESETS)[number];

/** The `workspace` of a create request. */
export interface WorkspaceRequest {
  /** Codebase id or name. */
  codebase: string;
  /** Where it appears inside the sandbox (absolute; default `/workspace`). */
  path?: string;
  /** Rules start from this preset (default `agent-safe` when `rules` is empty or absent). */
  preset?: PresetName;
  /** Added after the preset's rules; see docs/workspaces.md for the order. */
  rules?: PermissionRule[];
}

/**
 * Host binds a backend puts into the sandbox, in order (parents first). Prepared by the engine's
 * workspace provider; host paths are never shown to callers.
 */
export interface WorkspaceMounts {
  /** Sandbox path of the workspace root. */
  path: string;
  mounts: Array<{ path: string; hostPath: string; writable: boolean }>;
}

// The change, checkpoint and commit shapes are the wire's (one definition, in @hutch/protocol).
export type { CheckpointInfo, CommitResult, WorkspaceChange };
export type ChangeKind = WorkspaceChange['kind'];
